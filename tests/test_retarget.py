"""Motion retargeting: each mode's defining property, what must not leak from the driving person,
missing joints and empty frames, real Penn Action motion, bad input, and the `retarget` command."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.cli import main
from ilat_video.errors import IlatError, NoPersonError, PoseFileError
from ilat_video.pose import skeleton as sk
from ilat_video.pose.formats import load_poses, save_poses
from ilat_video.pose.retarget import (DEFAULT_MODE, FIGURE_CONFIDENCE, FILL_CONFIDENCE, FRAME_MARGIN, HEAD_MARGIN,
                                      LIMB_BONES, MODES, STANDARD_FIGURE, body_height, retarget)
from ilat_video.pose.sequence import PoseSequence

DATA = Path(__file__).parent / "data"
PENN = sorted((DATA / "penn_action").glob("*.mat"))
WOMAN = DATA / "images" / "standing_woman_rgba.png"
MOVING_MODES = ("scale", "relative", "bones", "steady")  # the modes that must hide the driving person's size and place


# --- building poses ---------------------------------------------------------------------------

def random_pose(rng: np.random.Generator, height: float = 200.0, center=(300.0, 250.0)) -> np.ndarray:
    """A plausible (13, 3) pose walked out from the pelvis: random proportions and joint angles."""
    def unit(angle):  # 0 = straight down (image y grows downwards)
        return np.array([np.sin(angle), np.cos(angle)])

    length = lambda share: share * height * rng.uniform(0.75, 1.3)  # noqa: E731
    pose = np.zeros((sk.NUM_JOINTS, 3))
    pose[:, 2] = 1.0
    pelvis = np.asarray(center, float)
    lean = rng.uniform(-0.4, 0.4)
    side = np.array([np.cos(lean), -np.sin(lean)])  # points to the image's right
    up = -unit(lean)
    hip_half, shoulder_half = length(0.09), length(0.12)
    neck = pelvis + up * length(0.32)
    pose[sk.R_HIP, :2], pose[sk.L_HIP, :2] = pelvis - side * hip_half, pelvis + side * hip_half
    pose[sk.R_SHOULDER, :2], pose[sk.L_SHOULDER, :2] = neck - side * shoulder_half, neck + side * shoulder_half
    pose[sk.HEAD, :2] = neck + unit(np.pi + lean + rng.uniform(-0.4, 0.4)) * length(0.12)
    for a, b, c in ((sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST), (sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST)):
        pose[b, :2] = pose[a, :2] + unit(rng.uniform(-np.pi, np.pi)) * length(0.18)
        pose[c, :2] = pose[b, :2] + unit(rng.uniform(-np.pi, np.pi)) * length(0.15)
    for a, b, c in ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE)):
        pose[b, :2] = pose[a, :2] + unit(rng.uniform(-0.8, 0.8)) * length(0.25)
        pose[c, :2] = pose[b, :2] + unit(rng.uniform(-0.8, 0.8)) * length(0.25)
    return pose


def random_motion(rng: np.random.Generator, frames: int, *, missing: float = 0.0, empty: float = 0.0,
                  width: int = 640, height: int = 480) -> PoseSequence:
    """A driving sequence: random poses of one random-sized person wandering about the frame.

    missing: chance that a joint is dropped (confidence 0) in a frame; empty: chance of a frame with
    no person. Confidences of seen joints are random in (0.2, 1].
    """
    size = rng.uniform(80, 300)
    start = rng.uniform([150, 150], [450, 300])
    poses = []
    for t in range(frames):
        pose = random_pose(rng, size * rng.uniform(0.9, 1.1), start + rng.normal(0, 20, 2) * t)
        pose[:, 2] = rng.uniform(0.2, 1.0, sk.NUM_JOINTS)
        pose[rng.random(sk.NUM_JOINTS) < missing, 2] = 0.0
        if not any(pose[a, 2] > 0 and pose[b, 2] > 0 for a, b in sk.BONES):
            pose[[sk.R_SHOULDER, sk.L_SHOULDER], 2] = 1.0  # keep the body measurable (a bone to see)
        if rng.random() < empty:
            pose[:] = 0.0
        pose[pose[:, 2] == 0, :2] = 0.0
        poses.append(pose)
    return PoseSequence(np.stack(poses), width, height, fps=25.0, source="driving")


def still(pose: np.ndarray, frames: int = 6, width: int = 640, height: int = 480) -> PoseSequence:
    return PoseSequence(np.repeat(pose[None], frames, 0), width, height, fps=25.0, source="still")


def similar(pose: np.ndarray, scale: float, angle: float, shift) -> np.ndarray:
    """The pose moved by a 2-D similarity (confidences unchanged)."""
    c, s = np.cos(angle), np.sin(angle)
    out = pose.copy()
    out[:, :2] = scale * pose[:, :2] @ np.array([[c, -s], [s, c]]).T + np.asarray(shift)
    return out


def moved(seq: PoseSequence, scale: float, shift) -> PoseSequence:
    """The whole sequence scaled about the origin and shifted, on a canvas scaled to match."""
    kp = seq.keypoints.astype(np.float64)
    seen = kp[..., 2:] > 0
    kp[..., :2] = np.where(seen, kp[..., :2] * scale + np.asarray(shift), 0.0)
    return PoseSequence(kp.astype(np.float32), round(seq.width * scale), round(seq.height * scale), seq.fps,
                        seq.source)


def well_inside(seq: PoseSequence) -> PoseSequence:
    """The sequence in the middle of a frame so large that no joint lies near its edges (`steady`
    takes joints past the driving frame's edges as not seen)."""
    return moved(seq, 1.0, (2000, 2000)).replace(width=8000, height=8000)


def bone_length(kp: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(kp[..., a, :2].astype(np.float64) - kp[..., b, :2], axis=-1)


def ground(kp: np.ndarray) -> np.ndarray:
    return kp[..., [sk.R_ANKLE, sk.L_ANKLE], 1].max(-1)


def pelvis_x(kp: np.ndarray) -> np.ndarray:
    return (kp[..., sk.R_HIP, 0] + kp[..., sk.L_HIP, 0]) / 2


REF_SIZE = (512, 384)
seeds = st.integers(0, 2**32 - 1)


# --- body height ------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=seeds, scale=st.floats(0.1, 10), dx=st.floats(-500, 500), dy=st.floats(-500, 500))
def test_body_height_is_the_chain_length_and_scales_with_the_body(seed, scale, dx, dy):
    pose = random_pose(np.random.default_rng(seed))
    neck = pose[[sk.R_SHOULDER, sk.L_SHOULDER], :2].mean(0)
    pelvis = pose[[sk.R_HIP, sk.L_HIP], :2].mean(0)
    legs = [np.linalg.norm(pose[h, :2] - pose[k, :2]) + np.linalg.norm(pose[k, :2] - pose[a, :2])
            for h, k, a in ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE))]
    chain = np.linalg.norm(pose[sk.HEAD, :2] - neck) + np.linalg.norm(neck - pelvis) + np.mean(legs)
    assert body_height(pose) == pytest.approx(chain, rel=1e-9)
    assert body_height(similar(pose, scale, 0.7, (dx, dy))) == pytest.approx(scale * chain, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, scale=st.floats(10, 1000), angle=st.floats(-np.pi, np.pi))
def test_body_height_estimates_hidden_parts_from_the_usual_shares(seed, scale, angle):
    # On the standard figure every subset of joints that still has a bone gives the same height.
    rng = np.random.default_rng(seed)
    pose = similar(STANDARD_FIGURE, scale, angle, (300, 200))
    pose[rng.random(sk.NUM_JOINTS) < rng.random(), 2] = 0
    has_bone = any(pose[a, 2] > 0 and pose[b, 2] > 0 for a, b in sk.BONES)
    if has_bone:
        assert body_height(pose) == pytest.approx(scale, rel=1e-9)
    else:
        assert np.isnan(body_height(pose))
    head_only = pose.copy()
    head_only[1:, 2] = 0
    assert np.isnan(body_height(head_only))


# --- what each mode promises ------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=seeds, frames=st.integers(1, 12), missing=st.sampled_from([0.0, 0.2, 0.5]),
       ref_missing=st.sampled_from([0.0, 0.3]))
def test_bones_keeps_every_reference_bone_length_in_every_frame(seed, frames, missing, ref_missing):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames, missing=missing, empty=0.2)
    reference = random_pose(rng, rng.uniform(100, 300), (256, 200))
    droppable = np.arange(3, sk.NUM_JOINTS)  # head and shoulders stay: the body stays measurable
    reference[droppable[rng.random(droppable.size) < ref_missing], 2] = 0
    out = retarget(driving, reference, REF_SIZE, "bones").keypoints
    person = driving.has_person
    assert (out[..., 2] > 0).any(1).tolist() == person.tolist()
    for a, b in sk.BONES:
        if reference[a, 2] > 0 and reference[b, 2] > 0:
            want = bone_length(reference, a, b)
            got = bone_length(out[person], a, b)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3, err_msg=f"bone {a}-{b}")


@settings(max_examples=30, deadline=None)
@given(seed=seeds, frames=st.integers(1, 10))
def test_bones_takes_the_driving_joint_angles(seed, frames):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames)
    out = retarget(driving, random_pose(rng), REF_SIZE, "bones").keypoints
    for parent, child in LIMB_BONES:
        want = driving.keypoints[:, child, :2] - driving.keypoints[:, parent, :2]
        got = out[:, child, :2] - out[:, parent, :2]
        want = want / np.linalg.norm(want, axis=-1, keepdims=True)
        got = got / np.linalg.norm(got, axis=-1, keepdims=True)
        np.testing.assert_allclose(got, want, atol=1e-4, err_msg=f"bone {parent}-{child}")


@settings(max_examples=40, deadline=None)
@given(seed=seeds, frames=st.integers(1, 12))
def test_scale_matches_the_reference_height_ground_and_hips(seed, frames):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames)
    reference = random_pose(rng, rng.uniform(100, 300), (256, 200))
    out = retarget(driving, reference, REF_SIZE, "scale")
    kp = out.keypoints.astype(np.float64)
    assert (out.width, out.height, out.fps) == (*REF_SIZE, driving.fps)
    # Over the sequence (medians, as documented); with T even the median averages two frames.
    assert np.median(body_height(kp)) == pytest.approx(body_height(reference), rel=1e-5)
    assert np.median(ground(kp)) == pytest.approx(ground(reference), abs=1e-3)
    assert np.median(pelvis_x(kp)) == pytest.approx(pelvis_x(reference), abs=1e-3)
    # One similarity for the whole sequence: every distance scales by the same ratio, so the motion
    # (and its shape) is the driving's.
    ratio = body_height(reference) / np.median(body_height(driving.keypoints))
    for a, b in sk.BONES:
        np.testing.assert_allclose(bone_length(kp, a, b), ratio * bone_length(driving.keypoints, a, b),
                                   rtol=1e-5, atol=1e-3)


@settings(max_examples=20, deadline=None)
@given(seed=seeds)
def test_scale_on_a_still_pose_matches_height_and_ground_in_every_frame(seed):
    rng = np.random.default_rng(seed)
    reference = random_pose(rng, 150, (256, 200))
    out = retarget(still(random_pose(rng, 250)), reference, REF_SIZE, "scale").keypoints.astype(np.float64)
    np.testing.assert_allclose(body_height(out), body_height(reference), rtol=1e-5)
    np.testing.assert_allclose(ground(out), ground(reference), atol=1e-3)
    np.testing.assert_allclose(pelvis_x(out), pelvis_x(reference), atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, frames=st.integers(1, 10), leading_empty=st.integers(0, 3), missing=st.sampled_from([0.0, 0.3]))
def test_relative_starts_exactly_at_the_reference(seed, frames, leading_empty, missing):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames, missing=missing)
    kp = driving.keypoints.copy()
    kp[:leading_empty] = 0  # the first frames may have nobody: the first frame *with* a person counts
    driving = driving.replace(keypoints=kp)
    if not driving.has_person.any():
        return
    reference = random_pose(rng, 180, (256, 200))
    out = retarget(driving, reference, REF_SIZE, "relative").keypoints
    first = int(np.argmax(driving.has_person))
    np.testing.assert_allclose(out[first, :, :2], reference[:, :2], atol=1e-4)
    assert not out[:first].any()
    # Later frames move by the driving displacement scaled by the size ratio (joints seen in both).
    ratio = body_height(reference) / np.nanmedian(body_height(kp[driving.has_person]))
    both = (kp[first, :, 2] > 0)[None] & (kp[:, :, 2] > 0)
    want = reference[None, :, :2] + ratio * (kp[..., :2] - kp[first, None, :, :2])
    np.testing.assert_allclose(out[..., :2][both], want[both], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(seed=seeds, missing=st.sampled_from([0.0, 0.3]))
def test_every_mode_keeps_a_still_driving_pose_still(mode, seed, missing):
    rng = np.random.default_rng(seed)
    pose = random_pose(rng)
    pose[1:][rng.random(sk.NUM_JOINTS - 1) < missing, 2] = 0
    reference = random_pose(rng, 150, (256, 200))
    try:
        out = retarget(still(pose, 5), reference, REF_SIZE, mode).keypoints
    except NoPersonError:
        # Refused only when too few joints are left to measure the body (no visible bone).
        assert not np.isfinite(body_height(pose))
        return
    np.testing.assert_allclose(out, np.repeat(out[:1], len(out), 0), atol=1e-4)


@pytest.mark.parametrize("mode", MOVING_MODES)
@settings(max_examples=20, deadline=None)
@given(seed=seeds, scale=st.floats(0.3, 3.0), dx=st.floats(-300, 300), dy=st.floats(-300, 300),
       missing=st.sampled_from([0.0, 0.3]))
def test_driving_size_and_position_do_not_leak(mode, seed, scale, dx, dy, missing):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, int(rng.integers(1, 8)), missing=missing, empty=0.1)
    if not driving.has_person.any():
        return
    driving = well_inside(driving)   # moved or not
    reference = random_pose(rng, 170, (256, 200))
    base = retarget(driving, reference, REF_SIZE, mode).keypoints
    other = retarget(moved(driving, scale, (dx, dy)), reference, REF_SIZE, mode).keypoints
    np.testing.assert_allclose(other, base, rtol=1e-4, atol=2e-3)


def test_none_mode_is_the_driving_rescaled_and_lets_size_leak():
    rng = np.random.default_rng(3)
    driving = random_motion(rng, 5, missing=0.2)
    reference = random_pose(rng, 170, (256, 200))
    out = retarget(driving, reference, REF_SIZE, "none")
    assert out.same_as(driving.rescaled(*REF_SIZE))
    # The leak test above can fail: `none` does leak the driving person's size and place.
    other = retarget(moved(driving, 2.0, (40, 0)), reference, REF_SIZE, "none")
    assert not np.allclose(other.keypoints, out.keypoints, atol=1)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, stretch=st.floats(0.5, 2.0))
def test_bones_hides_the_driving_persons_arm_proportions(seed, stretch):
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, 4)
    kp = driving.keypoints.astype(np.float64)
    longer = kp.copy()
    # Longer arms, same angles: shift each elbow and wrist along its bone.
    for shoulder, elbow, wrist in ((sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST), (sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST)):
        longer[:, elbow, :2] = kp[:, shoulder, :2] + stretch * (kp[:, elbow, :2] - kp[:, shoulder, :2])
        longer[:, wrist, :2] = longer[:, elbow, :2] + stretch * (kp[:, wrist, :2] - kp[:, elbow, :2])
    reference = random_pose(rng, 170, (256, 200))
    base = retarget(driving, reference, REF_SIZE, "bones").keypoints
    other = retarget(driving.replace(keypoints=longer.astype(np.float32)), reference, REF_SIZE, "bones").keypoints
    np.testing.assert_allclose(other, base, rtol=1e-4, atol=2e-3)


# --- steady: a moving camera, the ground line, the frame ---------------------------------------

FPS = 30.0


def dancing(frames: int, *, height: float = 300.0, ground_y: float = 400.0, x: float = 320.0,
            jump: tuple[int, int, float] | None = None, seed: int = 0) -> np.ndarray:
    """(T, 13, 3): the standard figure dancing in place, both feet on the line y = ground_y.

    The knees bend and straighten (up to a deep squat, hips lowered with them), the arms swing up
    over the head and down, the body sways sideways. jump: (first frame, frames, height in pixels),
    a jump during which the whole body is lifted, feet off the ground.
    """
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 3)
    t = np.arange(frames) / FPS
    unit = STANDARD_FIGURE[:, :2] * height                     # chain length `height`, pelvis at 0
    thigh = np.linalg.norm(unit[sk.R_KNEE] - unit[sk.R_HIP])
    shin = np.linalg.norm(unit[sk.R_ANKLE] - unit[sk.R_KNEE])
    out = np.ones((frames, sk.NUM_JOINTS, 3))
    for i in range(frames):
        bend = 0.7 * (0.5 - 0.5 * np.cos(2 * np.pi * 0.4 * t[i] + phase[0]))   # knee angle off vertical
        arms = np.pi * (0.5 - 0.5 * np.cos(2 * np.pi * 0.3 * t[i] + phase[1]))  # 0 = down, pi = over the head
        sway = 0.1 * height * np.sin(2 * np.pi * 0.5 * t[i] + phase[2])
        pose = unit + np.array([x + sway, ground_y - (thigh + shin) * np.cos(bend)])   # the hips lowered
        for sign, (hip, knee, ankle) in ((-1, (sk.R_HIP, sk.R_KNEE, sk.R_ANKLE)),
                                         (1, (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE))):
            pose[knee] = pose[hip] + thigh * np.array([sign * np.sin(bend), np.cos(bend)])
            pose[ankle] = pose[knee] + shin * np.array([-sign * np.sin(bend), np.cos(bend)])
        for sign, (shoulder, elbow, wrist) in ((-1, (sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST)),
                                               (1, (sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST))):
            direction = np.array([sign * np.sin(arms), np.cos(arms)])
            pose[elbow] = pose[shoulder] + np.linalg.norm(unit[elbow] - unit[shoulder]) * direction
            pose[wrist] = pose[elbow] + np.linalg.norm(unit[wrist] - unit[elbow]) * direction
        if jump is not None and jump[0] <= i < jump[0] + jump[1]:
            pose[:, 1] -= jump[2] * np.sin(np.pi * (i - jump[0] + 1) / (jump[1] + 1))
        out[i, :, :2] = pose
    return out


def through_camera(kp: np.ndarray, width: int, height: int, zoom: np.ndarray, pan: np.ndarray) -> np.ndarray:
    """The poses seen by a camera that zooms (zoom: (T,)) about the frame's centre and pans (pan: (T, 2) px)."""
    center = np.array([width / 2, height / 2])
    out = kp.copy()
    out[..., :2] = center + zoom[:, None, None] * (kp[..., :2] - center) + pan[:, None, :]
    return out


def feet_error_and_size(kp: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|lowest ankle - reference ground| / reference height, body height / reference height), per frame."""
    ref_height = body_height(reference)
    return np.abs(ground(kp) - ground(reference)) / ref_height, body_height(kp) / ref_height


def test_steady_is_the_default():
    assert DEFAULT_MODE == "steady"
    driving = PoseSequence(dancing(40), 640, 480, FPS)
    reference = random_pose(np.random.default_rng(0), 170, (256, 250))
    assert retarget(driving, reference, REF_SIZE).same_as(retarget(driving, reference, REF_SIZE, "steady"))


@settings(max_examples=6, deadline=None)
@given(seed=seeds, zoom_to=st.floats(0.6, 1.6), pan_x=st.floats(-80, 80), pan_y=st.floats(-60, 60))
def test_steady_camera_zoom_and_pan_do_not_move_size_or_feet(seed, zoom_to, pan_x, pan_y):
    # A person dancing in place with both feet on the ground, filmed by a still camera and by one
    # that zooms steadily (to zoom_to over 4 s) and pans (a slow sine): the camera's motion must not
    # become the figure's. `scale` (one similarity) is shown to fail the same check.
    frames = 120
    rng = np.random.default_rng(seed)
    kp = dancing(frames, seed=seed)
    zoom = np.linspace(1.0, zoom_to, frames)
    pan = np.stack([pan_x * np.sin(np.linspace(0, np.pi, frames)), pan_y * np.sin(np.linspace(0, np.pi, frames))], 1)
    moving = through_camera(kp, 640, 480, zoom, pan)
    reference = random_pose(rng, rng.uniform(150, 220), (256, 250))
    reference[[sk.R_ANKLE, sk.L_ANKLE], 1] = np.minimum(reference[[sk.R_ANKLE, sk.L_ANKLE], 1], 340)
    still_out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints
    moving_out = retarget(PoseSequence(moving, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints
    still_out, moving_out = still_out.astype(np.float64), moving_out.astype(np.float64)
    for out in (still_out, moving_out):
        feet, size = feet_error_and_size(out, reference)
        assert feet.max() < 0.03                  # on the reference's ground line (body heights)
        assert np.abs(np.log(size / np.median(size))).max() < 0.12   # the dance's own foreshortening only
    _, still_size = feet_error_and_size(still_out, reference)
    _, moving_size = feet_error_and_size(moving_out, reference)
    assert np.abs(np.log(moving_size / still_size)).max() < 0.04    # the zoom did not change the size
    if abs(np.log(zoom_to)) > 0.2:  # the check can fail: `scale` lets a real zoom through
        scaled = retarget(PoseSequence(moving, 640, 480, FPS), reference, REF_SIZE, "scale").keypoints
        feet, size = feet_error_and_size(scaled.astype(np.float64), reference)
        assert np.abs(np.log(size / still_size)).max() > 0.08


def test_steady_keeps_feet_down_through_a_squat_and_lets_a_jump_rise():
    # The knees bend deeply (dancing's squat) with the feet on the ground: the figure's feet stay on
    # the reference ground line. A 0.3 s jump of half a body height rises by as much.
    frames, start, length, lift = 150, 70, 9, 150.0
    driving = PoseSequence(dancing(frames, jump=(start, length, lift)), 640, 480, FPS)
    reference = random_pose(np.random.default_rng(1), 180, (256, 240))
    out = retarget(driving, reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    feet, _ = feet_error_and_size(out, reference)
    down = np.ones(frames, bool)
    down[start:start + length] = False
    assert feet[down].max() < 0.02
    scale = body_height(reference) / 300.0
    top = start + length // 2
    rise = ground(reference) - ground(out[top])
    assert rise == pytest.approx(lift * scale, rel=0.25)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, frames=st.integers(1, 40), missing=st.sampled_from([0.0, 0.3]), tight=st.booleans())
def test_steady_keeps_every_joint_inside_the_image(seed, frames, missing, tight):
    # Random wandering motion onto a reference that fills its image (tight) or stands anywhere in it.
    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames, missing=missing, empty=0.1)
    if not driving.has_person.any():
        return
    width, height = REF_SIZE
    ref_height = rng.uniform(0.8, 0.95) * height if tight else rng.uniform(80, 250)
    reference = random_pose(rng, ref_height / 1.25, (rng.uniform(100, width - 100), rng.uniform(150, height - 120)))
    reference[:, :2] = np.clip(reference[:, :2], 0, [width - 1, height - 1])  # a photo that shows the whole person
    out = retarget(driving, reference, REF_SIZE, "steady")
    kp = out.keypoints.astype(np.float64)
    placed = kp[..., 2] > 0
    seen = reference[:, 2] > 0
    # Inside the image, or no further out than the reference itself reaches.
    low = np.minimum(0.0, reference[seen, :2].min(0)) - 1e-3
    high = np.maximum([width - 1.0, height - 1.0], reference[seen, :2].max(0)) + 1e-3
    assert ((kp[..., :2] >= low) & (kp[..., :2] <= high)).all(-1)[placed].all()
    assert out.has_person.tolist() == driving.has_person.tolist()


def test_steady_margins_stay_clear_when_the_reference_leaves_room():
    # A small reference in the middle of its image, arms raised far over the head in the driving:
    # the figure shrinks so that even the head keeps HEAD_MARGIN from the top.
    kp = dancing(60)
    kp[:, [sk.R_WRIST, sk.L_WRIST], 1] -= 200          # arms reaching very high
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 220))
    out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    ref_height = body_height(reference)
    assert (out[..., 1] >= FRAME_MARGIN * ref_height - 1e-3).all()
    assert (out[:, sk.HEAD, 1] >= HEAD_MARGIN * ref_height - 1e-3).all()
    assert (out[..., 0] >= FRAME_MARGIN * ref_height - 1e-3).all()
    assert (out[..., 0] <= REF_SIZE[0] - 1 - FRAME_MARGIN * ref_height + 1e-3).all()
    assert np.abs(ground(out) - ground(reference)).max() < 1e-3   # it shrank about its feet


def trunk_length(kp: np.ndarray) -> np.ndarray:
    """Shoulder midpoint to hip midpoint, per frame of (T, 13, 3) or for one (13, 3) pose."""
    neck = (kp[..., sk.R_SHOULDER, :2] + kp[..., sk.L_SHOULDER, :2]) / 2
    pelvis = (kp[..., sk.R_HIP, :2] + kp[..., sk.L_HIP, :2]) / 2
    return np.linalg.norm(neck - pelvis, axis=-1)


LEG_JOINTS = [sk.R_KNEE, sk.L_KNEE, sk.R_ANKLE, sk.L_ANKLE]


def test_steady_animates_a_photo_cut_at_the_waist_as_it_was_framed():
    # A photo that ends at the hips: the pose model's guesses for the knees and ankles lie below
    # its edge at confidences of a few hundredths. The arms swing over the head and, here, far out
    # to the sides: a figure fitted into the frame shrank to half about its guessed feet, below the
    # photo, and sank. The figure keeps its size and its hips' height, and the hands leave the frame.
    kp = dancing(60, x=640)                                              # in a frame 1280 wide
    kp[:, [sk.R_WRIST, sk.L_WRIST], 0] += np.array([-250.0, 250.0])      # arms reaching far out
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 340))          # hips at y 340 of 384
    assert reference[LEG_JOINTS, 1].min() > REF_SIZE[1] + 30
    guessed = reference.copy()
    guessed[LEG_JOINTS, 2] = [0.05, 0.1, 0.01, 0.02]
    out = retarget(PoseSequence(kp, 1280, 480, FPS), guessed, REF_SIZE, "steady").keypoints.astype(np.float64)
    hips_y = out[:, [sk.R_HIP, sk.L_HIP], 1].mean(1)
    assert np.abs(hips_y - reference[[sk.R_HIP, sk.L_HIP], 1].mean()).max() < 1e-3
    assert np.abs(trunk_length(out) / trunk_length(reference) - 1).max() < 0.02
    assert (out[:, [sk.R_WRIST, sk.L_WRIST], 0] < 0).any() or (out[:, [sk.R_WRIST, sk.L_WRIST], 0] > REF_SIZE[0]).any()
    # the guesses past the edge count for nothing: the same as no legs at all
    unseen = reference.copy()
    unseen[LEG_JOINTS, 2] = 0.0
    alone = retarget(PoseSequence(kp, 1280, 480, FPS), unseen, REF_SIZE, "steady").keypoints.astype(np.float64)
    assert np.allclose(alone[..., :2], out[..., :2], atol=1e-6)


def test_steady_animates_a_photo_and_a_video_both_cut_at_the_waist_as_framed():
    # Neither the photo nor the driving video shows legs (a selfie and a webcam): nothing placed
    # them below the photo's edge, so the photo was taken as whole and shrunk to fit the arms, half
    # its size at times. The legs the standard figure would have below the hips say it is cut.
    kp = dancing(60, x=640)
    kp[:, [sk.R_WRIST, sk.L_WRIST], 0] += np.array([-250.0, 250.0])
    kp[:, LEG_JOINTS] = 0.0
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 340))          # hips at y 340 of 384
    reference[LEG_JOINTS] = 0.0
    out = retarget(PoseSequence(kp, 1280, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    hips_y = out[:, [sk.R_HIP, sk.L_HIP], 1].mean(1)
    assert np.abs(hips_y - reference[[sk.R_HIP, sk.L_HIP], 1].mean()).max() < 1e-3
    assert np.abs(trunk_length(out) / trunk_length(reference) - 1).max() < 0.02
    assert (out[:, [sk.R_WRIST, sk.L_WRIST], 0] < 0).any() or (out[:, [sk.R_WRIST, sk.L_WRIST], 0] > REF_SIZE[0]).any()
    assert (out[:, LEG_JOINTS, 1] > REF_SIZE[1]).all()
    np.testing.assert_allclose(out[:, LEG_JOINTS, 2], FIGURE_CONFIDENCE, rtol=1e-6)


def test_steady_animates_a_photo_cut_at_its_side_as_it_was_framed():
    # A photo whose left edge cuts the person's arm (elbow and wrist past it, as a pose model guesses
    # them): the arms, swinging out, would need the figure shrunk to half to stay inside; it keeps its
    # size, its feet on their line and its hips where they stand across the photo, and the hands leave.
    kp = dancing(60, x=640)
    kp[:, [sk.R_WRIST, sk.L_WRIST], 0] += np.array([-250.0, 250.0])
    reference = similar(STANDARD_FIGURE, 300, 0.0, (60, 200))               # standing at the left edge
    reference[sk.R_ELBOW, 0], reference[sk.R_WRIST, 0] = -40.0, -70.0
    out = retarget(PoseSequence(kp, 1280, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    assert np.abs(trunk_length(out) / trunk_length(reference) - 1).max() < 0.02
    hips_x = out[:, [sk.R_HIP, sk.L_HIP], 0].mean(1)
    assert np.abs(hips_x - reference[[sk.R_HIP, sk.L_HIP], 0].mean()).max() < 1e-3
    assert np.abs(ground(out) - ground(reference)).max() < 0.05 * body_height(reference)
    assert (out[:, [sk.R_WRIST, sk.L_WRIST], 0] < 0).any()


def test_steady_takes_the_edges_its_caller_says_cut_the_person():
    # A photo cut down the body's middle keeps every joint inside it; the caller, who has its person
    # mask, says its left edge cuts the person: it keeps its size and place across, and the hands
    # leave the frame. Not told, the figure shrinks to fit the arms.
    kp = dancing(60, x=640)
    kp[:, [sk.R_WRIST, sk.L_WRIST], 0] += np.array([-250.0, 250.0])
    reference = similar(STANDARD_FIGURE, 300, 0.0, (70, 200))
    driving = PoseSequence(kp, 1280, 480, FPS)
    told = retarget(driving, reference, REF_SIZE, "steady", cut={"left"}).keypoints.astype(np.float64)
    fitted = retarget(driving, reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    assert np.abs(trunk_length(told) / trunk_length(reference) - 1).max() < 0.02
    assert np.abs(told[:, [sk.R_HIP, sk.L_HIP], 0].mean(1) - reference[[sk.R_HIP, sk.L_HIP], 0].mean()).max() < 1e-3
    assert (told[:, [sk.R_WRIST, sk.L_WRIST], 0] < 0).any()
    assert trunk_length(fitted).min() < 0.8 * trunk_length(reference)


def test_steady_fits_a_whole_photo_whose_pose_lacks_a_wrist():
    # The photo's pose lacks a wrist (confidence 0) and the driving raises its arms high from the
    # first frame: the wrist completed from there lies above the photo, which says nothing of how
    # the photo is framed: the figure is still fitted inside it.
    kp = dancing(60)
    kp[:, [sk.R_WRIST, sk.L_WRIST], 1] -= 200
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 200))
    reference[sk.R_WRIST, 2] = 0.0
    out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    placed = out[..., 2] > 0
    inside = (out[..., :2] >= 0).all(-1) & (out[..., 0] <= REF_SIZE[0] - 1) & (out[..., 1] <= REF_SIZE[1] - 1)
    assert inside[placed].all()


def test_steady_sizes_the_figure_on_the_parts_both_show():
    # A long-legged reference, whole in its photo, and a driving video cut at the waist (no knees,
    # no ankles in any frame): its trunk takes the reference's trunk's size. Sized by whole heights,
    # the driving's guessed from standard proportions, the trunk grew by the reference's extra leg.
    reference = similar(STANDARD_FIGURE, 150, 0.0, (256, 200))
    pelvis = reference[[sk.R_HIP, sk.L_HIP], :2].mean(0)
    reference[LEG_JOINTS, :2] = pelvis + 1.4 * (reference[LEG_JOINTS, :2] - pelvis)   # legs 1.4x as long
    assert reference[:, 1].max() < REF_SIZE[1]
    kp = dancing(60)
    kp[:, LEG_JOINTS, 2] = 0.0
    out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    assert np.abs(np.median(trunk_length(out)) / trunk_length(reference) - 1) < 0.03


def test_steady_does_not_size_a_head_and_shoulders_photo_by_the_head_alone():
    # A photo cut at the chest (its hips below the edge) and a driving figure that nods (its head
    # dips toward its shoulders and back, three times): the only part of the height both show is
    # the head's, and sized by it the figure grew by a fifth at every nod. Without the trunk in
    # common, the whole heights set the size.
    reference = similar(STANDARD_FIGURE, 400, 0.0, (256, 420))          # hips at y 420 of 384
    kp = dancing(90)
    neck = (kp[:, sk.R_SHOULDER, :2] + kp[:, sk.L_SHOULDER, :2]) / 2
    nod = 1.0 - 0.35 * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(90) / 30))     # 1 -> 0.65 -> 1
    kp[:, sk.HEAD, :2] = neck + nod[:, None] * (kp[:, sk.HEAD, :2] - neck)
    out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    span = np.linalg.norm(out[:, sk.R_SHOULDER, :2] - out[:, sk.L_SHOULDER, :2], axis=1)
    assert span.max() / span.min() < 1.08


LEGS = ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE))


def test_steady_stands_the_photo_on_its_own_legs_for_a_video_cut_at_the_waist(caplog):
    # A driving video that ends just below the hips (a webcam's view) of a figure dancing with bent
    # knees and arms swung over its head: the pose model's knees and ankles are guesses below the
    # frame. They are not seen: the photo's legs stand in for them, as the photo has them, hanging
    # from the hips, the feet on the photo's ground line. Taken as seen, the legs squatted with the
    # guesses; carried by the similarity that fits the photo's hanging arms to the raised ones, they
    # turned over the head.
    kp = dancing(90)
    assert kp[:, [sk.R_HIP, sk.L_HIP], 1].max() < 280 < 280 + 0.05 * 300 + 20 < kp[:, LEG_JOINTS, 1].min()
    guessed = kp.copy()
    guessed[:, LEG_JOINTS, 2] = 0.2
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 220))
    with caplog.at_level("WARNING"):
        out = retarget(PoseSequence(guessed, 640, 280, FPS, "webcam.mp4"), reference, REF_SIZE,
                       "steady").keypoints.astype(np.float64)
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1 and "webcam.mp4: the video's frame cuts the person" in said[0]
    assert "right_knee, left_knee, right_ankle, left_ankle past its edge in most frames" in said[0]
    assert np.abs(ground(out) - ground(reference)).max() < 1e-3
    for hip, knee, ankle in LEGS:          # the photo's leg, at most shrunk to fit the raised arms
        for joint in (knee, ankle):
            want, got = reference[joint, :2] - reference[hip, :2], out[:, joint, :2] - out[:, hip, :2]
            cross = want[0] * got[:, 1] - want[1] * got[:, 0]
            assert np.abs(cross).max() < 1e-6 * np.linalg.norm(want) ** 2          # the same direction
            assert (got @ want > 0.8 * want @ want).all()
    # the guesses past the edge count for nothing: the same as a pose file without legs
    no_legs = kp.copy()
    no_legs[:, LEG_JOINTS] = 0.0
    alone = retarget(PoseSequence(no_legs, 640, 280, FPS), reference, REF_SIZE, "steady").keypoints
    np.testing.assert_allclose(alone[..., :2], out[..., :2], atol=1e-3)


def test_steady_keeps_what_the_pose_model_says_below_a_knee_or_a_shoulder_in_view(caplog):
    # A frame that cuts only the ankles (the knees in view, a squat's ankles guessed below them): the
    # same figure as with the whole body in view, and nothing said. A frame cut at the chest: the
    # legs go, but the arms, whose hands hang below it and swing up over the head, keep the
    # driving's angles (the photo's hanging arms would not wave).
    kp = dancing(90)
    assert kp[:, LEG_JOINTS[:2], 1].max() < 350 < 350 + 0.05 * 300 + 10 < kp[:, LEG_JOINTS[2:], 1].min()
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 220))
    whole = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints
    with caplog.at_level("WARNING"):
        shins = retarget(PoseSequence(kp, 640, 350, FPS), reference, REF_SIZE, "steady").keypoints
    assert not caplog.records
    np.testing.assert_allclose(shins, whole, atol=1e-3)
    chest = kp[:, [sk.R_SHOULDER, sk.L_SHOULDER], 1].max() + 30
    assert (kp[:, [sk.R_HIP, sk.L_HIP], 1] > chest + 20).all() and (kp[:, sk.R_WRIST, 1] > chest).mean() > 0.3
    cut = retarget(PoseSequence(kp, 640, int(chest), FPS), reference, REF_SIZE, "steady").keypoints
    for a, b in ((sk.R_SHOULDER, sk.R_ELBOW), (sk.R_ELBOW, sk.R_WRIST), (sk.L_SHOULDER, sk.L_ELBOW)):
        turn = lambda p: np.arctan2(*(p[:, b, :2] - p[:, a, :2]).T[::-1])  # noqa: E731
        assert np.abs(np.angle(np.exp(1j * (turn(cut) - turn(whole))))).max() < 1e-3


def test_steady_sizes_a_head_and_shoulders_video_by_its_head_and_shoulders():
    # A driving video of head and shoulders only (no hips: a webcam close up) whose person nods,
    # the head dipping to two thirds of its height over the shoulders three times. Its whole height,
    # guessed from the head's length, made the figure a third larger at every nod; sized by head and
    # shoulders near their longest, it keeps its size, and the photo's hips and legs stay put.
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 220))
    kp = np.repeat(similar(STANDARD_FIGURE, 400, 0.0, (320, 330))[None], 90, 0)
    neck = (kp[:, sk.R_SHOULDER, :2] + kp[:, sk.L_SHOULDER, :2]) / 2
    nod = 1.0 - 0.35 * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(90) / 30))     # 1 -> 0.65 -> 1
    kp[:, sk.HEAD, :2] = neck + nod[:, None] * (kp[:, sk.HEAD, :2] - neck)
    kp[:, [sk.R_HIP, sk.L_HIP] + LEG_JOINTS, 2] = 0.0
    out = retarget(PoseSequence(kp, 640, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    span = np.linalg.norm(out[:, sk.R_SHOULDER, :2] - out[:, sk.L_SHOULDER, :2], axis=1)
    ref_span = np.linalg.norm(reference[sk.R_SHOULDER, :2] - reference[sk.L_SHOULDER, :2])
    assert np.abs(span / ref_span - 1).max() < 0.03
    lower = [sk.R_HIP, sk.L_HIP] + LEG_JOINTS         # hanging from the shoulders, within 1% of the height
    assert np.abs(out[:, lower, :2] - reference[lower, :2]).max() < 0.01 * body_height(reference)


def test_steady_keeps_the_feet_on_the_ground_when_the_fit_shrinks_a_figure_without_legs():
    # The same head-and-shoulders video with arms spread far wider than the photo: the figure shrinks
    # to fit, about the photo's ground line. It shrank about the neck (the driving's only anchor)
    # and lifted the photo's feet off the floor.
    reference = similar(STANDARD_FIGURE, 300, 0.0, (256, 220))
    kp = np.repeat(similar(STANDARD_FIGURE, 400, 0.0, (1000, 330))[None], 60, 0)
    for side, (elbow, wrist) in ((-1, (sk.R_ELBOW, sk.R_WRIST)), (1, (sk.L_ELBOW, sk.L_WRIST))):
        shoulder = kp[:, sk.R_SHOULDER if side < 0 else sk.L_SHOULDER, :2]
        kp[:, elbow, :2] = shoulder + (side * 200, 0)
        kp[:, wrist, :2] = shoulder + (side * 400, 0)
    kp[:, [sk.R_HIP, sk.L_HIP] + LEG_JOINTS, 2] = 0.0
    out = retarget(PoseSequence(kp, 2000, 480, FPS), reference, REF_SIZE, "steady").keypoints.astype(np.float64)
    assert trunk_length(out[30]) < 0.9 * trunk_length(reference)                   # it had to shrink
    assert np.abs(ground(out) - ground(reference)).max() < 1e-3


# --- missing joints, empty frames, confidences --------------------------------------------------

def rigid_motion_with_holes(rng, frames: int, hideable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(full (T, 13, 3), with hidden joints, reference): one random pose under a different 2-D
    similarity in every frame and in the reference; some of `hideable` hidden in each frame."""
    pose = random_pose(rng, 150)
    full = np.stack([similar(pose, rng.uniform(0.7, 1.4), rng.uniform(-0.5, 0.5), rng.uniform(-50, 50, 2))
                     for _ in range(frames)])
    holes = full.copy()
    for t in range(frames):
        hidden = [j for j in hideable if rng.random() < 0.5]
        holes[t, hidden] = 0.0
    return full, holes, similar(pose, 1.3, 0.2, (40, 10))


@settings(max_examples=30, deadline=None)
@given(seed=seeds, frames=st.integers(2, 10))
def test_scale_fills_missing_joints_where_a_rigidly_moving_body_has_them(seed, frames):
    # A joint hidden in a body that moves rigidly (a similarity) is exactly where the rest of the
    # body says it is. Hidden joints change the sequence statistics, so `scale` may pick another
    # similarity: the output must be *one* similarity of the full driving, filled joints included.
    rng = np.random.default_rng(seed)
    kept = (sk.HEAD, sk.R_HIP, sk.L_ANKLE)  # 3 joints always shared, so the carrying fit is exact
    full, holes, reference = rigid_motion_with_holes(rng, frames, [j for j in range(sk.NUM_JOINTS) if j not in kept])
    got = retarget(PoseSequence(holes, 640, 480), reference, REF_SIZE, "scale").keypoints.astype(np.float64)
    seen = holes[..., 2] > 0
    # Fit got = s * full + t on the seen joints (x and y stacked), then check every joint.
    xs, ys = full[..., 0][seen], full[..., 1][seen]
    design = np.concatenate([np.stack([xs, np.ones_like(xs), np.zeros_like(xs)], 1),
                             np.stack([ys, np.zeros_like(ys), np.ones_like(ys)], 1)])
    target = np.concatenate([got[..., 0][seen], got[..., 1][seen]])
    (scale, tx, ty), *_ = np.linalg.lstsq(design, target, rcond=None)
    np.testing.assert_allclose(got[..., :2], scale * full[..., :2] + (tx, ty), rtol=1e-4, atol=2e-3)
    assert (got[..., 2][~seen] == FILL_CONFIDENCE).all()


@settings(max_examples=30, deadline=None)
@given(seed=seeds, frames=st.integers(2, 10))
def test_bones_fills_hidden_arms_where_a_rigidly_moving_body_has_them(seed, frames):
    # Only arm joints are hidden, so the sequence statistics (height, ground, hips) are unchanged.
    rng = np.random.default_rng(seed)
    full, holes, reference = rigid_motion_with_holes(rng, frames, (sk.R_ELBOW, sk.L_ELBOW, sk.R_WRIST, sk.L_WRIST))
    want = retarget(PoseSequence(full, 640, 480), reference, REF_SIZE, "bones").keypoints
    got = retarget(PoseSequence(holes, 640, 480), reference, REF_SIZE, "bones").keypoints
    np.testing.assert_allclose(got[..., :2], want[..., :2], rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("mode", MOVING_MODES)
@settings(max_examples=20, deadline=None)
@given(seed=seeds, frames=st.integers(1, 10))
def test_confidences_seen_joints_keep_theirs_filled_ones_are_capped(mode, seed, frames):
    rng = np.random.default_rng(seed)
    driving = well_inside(random_motion(rng, frames, missing=0.3, empty=0.2))
    reference = random_pose(rng, 170, (256, 200))
    out = retarget(driving, reference, REF_SIZE, mode)
    seen = driving.confidence > 0
    np.testing.assert_array_equal(out.confidence[seen], driving.confidence[seen])
    person = driving.has_person
    filled = ~seen & person[:, None]
    # Every joint the reference has is placed in every frame with a person, at most half trusted.
    assert (out.confidence[filled] > 0).all() and (out.confidence[filled] <= FILL_CONFIDENCE).all()
    assert np.isfinite(out.keypoints).all()


@pytest.mark.parametrize("mode", MODES)
def test_frames_without_a_person_stay_empty(mode):
    rng = np.random.default_rng(7)
    driving = random_motion(rng, 8)
    kp = driving.keypoints.copy()
    kp[[0, 3, 4, 7]] = 0
    driving = driving.replace(keypoints=kp)
    out = retarget(driving, random_pose(rng, 170, (256, 200)), REF_SIZE, mode)
    assert out.has_person.tolist() == driving.has_person.tolist()
    assert not out.keypoints[~driving.has_person].any()
    nobody = retarget(PoseSequence.empty(5, 640, 480), random_pose(rng), REF_SIZE, mode)
    assert len(nobody) == 5 and not nobody.has_person.any()


@pytest.mark.parametrize("mode", MOVING_MODES)
def test_a_joint_nobody_shows_stays_missing_and_reference_gaps_come_from_the_driving(mode):
    rng = np.random.default_rng(11)
    driving = random_motion(rng, 6)
    kp = driving.keypoints.copy()
    kp[:, sk.L_WRIST] = 0        # the driving never shows the left wrist
    kp[:3, sk.R_ELBOW] = 0       # ... and shows the right elbow only from frame 3 on
    driving = driving.replace(keypoints=kp)
    reference = random_pose(rng, 170, (256, 200))
    reference[sk.L_WRIST] = 0    # nor does the reference: it stays missing
    reference[sk.R_ELBOW] = 0    # the reference lacks the right elbow: completed from the driving
    reference[sk.L_KNEE] = 0     # ... and the left knee, which the driving shows
    kp[:, sk.R_ANKLE] = 0        # a leg's joint nobody shows: the standard figure's, hardly trusted
    reference[sk.R_ANKLE] = 0
    driving = driving.replace(keypoints=kp)
    out = retarget(driving, reference, REF_SIZE, mode)
    assert (out.confidence[:, sk.L_WRIST] == 0).all()
    np.testing.assert_allclose(out.confidence[:, sk.R_ANKLE], FIGURE_CONFIDENCE, rtol=1e-6)
    assert (out.confidence[3:, sk.R_ELBOW] == kp[3:, sk.R_ELBOW, 2]).all()
    # Before frame 3 it comes from the completed reference (which took it from frame 3): present, capped.
    early = out.confidence[:3, sk.R_ELBOW]
    assert ((early > 0) & (early <= FILL_CONFIDENCE)).all()
    assert (out.confidence[:, sk.L_KNEE] == kp[:, sk.L_KNEE, 2]).all()
    if mode == "bones":  # the completed knee's bones have one length throughout
        for a, b in ((sk.L_HIP, sk.L_KNEE), (sk.L_KNEE, sk.L_ANKLE)):
            lengths = bone_length(out.keypoints, a, b)
            np.testing.assert_allclose(lengths, lengths[0], rtol=1e-5)


# --- real motion ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_real_penn_action_motion_gives_sane_poses(mode):
    sequences = [load_poses(path) for path in PENN]
    assert len(sequences) == 3
    for driving in sequences:
        for reference_seq in sequences:
            reference = reference_seq.keypoints[0]
            size = (reference_seq.width, reference_seq.height)
            out = retarget(driving, reference, size, mode)
            kp = out.keypoints
            assert len(out) == len(driving) and out.fps == driving.fps and (out.width, out.height) == size
            assert np.isfinite(kp).all()
            assert out.has_person.tolist() == driving.has_person.tolist()
            # Nobody flies off: every joint within one image size of the image.
            assert (kp[..., 0] > -size[0]).all() and (kp[..., 0] < 2 * size[0]).all()
            assert (kp[..., 1] > -size[1]).all() and (kp[..., 1] < 2 * size[1]).all()
            heights = body_height(kp[out.has_person])
            assert np.isfinite(heights).all()
            if mode != "none":  # the body keeps about the reference's size (never collapses or explodes)
                ratio = np.median(heights) / body_height(reference)
                assert 0.6 < ratio < 1.6, (driving.source, reference_seq.source, ratio)
            if mode == "bones":
                for a, b in sk.BONES:
                    if reference[a, 2] > 0 and reference[b, 2] > 0:
                        np.testing.assert_allclose(bone_length(kp, a, b), bone_length(reference, a, b),
                                                   rtol=1e-5, atol=1e-3)


# --- bad input ------------------------------------------------------------------------------

def test_bad_input_gives_clear_errors():
    rng = np.random.default_rng(0)
    driving = random_motion(rng, 3)
    reference = random_pose(rng)
    with pytest.raises(IlatError, match="unknown retarget mode 'scaled'; expected one of: none, scale, relative, bones"):
        retarget(driving, reference, REF_SIZE, "scaled")
    with pytest.raises(PoseFileError, match=r"expected a \(13, 3\) array, got shape \(12, 3\)"):
        retarget(driving, reference[:12], REF_SIZE)
    with pytest.raises(IlatError, match="reference_size"):
        retarget(driving, reference)
    with pytest.raises(NoPersonError, match="the reference pose has no visible joint"):
        retarget(driving, np.zeros((13, 3)), REF_SIZE)
    head_only = np.zeros((13, 3))
    head_only[0] = (10, 10, 1)
    with pytest.raises(NoPersonError, match="reference pose shows too little of the body"):
        retarget(driving, head_only, REF_SIZE)
    with pytest.raises(NoPersonError, match="still: no frame shows enough of the body"):
        retarget(still(head_only), reference, REF_SIZE)
    two = PoseSequence(np.stack([reference, reference]), *REF_SIZE, source="ref.json")
    with pytest.raises(PoseFileError, match="ref.json: a reference pose must be one frame, got 2 frames"):
        retarget(driving, two)
    bad = reference.copy()
    bad[4, 2] = 1.5
    with pytest.raises(PoseFileError, match=r"joint 4 \(left_elbow\): confidence must be in \[0, 1\]"):
        retarget(driving, bad, REF_SIZE)


def test_a_reference_pose_sequence_brings_its_size():
    rng = np.random.default_rng(1)
    driving = random_motion(rng, 4)
    reference = random_pose(rng, 170, (256, 200))
    seq = PoseSequence(reference[None], *REF_SIZE, source="ref")
    assert retarget(driving, seq).same_as(retarget(driving, reference, REF_SIZE))
    doubled = retarget(driving, seq, (REF_SIZE[0] * 2, REF_SIZE[1] * 2))
    assert doubled.same_as(retarget(driving, seq.rescaled(REF_SIZE[0] * 2, REF_SIZE[1] * 2)), atol=1e-3)


# --- the command ----------------------------------------------------------------------------

@pytest.fixture
def pose_files(tmp_path):
    driving = load_poses(PENN[0])
    reference = load_poses(PENN[1])[:1]
    save_poses(reference, tmp_path / "ref.json")
    return driving, reference, tmp_path


@pytest.mark.parametrize("mode", MODES)
def test_retarget_command_with_a_reference_pose(pose_files, mode):
    driving, reference, tmp_path = pose_files
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["retarget", str(PENN[0]), "--reference", str(tmp_path / "ref.json"),
                                       "-o", str(out), "--mode", mode])
    assert result.exit_code == 0, result.output
    written = load_poses(out)
    assert written.same_as(retarget(driving, reference, mode=mode), atol=1e-4)


def test_retarget_command_with_a_reference_image(tmp_path):
    from ilat_video.fileio import load_image
    from ilat_video.pose.extract import extract_image_pose

    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["retarget", str(PENN[2]), "--reference", str(WOMAN), "-o", str(out)])
    assert result.exit_code == 0, result.output
    image = load_image(WOMAN)
    written = load_poses(out)
    assert (written.width, written.height) == (image.shape[1], image.shape[0])
    want = retarget(load_poses(PENN[2]), extract_image_pose(WOMAN), (image.shape[1], image.shape[0]))
    assert written.same_as(want, atol=1e-3)


def test_retarget_command_reads_a_photo_as_animate_does(tmp_path):
    # The woman cut at the waist and down her left side: her guessed knees and ankles are not seen
    # and her left side is cut, as `animate` has them, where the command took the photo as whole.
    from PIL import Image

    from ilat_video.pipeline import cut_sides, without_guessed_legs
    from ilat_video.pose.extract import extract_image_person

    image = Image.open(WOMAN).convert("RGB")
    path = tmp_path / "cut.png"
    image.crop((int(0.45 * image.width), 0, image.width, image.height // 2)).save(path)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["retarget", str(PENN[2]), "--reference", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    person = without_guessed_legs(extract_image_person(path), str(path))
    assert (person.pose[LEG_JOINTS, 2] == 0).all() and cut_sides(person.mask, person.pose) == {"left"}
    reference = PoseSequence(person.pose[None], *Image.open(path).size, source=str(path))
    want = retarget(load_poses(PENN[2]), reference, cut={"left"})
    assert load_poses(out).same_as(want, atol=1e-3)
    assert not load_poses(out).same_as(retarget(load_poses(PENN[2]), reference), atol=1e-3)


def test_retarget_command_bad_input_exits_2_and_writes_nothing(pose_files):
    driving, reference, tmp_path = pose_files
    runner = CliRunner()
    ref = str(tmp_path / "ref.json")
    out = tmp_path / "out.json"

    def run(*args):
        result = runner.invoke(main, ["retarget", *args])
        assert result.exit_code == 2, result.output
        return " ".join(result.output.split())  # rich wraps long lines

    assert "scaled" in run(str(PENN[0]), "--reference", ref, "-o", str(out), "--mode", "scaled")
    assert "does not exist" in run(str(PENN[0]), "--reference", ref, "-o", str(tmp_path / "no" / "out.json"))
    assert "also an input" in run(str(PENN[0]), "--reference", ref, "-o", ref)
    assert "no such pose file" in run(str(tmp_path / "missing.json"), "--reference", ref, "-o", str(out))
    blank = tmp_path / "blank.png"
    from PIL import Image
    Image.new("RGB", (64, 64), (255, 255, 255)).save(blank)
    assert "no person found" in run(str(PENN[0]), "--reference", str(blank), "-o", str(out))
    nobody = tmp_path / "nobody.json"
    save_poses(PoseSequence.empty(1, 64, 64), nobody)
    assert "no visible joint" in run(str(PENN[0]), "--reference", str(nobody), "-o", str(out))
    video_poses = tmp_path / "video.json"
    save_poses(driving[:3], video_poses)
    assert "one frame, got 3" in run(str(PENN[0]), "--reference", str(video_poses), "-o", str(out))
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.png", "nobody.json", "ref.json", "video.json"]


def test_retarget_command_offers_every_mode():
    command = main.commands["retarget"]
    mode = next(p for p in command.params if p.name == "mode")
    assert tuple(mode.type.choices) == MODES


@settings(max_examples=30, deadline=None)
@given(seed=seeds, frames=st.integers(1, 10), mode=st.sampled_from(("none",) + MOVING_MODES))
def test_hands_and_feet_keep_their_place_on_their_bone_in_every_mode(seed, frames, mode):
    """Each hand/foot point keeps its offset from the wrist/ankle in the bone's own frame (turned and
    stretched with the forearm/shank); points whose bone is not seen are dropped, never left behind
    (mode "none" passes them through as they are)."""
    from ilat_video.pose.retarget import EXTRA_BONES

    rng = np.random.default_rng(seed)
    driving = random_motion(rng, frames, missing=0.1)
    kp = driving.keypoints
    extras = np.zeros((frames, 10, 3), np.float32)
    for k, (_, b) in enumerate(EXTRA_BONES):
        extras[:, k, :2] = kp[:, b, :2] + rng.normal(0, 15, (frames, 2))
        extras[:, k, 2] = (kp[:, b, 2] > 0) * rng.uniform(0.3, 1.0, frames)
    driving = driving.replace(extras=extras)
    reference = random_pose(rng, rng.uniform(100, 300))
    out = retarget(driving, reference, (640, 480), mode=mode)
    assert out.extras is not None and out.extras.shape == (frames, 10, 3)
    for k, (a, b) in enumerate(EXTRA_BONES):
        for t in range(frames):
            if out.extras[t, k, 2] == 0:
                continue
            if mode == "none" and not (kp[t, a, 2] > 0 and kp[t, b, 2] > 0):
                continue  # "none" passes every point through as it is
            assert kp[t, a, 2] > 0 and kp[t, b, 2] > 0 and out.keypoints[t, a, 2] > 0
            z = lambda p, q: complex(*(p - q))  # noqa: E731
            before = z(extras[t, k, :2], kp[t, b, :2]) / z(kp[t, b, :2], kp[t, a, :2])
            after = z(out.extras[t, k, :2], out.keypoints[t, b, :2]) / z(out.keypoints[t, b, :2],
                                                                          out.keypoints[t, a, :2])
            assert abs(after - before) <= 1e-3 * max(1.0, abs(before))
