"""Elbows on the arm's middle line: where MediaPipe puts an elbow, and where the arm bends.

MediaPipe often puts the elbow of an arm that hangs beside the body near the arm's inner edge, not
on its middle line (photo.jpg's right arm: 0.7 of the arm's half-width off). The parts turn about
their joints, so an arm bent in the target turned each half about a point at its edge: the
upper arm's end and the forearm's start came apart at the elbow and stood out of it as two lobes,
with the wall between them.

So the reference's elbows are moved onto the arm's middle line, measured on the arm's own pixels
(`elbow_offsets`: how far the middle of each half lies from its bone), before the parts are cut,
and every target's elbows are moved alike (`moved_elbows`): each half's offset along the target
bone's normal, at the body's scale. In the photo's own pose the target's elbows land exactly on the
reference's, so the pose itself still gives back the photo.
"""
from __future__ import annotations

import numpy as np

from .parts import L_FORE, L_UPPER, PART_JOINTS, R_FORE, R_UPPER, joint_ok

ELBOWS = ((R_UPPER, R_FORE), (L_UPPER, L_FORE))  # (upper arm, forearm): their shared joint is the elbow
MIDDLE = (0.2, 0.8)  # a half's middle line is measured over this stretch of its bone
SPREAD = (5.0, 95.0)  # ... between these percentiles of its pixels' distances across the bone
MIN_PIXELS = 20  # a half with fewer pixels there is not measured
MIN_SHIFT = 1.0  # pixels: an elbow moved less than this stays where it is


def elbow_offsets(labels: np.ndarray, mask: np.ndarray, pose: np.ndarray, segments: list,
                  radii: np.ndarray) -> dict:
    """{elbow joint: (upper arm's offset, forearm's offset)}: for each arm with both halves, how far
    (pixels, along each bone's normal `_normal`) the middle of that half's own pixels lies from its
    bone, over the MIDDLE of the bone: halfway between the SPREAD percentiles of their distances
    across it, at most the half's radius (`radii`: an arm whose owners came out strange moves no
    farther than its capsule reaches). Only elbows the two offsets would move by at least MIN_SHIFT.
    labels: int8 (H, W) the owners (`WarpReference.labels`, -1 off the person); mask: float (H, W)
    in [0, 1]; segments: the parts' bones (None where missing)."""
    out = {}
    for upper, fore in ELBOWS:
        if segments[upper] is None or segments[fore] is None:
            continue
        offsets = [_offset(labels == part, mask, pose, part) for part in (upper, fore)]
        if None in offsets:
            continue
        offsets = [float(np.clip(offset, -radii[part], radii[part])) for offset, part in zip(offsets, (upper, fore))]
        elbow = PART_JOINTS[upper][1]
        if np.hypot(*(_shift(pose, upper, fore, *offsets, 1.0))) >= MIN_SHIFT:
            out[elbow] = (offsets[0], offsets[1])
    return out


def moved_elbows(pose: np.ndarray, offsets: dict, scale: float = 1.0) -> np.ndarray:
    """A copy of `pose` (13, 3) with each elbow of `offsets` (`elbow_offsets`) moved by the mean of
    its two halves' offsets, each along its bone's normal in this pose, times `scale` (the body's
    scale against the reference on the legs and the spine, which moving elbows leaves alone:
    `transforms.body_scale(..., bones=LEG_BONES)`). An elbow whose arm is not seen stays."""
    out = np.array(pose, np.float32, copy=True)
    ok = joint_ok(pose, 0.0)
    for upper, fore in ELBOWS:
        elbow = PART_JOINTS[upper][1]
        if elbow not in offsets or not ok[list(PART_JOINTS[upper] + PART_JOINTS[fore])].all():
            continue
        out[elbow, :2] += _shift(pose, upper, fore, *offsets[elbow], scale)
    return out


def _offset(own: np.ndarray, mask: np.ndarray, pose: np.ndarray, part: int) -> float | None:
    """Pixels along the bone's normal from the bone of `part` to the middle of its own pixels (`own`
    bool (H, W), where the mask is at least 1/2) over the MIDDLE of the bone; None with too few."""
    start, end = pose[list(PART_JOINTS[part]), :2].astype(np.float64)
    normal, length, direction = _normal(start, end)
    if length < 1e-6:
        return None
    rows, cols = np.nonzero(own & (mask >= 0.5))
    dx, dy = cols + 0.5 - start[0], rows + 0.5 - start[1]  # pixel centres
    along = dx * direction[0] + dy * direction[1]
    middle = (along > MIDDLE[0] * length) & (along < MIDDLE[1] * length)
    if middle.sum() < MIN_PIXELS:
        return None
    low, high = np.percentile((dx * normal[0] + dy * normal[1])[middle], SPREAD)
    return float(0.5 * (low + high))


def _shift(pose: np.ndarray, upper: int, fore: int, upper_offset: float, fore_offset: float,
           scale: float) -> np.ndarray:
    """float64 (2,): the mean of the two halves' offsets along their bones' normals in `pose`, x scale."""
    shift = np.zeros(2)
    for part, offset in ((upper, upper_offset), (fore, fore_offset)):
        start, end = pose[list(PART_JOINTS[part]), :2].astype(np.float64)
        normal, length, _ = _normal(start, end)
        if length > 1e-6:
            shift += 0.5 * scale * offset * normal
    return shift


def _normal(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(the bone's left normal (2,), its length, its unit direction (2,)); zeros when it has none."""
    vector = np.asarray(end, np.float64) - np.asarray(start, np.float64)
    length = float(np.hypot(*vector))
    if length < 1e-6:
        return np.zeros(2), length, np.zeros(2)
    direction = vector / length
    return np.array([-direction[1], direction[0]]), length, direction
