"""The main person of a single photo: pose, person mask and hand/foot points (IMAGE mode).

    joints = extract_image_pose("me.png")       # (13, 3) for a single photo
    person = extract_image_person("me.png")     # the photo's pose + person mask + hand/foot points
    person = extract_image_person("two.png", person="right")   # which one, when several

With refine=True (the default) each person found is found again in a square crop around them
(refine.py), and when the whole photo shows nobody, overlapping tiles of it are searched: people
small in a wide photo are found and placed better (benchmarks/results/extract.md).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from ..errors import NoPersonError, VideoError
from ..fileio import image_to_rgb, load_image
from .landmarker import Landmarker, find_pose_model
from .mapping import DEFAULT_HEAD, landmarks_to_extras, landmarks_to_joints
from .refine import refine as refine_in_crop
from .refine import find_people
from .skeleton import NUM_JOINTS
from .tracking import PersonChoice, body_size

logger = logging.getLogger(__name__)


def _image_array(image) -> tuple[np.ndarray, str]:
    if isinstance(image, (str, os.PathLike)):
        return load_image(image), str(image)
    array = np.asarray(image)
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 4)) or array.dtype != np.uint8:
        from PIL import Image

        if array.dtype != np.uint8:
            raise VideoError(f"<image>: expected a uint8 image array, got {array.dtype}")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[..., 0]
        array = image_to_rgb(Image.fromarray(array))
    if array.ndim != 3 or array.shape[2] != 3:
        raise VideoError(f"<image>: expected an (H, W, 3) RGB image, got shape {array.shape}")
    return np.ascontiguousarray(array), "<image>"


def _find_people(landmarker: Landmarker, array: np.ndarray, refine: bool, masks: bool) -> list:
    """[(landmarks (33, 3), mask or None)] of the people found in one image, its tiles searched too
    (MediaPipe's detector often returns only the most prominent person, and the choice among
    several is to be told)."""
    if not refine:
        return landmarker.detect_with_masks(array)
    found = [(landmarks, mask) for landmarks, mask, _ in find_people(landmarker, array, everyone=True,
                                                                      with_masks=masks)]
    refined = []
    for landmarks, mask in found:
        again = refine_in_crop(landmarker, array, landmarks, with_masks=masks)
        refined.append(again if again is not None else (landmarks, mask))
    return refined


def _choose(found: list, choice: PersonChoice, head: str, name: str, size: tuple[int, int]) -> int:
    """The index of the chosen person; the choice among several is logged."""
    candidates = [landmarks_to_joints(landmarks, head) for landmarks, _ in found]
    index = choice.pick(candidates, name, size)
    if len(candidates) > 1:
        logger.warning("%s: %s", name, choice.describe(candidates, index))
    return index


def extract_image_poses(image, *, model_path: str | os.PathLike | None = None, max_people: int = 5,
                        head: str = DEFAULT_HEAD, refine: bool = True) -> np.ndarray:
    """Every person the landmarker finds in one image: float32 (P, 13, 3), largest first.

    image: a path (any PIL-readable image; RGBA is composited onto white) or a uint8 array
        (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray. P may be 0. refine: crop and refine (see
        the module's docstring).
    """
    array, _ = _image_array(image)
    with Landmarker(find_pose_model(model_path), video=False, num_poses=max_people) as landmarker:
        people = [landmarks_to_joints(p, head) for p, _ in _find_people(landmarker, array, refine, False)]
    people.sort(key=body_size, reverse=True)
    if not people:
        return np.zeros((0, NUM_JOINTS, 3), np.float32)
    return np.stack(people)


@dataclass(frozen=True)
class ImagePerson:
    """The main person of one image, as extract_image_person finds them.

    pose: float32 (13, 3) = x, y pixels and confidence (as extract_image_pose).
    mask: float32 (H, W) in [0, 1], the image's size: MediaPipe's segmentation of this person
        (the probability that a pixel shows them); `mask >= 0.5` is the person as bool.
    extras: float32 (10, 3) hand and foot points in EXTRA_NAMES order (x, y pixels, confidence).
    """

    pose: np.ndarray
    mask: np.ndarray
    extras: np.ndarray

    @property
    def bool_mask(self) -> np.ndarray:
        """The mask as bool (H, W), True = person."""
        return self.mask >= 0.5


def extract_image_person(image, *, model_path: str | os.PathLike | None = None, head: str = DEFAULT_HEAD,
                         refine: bool = True, person: PersonChoice | str | None = None) -> ImagePerson:
    """Pose, person mask and hand/foot points of the main person in one image.

    image: as extract_image_poses. person: which one when several are found (PersonChoice or its
    text: "largest" (default), "left", "right", "N" (N-th from the left), "X,Y" (nearest to that
    pixel)); the choice among several is logged as a warning. The mask belongs to the same person
    as the pose (MediaPipe gives one mask per detected person). About 0.05 s for a 1080p photo on
    one CPU core (twice that with refine), plus loading the model (about 0.1 s).

    Raises NoPersonError naming the image when nobody (or not the chosen one) is found.
    """
    choice = PersonChoice.parse(person)
    array, name = _image_array(image)
    choice.check_inside(name, (array.shape[1], array.shape[0]))
    num_poses = 2 if choice.rule == "largest" else 5
    with Landmarker(find_pose_model(model_path), video=False, num_poses=num_poses, masks=True) as landmarker:
        found = _find_people(landmarker, array, refine, True)
    if not found:
        raise NoPersonError(f"{name}: no person found in the image")
    landmarks, mask = found[_choose(found, choice, head, name, (array.shape[1], array.shape[0]))]
    return ImagePerson(landmarks_to_joints(landmarks, head), mask, landmarks_to_extras(landmarks))


def extract_image_pose_and_mask(image, *, model_path: str | os.PathLike | None = None,
                                head: str = DEFAULT_HEAD, refine: bool = True,
                                person: PersonChoice | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pose float32 (13, 3), person mask float32 (H, W) in [0, 1]) of the main person in one image.

    Shorthand for extract_image_person (which also gives the hand and foot points).
    """
    found = extract_image_person(image, model_path=model_path, head=head, refine=refine, person=person)
    return found.pose, found.mask


def extract_image_pose(image, *, model_path: str | os.PathLike | None = None, head: str = DEFAULT_HEAD,
                       refine: bool = True, person: PersonChoice | str | None = None) -> np.ndarray:
    """The pose of the main person in one image: float32 (13, 3) = x, y pixels, confidence.

    person: as extract_image_person. Raises NoPersonError naming the image when nobody (or not
    the chosen one) is found.
    """
    choice = PersonChoice.parse(person)
    array, name = _image_array(image)
    choice.check_inside(name, (array.shape[1], array.shape[0]))
    num_poses = 2 if choice.rule == "largest" else 5
    with Landmarker(find_pose_model(model_path), video=False, num_poses=num_poses) as landmarker:
        found = _find_people(landmarker, array, refine, False)
    if not found:
        raise NoPersonError(f"{name}: no person found in the image")
    return landmarks_to_joints(found[_choose(found, choice, head, name, (array.shape[1], array.shape[0]))][0], head)
