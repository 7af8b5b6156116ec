"""How other skeletons' keypoints become our 13 joints, and ours become OpenPose COCO-18; how our
hand and foot points (extras) map to OpenPose's 21-point hands and 6 foot points.

Head (joint 0) from sources with face points (OpenPose, COCO-17): the nose when it is present
(confidence > 0), otherwise the mean position of the eyes and ears that are present (confidence:
their mean), otherwise missing. The body joints map one to one (tables below, tested by name;
docs/pose-format.md lists them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mapping import EXTRA_NAMES
from ..skeleton import L_SHOULDER, R_SHOULDER


@dataclass(frozen=True)
class JointMapping:
    """How the keypoints of another skeleton become our 13 joints.

    names: the source's keypoint names in its index order (anatomical left/right).
    to_ilat: for each of our 13 joints, the source index it is read from (joint 0: the nose).
    head_fallback: source indices (eyes, ears) whose mean is the head when the nose is missing.
    """

    name: str
    names: tuple[str, ...]
    to_ilat: tuple[int, ...]
    head_fallback: tuple[int, ...]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)


BODY_25 = JointMapping(
    "OpenPose BODY_25",
    names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
           "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
           "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"),
    to_ilat=(0, 2, 5, 3, 6, 4, 7, 9, 12, 10, 13, 11, 14),
    head_fallback=(15, 16, 17, 18),
)

COCO_18 = JointMapping(
    "OpenPose COCO-18",
    names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
           "right_eye", "left_eye", "right_ear", "left_ear"),
    to_ilat=(0, 2, 5, 3, 6, 4, 7, 8, 11, 9, 12, 10, 13),
    head_fallback=(14, 15, 16, 17),
)

COCO_17 = JointMapping(
    "COCO-17",
    names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
           "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
           "right_knee", "left_ankle", "right_ankle"),
    to_ilat=(0, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
    head_fallback=(1, 2, 3, 4),
)

# Our 13 joints -> the 18 OpenPose COCO-18 slots we write (ControlNet's layout). None: no joint of
# ours (eyes, ears: written as missing); "neck": the midpoint of the two shoulders when both exist.
ILAT_TO_COCO_18: tuple[int | str | None, ...] = (
    0, "neck", 1, 3, 5, 2, 4, 6, 7, 9, 11, 8, 10, 12, None, None, None, None)

OPENPOSE_BY_COUNT = {BODY_25.num_keypoints: BODY_25, COCO_18.num_keypoints: COCO_18}


def map_keypoints(points: np.ndarray, mapping: JointMapping) -> np.ndarray:
    """Map source keypoints (..., K, 3) [x, y, confidence] to our joints (..., 13, 3).

    Confidence 0 marks a missing keypoint. The head is the nose, or else the mean of the present
    eyes / ears (confidence: their mean confidence), or else missing (all zeros).
    """
    points = np.asarray(points, dtype=np.float32)
    if points.shape[-2:] != (mapping.num_keypoints, 3):
        raise ValueError(f"{mapping.name}: expected (..., {mapping.num_keypoints}, 3), got {points.shape}")
    out = points[..., list(mapping.to_ilat), :].copy()
    face = points[..., list(mapping.head_fallback), :]
    present = (face[..., 2] > 0).astype(np.float32)  # (..., F)
    count = present.sum(axis=-1)  # (...,)
    safe = np.maximum(count, 1.0)[..., None]
    face_xy = (face[..., :2] * present[..., None]).sum(axis=-2) / safe
    face_conf = (face[..., 2] * present).sum(axis=-1) / safe[..., 0]
    fallback = np.concatenate([face_xy, face_conf[..., None]], axis=-1)  # (..., 3)
    fallback = np.where((count > 0)[..., None], fallback, 0.0)
    nose_missing = out[..., 0, 2] <= 0
    out[..., 0, :] = np.where(nose_missing[..., None], fallback, out[..., 0, :])
    return out.astype(np.float32)


def ilat_to_coco18(poses: np.ndarray) -> np.ndarray:
    """Our poses (..., 13, 3) -> OpenPose COCO-18 keypoints (..., 18, 3); missing joints are zeros."""
    poses = np.asarray(poses, np.float32)
    out = np.zeros(poses.shape[:-2] + (COCO_18.num_keypoints, 3), np.float32)
    for slot, src in enumerate(ILAT_TO_COCO_18):
        if src == "neck":
            a, b = poses[..., R_SHOULDER, :], poses[..., L_SHOULDER, :]
            both = (a[..., 2] > 0) & (b[..., 2] > 0)
            neck = np.concatenate([(a[..., :2] + b[..., :2]) / 2, np.minimum(a[..., 2:], b[..., 2:])], axis=-1)
            out[..., slot, :] = np.where(both[..., None], neck, 0.0)
        elif src is not None:
            present = poses[..., src, 2] > 0
            out[..., slot, :] = np.where(present[..., None], poses[..., src, :], 0.0)
    return out


# --------------------------------------------------------------------------------------------
# Hand and foot points (PoseSequence.extras, mapping.EXTRA_NAMES) <-> OpenPose hands and feet
# --------------------------------------------------------------------------------------------
# OpenPose's 21-point hand (hand_left/right_keypoints_2d; DWPose and controlnet_aux use it too):
# 0 wrist, then four points per finger from the palm outwards.
HAND_21_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{part}" for finger in ("thumb", "index", "middle", "ring", "pinky")
    for part in (("cmc", "mcp", "ip", "tip") if finger == "thumb" else ("mcp", "pip", "dip", "tip")))
# Where our extras go in that hand. MediaPipe's index and pinky points are the knuckles where those
# fingers join the hand (MCP); its thumb point is written as the thumb's tip (MediaPipe calls it a
# thumb knuckle; on real photos it lies near the tip, between OpenPose's thumb_ip and thumb_tip:
# the approximate one of the three).
HAND_SLOT_OF_EXTRA: dict[str, str] = {"index": "index_mcp", "pinky": "pinky_mcp", "thumb": "thumb_tip"}
# DWPose's foot_keypoints_2d (COCO-WholeBody's feet) and OpenPose BODY_25's points 19..24 share one
# order. Our heel is theirs; our toe (MediaPipe's foot_index, the tip of the foot) goes to the big toe.
FOOT_6_NAMES: tuple[str, ...] = ("left_big_toe", "left_small_toe", "left_heel",
                                 "right_big_toe", "right_small_toe", "right_heel")
FOOT_SLOT_OF_EXTRA: dict[str, str] = {"heel": "heel", "toe": "big_toe"}


def _extra_slots() -> tuple[dict[int, tuple[str, int]], dict[int, int]]:
    """extras index -> (hand side, HAND_21 slot) for hand points; extras index -> FOOT_6 slot for feet."""
    hands, feet = {}, {}
    for e, name in enumerate(EXTRA_NAMES):
        side, kind = name.split("_", 1)
        if kind in HAND_SLOT_OF_EXTRA:
            hands[e] = (side, HAND_21_NAMES.index(HAND_SLOT_OF_EXTRA[kind]))
        else:
            feet[e] = FOOT_6_NAMES.index(f"{side}_{FOOT_SLOT_OF_EXTRA[kind]}")
    return hands, feet


EXTRA_HAND_SLOTS, EXTRA_FOOT_SLOTS = _extra_slots()
HAND_WRIST = HAND_21_NAMES.index("wrist")


def extras_to_openpose(extras: np.ndarray, wrists: np.ndarray) -> dict[str, np.ndarray]:
    """Our extras (..., 10, 3) and wrists (..., 2, 3) [right, left] -> OpenPose hands (..., 21, 3)
    and feet (..., 6, 3).

    Returns {"right": hand, "left": hand, "feet": feet}; slots we have no point for are zeros
    (OpenPose's "missing"). The hand's wrist slot is our wrist joint.
    """
    extras, wrists = np.asarray(extras, np.float32), np.asarray(wrists, np.float32)
    lead = extras.shape[:-2]
    out = {"right": np.zeros(lead + (21, 3), np.float32), "left": np.zeros(lead + (21, 3), np.float32),
           "feet": np.zeros(lead + (6, 3), np.float32)}
    out["right"][..., HAND_WRIST, :] = wrists[..., 0, :]
    out["left"][..., HAND_WRIST, :] = wrists[..., 1, :]
    for e, (side, slot) in EXTRA_HAND_SLOTS.items():
        out[side][..., slot, :] = extras[..., e, :]
    for e, slot in EXTRA_FOOT_SLOTS.items():
        out["feet"][..., slot, :] = extras[..., e, :]
    for points in out.values():
        points[points[..., 2] <= 0] = 0.0
    return out


def extras_from_openpose(right: np.ndarray | None, left: np.ndarray | None,
                         feet: np.ndarray | None) -> np.ndarray:
    """OpenPose hands (21, 3) and feet (6, 3), each possibly None (absent) -> our extras (10, 3).

    Points with confidence 0 stay missing; the other hand and foot slots are not used.
    """
    out = np.zeros((len(EXTRA_HAND_SLOTS) + len(EXTRA_FOOT_SLOTS), 3), np.float32)
    hands = {"right": right, "left": left}
    for e, (side, slot) in EXTRA_HAND_SLOTS.items():
        if hands[side] is not None:
            out[e] = hands[side][slot]
    if feet is not None:
        for e, slot in EXTRA_FOOT_SLOTS.items():
            out[e] = feet[slot]
    out[out[:, 2] <= 0] = 0.0
    return out
