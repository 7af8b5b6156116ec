"""The 13-joint body model: Penn Action's index order with anatomical names.

Index 1, 3, 5, ... are the person's anatomical RIGHT joints (for someone facing the camera they lie
on the image's left). The Penn Action README swaps the names; its labels do not (see
`tests/test_skeleton.py` on 1037.mat).
"""
from __future__ import annotations

NUM_JOINTS = 13

JOINT_NAMES: tuple[str, ...] = (
    "head",
    "right_shoulder",
    "left_shoulder",
    "right_elbow",
    "left_elbow",
    "right_wrist",
    "left_wrist",
    "right_hip",
    "left_hip",
    "right_knee",
    "left_knee",
    "right_ankle",
    "left_ankle",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

HEAD = 0
R_SHOULDER, L_SHOULDER = 1, 2
R_ELBOW, L_ELBOW = 3, 4
R_WRIST, L_WRIST = 5, 6
R_HIP, L_HIP = 7, 8
R_KNEE, L_KNEE = 9, 10
R_ANKLE, L_ANKLE = 11, 12

# Bones as (parent, child). The head hangs off the shoulders' midpoint, which has no joint of its
# own, so it is drawn from each shoulder; the torso is closed by the shoulder and hip lines.
BONES: tuple[tuple[int, int], ...] = (
    (HEAD, R_SHOULDER),
    (HEAD, L_SHOULDER),
    (R_SHOULDER, L_SHOULDER),
    (R_SHOULDER, R_ELBOW),
    (R_ELBOW, R_WRIST),
    (L_SHOULDER, L_ELBOW),
    (L_ELBOW, L_WRIST),
    (R_SHOULDER, R_HIP),
    (L_SHOULDER, L_HIP),
    (R_HIP, L_HIP),
    (R_HIP, R_KNEE),
    (R_KNEE, R_ANKLE),
    (L_HIP, L_KNEE),
    (L_KNEE, L_ANKLE),
)

# (right, left) pairs: swapping them mirrors the body.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = (
    (R_SHOULDER, L_SHOULDER),
    (R_ELBOW, L_ELBOW),
    (R_WRIST, L_WRIST),
    (R_HIP, L_HIP),
    (R_KNEE, L_KNEE),
    (R_ANKLE, L_ANKLE),
)

# The permutation that mirrors a pose left <-> right (apply together with x -> width - x).
FLIP_PERMUTATION: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)

# Drawing colours (RGB), one per bone: right side warm, left side cool, centre neutral.
BONE_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 0),
    (255, 255, 0),
    (255, 255, 255),
    (255, 85, 0),
    (255, 170, 0),
    (0, 170, 255),
    (0, 85, 255),
    (255, 0, 85),
    (85, 0, 255),
    (255, 255, 255),
    (255, 0, 0),
    (200, 0, 0),
    (0, 0, 255),
    (0, 0, 200),
)
