"""Joints that bend smoothly: near a hip, knee, elbow, wrist or ankle the two parts share one map.

Each part is moved rigidly by its own affine, so where two linked parts turn differently their
pixels part on one side of the joint (a notch at the crotch, a V between thigh and shorts) and pile
up on the other. Near such a joint both parts fetch their pixels through the same blend of the two
inverse transforms (linear blend skinning, done backwards): a target pixel's reference location is

    (1 - w) inverse(A_upper) p + w inverse(A_lower) p,   w = smoothstep(t / h) x lateral(u),

t the pixel's distance past the joint along the line halving the bend, u its distance across it,
h the joint's radius (the overhang disc of `reference._overhangs`). Where lateral is 1 the two parts
use one map, so their reference pixels tile the target as they tiled the photo: no gap, no overlap.
Away from the joint, w is 0 on the upper side and 1 on the lower one, and each part is rigid again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parts import EXTREMITIES, LIMB_CHAINS, PART_LAYER, R_THIGH, L_THIGH, TORSO
from .reference import WarpReference

# Pairs (upper, lower) that bend smoothly: hips, elbows and knees; wrists and ankles are added for
# the hands and feet that move on their own.
BLENDED = ((TORSO, R_THIGH), (TORSO, L_THIGH)) + LIMB_CHAINS
CORE = 1.25  # lateral is 1 within this many joint radii of the joint, across the bend...
REACH = 2.0  # ... and falls smoothly to 0 at this many
MIN_HALF_BEND = 0.35  # |unit(upper) + unit(lower)| below this (bent back on itself, within ~20 degrees): no blend


@dataclass(frozen=True)
class Blend:
    """One side of a blended joint for one part: where the part's map leans towards `other`
    (inverse: 2x3, target -> reference pixels of the other part), with the joint at `joint`,
    `normal` the unit direction past it into the lower part, `sign` +1 when this part is the upper
    one (it leans towards the other past the joint) and -1 when it is the lower one."""

    inverse: np.ndarray
    joint: np.ndarray
    normal: np.ndarray
    sign: float
    half_width: float
    core: float
    reach: float


def joint_blends(reference: WarpReference, transforms: list) -> dict[int, list[Blend]]:
    """{part: its Blends} for the linked pairs of BLENDED (and each cut limb with its hand or foot)
    that are both drawn, in one layer, and not folded back on themselves."""
    moved = {tr.part: tr for tr in transforms}
    pairs = set(BLENDED)
    pairs |= {(limb, part) for part, (limb, _joint, _points) in EXTREMITIES.items()
              if part in moved and limb in moved and moved[limb].cut}
    out: dict[int, list[Blend]] = {}
    for upper, lower, centre, radius in reference.links:
        if (upper, lower) not in pairs or upper not in moved or lower not in moved:
            continue
        if PART_LAYER[upper] != PART_LAYER[lower]:
            continue
        a, b = moved[upper], moved[lower]
        directions = [_direction(reference, tr) for tr in (a, b)]
        normal = directions[0] + directions[1]
        if np.hypot(*normal) < MIN_HALF_BEND:
            continue
        normal /= np.hypot(*normal)
        joint = (_apply(a.matrix, centre) + _apply(b.matrix, centre)) / 2
        scale = float(np.sqrt(abs(np.linalg.det(b.matrix[:, :2]))))
        size = max(radius * scale, 1.0)
        for tr, other, sign in ((a, b, 1.0), (b, a, -1.0)):
            out.setdefault(tr.part, []).append(Blend(_inverse(other.matrix), joint, normal, sign, size,
                                                     CORE * size, REACH * size))
    return out


def blended_source(matrix: np.ndarray, blends: list[Blend], box) -> tuple[np.ndarray, np.ndarray]:
    """float32 (h, w) x and y of the reference pixel each target pixel of `box` (x0, y0, x1, y1)
    fetches for a part moved by `matrix`, leaning towards its linked parts near their joints."""
    bx0, by0, bx1, by1 = box
    xs = np.arange(bx0, bx1, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1, dtype=np.float32)[:, None]
    own = _inverse(matrix)
    src_x, src_y = _mapped(own, xs, ys)
    total = np.zeros(src_x.shape, np.float32)
    lean_x = np.zeros(src_x.shape, np.float32)
    lean_y = np.zeros(src_x.shape, np.float32)
    for blend in blends:
        dx, dy = xs - np.float32(blend.joint[0]), ys - np.float32(blend.joint[1])
        along = dx * np.float32(blend.normal[0]) + dy * np.float32(blend.normal[1])
        across = np.abs(dx * np.float32(-blend.normal[1]) + dy * np.float32(blend.normal[0]))
        weight = _smoothstep(np.float32(blend.sign / blend.half_width) * along)
        weight *= 1.0 - _smoothstep((across - np.float32(blend.core)) * np.float32(2.0 / (blend.reach - blend.core))
                                    - 1.0)
        if not (weight > 0).any():
            continue
        other_x, other_y = _mapped(blend.inverse, xs, ys)
        total += weight
        lean_x += weight * other_x
        lean_y += weight * other_y
    over = total > 1.0  # two joints pulling the same pixel (the torso between the hips): shares of 1
    if over.any():
        scale = np.where(over, 1.0 / np.maximum(total, 1e-12), 1.0).astype(np.float32)
        total *= scale
        lean_x *= scale
        lean_y *= scale
    src_x += lean_x - total * src_x
    src_y += lean_y - total * src_y
    return src_x, src_y


def blended_box(box, blends: list[Blend], height: int, width: int):
    """The part's target box grown to take in its joints' blend zones (its pixels may lean past its
    rigid box towards a neighbour), within the (height, width) frame."""
    x0, y0, x1, y1 = box
    for blend in blends:
        r = blend.reach + blend.half_width
        x0, y0 = min(x0, int(np.floor(blend.joint[0] - r))), min(y0, int(np.floor(blend.joint[1] - r)))
        x1, y1 = max(x1, int(np.ceil(blend.joint[0] + r)) + 1), max(y1, int(np.ceil(blend.joint[1] + r)) + 1)
    return max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below -1, 1 above 1, a cubic in between (C1)."""
    s = np.clip((x + np.float32(1.0)) * np.float32(0.5), 0.0, 1.0)
    return s * s * (np.float32(3.0) - np.float32(2.0) * s)


def _direction(reference: WarpReference, tr) -> np.ndarray:
    """The unit direction of a part's bone in the target: a limb's start -> end, a hand's or foot's
    wrist -> knuckles or ankle -> toe, the torso's neck -> pelvis."""
    if tr.part in reference.extremities and tr.part in EXTREMITIES:
        extremity = reference.extremities[tr.part]
        start, end = extremity.start, extremity.tip
    else:
        start, end = reference.segments_of(tr.part, tr.cut)[0]
    v = _apply(tr.matrix, end) - _apply(tr.matrix, start)
    return v / max(float(np.hypot(*v)), 1e-9)


def _apply(matrix: np.ndarray, point) -> np.ndarray:
    return matrix[:, :2] @ np.asarray(point, np.float64) + matrix[:, 2]


def _inverse(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]


def _mapped(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 (h, w) images of the grid xs (1, w), ys (h, 1) under a 2x3 affine."""
    m = matrix.astype(np.float32)
    return m[0, 0] * xs + (m[0, 1] * ys + m[0, 2]), m[1, 0] * xs + (m[1, 1] * ys + m[1, 2])
