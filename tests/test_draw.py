"""Skeleton drawing: colours, skipped joints, size-relative thickness, rendering and PNG output."""
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ilat_video.errors import IlatError
from ilat_video.pose import skeleton as sk
from ilat_video.pose.draw import JOINT_COLORS, bone_thickness, draw_pose, render_poses, save_pose_image
from ilat_video.pose.formats import load_poses
from ilat_video.pose.sequence import PoseSequence

PENN = Path(__file__).parent / "data" / "penn_action" / "1037.mat"


def _standing(scale=1.0, width=200, height=300):
    """A front-facing person with well separated limbs (arms out), in a width x height frame."""
    xy = np.array([
        (100, 40), (80, 70), (120, 70), (55, 85), (145, 85), (30, 100), (170, 100),
        (88, 150), (112, 150), (85, 210), (115, 210), (82, 270), (118, 270)], np.float32) * scale
    return np.concatenate([xy, np.ones((13, 1), np.float32)], axis=1)


def _blank(scale=1.0):
    return np.zeros((int(300 * scale), int(200 * scale), 3), np.uint8)


def _painted(image):
    return image.any(axis=2)


def test_returns_a_new_image_and_leaves_the_input_alone():
    canvas = np.full((300, 200, 3), 40, np.uint8)
    before = canvas.copy()
    out = draw_pose(canvas, _standing())
    assert out.shape == canvas.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(canvas, before)
    assert not np.array_equal(out, canvas)


def test_each_bone_has_its_colour_at_its_middle():
    pose = _standing()
    out = draw_pose(_blank(), pose, thickness=3)
    for (a, b), colour in zip(sk.BONES, sk.BONE_COLORS):
        x, y = np.round((pose[a, :2] + pose[b, :2]) / 2).astype(int)
        assert tuple(out[y, x]) == colour, (sk.JOINT_NAMES[a], sk.JOINT_NAMES[b])


def test_joints_have_their_colour():
    pose = _standing()
    out = draw_pose(_blank(), pose, thickness=3)
    for j in range(13):
        x, y = np.round(pose[j, :2]).astype(int)
        assert tuple(out[y, x]) == JOINT_COLORS[j]


def test_invisible_joints_and_their_bones_are_skipped():
    pose = _standing()
    pose[sk.L_WRIST, 2] = 0
    out = draw_pose(_blank(), pose, thickness=3)
    wrist = np.round(pose[sk.L_WRIST, :2]).astype(int)
    forearm = np.round((pose[sk.L_ELBOW, :2] + pose[sk.L_WRIST, :2]) / 2).astype(int)
    assert not out[wrist[1], wrist[0]].any() and not out[forearm[1], forearm[0]].any()
    upper_arm = np.round((pose[sk.L_SHOULDER, :2] + pose[sk.L_ELBOW, :2]) / 2).astype(int)
    assert out[upper_arm[1], upper_arm[0]].any()


def test_min_confidence_hides_unsure_joints():
    pose = _standing()
    pose[:, 2] = 0.3
    assert _painted(draw_pose(_blank(), pose)).any()
    assert not _painted(draw_pose(_blank(), pose, min_confidence=0.5)).any()


def test_a_pose_with_no_visible_joint_changes_nothing():
    pose = _standing()
    pose[:, 2] = 0
    canvas = np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8)
    np.testing.assert_array_equal(draw_pose(canvas, pose), canvas)


def test_single_bone_paints_a_band_of_the_given_width():
    pose = np.zeros((13, 3), np.float32)
    pose[sk.R_HIP] = (40, 50, 1)
    pose[sk.L_HIP] = (160, 50, 1)
    bone = sk.BONES.index((sk.R_HIP, sk.L_HIP))
    for width in (1, 4, 9):
        out = draw_pose(np.zeros((100, 200, 3), np.uint8), pose, thickness=width)
        column = _painted(out)[:, 100]
        assert abs(int(column.sum()) - width) <= 1
        assert tuple(out[50, 100]) == sk.BONE_COLORS[bone]
        painted = np.argwhere(_painted(out))
        assert painted[:, 1].min() >= 40 - width and painted[:, 1].max() <= 160 + width


def test_thickness_follows_the_body_size():
    small, large = bone_thickness(_standing()), bone_thickness(_standing(4.0))
    assert abs(large / small - 4.0) < 0.5
    ink_small = _painted(draw_pose(_blank(), _standing())).sum()
    ink_large = _painted(draw_pose(_blank(4.0), _standing(4.0))).sum()
    assert 3.2 < ink_large / ink_small / 4.0 < 4.8  # area grows with the square of the scale


def test_thickness_without_a_torso_uses_the_joint_spread():
    pose = _standing()
    pose[[sk.R_SHOULDER, sk.L_SHOULDER, sk.R_HIP, sk.L_HIP], 2] = 0
    assert bone_thickness(pose) >= 2


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-2.0, 3.0), st.integers(8, 64), st.integers(8, 64))
def test_any_pose_draws_without_error_even_outside_the_image(seed, spread, width, height):
    rng = np.random.default_rng(seed)
    pose = np.concatenate([rng.normal(0.5, abs(spread) + 0.01, (13, 2)) * (width, height),
                           rng.uniform(0, 1, (13, 1)) * (rng.random((13, 1)) > 0.3)], axis=1)
    out = draw_pose(np.zeros((height, width, 3), np.uint8), pose)
    assert out.shape == (height, width, 3)


def test_bad_image_or_pose_shapes():
    with pytest.raises(ValueError):
        draw_pose(np.zeros((10, 10), np.uint8), _standing())
    with pytest.raises(ValueError):
        draw_pose(np.zeros((10, 10, 3), np.float32), _standing())
    with pytest.raises(ValueError):
        draw_pose(np.zeros((10, 10, 3), np.uint8), _standing()[:12])


def test_render_on_a_blank_canvas_matches_draw_pose():
    seq = load_poses(PENN)[:4]
    calls = []
    frames = list(render_poses(seq, progress=lambda done, total: calls.append((done, total))))
    assert len(frames) == 4 and calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    for t, frame in enumerate(frames):
        assert frame.shape == (seq.height, seq.width, 3)
        np.testing.assert_array_equal(frame, draw_pose(np.zeros_like(frame), seq[t]))


def test_render_frame_without_person_is_the_background():
    seq = PoseSequence.from_frames([_standing(), None], 200, 300)
    background = np.full((300, 200, 3), 90, np.uint8)
    first, second = render_poses(seq, background)
    np.testing.assert_array_equal(second, background)
    assert not np.array_equal(first, background)


def test_render_on_frames_of_another_size_rescales_the_poses():
    seq = PoseSequence(_standing()[None].repeat(2, axis=0), 200, 300)
    big = [np.zeros((600, 400, 3), np.uint8)] * 2
    out = list(render_poses(seq, big))
    np.testing.assert_array_equal(out[0], draw_pose(big[0], _standing(2.0)))


def test_render_stops_when_the_background_runs_out():
    seq = PoseSequence(_standing()[None].repeat(5, axis=0), 200, 300)
    assert len(list(render_poses(seq, iter([_blank()] * 3)))) == 3


def test_render_refuses_non_rgb_frames():
    seq = PoseSequence(_standing(), 200, 300)
    with pytest.raises(IlatError, match="frame 0"):
        list(render_poses(seq, [np.zeros((300, 200), np.uint8)]))


def test_save_pose_image_writes_the_drawing_as_png(tmp_path):
    seq = load_poses(PENN)
    path = save_pose_image(tmp_path / "pose.png", seq, frame=7)
    saved = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(saved, draw_pose(np.zeros((360, 480, 3), np.uint8), seq[7]))
    save_pose_image(tmp_path / "array.png", _standing(), size=(200, 300))
    assert Image.open(tmp_path / "array.png").size == (200, 300)
    assert sorted(os.listdir(tmp_path)) == ["array.png", "pose.png"]


def test_save_pose_image_errors_leave_nothing(tmp_path):
    seq = load_poses(PENN)
    with pytest.raises(IlatError, match="frame 99"):
        save_pose_image(tmp_path / "p.png", seq, frame=99)
    with pytest.raises(IlatError, match="does not exist"):
        save_pose_image(tmp_path / "missing" / "p.png", seq)
    with pytest.raises(ValueError, match="size"):
        save_pose_image(tmp_path / "p.png", _standing())
    assert os.listdir(tmp_path) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(20, 300), st.integers(20, 300))
def test_drawing_inside_the_joints_box_equals_drawing_on_the_whole_image(seed, width, height):
    # draw_pose paints only a crop around the joints (3-10x faster on 1080x1920 frames); the result
    # must be what painting the whole image gives, also for skeletons partly or wholly outside it.
    # PIL's polygon filling is not exactly shift-invariant (about 1 image in 600 differs by a few
    # edge pixels), so a handful of differing pixels is allowed; a wrong crop or offset differs by
    # whole strokes.
    from PIL import Image

    from ilat_video.pose.draw import _paint

    rng = np.random.default_rng(seed)
    pose = np.concatenate([rng.uniform(-0.3, 1.3, (13, 2)) * (width, height), rng.uniform(0.2, 1, (13, 1))], axis=1)
    pose[rng.random(13) < 0.2, 2] = 0
    thickness = int(rng.integers(1, 15)) if seed % 2 else None
    background = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = draw_pose(background, pose, thickness=thickness)
    reference = Image.fromarray(background)
    visible = pose[:, 2] > 0
    if visible.any():
        _paint(reference, pose[:, :2], visible, thickness or bone_thickness(pose))
    reference = np.asarray(reference)
    differ = (out != reference).any(axis=2)
    painted = (out != background).any(axis=2) | (reference != background).any(axis=2)
    assert differ.sum() <= min(8, max(1, 0.01 * painted.sum())), f"{differ.sum()} of {painted.sum()} pixels differ"
