"""Hips that bend smoothly: near a hip the torso and the thigh fetch their pixels through one map.

Each part moves rigidly by its own affine, so where a thigh turns away from the torso the shorts
part at the hip: a flap of the leg's cuff sticks out beside the torso's straight side, with a notch
of background above it, and a V opens at the crotch. Near a hip both parts fetch their pixels
through the same blend of their two inverse transforms (linear blend skinning, done backwards): a
target pixel p fetches the reference pixel

    (1 - w) inverse(A_torso) p + w inverse(A_thigh) p,   w = smoothstep(t / h) x lateral(u) x s,

t the distance of p past the joint along the line halving the bend between the torso's spine and
the thigh's bone, u its distance across that line, h the joint's radius (`reference.links`), s the
blend's strength. Where lateral is 1 the two parts use one map, so their reference pixels tile the
target as they tiled the photo: no flap, no notch. Away from the joint w is 0 on the torso's side
and 1 on the thigh's, and each part is rigid again.

Only the hips bend so: an elbow or knee bends far more (a blend of two rotations more than about a
right angle apart folds the pixels between them into a fan), and a hand or foot turns on its own
(`experiments/results/probe_joint_blend.md`, every joint blended). What the torso holds as the
crotch is drawn or not by `render._crotch_from_below`.
At a hip the strength s fades from 1 to 0 as the thigh turns from TURN_FULL to TURN_NONE degrees
against the torso (a leg kicked high or raised sideways stays rigid: blended, the shorts' side was
pulled into a spike along it). A thigh the target draws shorter than the photo's (against the body's
scale across it: `_foreshortening`) points at the camera, the knee brought forward as in a squat: its
turn in the picture says little of how far the hip bent, and a rigid shorts' leg swung across the
crotch and left a flap of denim hanging below. When the other thigh turns the same way, by
TURN_SAME_WAY degrees or more (the body seen side-on, both knees forward: a squat, a lunge; thighs
turned apart, knees out to the sides, keep the limits, as blended there the shorts' hems were
pulled down into points), both limits rise by up to TURN_FORESHORTENED degrees: fully for a thigh
drawn at FORESHORTENED_FULL of its length or less, not at all above FORESHORTENED_NONE, and not for
one drawn at under FORESHORTENED_COLLAPSED of its length either (as good as a point: a blend
towards its squashed map pulled slivers of the shorts down the leg).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import affine_inverse, smoothstep
from .parts import L_THIGH, LIMB_BONES, PART_LAYER, R_THIGH, TORSO, torso_frame

HIPS = ((TORSO, R_THIGH), (TORSO, L_THIGH))
CORE = 1.25  # lateral is 1 within this many joint radii of the line halving the bend...
REACH = 2.0  # ... and falls smoothly to 0 at this many
TURN_FULL, TURN_NONE = 60.0, 110.0  # degrees the thigh turns against the torso: full blend below, none above
TURN_FORESHORTENED = 40.0  # ... both raised by this much for a thigh drawn short (pointing at the camera)
TURN_SAME_WAY = 30.0  # ... when the other thigh turns the same way by at least this much (a body seen side-on)
FORESHORTENED_FULL, FORESHORTENED_NONE = 0.6, 0.85  # its length / the body's scale: fully at or below, none above
FORESHORTENED_COLLAPSED = (0.3, 0.45)  # ... and none below the first, fully again from the second


@dataclass(frozen=True)
class Blend:
    """One side of a blended hip for one part. inverse: the other part's 2x3 map, target ->
    reference pixels; joint: the hip in the target; normal: the unit direction along the line halving
    the bend, from the torso's side into the thigh's; sign: +1 for the torso (it leans to the thigh
    past the joint), -1 for the thigh (it leans to the torso before it); size: the joint's radius in
    target pixels; strength: s above."""

    inverse: np.ndarray
    joint: np.ndarray
    normal: np.ndarray
    sign: float
    size: float
    strength: float

    @property
    def reach(self) -> float:
        """How far from the joint this blend can move a pixel's source (target pixels)."""
        return (REACH + 1.0) * self.size


def hip_blends(reference, transforms: list) -> dict[int, list[Blend]]:
    """{part: its Blends} for the hips whose torso and thigh are both drawn from their own pixels
    (not a stand-in: the other side's pixels) and turned less than TURN_NONE apart (more for a
    foreshortened thigh turned the same way as the other: the module's docstring)."""
    moved = {tr.part: tr for tr in transforms}
    out: dict[int, list[Blend]] = {}
    spine = torso_frame(reference.pose)[1]
    turns = {thigh: ((_turn(moved[thigh].matrix, _bone(reference.pose, thigh))
                      - _turn(moved[TORSO].matrix, spine) + 180.0) % 360.0 - 180.0)
             for _torso, thigh in HIPS if TORSO in moved and thigh in moved}  # signed, degrees
    for upper, lower, centre, radius in reference.links:
        if (upper, lower) not in HIPS or upper not in moved or lower not in moved:
            continue
        torso, thigh = moved[upper], moved[lower]
        if PART_LAYER[upper] != PART_LAYER[lower] or torso.stand_in or thigh.stand_in:
            continue
        bone = _bone(reference.pose, lower)
        turn = abs(turns[lower])
        other = turns.get(R_THIGH if lower == L_THIGH else L_THIGH)
        if other is not None and other * turns[lower] > 0 and abs(other) >= TURN_SAME_WAY:  # seen from the side
            turn -= TURN_FORESHORTENED * _foreshortening(thigh.matrix, bone)
        strength = 1.0 - smoothstep((turn - TURN_FULL) / (TURN_NONE - TURN_FULL))
        if strength <= 0.0:
            continue
        normal = _unit(torso.matrix[:, :2] @ spine) + _unit(thigh.matrix[:, :2] @ bone)
        if np.hypot(*normal) < 1e-6:
            continue
        normal = _unit(normal)
        joint = (_apply(torso.matrix, centre) + _apply(thigh.matrix, centre)) / 2
        scale = float(np.sqrt(abs(np.linalg.det(thigh.matrix[:, :2]))))
        size = max(radius * scale, 1.0)
        for tr, other, sign in ((torso, thigh, 1.0), (thigh, torso, -1.0)):
            out.setdefault(tr.part, []).append(Blend(affine_inverse(other.matrix), joint, normal, sign, size, strength))
    return out


def _foreshortening(matrix: np.ndarray, bone: np.ndarray) -> float:
    """In [0, 1]: how far a thigh moved by the 2x3 `matrix` (reference bone `bone`) points at the
    camera: its bone's stretch over the stretch across it (a limb keeps the body's scale across), 1
    at or below FORESHORTENED_FULL, 0 above FORESHORTENED_NONE and below FORESHORTENED_COLLAPSED[0]."""
    along = _unit(bone)
    ratio = np.hypot(*(matrix[:, :2] @ along)) / max(float(np.hypot(*(matrix[:, :2] @ [-along[1], along[0]]))), 1e-9)
    low, high = FORESHORTENED_COLLAPSED
    return float(smoothstep((FORESHORTENED_NONE - ratio) / (FORESHORTENED_NONE - FORESHORTENED_FULL))
                 * smoothstep((ratio - low) / (high - low)))


def blended_source(matrix: np.ndarray, blends: list[Blend], box) -> tuple[np.ndarray, np.ndarray]:
    """float32 (h, w) x and y of the reference pixel each target pixel of `box` (x0, y0, x1, y1)
    fetches for a part moved by `matrix`, leaning towards its linked parts near the hips."""
    bx0, by0, bx1, by1 = box
    xs = np.arange(bx0, bx1, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1, dtype=np.float32)[:, None]
    src_x, src_y = _mapped(affine_inverse(matrix), xs, ys)
    total = np.zeros(src_x.shape, np.float32)
    lean_x = np.zeros(src_x.shape, np.float32)
    lean_y = np.zeros(src_x.shape, np.float32)
    for blend in blends:
        dx, dy = xs - np.float32(blend.joint[0]), ys - np.float32(blend.joint[1])
        along = dx * np.float32(blend.normal[0]) + dy * np.float32(blend.normal[1])
        across = np.abs(dx * np.float32(-blend.normal[1]) + dy * np.float32(blend.normal[0]))
        weight = _smoothstep(along * np.float32(blend.sign / blend.size))
        lateral = (across - np.float32(CORE * blend.size)) / np.float32((REACH - CORE) * blend.size)
        weight *= 1.0 - smoothstep(lateral)
        weight *= np.float32(blend.strength)
        if not (weight > 0).any():
            continue
        other_x, other_y = _mapped(blend.inverse, xs, ys)
        total += weight
        lean_x += weight * other_x
        lean_y += weight * other_y
    over = total > 1.0  # both hips pulling one torso pixel (at the crotch): shares of 1
    if over.any():
        share = np.where(over, 1.0 / np.maximum(total, 1e-12), 1.0).astype(np.float32)
        total *= share
        lean_x *= share
        lean_y *= share
    src_x += lean_x - total * src_x
    src_y += lean_y - total * src_y
    return src_x, src_y


def grown_box(box, blends: list[Blend], height: int, width: int):
    """A part's target box grown to take in its hips' blend zones (its pixels may lean past its rigid
    box towards the other part), within the (height, width) frame."""
    x0, y0, x1, y1 = box
    for blend in blends:
        r = blend.reach
        x0, y0 = min(x0, int(np.floor(blend.joint[0] - r))), min(y0, int(np.floor(blend.joint[1] - r)))
        x1, y1 = max(x1, int(np.ceil(blend.joint[0] + r)) + 1), max(y1, int(np.ceil(blend.joint[1] + r)) + 1)
    return max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below -1, 1 above 1, a cubic in between (C1)."""
    return smoothstep((x + np.float32(1.0)) * np.float32(0.5))


def _bone(pose: np.ndarray, part: int) -> np.ndarray:
    start, end = LIMB_BONES[part]
    return pose[end, :2].astype(np.float64) - pose[start, :2].astype(np.float64)


def _turn(matrix: np.ndarray, direction: np.ndarray) -> float:
    """Degrees the 2x3 `matrix` turns `direction`."""
    moved = matrix[:, :2] @ direction
    return float(np.degrees(np.arctan2(moved[1], moved[0]) - np.arctan2(direction[1], direction[0]))) % 360.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.hypot(*v)), 1e-9)


def _apply(matrix: np.ndarray, point) -> np.ndarray:
    return matrix[:, :2] @ np.asarray(point, np.float64) + matrix[:, 2]


def _mapped(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 (h, w) images of the grid xs (1, w), ys (h, 1) under a 2x3 affine."""
    m = matrix.astype(np.float32)
    return m[0, 0] * xs + (m[0, 1] * ys + m[0, 2]), m[1, 0] * xs + (m[1, 1] * ys + m[1, 2])
