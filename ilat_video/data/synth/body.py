"""The puppet's geometry: joint angles -> 3-D points (forward kinematics) -> pixels.

The body is a 2.5-D puppet: angles -> 3-D positions of named points, vectorized over frames ->
rotation about the vertical axis for the view -> orthographic projection with a per-clip
`Placement`. The 13 joints are the first points, so the ground truth comes from the same
kinematics as the drawing and every pose is exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...pose import skeleton as sk
from .identity import Identity
from .motion import Motion

# Named 3-D points of the puppet, beyond the 13 joints: used for drawing and for the fit.
TORSO_FRONT = ("torso_sr_f", "torso_sl_f", "torso_hl_f", "torso_hr_f")  # shoulder-right, -left, hip-left, -right
TORSO_BACK = ("torso_sr_b", "torso_sl_b", "torso_hl_b", "torso_hr_b")
_EXTRA = ("neck_base", "head_top", "r_hand", "l_hand", "r_toe", "l_toe") + TORSO_FRONT + TORSO_BACK + ("face_dir",)
POINT_NAMES: tuple[str, ...] = sk.JOINT_NAMES + _EXTRA
P = {name: i for i, name in enumerate(POINT_NAMES)}

_SIDE_SIGN = {"R": -1.0, "L": 1.0}  # anatomical right is image-left when facing the camera


def direction(frontal: np.ndarray, forward: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors (T, 3) for segment angles: x = outward on `side` (+1 image-right ...), y up, z forward."""
    cf = np.cos(forward)
    return np.stack([side * cf * np.sin(frontal), -cf * np.cos(frontal), np.sin(forward)], axis=-1)


def _rot_x(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the x axis by angle (T,): +angle moves +y towards +z (bows forward)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x, y * c - z * s, y * s + z * c], axis=-1)


def _rot_z(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the z axis (towards the camera) by angle (T,)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x * c - y * s, x * s + y * c, z], axis=-1)


def _rot_y(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the vertical axis by angle (T,): +angle turns the front to image-right."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x * c + z * s, y, -x * s + z * c], axis=-1)


def body_points(identity: Identity, motion: Motion) -> np.ndarray:
    """3-D positions (T, K, 3) of all named points (`POINT_NAMES`), in body units.

    x: to the image's right, y: up (ground at 0), z: towards the camera. The person's right side
    is at -x when facing the camera (yaw 0).
    """
    T = len(motion.yaw)
    pts = np.zeros((T, len(POINT_NAMES), 3))
    _place_legs(pts, identity, motion)
    upper_idx = _place_upper_body(pts, identity, motion)
    upper = pts[:, upper_idx]
    upper = _rot_x(upper, motion.bend)
    upper = _rot_z(upper, motion.lean)
    pts[:, upper_idx] = upper
    # Feet on the ground (the lower foot point at 0), plus jumps; walk along the facing direction.
    lowest = np.minimum.reduce([pts[:, sk.R_ANKLE, 1] - identity.ankle_height,
                                pts[:, sk.L_ANKLE, 1] - identity.ankle_height,
                                pts[:, P["r_toe"], 1] - 0.015, pts[:, P["l_toe"], 1] - 0.015])
    pts[..., 1] += (-lowest + motion.jump)[:, None]
    pts[..., 2] += motion.travel[:, None]
    return _rot_y(pts, motion.yaw)


def _place_legs(pts: np.ndarray, ident: Identity, motion: Motion) -> None:
    """Hips, knees, ankles and toes in the pelvis frame (origin at the hip midpoint), in place."""
    T = pts.shape[0]
    for side, joint, knee, ankle, toe in (("R", sk.R_HIP, sk.R_KNEE, sk.R_ANKLE, "r_toe"),
                                          ("L", sk.L_HIP, sk.L_KNEE, sk.L_ANKLE, "l_toe")):
        sg = _SIDE_SIGN[side]
        hip = np.array([sg * ident.hip_width / 2, 0.0, 0.0])
        leg = motion.legs[side]
        thigh_dir = direction(*leg["upper"], sg)
        shin_dir = direction(*leg["lower"], sg)
        pts[:, joint] = hip
        pts[:, knee] = hip + ident.thigh * thigh_dir
        pts[:, ankle] = pts[:, knee] + ident.shin * shin_dir
        # The foot points forward, perpendicular to the shin in the sagittal plane.
        foot_dir = np.stack([np.zeros(T), -shin_dir[:, 2], np.abs(shin_dir[:, 1])], axis=-1)
        foot_dir /= np.linalg.norm(foot_dir, axis=-1, keepdims=True) + 1e-9
        pts[:, P[toe]] = pts[:, ankle] + ident.foot * foot_dir


def _place_upper_body(pts: np.ndarray, ident: Identity, motion: Motion) -> list[int]:
    """Arms, head and torso box in the torso frame (origin at the hip midpoint), not yet bent or
    leaned; in place. Returns the indices of the points that bend and lean with the torso."""
    T = pts.shape[0]
    up = np.array([0.0, ident.torso, 0.0])
    upper_idx = []
    shoulder_y = ident.torso
    for side, sh, el, wr, hand in (("R", sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST, "r_hand"),
                                   ("L", sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST, "l_hand")):
        sg = _SIDE_SIGN[side]
        shoulder = np.array([sg * ident.shoulder_width / 2, shoulder_y, 0.0])
        arm = motion.arms[side]
        upper_dir = direction(*arm["upper"], sg)
        lower_dir = direction(*arm["lower"], sg)
        pts[:, sh] = shoulder
        pts[:, el] = shoulder + ident.upper_arm * upper_dir
        pts[:, wr] = pts[:, el] + ident.forearm * lower_dir
        pts[:, P[hand]] = pts[:, wr] + ident.hand * 0.55 * lower_dir
        upper_idx += [sh, el, wr, P[hand]]
    # Head: neck straight up from the shoulder line, tilted sideways a little.
    tilt = motion.head_tilt[:, None]
    neck_base = up
    head_dir = np.stack([np.sin(tilt[:, 0]), np.cos(tilt[:, 0]), np.zeros(T)], axis=-1)
    pts[:, P["neck_base"]] = neck_base
    pts[:, sk.HEAD] = neck_base + (ident.neck + ident.head_radius) * head_dir
    pts[:, P["head_top"]] = neck_base + (ident.neck + 2 * ident.head_radius) * head_dir
    pts[:, P["face_dir"]] = pts[:, sk.HEAD] + np.array([0.0, 0.0, 1.0])
    d = ident.torso_depth / 2
    sw, hw = ident.shoulder_width / 2 + ident.arm_radius * 0.6, ident.hip_width / 2 + ident.leg_radius * 0.9
    for name, corner in (("torso_sr_f", (-sw, shoulder_y, d)), ("torso_sl_f", (sw, shoulder_y, d)),
                         ("torso_hl_f", (hw, 0.0, d)), ("torso_hr_f", (-hw, 0.0, d)),
                         ("torso_sr_b", (-sw, shoulder_y, -d)), ("torso_sl_b", (sw, shoulder_y, -d)),
                         ("torso_hl_b", (hw, 0.0, -d)), ("torso_hr_b", (-hw, 0.0, -d))):
        pts[:, P[name]] = corner
    upper_idx += [sk.HEAD, P["neck_base"], P["head_top"], P["face_dir"]] + [P[n] for n in TORSO_FRONT + TORSO_BACK]
    return upper_idx


# --------------------------------------------------------------------------------------------
# Placing the person in the frame
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Body units -> pixels: u = offset_x + scale * x, v = offset_y - scale * y."""

    scale: float
    offset_x: float
    offset_y: float


def reach(identity: Identity) -> float:
    """Half-thickness margin (body units) around the named points: the widest part drawn."""
    return max(identity.head_radius * 1.15, identity.leg_radius * 1.2, identity.torso_depth * 0.6)


def fit_placement(rng: np.random.Generator, identity: Identity, points: np.ndarray, size: int,
                  *, margin: float = 0.04) -> Placement:
    """Scale and position so the person fills a good part of the frame and stays in view all clip.

    points: (T, K, 3) body points. The standing height is drawn at 0.62..0.86 of the frame
    (times the identity's stature), shrunk if the clip's motion would leave the frame.
    """
    margin_body = reach(identity)
    xs = points[..., 0]
    ys = points[..., 1]
    x_min, x_max = xs.min() - margin_body, xs.max() + margin_body
    y_min, y_max = ys.min() - 0.02, ys.max() + margin_body
    standing = (2 * identity.head_radius + identity.neck + identity.torso + identity.thigh + identity.shin
                + identity.ankle_height)
    scale = rng.uniform(0.62, 0.86) * identity.stature * size / standing
    usable = size * (1 - 2 * margin)
    scale = min(scale, usable / (x_max - x_min), usable / (y_max - y_min))
    lo_x, hi_x = margin * size - scale * x_min, (1 - margin) * size - scale * x_max
    lo_y, hi_y = margin * size + scale * y_max, (1 - margin) * size + scale * y_min
    offset_x = rng.uniform(lo_x, hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
    # Feet usually in the lower part of the frame (as in real footage), head never cut.
    offset_y = hi_y - (hi_y - lo_y) * rng.beta(1.2, 2.5) if hi_y > lo_y else (lo_y + hi_y) / 2
    return Placement(float(scale), float(offset_x), float(offset_y))


def project(points: np.ndarray, placement: Placement) -> np.ndarray:
    """(..., 3) body units -> (..., 3) pixels u, v and depth (body units, larger = nearer)."""
    out = np.empty_like(points)
    out[..., 0] = placement.offset_x + placement.scale * points[..., 0]
    out[..., 1] = placement.offset_y - placement.scale * points[..., 1]
    out[..., 2] = points[..., 2]
    return out
