"""Pose regions, token regions and free-form masks (ilat_video.regions)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.pose import skeleton as sk
from ilat_video.regions import (
    changed_region,
    feathered_weights,
    free_form_mask,
    moved_joints,
    moved_region,
    paste_outside,
    paste_still,
    pose_region,
    region_rate,
    token_region,
    torso_length,
    union_region,
)


def random_pose(rng: np.random.Generator, size: int, hidden: float = 0.0) -> np.ndarray:
    """A loosely human layout of 13 joints inside a size x size canvas."""
    cx, top = rng.uniform(0.3, 0.7) * size, rng.uniform(0.1, 0.3) * size
    unit = rng.uniform(0.08, 0.15) * size
    base = np.array([[0, 0], [-1, 1.5], [1, 1.5], [-1.5, 3], [1.5, 3], [-1.7, 4.5], [1.7, 4.5],
                     [-0.7, 4.5], [0.7, 4.5], [-0.8, 6.2], [0.8, 6.2], [-0.9, 7.8], [0.9, 7.8]])
    xy = np.column_stack([cx + unit * base[:, 0], top + unit * base[:, 1] * 0.7]) + rng.normal(0, unit * 0.2, (13, 2))
    conf = (rng.uniform(size=13) >= hidden).astype(np.float32)
    return np.column_stack([np.clip(xy, 0, size - 1), conf]).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([32, 64, 128, 96]))
def test_region_contains_visible_joints_and_bones(seed, size):
    rng = np.random.default_rng(seed)
    pose = random_pose(rng, size, hidden=0.2)
    region = pose_region(pose, size, size)
    assert region.shape == (size, size) and region.dtype == bool
    for j in np.flatnonzero(pose[:, 2] > 0):
        x, y = np.rint(pose[j, :2]).astype(int)
        assert region[y, x], f"joint {sk.JOINT_NAMES[j]} at ({x}, {y}) is outside its region"
    for a, b in sk.BONES:
        if pose[a, 2] > 0 and pose[b, 2] > 0:
            for t in np.linspace(0, 1, 9):
                x, y = np.rint(pose[a, :2] * (1 - t) + pose[b, :2] * t).astype(int)
                assert region[y, x], f"bone {a}-{b} is not covered at t={t:.2f}"


def test_hidden_joint_is_skipped():
    rng = np.random.default_rng(0)
    pose = random_pose(rng, 128)
    far = pose.copy()
    far[sk.L_WRIST] = (120, 5, 0.0)  # far away and not visible
    assert not pose_region(far, 128, 128)[5, 120]
    far[sk.L_WRIST, 2] = 1.0
    assert pose_region(far, 128, 128)[5, 120]


def test_empty_pose_gives_empty_region():
    assert not pose_region(np.zeros((13, 3), np.float32), 40, 50).any()
    assert pose_region(np.zeros((13, 3), np.float32), 40, 50).shape == (40, 50)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_thickness_follows_body_size(seed):
    # The same pose drawn twice as large covers about four times the area.
    rng = np.random.default_rng(seed)
    pose = random_pose(rng, 64)
    big = pose.copy()
    big[:, :2] = (big[:, :2] + 0.5) * 2 - 0.5
    ratio = pose_region(big, 128, 128).sum() / pose_region(pose, 64, 64).sum()
    assert 3.4 < ratio < 4.6
    assert torso_length(big) == pytest.approx(2 * torso_length(pose), rel=1e-5)


def test_explicit_thickness_grows_region():
    pose = random_pose(np.random.default_rng(1), 128)
    thin = pose_region(pose, 128, 128, thickness=2, dilation=0)
    thick = pose_region(pose, 128, 128, thickness=10, dilation=0)
    assert thin.sum() < thick.sum() and not (thin & ~thick).any()


def test_union_is_the_union():
    rng = np.random.default_rng(2)
    a, b = random_pose(rng, 96), random_pose(rng, 96)
    union = union_region(a, b, 96, 96)
    assert np.array_equal(union, pose_region(a, 96, 96) | pose_region(b, 96, 96))


def test_region_covers_synthetic_people():
    # Ground truth silhouettes: the region of the true pose must cover the drawn person.
    from ilat_video.data import synth

    for index in range(12):
        video = synth.file_video(7, "test", index, 96, 8)
        for frame in (0, 5):
            person = video.render_mask(frame)
            region = pose_region(video.poses[frame], 96, 96)
            covered = (person & region).sum() / person.sum()
            assert covered > 0.97, f"video {index} ({video.action}) frame {frame}: region covers {covered:.3f}"
            assert region.sum() < 4.5 * person.sum()


def brute_force_tokens(region: np.ndarray, h: int, w: int) -> np.ndarray:
    H, W = region.shape[-2:]
    out = np.zeros(region.shape[:-2] + (h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            rows = slice((i * H) // h, -(-((i + 1) * H) // h))
            cols = slice((j * W) // w, -(-((j + 1) * W) // w))
            out[..., i, j] = region[..., rows, cols].any(axis=(-2, -1))
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), H=st.integers(4, 40), W=st.integers(4, 40),
       h=st.integers(1, 8), w=st.integers(1, 8), density=st.floats(0.0, 0.2))
def test_token_region_is_any_pixel(seed, H, W, h, w, density):
    h, w = min(h, H), min(w, W)
    rng = np.random.default_rng(seed)
    region = rng.uniform(size=(2, H, W)) < density
    expected = brute_force_tokens(region, h, w)
    assert np.array_equal(token_region(region, (h, w)), expected)
    as_torch = token_region(torch.from_numpy(region), (h, w))
    assert as_torch.dtype == torch.bool and np.array_equal(as_torch.numpy(), expected)


def test_token_region_single_pixel_marks_its_token():
    region = np.zeros((64, 64), bool)
    region[17, 40] = True
    tokens = token_region(region, (8, 8))
    assert tokens.sum() == 1 and tokens[17 // 8, 40 // 8]


def test_free_form_mask_deterministic_and_varied():
    a = free_form_mask(np.random.default_rng(5), 64, 80)
    b = free_form_mask(np.random.default_rng(5), 64, 80)
    assert a.shape == (64, 80) and np.array_equal(a, b)
    rates = [region_rate(free_form_mask(np.random.default_rng(s), 64, 64)) for s in range(40)]
    assert min(rates) > 0.0 and max(rates) < 1.0
    assert np.std(rates) > 0.02  # not one fixed shape


def test_region_rate():
    region = np.zeros((3, 10, 10), bool)
    region[1, :5] = True
    region[2] = True
    assert np.allclose(region_rate(region), [0.0, 0.5, 1.0])
    assert region_rate(region[1]) == 0.5
    assert np.allclose(region_rate(torch.from_numpy(region)), [0.0, 0.5, 1.0])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), feather=st.integers(0, 4), density=st.floats(0.0, 0.05))
def test_feathered_weights_fall_linearly_with_the_distance_to_the_region(seed, feather, density):
    rng = np.random.default_rng(seed)
    region = rng.uniform(size=(2, 12, 10)) < density
    weights = feathered_weights(torch.from_numpy(region), feather)[:, 0].numpy()
    # Chessboard distance from every pixel to the nearest region pixel (inf when there is none).
    ys, xs = np.mgrid[:12, :10]
    for b in range(2):
        points = np.argwhere(region[b])
        if len(points):
            d = np.min(np.maximum(np.abs(ys[..., None] - points[:, 0]), np.abs(xs[..., None] - points[:, 1])), axis=-1)
        else:
            d = np.full((12, 10), np.inf)
        expected = np.clip((feather + 1 - d) / (feather + 1), 0, 1)
        np.testing.assert_allclose(weights[b], expected, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.0, 1.0), codes=st.integers(1, 4))
def test_changed_region_is_the_region_where_the_token_differs(seed, density, codes):
    """Every region pixel is in the changed region iff its token cell's token differs from each of
    the reference's maps; nothing outside the region is. With the reference's own pixels pasted outside it,
    the pixels of unchanged cells are exactly the reference's far from any changed cell."""
    rng = np.random.default_rng(seed)
    region = torch.from_numpy(rng.uniform(size=(2, 16, 12)) < density)
    tokens = torch.from_numpy(rng.integers(0, codes, (2, 4, 3)))
    reference_tokens = torch.from_numpy(rng.integers(0, codes, (1, 4, 3)))
    other_tokens = torch.from_numpy(rng.integers(0, codes, (2, 4, 3)))
    changed = changed_region(region, tokens, reference_tokens, other_tokens)
    for b, y, x in np.ndindex(2, 16, 12):
        cell = tokens[b, y // 4, x // 4]
        differs = bool(cell != reference_tokens[0, y // 4, x // 4]) and bool(cell != other_tokens[b, y // 4, x // 4])
        assert bool(changed[b, y, x]) == (bool(region[b, y, x]) and differs)
    generated = torch.rand(2, 3, 16, 12, generator=torch.Generator().manual_seed(seed))
    reference = torch.rand(1, 3, 16, 12, generator=torch.Generator().manual_seed(seed + 1))
    out = paste_outside(generated, reference, changed, feather=1)

    def pixels(images):  # (B, H, W, 3)
        return images.expand(2, -1, -1, -1).permute(0, 2, 3, 1)

    assert torch.equal(pixels(out)[changed], pixels(generated)[changed])
    near = torch.nn.functional.max_pool2d(changed[:, None].float(), 3, stride=1, padding=1)[:, 0].bool()
    assert torch.equal(pixels(out)[~near], pixels(reference)[~near])
    with pytest.raises(ValueError, match="token cells"):
        changed_region(region[:, :15], tokens, reference_tokens)
    with pytest.raises(ValueError, match="at least one"):
        changed_region(region, tokens)


def test_paste_outside_keeps_the_region_and_the_far_background_exact():
    g = torch.Generator().manual_seed(0)
    generated, reference = torch.rand(2, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    region = torch.zeros(2, 16, 16, dtype=torch.bool)
    region[0, 4:8, 5:9] = True
    out = paste_outside(generated, reference, region, feather=2)
    assert torch.equal(out[0][:, region[0]], generated[0][:, region[0]])
    far = ~torch.nn.functional.max_pool2d(region[:, None].float(), 5, stride=1, padding=2)[:, 0].bool()
    assert torch.equal(out[0][:, far[0]], reference[0][:, far[0]])
    assert torch.equal(out[1], reference[0])  # an empty region: the reference, whole
    with pytest.raises(ValueError, match="feather"):
        feathered_weights(region, -1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([32, 64, 128]), tolerance=st.sampled_from([0.0, 0.5, 2.0]))
def test_moved_region_lies_in_the_union_and_covers_what_moved(seed, size, tolerance):
    rng = np.random.default_rng(seed)
    reference = random_pose(rng, size, hidden=0.1)
    target = reference.copy()
    move = rng.uniform(size=13) < 0.4
    target[move, :2] = np.clip(target[move, :2] + rng.uniform(-0.2, 0.2, (int(move.sum()), 2)) * size, 0, size - 1)
    target[~move, :2] += rng.uniform(-1, 1, (int((~move).sum()), 2)) * tolerance / 2  # within the tolerance
    moved = moved_region(reference, target, size, size, tolerance=tolerance)
    union = union_region(reference, target, size, size)
    assert not (moved & ~union).any()  # only ever a part of the union
    flags = moved_joints(reference, target, tolerance)
    for pose in (reference, target):  # every moved joint that is seen, where it was and where it goes
        for j in np.flatnonzero(flags & (pose[:, 2] > 0)):
            x, y = np.rint(pose[j, :2]).astype(int)
            assert moved[y, x]
    # Nothing moved: nothing to redraw; every joint chosen: the whole pose's region.
    assert np.array_equal(moved_region(reference, reference, size, size, tolerance=0), np.zeros((size, size), bool))
    everything = np.ones(13, bool)
    assert np.array_equal(pose_region(reference, size, size, parts=everything), pose_region(reference, size, size))


def test_moved_joints_counts_distance_and_joints_seen_once():
    pose = random_pose(np.random.default_rng(3), 64)
    other = pose.copy()
    other[sk.L_WRIST, 0] += 1.0
    other[sk.R_ANKLE, 2] = 0  # seen in the reference only
    assert np.flatnonzero(moved_joints(pose, other, 0.5)).tolist() == [sk.L_WRIST, sk.R_ANKLE]
    assert np.flatnonzero(moved_joints(pose, other, 1.0)).tolist() == [sk.R_ANKLE]  # at most the tolerance: still
    with pytest.raises(ValueError, match="tolerance"):
        moved_joints(pose, other, -1)


def test_one_moved_forearm_leaves_the_legs_and_the_other_arm_still():
    pose = random_pose(np.random.default_rng(5), 128)
    target = pose.copy()
    target[sk.R_WRIST, :2] += (-20, -25)
    moved = moved_region(pose, target, 128, 128, tolerance=0.5)
    forearm = pose_region(pose, 128, 128, parts=np.eye(13, dtype=bool)[sk.R_WRIST])
    assert np.array_equal(moved, forearm | pose_region(target, 128, 128, parts=np.eye(13, dtype=bool)[sk.R_WRIST]))
    for j in (sk.L_WRIST, sk.L_ANKLE, sk.R_ANKLE, sk.HEAD):
        x, y = np.rint(pose[j, :2]).astype(int)
        assert not moved[y, x]


def test_paste_still_shows_the_reference_exactly_on_still_parts_only():
    rng = np.random.default_rng(7)
    size = 64
    reference_pose = random_pose(rng, size)
    target_pose = reference_pose.copy()
    target_pose[sk.L_WRIST, :2] += (8, -6)
    target_pose[sk.L_ELBOW, :2] += (4, -3)
    region = torch.from_numpy(union_region(reference_pose, target_pose, size, size))[None]
    frames, reference = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
    out = paste_still(frames, reference, region, reference_pose[None], target_pose[None], tolerance=0.5)
    moved = torch.from_numpy(moved_region(reference_pose, target_pose, size, size, tolerance=0.5))[None]
    keep = moved | ~region
    assert torch.equal(out[:, :, keep[0]], frames[:, :, keep[0]])  # moved parts and outside: the frames
    far = ~torch.nn.functional.max_pool2d(keep[None].float(), 5, stride=1, padding=2)[0].bool()  # 2+ px away
    assert far.any() and torch.equal(out[:, :, far[0]], reference[:, :, far[0]])
    # Nothing moved: the region is the reference (but for the blend at its edge); everything moved:
    # the frames untouched.
    inner = ~torch.nn.functional.max_pool2d((~region)[None].float(), 5, stride=1, padding=2)[0].bool()
    assert torch.equal(paste_still(frames, reference, region, reference_pose[None], reference_pose[None],
                                   tolerance=0)[:, :, inner[0]], reference[:, :, inner[0]])
    shifted = reference_pose + np.array([3.0, 2.0, 0.0], np.float32)
    whole = torch.from_numpy(union_region(reference_pose, shifted, size, size))[None]
    assert torch.equal(paste_still(frames, reference, whole, reference_pose[None], shifted[None], tolerance=0.5),
                       frames)
