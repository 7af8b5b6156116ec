"""PoseSequence: validation, slicing, resampling, mirroring, rescaling, building."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.errors import PoseFileError
from ilat_video.pose.sequence import PoseSequence
from ilat_video.pose.skeleton import FLIP_PERMUTATION, JOINT_NAMES


@st.composite
def sequences(draw, min_frames=0, max_frames=12):
    """Random valid sequences: positions anywhere (also outside the frame), some joints and frames empty."""
    t = draw(st.integers(min_frames, max_frames))
    width = draw(st.integers(1, 4096))
    height = draw(st.integers(1, 4096))
    fps = draw(st.sampled_from([1.0, 12.0, 24.0, 25.0, 29.97, 30.0, 60.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kp = np.zeros((t, 13, 3), np.float32)
    kp[..., 0] = rng.uniform(-0.2, 1.2, (t, 13)) * width
    kp[..., 1] = rng.uniform(-0.2, 1.2, (t, 13)) * height
    kp[..., 2] = rng.uniform(0, 1, (t, 13)) * (rng.random((t, 13)) > 0.2)
    kp[rng.random(t) < 0.2] = 0.0  # frames with no person
    return PoseSequence(kp, width, height, fps)


def _random(t=8, width=640, height=480, seed=0):
    rng = np.random.default_rng(seed)
    kp = np.concatenate([rng.uniform(0, 1, (t, 13, 2)) * (width, height),
                         rng.uniform(0.1, 1, (t, 13, 1))], axis=-1)
    return PoseSequence(kp, width, height, 30.0)


def test_single_pose_becomes_one_frame_and_fields_are_typed():
    seq = PoseSequence(np.ones((13, 3)), 64.0, 48, 25)
    assert len(seq) == 1 and seq.keypoints.dtype == np.float32
    assert (seq.width, seq.height, seq.fps) == (64, 48, 25.0)
    assert isinstance(seq.width, int)


@pytest.mark.parametrize("shape", [(4, 12, 3), (4, 13, 2), (13,), (2, 13, 3, 1)])
def test_wrong_shape_is_refused(shape):
    with pytest.raises(PoseFileError, match="shape"):
        PoseSequence(np.zeros(shape), 10, 10, source="clip.json")


def test_non_finite_values_name_frame_and_joint():
    kp = _random().keypoints.copy()
    kp[3, 5, 0] = np.nan
    with pytest.raises(PoseFileError) as err:
        PoseSequence(kp, 640, 480, source="clip.json")
    assert "clip.json" in str(err.value) and "frame 3" in str(err.value) and JOINT_NAMES[5] in str(err.value)


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_confidence_outside_unit_interval_names_frame_and_joint(value):
    kp = _random().keypoints.copy()
    kp[2, 7, 2] = value
    with pytest.raises(PoseFileError) as err:
        PoseSequence(kp, 640, 480, source="clip.json")
    assert "frame 2, joint 7 (right_hip)" in str(err.value) and "confidence" in str(err.value)


@pytest.mark.parametrize("width,height,fps", [(0, 10, 30), (10, -1, 30), (10, 10, 0), (10, 10, float("nan"))])
def test_bad_size_or_fps_is_refused(width, height, fps):
    with pytest.raises(PoseFileError):
        PoseSequence(np.zeros((1, 13, 3)), width, height, fps)


def test_indexing_and_slicing():
    seq = _random(10)
    assert seq[4].shape == (13, 3)
    part = seq[2:6]
    assert isinstance(part, PoseSequence) and len(part) == 4
    np.testing.assert_array_equal(part.keypoints, seq.keypoints[2:6])
    assert (part.width, part.height, part.fps) == (seq.width, seq.height, seq.fps)
    assert len(seq[::2]) == 5


def test_has_person_bbox_and_empty():
    seq = _random(3)
    kp = seq.keypoints.copy()
    kp[1, :, 2] = 0
    seq = seq.replace(keypoints=kp)
    assert seq.has_person.tolist() == [True, False, True]
    assert seq.bbox(1) is None
    x0, y0, x1, y1 = seq.bbox(0)
    assert x0 == kp[0, :, 0].min() and y1 == kp[0, :, 1].max()
    empty = PoseSequence.empty(5, 32, 16, fps=10)
    assert len(empty) == 5 and not empty.has_person.any() and empty.duration == 0.5


@settings(max_examples=40, deadline=None)
@given(sequences(min_frames=1))
def test_resample_to_same_fps_is_identity(seq):
    out = seq.resample(seq.fps)
    np.testing.assert_array_equal(out.keypoints, seq.keypoints)


@settings(max_examples=40, deadline=None)
@given(sequences(min_frames=2), st.sampled_from([2, 3]))
def test_upsample_then_downsample_returns_the_original(seq, factor):
    # Every original frame is an exact sample of the upsampled sequence.
    up = seq.resample(seq.fps * factor)
    assert len(up) == len(seq) * factor
    back = up.resample(seq.fps)
    np.testing.assert_allclose(back.keypoints, seq.keypoints, rtol=1e-5, atol=1e-3)


def test_resample_interpolates_only_between_visible_frames():
    kp = np.zeros((2, 13, 3), np.float32)
    kp[0, :, :] = (0, 0, 1)
    kp[1, :, :] = (10, 20, 1)
    kp[1, 4, 2] = 0  # joint 4 not seen in frame 1
    out = PoseSequence(kp, 100, 100, 1.0).resample(4.0)
    mid = out.keypoints[2]  # t = 0.5 s
    np.testing.assert_allclose(mid[0], (5, 10, 1))
    assert mid[4, 2] in (0, 1)  # nearest frame's value, never a blend with an unseen joint
    assert mid[4, 0] in (0, 10)


@settings(max_examples=40, deadline=None)
@given(sequences())
def test_flip_twice_is_identity_for_visible_joints(seq):
    twice = seq.flipped().flipped()
    visible = seq.confidence > 0
    np.testing.assert_allclose(twice.keypoints[visible], seq.keypoints[visible], atol=1e-3)
    np.testing.assert_array_equal(twice.confidence, seq.confidence)


def test_flip_swaps_sides_and_mirrors_x():
    seq = _random(2)
    flipped = seq.flipped()
    for j, k in enumerate(FLIP_PERMUTATION):
        np.testing.assert_allclose(flipped.keypoints[:, j, 0], seq.width - seq.keypoints[:, k, 0], atol=1e-4)
        np.testing.assert_array_equal(flipped.keypoints[:, j, 1], seq.keypoints[:, k, 1])


@settings(max_examples=40, deadline=None)
@given(sequences(), st.integers(1, 3000), st.integers(1, 3000))
def test_rescale_round_trip_and_normalized_is_scale_free(seq, width, height):
    back = seq.rescaled(width, height).rescaled(seq.width, seq.height)
    np.testing.assert_allclose(back.keypoints, seq.keypoints, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(seq.rescaled(width, height).normalized(), seq.normalized(), rtol=1e-4, atol=1e-5)


def test_normalized_maps_the_frame_to_unit_square_and_zeroes_missing_joints():
    seq = _random(4)
    kp = seq.keypoints.copy()
    kp[0, 3, 2] = 0
    norm = seq.replace(keypoints=kp).normalized()
    assert ((norm[..., :2] >= 0) & (norm[..., :2] <= 1)).all()
    assert (norm[0, 3] == 0).all()


def test_from_frames_with_gaps():
    pose = _random(1).keypoints[0]
    seq = PoseSequence.from_frames([pose, None, pose], 640, 480, 24.0, source="x")
    assert seq.has_person.tolist() == [True, False, True] and seq.fps == 24.0
    np.testing.assert_array_equal(seq.keypoints[2], pose)
    assert len(PoseSequence.from_frames([], 10, 10)) == 0
    with pytest.raises(PoseFileError, match="frame 1"):
        PoseSequence.from_frames([pose, pose[:12]], 640, 480)


def test_concatenate_keeps_order_and_refuses_mismatches():
    a, b = _random(3, seed=1), _random(5, seed=2)
    both = PoseSequence.concatenate([a, b])
    assert len(both) == 8
    np.testing.assert_array_equal(both.keypoints[3:], b.keypoints)
    with pytest.raises(PoseFileError, match="640x480"):
        PoseSequence.concatenate([a, b.rescaled(320, 240)])
    with pytest.raises(PoseFileError, match="fps"):
        PoseSequence.concatenate([a, b.replace(fps=25.0)])


def test_same_as_compares_content_not_source():
    a = _random(3)
    assert a.same_as(a.replace(source="elsewhere"))
    assert not a.same_as(a.replace(fps=25.0))
    assert not a.same_as(a[:2])


# --------------------------------------------------------------------------------------------
# Hand and foot points (extras)
# --------------------------------------------------------------------------------------------
from ilat_video.pose.mapping import EXTRA_NAMES  # noqa: E402

# Each extra's own joint: the wrist of its side for hand points, the ankle for foot points.
ANCHOR = [JOINT_NAMES.index(f"{name.split('_')[0]}_{'ankle' if name.endswith(('heel', 'toe')) else 'wrist'}")
          for name in EXTRA_NAMES]


def _with_anchored_extras(seq: PoseSequence) -> PoseSequence:
    """Extras that are copies of their anchor joints: any transform must keep them copies."""
    return seq.replace(extras=seq.keypoints[:, ANCHOR])


def _extras_still_anchored(seq: PoseSequence) -> None:
    assert seq.has_extras and seq.extras.shape == (len(seq), len(EXTRA_NAMES), 3)
    np.testing.assert_array_equal(seq.extras, seq.keypoints[:, ANCHOR])


@settings(max_examples=40, deadline=None)
@given(sequences(min_frames=1), st.sampled_from([7.5, 12.0, 30.0, 60.0]), st.integers(1, 3000),
       st.integers(1, 3000))
def test_every_transform_moves_extras_with_their_joints(seq, fps, width, height):
    seq = _with_anchored_extras(seq)
    _extras_still_anchored(seq)
    _extras_still_anchored(seq.flipped())
    _extras_still_anchored(seq.resample(fps))
    _extras_still_anchored(seq.rescaled(width, height))
    _extras_still_anchored(seq[1::2] if len(seq) > 1 else seq[:])
    _extras_still_anchored(PoseSequence.concatenate([seq, seq.flipped()]))
    _extras_still_anchored(seq.replace(fps=fps, source="x"))


def test_flip_swaps_right_and_left_extras():
    seq = _random(t=2)
    extras = np.zeros((2, len(EXTRA_NAMES), 3), np.float32)
    extras[:, EXTRA_NAMES.index("right_thumb")] = (100.0, 50.0, 0.9)
    flipped = seq.replace(extras=extras).flipped()
    np.testing.assert_allclose(flipped.extras[:, EXTRA_NAMES.index("left_thumb")], [[540.0, 50.0, 0.9]] * 2)
    assert (flipped.extras[:, EXTRA_NAMES.index("right_thumb")] == 0).all()


def test_replace_keeps_extras_for_the_same_frames_and_drops_them_otherwise():
    seq = _with_anchored_extras(_random(t=6))
    smoothed = seq.replace(keypoints=seq.keypoints + (1.0, 1.0, 0.0))  # e.g. filters: same frames
    np.testing.assert_array_equal(smoothed.extras, seq.extras)
    strided = seq.replace(keypoints=seq.keypoints[::2])  # frame count changes: dropped, not misaligned
    assert not strided.has_extras and len(strided) == 3
    assert not seq.without_extras().has_extras
    assert seq.replace(keypoints=seq.keypoints[::2], extras=seq.extras[::2]).has_extras


def test_old_style_sequences_have_no_extras_and_concatenate_fills_zeros():
    plain = _random(t=3)
    assert not plain.has_extras and plain.extras is None
    assert not PoseSequence.concatenate([plain, plain]).has_extras
    both = PoseSequence.concatenate([plain, _with_anchored_extras(_random(t=2, seed=1))])
    assert both.extras.shape == (5, len(EXTRA_NAMES), 3)
    assert (both.extras[:3] == 0).all() and (both.extras[3:, :, 2] > 0).all()


def test_from_frames_and_single_pose_take_extras():
    frame = _random(t=1).keypoints[0]
    points = np.full((len(EXTRA_NAMES), 3), 0.5, np.float32)
    seq = PoseSequence.from_frames([frame, None, frame], 640, 480, extras=[points, None, None])
    assert seq.extras.shape == (3, 10, 3) and (seq.extras[1:] == 0).all() and (seq.extras[0] == 0.5).all()
    assert PoseSequence(frame, 640, 480, extras=points).extras.shape == (1, 10, 3)
    with pytest.raises(PoseFileError, match="2 frames of joints but 1 of extras"):
        PoseSequence.from_frames([frame, frame], 640, 480, extras=[points])
    with pytest.raises(PoseFileError, match=r"frame 0: expected a \(10, 3\) extras"):
        PoseSequence.from_frames([frame], 640, 480, extras=[points[:9]])


@pytest.mark.parametrize("change,message", [
    (lambda ex: ex[:, :9], r"must have shape \(4, 10, 3\)"),
    (lambda ex: ex[:3], r"must have shape \(4, 10, 3\)"),
    (lambda ex: _set(ex, (2, 4, 0), np.nan), r"frame 2, extra point 4 \(right_thumb\)"),
    (lambda ex: _set(ex, (1, 9, 2), 1.5), r"frame 1, extra point 9 \(left_toe\)"),
    (lambda ex: _set(ex, (3, 0, 2), -0.1), r"frame 3, extra point 0 \(right_index\)"),
])
def test_bad_extras_name_frame_and_point(change, message):
    seq = _random(t=4)
    with pytest.raises(PoseFileError, match=message):
        seq.replace(extras=change(np.full((4, 10, 3), 0.5, np.float32)))


def _set(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def test_same_as_compares_extras():
    seq = _with_anchored_extras(_random(t=3))
    assert seq.same_as(seq.replace(source="other"))
    assert not seq.same_as(seq.without_extras())
    moved = seq.extras.copy()
    moved[1, 2, 0] += 1.0
    assert not seq.same_as(seq.replace(extras=moved)) and seq.same_as(seq.replace(extras=moved), atol=1.0)
