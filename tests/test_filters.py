"""One-Euro smoothing and gap filling: invariants on random tracks and real Penn Action motion."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.io import loadmat
from scipy.ndimage import gaussian_filter1d

from ilat_video.pose.filters import GAP_CONFIDENCE, OneEuroFilter, fill_gaps, one_euro, smooth_poses
from ilat_video.pose.sequence import PoseSequence

PENN = Path(__file__).parent / "data" / "penn_action"

tracks = hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=12).map(
    lambda s: (s[0] * 3, s[1], 2)), elements=st.floats(-1e3, 1e3))


@settings(max_examples=60, deadline=None)
@given(values=tracks, fps=st.floats(1, 120), min_cutoff=st.floats(0.01, 20), beta=st.floats(0, 1e3))
def test_output_stays_within_the_inputs_seen_so_far(values, fps, min_cutoff, beta):
    """Each step is a convex combination of the previous estimate and the new sample."""
    out = one_euro(values, fps, min_cutoff=min_cutoff, beta=beta)
    assert out.shape == values.shape
    assert np.array_equal(out[0], values[0])  # the first sample passes through
    lo = np.minimum.accumulate(values, axis=0)
    hi = np.maximum.accumulate(values, axis=0)
    tol = 1e-9 * (1 + np.abs(values).max())
    assert np.all(out >= lo - tol) and np.all(out <= hi + tol)


@settings(max_examples=30, deadline=None)
@given(value=hnp.arrays(np.float64, (4, 2), elements=st.floats(-1e4, 1e4)), n=st.integers(1, 30))
def test_constant_input_is_a_fixed_point(value, n):
    out = one_euro(np.repeat(value[None], n, axis=0), 25.0)
    assert np.allclose(out, value[None], rtol=0, atol=1e-9 * (1 + np.abs(value).max()))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), scale=st.floats(0.1, 10), split=st.integers(1, 19))
def test_invalid_frames_restart_the_filter(seed, scale, split):
    rng = np.random.default_rng(seed)
    values = rng.normal(0, scale, (20, 3, 2))
    valid = np.ones(20, bool)
    valid[split] = False
    out = one_euro(values, 30.0, valid=valid)
    assert np.array_equal(out[split], values[split])
    assert np.allclose(out[:split], one_euro(values[:split], 30.0))
    assert np.allclose(out[split + 1:], one_euro(values[split + 1:], 30.0))


def test_streaming_filter_matches_batch_and_rejects_bad_settings():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(15, 13, 2))
    f = OneEuroFilter(min_cutoff=1.0, beta=3.0)
    streamed = np.stack([f(v, 1 / 20) for v in values])
    assert np.allclose(streamed, one_euro(values, 20.0, min_cutoff=1.0, beta=3.0))
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)
    with pytest.raises(ValueError):
        OneEuroFilter(beta=-1)


def penn_motion() -> list[np.ndarray]:
    """Real human motion: Penn Action labels in units of the frame's larger side, lightly smoothed."""
    out = []
    for path in sorted(PENN.glob("*.mat")):
        mat = loadmat(path)
        xy = np.stack([mat["x"], mat["y"]], -1).astype(np.float64)
        out.append(gaussian_filter1d(xy / max(mat["dimensions"].ravel()[:2]), 1.0, axis=0))
    return out


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, -1))))


@pytest.mark.parametrize("fps,stride", [(30.0, 1), (12.0, 2)])
def test_defaults_reduce_jitter_without_losing_real_motion(fps, stride):
    """With MediaPipe-sized jitter the defaults must help on a still person and not hurt much on
    fast real motion (baseball pitch, jumping jacks, squat; see benchmarks/results/extract.md)."""
    rng = np.random.default_rng(1)
    for clean in penn_motion():
        clean = clean[::stride]
        still = np.repeat(clean[:1], len(clean), axis=0)
        for sigma in (0.001, 0.003):
            noisy_still = still + rng.normal(0, sigma, still.shape)
            assert rmse(one_euro(noisy_still, fps), still) < 0.92 * rmse(noisy_still, still)
            noisy = clean + rng.normal(0, sigma, clean.shape)
            assert rmse(one_euro(noisy, fps), clean) < 1.25 * rmse(noisy, clean)


def random_sequence(rng, frames=20, width=640, height=480, fps=25.0, empty=()):
    kp = np.zeros((frames, 13, 3), np.float32)
    kp[..., 0] = rng.uniform(0, width, (frames, 13))
    kp[..., 1] = rng.uniform(0, height, (frames, 13))
    kp[..., 2] = rng.uniform(0.05, 1, (frames, 13))
    kp[list(empty)] = 0
    return PoseSequence(kp, width, height, fps)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), factor=st.sampled_from([0.5, 2.0, 3.0]))
def test_smoothing_is_resolution_independent(seed, factor):
    rng = np.random.default_rng(seed)
    seq = random_sequence(rng, empty=[5, 6])
    scaled = seq.rescaled(int(seq.width * factor), int(seq.height * factor))
    a = smooth_poses(seq).rescaled(scaled.width, scaled.height)
    b = smooth_poses(scaled)
    assert np.allclose(a.keypoints, b.keypoints, rtol=1e-4, atol=1e-2)


def test_smoothing_keeps_confidences_and_empty_frames():
    seq = random_sequence(np.random.default_rng(3), empty=[0, 7, 8])
    out = smooth_poses(seq)
    assert np.array_equal(out.confidence, seq.confidence)
    assert np.array_equal(out.has_person, seq.has_person)
    assert np.all(out.keypoints[[0, 7, 8]] == 0)
    assert np.array_equal(out.keypoints[1], seq.keypoints[1])  # a run's first frame is unchanged


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), gaps=st.lists(st.tuples(st.integers(0, 29), st.integers(1, 6)), max_size=4),
       max_gap=st.integers(0, 5))
def test_fill_gaps_interpolates_only_short_inner_gaps(seed, gaps, max_gap):
    rng = np.random.default_rng(seed)
    empty = sorted({f for start, length in gaps for f in range(start, min(30, start + length))})
    seq = random_sequence(rng, frames=30, empty=empty)
    filled, new = fill_gaps(seq, max_gap)
    person = seq.has_person
    assert np.array_equal(filled.keypoints[person], seq.keypoints[person])  # observed frames untouched
    assert np.array_equal(new, filled.has_person & ~person)
    frames = np.flatnonzero(person)
    for t in np.flatnonzero(~person):
        before, after = frames[frames < t], frames[frames > t]
        inner = len(before) and len(after)
        should_fill = bool(inner) and (after[0] - before[-1] - 1) <= max_gap
        assert new[t] == should_fill
        if should_fill:
            a, b = before[-1], after[0]
            w = (t - a) / (b - a)
            expected = (1 - w) * seq.keypoints[a, :, :2] + w * seq.keypoints[b, :, :2]
            assert np.allclose(filled.keypoints[t, :, :2], expected, atol=1e-3)
            conf = GAP_CONFIDENCE * np.minimum(seq.confidence[a], seq.confidence[b])
            assert np.allclose(filled.confidence[t], conf)
        else:
            assert np.all(filled.keypoints[t] == 0)


def test_fill_gaps_per_joint():
    seq = random_sequence(np.random.default_rng(5), frames=6)
    kp = seq.keypoints.copy()
    kp[2:4, 5] = 0  # the right wrist is missing for two frames
    filled, new = fill_gaps(seq.replace(keypoints=kp), max_gap=2)
    assert not new.any()  # those frames had a person all along
    assert np.allclose(filled.keypoints[2, 5, :2], kp[1, 5, :2] + (kp[4, 5, :2] - kp[1, 5, :2]) / 3, atol=1e-3)
    with pytest.raises(ValueError):
        fill_gaps(seq, -1)
