"""The training sample every dataset yields, and the pairing logic they share.

A *pair sample* is a dict:

    "reference":      float32 tensor (3, S, S) in [-1, 1], one frame of a video
    "target":         float32 tensor (3, S, S) in [-1, 1], another frame of the same video
    "reference_pose": float32 tensor (13, 3), x, y in pixels of the S x S crop, confidence in [0, 1]
    "target_pose":    float32 tensor (13, 3), the same for the target frame
    "region":         bool tensor (S, S), union of both poses' regions (True = generate)

Both frames are cut with one square per video (`crop.py`), so the camera does not move between
the reference and the target.
"""
from __future__ import annotations

import numpy as np
import torch

from ..crop import CropBox, crop_frame, crop_pose, image_to_tensor
from ..pose.skeleton import FLIP_PERMUTATION, NUM_JOINTS
from ..regions import union_region


def sample_pair_indices(rng: np.random.Generator, num_frames: int, *, usable: np.ndarray | None = None,
                        min_gap: int = 1) -> tuple[int, int]:
    """Two frame indices (reference, target) of one video, at least `min_gap` apart when possible.

    usable: optional (num_frames,) bool, frames with a person; both picks come from them. A video
    with one usable frame gives (i, i).
    """
    candidates = np.arange(num_frames) if usable is None else np.flatnonzero(usable)
    if len(candidates) == 0:
        raise ValueError("no usable frame to sample a pair from")
    if len(candidates) == 1:
        return int(candidates[0]), int(candidates[0])
    first = int(rng.choice(candidates))
    far = candidates[np.abs(candidates - first) >= min_gap]
    if len(far) == 0:
        far = candidates[candidates != first]
    return first, int(rng.choice(far))


def make_pair_sample(reference: np.ndarray, target: np.ndarray, reference_pose: np.ndarray,
                     target_pose: np.ndarray, box: CropBox, size: int, *, flip: bool = False) -> dict:
    """Crop two source frames and their poses with one box and build the pair sample dict.

    reference, target: uint8 (H, W, 3) source frames; *_pose: (13, 3) in source pixels.
    flip: mirror both images and poses left-right (right and left joints swap names).
    """
    images = [crop_frame(reference, box, size), crop_frame(target, box, size)]
    poses = [crop_pose(reference_pose, box, size), crop_pose(target_pose, box, size)]
    for pose in poses:
        if pose.shape != (NUM_JOINTS, 3):
            raise ValueError(f"a pose must have shape ({NUM_JOINTS}, 3), got {pose.shape}")
    if flip:
        images = [np.ascontiguousarray(image[:, ::-1]) for image in images]
        flipped = []
        for pose in poses:
            pose = pose[list(FLIP_PERMUTATION)].copy()
            pose[:, 0] = (size - 1) - pose[:, 0]
            flipped.append(pose)
        poses = flipped
    region = union_region(poses[0], poses[1], size, size)
    return {
        "reference": image_to_tensor(images[0]),
        "target": image_to_tensor(images[1]),
        "reference_pose": torch.from_numpy(poses[0].astype(np.float32)),
        "target_pose": torch.from_numpy(poses[1].astype(np.float32)),
        "region": torch.from_numpy(region),
    }
