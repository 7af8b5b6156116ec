"""The main person of a single photo: pose, person mask and hand/foot points (IMAGE mode).

    joints = extract_image_pose("me.png")       # (13, 3) for a single photo
    person = extract_image_person("me.png")     # the photo's pose + person mask + hand/foot points
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import NoPersonError, VideoError
from ..fileio import image_to_rgb, load_image
from .landmarker import Landmarker, find_pose_model
from .mapping import DEFAULT_HEAD, landmarks_to_extras, landmarks_to_joints
from .skeleton import NUM_JOINTS
from .tracking import body_size


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


def extract_image_poses(image, *, model_path: str | os.PathLike | None = None, max_people: int = 5,
                        head: str = DEFAULT_HEAD) -> np.ndarray:
    """Every person the landmarker finds in one image: float32 (P, 13, 3), largest first.

    image: a path (any PIL-readable image; RGBA is composited onto white) or a uint8 array
        (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray. P may be 0.
    """
    array, _ = _image_array(image)
    with Landmarker(find_pose_model(model_path), video=False, num_poses=max_people) as landmarker:
        people = [landmarks_to_joints(p, head) for p in landmarker.detect(array)]
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


def extract_image_person(image, *, model_path: str | os.PathLike | None = None,
                         head: str = DEFAULT_HEAD) -> ImagePerson:
    """Pose, person mask and hand/foot points of the main (largest) person in one image.

    image: as extract_image_poses. The mask belongs to the same person as the pose (MediaPipe
    gives one mask per detected person). About 0.05 s for a 1080p photo on one CPU core, plus
    loading the model (about 0.1 s).

    Raises NoPersonError naming the image when nobody is found.
    """
    array, name = _image_array(image)
    with Landmarker(find_pose_model(model_path), video=False, num_poses=2, masks=True) as landmarker:
        found = landmarker.detect_with_masks(array)
    if not found:
        raise NoPersonError(f"{name}: no person found in the image")
    landmarks, mask = max(found, key=lambda item: body_size(landmarks_to_joints(item[0], head)))
    return ImagePerson(landmarks_to_joints(landmarks, head), mask, landmarks_to_extras(landmarks))


def extract_image_pose_and_mask(image, *, model_path: str | os.PathLike | None = None,
                                head: str = DEFAULT_HEAD) -> tuple[np.ndarray, np.ndarray]:
    """(pose float32 (13, 3), person mask float32 (H, W) in [0, 1]) of the main person in one image.

    Shorthand for extract_image_person (which also gives the hand and foot points).
    """
    person = extract_image_person(image, model_path=model_path, head=head)
    return person.pose, person.mask


def extract_image_pose(image, *, model_path: str | os.PathLike | None = None,
                       head: str = DEFAULT_HEAD) -> np.ndarray:
    """The pose of the main (largest) person in one image: float32 (13, 3) = x, y pixels, confidence.

    Raises NoPersonError naming the image when nobody is found.
    """
    array, name = _image_array(image)
    people = extract_image_poses(array, model_path=model_path, max_people=2, head=head)
    if len(people) == 0:
        raise NoPersonError(f"{name}: no person found in the image")
    return people[0]
