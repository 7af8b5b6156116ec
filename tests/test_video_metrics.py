"""Video metrics: masked scores, the head box, and flicker under the truth's flow with its occlusion test."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from ilat_video.eval.video_metrics import (
    EXTREMITY_BOX_MARGIN,
    HEAD_BOX_SHOULDERS,
    HEAD_BOX_TORSO,
    TruthMotion,
    consistency_mask,
    extremity_region,
    frame_scores,
    head_box,
    head_psnr,
    optical_flow,
    paired_comparison,
    revealed_background,
    truth_motion,
    warp_backward,
    warping_error,
)


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour texture, uint8 (H, W, 3): structure at several scales for the flow."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
    image = 0.6 * cv2.GaussianBlur(noise, (0, 0), 4) + 0.4 * cv2.GaussianBlur(noise, (0, 0), 1.5)
    image = (image - image.min()) / (image.max() - image.min()) * 255
    return np.round(image).astype(np.uint8)


def _pose(head=(50.0, 20.0), shoulders=((40.0, 40.0), (60.0, 40.0)), hips=((42.0, 80.0), (58.0, 80.0))) -> np.ndarray:
    pose = np.zeros((13, 3), np.float32)
    pose[0] = (*head, 1)
    pose[1], pose[2] = (*shoulders[0], 1), (*shoulders[1], 1)
    pose[7], pose[8] = (*hips[0], 1), (*hips[1], 1)
    return pose


# --- masked scores ----------------------------------------------------------------------------------

def test_frame_scores_split_person_and_background():
    truth = _texture(48, 64)
    person = np.zeros((48, 64), bool)
    person[10:30, 20:40] = True
    pred = truth.copy()
    pred[~person] = 255 - pred[~person]  # wrong only outside the person
    scores = frame_scores(pred, truth, person)
    assert set(scores) == {"frame", "person", "background"}
    assert scores["person"]["psnr"] == 100.0 and scores["person"]["mae"] == 0.0
    assert scores["background"]["psnr"] < 20
    assert scores["background"]["psnr"] < scores["frame"]["psnr"] < scores["person"]["psnr"]


def test_revealed_background_scores_where_a_ghost_would_stand():
    truth = _texture(48, 64)
    reference_person = np.zeros((48, 64), bool)
    reference_person[10:30, 5:25] = True
    person = np.zeros((48, 64), bool)
    person[10:30, 20:40] = True  # the person moved right: columns 5-19 are uncovered
    revealed = revealed_background(reference_person, person)
    assert revealed[10:30, 5:20].all() and revealed.sum() == 20 * 15
    ghost = truth.copy()
    ghost[reference_person & ~person] = 0  # the reference's person left where it stood
    scores = frame_scores(ghost, truth, person, revealed)
    assert scores["person"]["psnr"] == 100.0  # inside the truth's person the ghost is invisible
    assert scores["revealed"]["psnr"] < 15 and scores["revealed"]["mae"] > 0.2
    assert "revealed" not in frame_scores(ghost, truth, person)
    with pytest.raises(ValueError):
        revealed_background(reference_person, person[:10])


# --- head box -----------------------------------------------------------------------------------------

def test_head_box_is_centred_on_the_head_with_the_larger_size():
    pose = _pose()  # shoulders 20 px apart, torso 40 px long
    x0, y0, x1, y1 = head_box(pose, (200, 200))
    side = max(HEAD_BOX_TORSO * 40, HEAD_BOX_SHOULDERS * 20)
    assert x1 - x0 == pytest.approx(side, abs=1) and y1 - y0 == pytest.approx(side, abs=1)
    assert (x0 + x1) / 2 == pytest.approx(50.5, abs=1) and (y0 + y1) / 2 == pytest.approx(20.5, abs=1)


def test_head_box_side_view_uses_the_torso_and_bent_over_uses_the_shoulders():
    side_view = _pose(shoulders=((49.0, 40.0), (51.0, 40.0)), hips=((49.0, 80.0), (51.0, 80.0)))
    x0, _, x1, _ = head_box(side_view, (200, 200))
    assert x1 - x0 == pytest.approx(HEAD_BOX_TORSO * 40, abs=1)
    bent = _pose(shoulders=((30.0, 40.0), (70.0, 40.0)), hips=((30.0, 44.0), (70.0, 44.0)))
    x0, _, x1, _ = head_box(bent, (200, 200))
    assert x1 - x0 == pytest.approx(HEAD_BOX_SHOULDERS * 40, abs=1)


def test_hand_and_foot_boxes_cover_their_points_with_the_margin_and_need_confident_points():
    pose = _pose()  # torso 40 px long
    pose[[5, 6, 11, 12], :] = [[30, 100, 1], [70, 100, 1], [40, 180, 1], [60, 180, 1]]  # wrists, ankles
    extras = np.ones((10, 3), np.float32)
    extras[:6, :2] = pose[[5, 6, 5, 6, 5, 6], :2] + [[0, 10], [0, 10], [4, 10], [4, 10], [-3, 5], [-3, 5]]
    extras[6:, :2] = pose[[11, 12, 11, 12], :2] + [[-2, 6], [-2, 6], [10, 8], [10, 8]]
    hands = extremity_region(pose, extras, (200, 200), "hands")
    margin = EXTREMITY_BOX_MARGIN * 40
    ys, xs = np.nonzero(hands)
    assert xs.min() == pytest.approx(27 - margin, abs=1) and xs.max() == pytest.approx(74 + margin, abs=1)
    assert ys.min() == pytest.approx(100 - margin, abs=1) and ys.max() == pytest.approx(110 + margin, abs=1)
    assert not hands[:, 45:55].any()  # two boxes, not one around both hands
    feet = extremity_region(pose, extras, (200, 200), "feet")
    assert feet[180, 40] and feet[188, 70] and not feet[100, 30]
    extras[[0, 1], 2] = 0.2  # both index knuckles unsure: no hand counts
    assert extremity_region(pose, extras, (200, 200), "hands") is None
    assert extremity_region(pose, None, (200, 200), "feet") is None


def test_head_box_is_clipped_and_missing_without_a_head():
    pose = _pose(head=(2.0, 2.0))
    x0, y0, x1, y1 = head_box(pose, (200, 200))
    assert (x0, y0) == (0, 0) and x1 < 20 and y1 < 20
    pose[0, 2] = 0
    assert head_box(pose, (200, 200)) is None
    assert math.isnan(head_psnr(np.zeros((200, 200, 3), np.uint8), np.zeros((200, 200, 3), np.uint8), pose))
    far_away = _pose(head=(-500.0, -500.0))
    assert head_box(far_away, (200, 200)) is None


def test_a_shifted_head_lowers_head_psnr_more_than_frame_psnr():
    truth = np.full((120, 120, 3), 128, np.uint8)
    pose = _pose(head=(60.0, 30.0), shoulders=((45.0, 55.0), (75.0, 55.0)), hips=((48.0, 105.0), (72.0, 105.0)))
    face = _texture(20, 20, seed=3)
    truth[20:40, 50:70] = face
    in_place = truth.copy()
    shifted = np.full_like(truth, 128)
    shifted[20:40, 56:76] = face  # the same face 6 px to the right
    assert head_psnr(in_place, truth, pose) == 100.0
    assert head_psnr(shifted, truth, pose) < 20
    from ilat_video.eval.metrics import psnr
    assert psnr(shifted, truth) > head_psnr(shifted, truth, pose) + 10  # the box concentrates the error


# --- flow, occlusions, flicker -----------------------------------------------------------------------

def test_warp_backward_with_zero_flow_is_the_identity_and_moves_content_by_the_flow():
    image = _texture(32, 40).astype(np.float32)
    assert np.array_equal(warp_backward(image, np.zeros((32, 40, 2), np.float32)), image)
    flow = np.zeros((32, 40, 2), np.float32)
    flow[..., 0] = 3.0  # sample 3 px to the right: content moves 3 px left
    moved = warp_backward(image, flow)
    assert np.allclose(moved[:, :-3], image[:, 3:])


def test_consistency_mask_excludes_pixels_that_fail_the_round_trip():
    height, width = 40, 50
    forward = np.zeros((height, width, 2), np.float32)
    forward[..., 0] = 2.0
    backward = -forward.copy()
    assert consistency_mask(forward, backward)[:, 2:].all()  # a consistent translation passes
    assert not consistency_mask(forward, backward)[:, :2].any()  # ... except where it leaves the frame
    broken = backward.copy()
    broken[10:20, 20:30] = (5.0, 5.0)  # these pixels claim to come from elsewhere: the round trip misses
    mask = consistency_mask(forward, broken)
    assert not mask[10:20, 20:30].any()
    assert mask[30:, 2:].all() and mask[:10, 2:].all()


def test_consistency_mask_tolerates_small_round_trip_errors():
    rng = np.random.default_rng(0)
    forward = rng.normal(0, 0.1, (30, 30, 2)).astype(np.float32)
    backward = np.zeros_like(forward)
    assert consistency_mask(forward, backward)[1:-1, 1:-1].all()  # misses under FB_BETA px^2 count as agreeing


def test_flicker_of_a_static_video_is_zero():
    frame = _texture(64, 80)
    motion = truth_motion(frame, frame)
    assert motion.valid_share > 0.99
    assert warping_error(frame, frame, motion) < 1e-3
    still = TruthMotion(np.zeros((64, 80, 2), np.float32), np.ones((64, 80), bool))
    assert warping_error(frame, frame, still) == 0.0


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flicker_of_a_translating_video_under_its_own_flow_is_near_zero(method):
    big = _texture(100, 120, seed=1)
    prev, frame = big[10:90, 10:110], big[8:88, 5:105]  # the scene moves 5 px right and 2 px down
    motion = truth_motion(prev, frame, method=method)
    flow = optical_flow(frame, prev, method=method)[20:60, 20:80].reshape(-1, 2)
    assert np.median(flow, axis=0) == pytest.approx([-5.0, -2.0], abs=0.3)
    assert motion.valid_share > 0.8
    assert not motion.valid[:, :3].any()  # what entered the frame on the left has no past
    error = warping_error(prev, frame, motion)
    unmoved = warping_error(prev, frame, TruthMotion(np.zeros_like(motion.backward), motion.valid))
    assert error < 0.02 and error < unmoved / 5


def test_warping_error_inside_a_region_counts_only_its_pixels():
    frame = _texture(40, 50)
    changed = frame.copy()
    changed[:, 25:] = 255 - changed[:, 25:]  # the right half flickers
    still = TruthMotion(np.zeros((40, 50, 2), np.float32), np.ones((40, 50), bool))
    left = np.zeros((40, 50), bool)
    left[:, :25] = True
    assert warping_error(frame, changed, still, left) == 0.0
    assert warping_error(frame, changed, still, ~left) > 0.1
    assert math.isnan(warping_error(frame, changed, still, np.zeros((40, 50), bool)))
    with pytest.raises(ValueError):
        warping_error(frame, changed, still, np.ones((10, 10), bool))


def test_a_flickering_video_scores_above_the_truth():
    big = _texture(100, 120, seed=2)
    prev, frame = big[10:90, 10:110], big[8:88, 5:105]
    motion = truth_motion(prev, frame)
    flicker = np.clip(frame.astype(np.int16) + 20, 0, 255).astype(np.uint8)  # brightness jumps
    assert warping_error(prev, flicker, motion) > warping_error(prev, frame, motion) + 0.05


def test_flow_and_warping_error_refuse_mismatched_sizes():
    with pytest.raises(ValueError):
        optical_flow(np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        optical_flow(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10, 3), np.uint8), method="magic")
    motion = TruthMotion(np.zeros((10, 10, 2), np.float32), np.ones((10, 10), bool))
    with pytest.raises(ValueError):
        warping_error(np.zeros((12, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8), motion)
    nothing = TruthMotion(np.zeros((10, 10, 2), np.float32), np.zeros((10, 10), bool))
    assert math.isnan(warping_error(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10, 3), np.uint8), nothing))


# --- paired comparison --------------------------------------------------------------------------------

def test_paired_comparison_counts_strict_wins_and_drops_nan():
    a = [10.0, 12.0, 9.0, math.nan, 11.0]
    b = [9.0, 12.0, 10.0, 5.0, 10.0]
    result = paired_comparison(a, b)
    assert result["frames"] == 4
    assert result["better_share"] == pytest.approx(0.5) and result["tie_share"] == pytest.approx(0.25)
    assert result["mean_difference"] == pytest.approx(0.25)
    lower = paired_comparison(a, b, higher_is_better=False)
    assert lower["better_share"] == pytest.approx(0.25)
    assert paired_comparison([math.nan], [1.0])["frames"] == 0
