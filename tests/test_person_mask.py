"""Person masks and hand/foot points from one photo (extract_image_person), on real photos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ilat_video.errors import NoPersonError
from ilat_video.fileio import load_image
from ilat_video.pose import extract as ex
from ilat_video.pose.extract import (
    EXTRA_FLIP_PERMUTATION,
    EXTRA_NAMES,
    extract_image_person,
    extract_image_pose,
    extract_image_pose_and_mask,
    landmarks_to_extras,
)
from ilat_video.pose.skeleton import L_ANKLE, L_WRIST, R_ANKLE, R_WRIST

REAL = Path(__file__).parent / "data" / "real"
PHOTOS = ["standing_hoodie_black_bg.png", "arms_up_waterfront.png", "yoga_tree_pose_balcony.jpeg"]
# MediaPipe's own mirror pairs (anatomical left <-> right) over its 33 landmarks.
MP_MIRROR = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21,
             24, 23, 26, 25, 28, 27, 30, 29, 32, 31]


def _mask_near(mask: np.ndarray, xy: np.ndarray, radius: int = 3) -> np.ndarray:
    """The largest mask value within `radius` pixels of each point (joints sit on the body's edge
    at the top of the head and the wrists)."""
    h, w = mask.shape
    out = []
    for x, y in np.round(xy).astype(int):
        y0, y1, x0, x1 = max(0, y - radius), min(h, y + radius + 1), max(0, x - radius), min(w, x + radius + 1)
        out.append(mask[y0:y1, x0:x1].max() if y0 < y1 and x0 < x1 else 0.0)
    return np.array(out)


@pytest.mark.parametrize("name", PHOTOS)
def test_mask_covers_the_person_on_real_photos(name):
    path = REAL / name
    image = load_image(path)
    person = extract_image_person(path)
    assert person.mask.shape == image.shape[:2] and person.mask.dtype == np.float32
    assert 0.0 <= person.mask.min() and person.mask.max() <= 1.0
    covered = person.bool_mask.mean()
    assert 0.03 < covered < 0.6, f"{name}: the mask covers {covered:.1%} of the image"
    sure = person.pose[:, 2] >= 0.5
    assert sure.sum() >= 10
    assert (_mask_near(person.mask, person.pose[sure, :2]) >= 0.5).all(), name
    # the same pose as extract_image_pose gives (other code relies on it)
    assert np.array_equal(person.pose, extract_image_pose(path))
    pose, mask = extract_image_pose_and_mask(path)
    assert np.array_equal(pose, person.pose) and np.array_equal(mask, person.mask)


@pytest.mark.parametrize("name", PHOTOS)
def test_hand_and_foot_points_lie_at_the_hands_and_feet(name):
    person = extract_image_person(REAL / name)
    extras, pose = person.extras, person.pose
    assert extras.shape == (len(EXTRA_NAMES), 3) and extras.dtype == np.float32
    torso = np.linalg.norm(pose[[1, 2], :2].mean(0) - pose[[7, 8], :2].mean(0))
    index = {n: i for i, n in enumerate(EXTRA_NAMES)}
    for side, wrist, ankle in (("right", R_WRIST, R_ANKLE), ("left", L_WRIST, L_ANKLE)):
        for point in ("index", "pinky", "thumb"):
            gap = np.linalg.norm(extras[index[f"{side}_{point}"], :2] - pose[wrist, :2])
            assert gap < 0.45 * torso, f"{name}: {side}_{point} is {gap:.0f} px from the wrist"
        for point in ("heel", "toe"):
            gap = np.linalg.norm(extras[index[f"{side}_{point}"], :2] - pose[ankle, :2])
            assert gap < 0.45 * torso, f"{name}: {side}_{point} is {gap:.0f} px from the ankle"


def test_mask_belongs_to_the_posed_person():
    """Two people: the pose and the mask are both the larger one's; the smaller one is not in it."""
    hoodie = load_image(REAL / "standing_hoodie_black_bg.png")[40:500, 150:360]  # (460, 210)
    small = np.asarray(Image.fromarray(hoodie).resize((126, 276)))
    canvas = np.zeros((480, 560, 3), np.uint8)
    canvas[10:470, 20:230] = hoodie
    canvas[180:456, 380:506] = small
    person = extract_image_person(canvas)
    assert person.pose[:, 0].max() < 240  # the pose is the large person's
    assert person.bool_mask[:, :240].mean() > 0.1
    assert person.bool_mask[:, 300:].mean() < 0.01  # and so is the mask


def test_no_person_is_an_error_naming_the_image(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 90, 3), 128, np.uint8)).save(blank)
    with pytest.raises(NoPersonError, match=r"blank\.png: no person found"):
        extract_image_person(blank)


def test_extras_mapping_is_anatomical_and_mirrors():
    landmarks = np.zeros((33, 3), np.float32)
    landmarks[:, 0] = np.arange(33)
    landmarks[:, 2] = 0.5
    extras = landmarks_to_extras(landmarks)
    # MediaPipe: 19/20 left/right index, 17/18 pinky, 21/22 thumb, 29/30 heel, 31/32 foot index
    expected = {"right_index": 20, "left_index": 19, "right_pinky": 18, "left_pinky": 17,
                "right_thumb": 22, "left_thumb": 21, "right_heel": 30, "left_heel": 29,
                "right_toe": 32, "left_toe": 31}
    for i, name in enumerate(EXTRA_NAMES):
        assert extras[i, 0] == expected[name], name
    rng = np.random.default_rng(0)
    landmarks = rng.uniform(0, 1, (33, 3)).astype(np.float32)
    assert np.array_equal(landmarks_to_extras(landmarks[MP_MIRROR]),
                          landmarks_to_extras(landmarks)[list(EXTRA_FLIP_PERMUTATION)])
    low = landmarks.copy()
    low[:, 2] = 0.0
    assert (landmarks_to_extras(low)[:, 2] == ex.MIN_CONFIDENCE).all()
