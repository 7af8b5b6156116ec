"""MediaPipe's 33 landmarks -> our 13 joints (skeleton.JOINT_NAMES) and 10 hand and foot points.

Confidence of a joint = MediaPipe's `visibility` of the landmark it comes from (the landmarker's
estimate, in [0, 1], that the point is visible and not occluded or outside the picture), clipped to
[MIN_CONFIDENCE, 1], so a detected person never looks empty.
"""
from __future__ import annotations

import numpy as np

from .skeleton import NUM_JOINTS

# MediaPipe's 33 landmarks are anatomical (11 = the person's left shoulder). Ours: Penn Action
# order, right before left (skeleton.JOINT_NAMES). Index 0 (head) is built from the face points.
MP_NOSE, MP_LEFT_EYE, MP_RIGHT_EYE, MP_LEFT_EAR, MP_RIGHT_EAR = 0, 2, 5, 7, 8
BODY_FROM_MEDIAPIPE = (12, 11, 14, 13, 16, 15, 24, 23, 26, 25, 28, 27)  # joints 1..12
HEAD_CHOICES: dict[str, tuple[int, ...]] = {
    "nose": (MP_NOSE,),
    "ears": (MP_LEFT_EAR, MP_RIGHT_EAR),
    "face": (MP_NOSE, MP_LEFT_EYE, MP_RIGHT_EYE, MP_LEFT_EAR, MP_RIGHT_EAR),
}
# Measured against COCO's head (the nose): median error 0.015 of the box side on 12 labelled crops, against
# 0.027 (face mean) and 0.043 (ears); the table is in benchmarks/results/extract.md as of commit 426bbbc.
DEFAULT_HEAD = "nose"
# Hand and foot points beyond the 13 joints, for single images ("extras", (10, 3)): right before
# left, like the joints. "index"/"pinky"/"thumb" are MediaPipe's points on the hand (knuckle of the
# index and little fingers, tip of the thumb); "toe" is its foot_index (the tip of the foot).
EXTRA_NAMES: tuple[str, ...] = ("right_index", "left_index", "right_pinky", "left_pinky",
                                "right_thumb", "left_thumb", "right_heel", "left_heel",
                                "right_toe", "left_toe")
EXTRAS_FROM_MEDIAPIPE = (20, 19, 18, 17, 22, 21, 30, 29, 32, 31)
# The permutation that mirrors extras left <-> right (with x -> width - x), as FLIP_PERMUTATION.
EXTRA_FLIP_PERMUTATION: tuple[int, ...] = (1, 0, 3, 2, 5, 4, 7, 6, 9, 8)

MIN_CONFIDENCE = 1e-3


def landmarks_to_joints(landmarks: np.ndarray, head: str = DEFAULT_HEAD) -> np.ndarray:
    """Map MediaPipe landmarks (..., 33, 3) [x, y, visibility] to our joints (..., 13, 3).

    head: "nose", "ears" (midpoint of the ears) or "face" (mean of nose, eyes and ears); its
        confidence is the mean visibility of the points used. Confidences are clipped to
        [MIN_CONFIDENCE, 1].
    """
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {sorted(HEAD_CHOICES)}, got {head!r}")
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape[-2:] != (33, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 3), got {landmarks.shape}")
    out = np.empty(landmarks.shape[:-2] + (NUM_JOINTS, 3), np.float32)
    out[..., 0, :] = landmarks[..., list(HEAD_CHOICES[head]), :].mean(axis=-2)
    out[..., 1:, :] = landmarks[..., list(BODY_FROM_MEDIAPIPE), :]
    out[..., 2] = np.clip(out[..., 2], MIN_CONFIDENCE, 1.0)
    return out


def landmarks_to_extras(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks (..., 33, 3) -> hand and foot points (..., 10, 3) in EXTRA_NAMES order.

    Confidences are the landmarks' visibility, clipped to [MIN_CONFIDENCE, 1] as for the joints.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape[-2:] != (33, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 3), got {landmarks.shape}")
    out = landmarks[..., list(EXTRAS_FROM_MEDIAPIPE), :].copy()
    out[..., 2] = np.clip(out[..., 2], MIN_CONFIDENCE, 1.0)
    return out
