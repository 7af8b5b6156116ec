"""Part-wise warping of the reference person to a target pose, with a per-pixel confidence.

    ref = prepare_reference(photo, mask, pose, extras)          # once per reference photo
    result = warp_to_pose(ref, target_pose, out_shape=(H, W))   # per frame: WarpResult
    frame = result.over(background)                             # the warped person over a plate

or in one call: `warp_person(photo, mask, pose, target_pose)`. No learned weights; numpy + OpenCV.

How it works
------------
1. Parts (PART_NAMES): torso, head, upper arms, forearms (with the hands), thighs, shanks (with
   the feet). In the reference each person pixel is owned by one part: the part whose bone is
   nearest in units of that part's radius (an arm owns every pixel inside its own capsule, as arms
   are drawn in front of the body; what lies behind the shoulder or hip joint, seen from the
   elbow or knee, is the torso's). Around the joints that link two parts (neck, elbows, hips,
   knees; at the shoulders only the torso) each part also owns its neighbour's pixels within a disc:
   the overhang that fills the outer side of a bent joint.
2. One transform per part, reference pixels -> target pixels (2x3 affine):
   limbs: the reference bone onto the target bone (rotation, stretch along the bone, the body's
   scale `g` across it); torso: least-squares affine from the reference's 4 corners (shoulders,
   hips) to the target's; head: rotation of the neck->nose direction, scale g, nose onto nose.
   g = median over the bones of target length / reference length.
3. Backward warping: for each output pixel in a part's target box, the reference pixel it comes
   from under that part's transform (cv2.warpAffine, bilinear), with its colour premultiplied by
   person mask x ownership (a soft mask is taken through a smoothstep from 0.25 to 0.75, so the
   pixels it is unsure of do not travel as faint ghosts of the background). Parts of one layer
   (body: torso, head, legs; arms: both arms) are mixed by coverage where they agree or only share
   a pixel (exact: the pose itself gives back the reference), and where they overlap and disagree
   (a joint that bent) by skinning weights exp(-distance to the part's target bone / (radius x
   blend)): the nearer bone wins, over a seam about `blend` radii wide. The arms layer is drawn
   over the body layer (where the two only share a pixel, their coverages add).

Output (WarpResult): the warped person's RGB, its alpha (coverage: 0 = no reference person pixel
lands here) and a confidence in [0, 1] that says how far the pixel can be trusted:

    confidence = alpha x trust(part) x seam

- trust(part) = exp(-(rotation / 120 deg)^2 / 2) x exp(-(ln(stretch ratio) / 0.4)^2 / 2)
  x exp(-(ln(magnification) / 1.1)^2 / 2), from the part's 2x2 linear map (rotation of its polar
  decomposition; ratio and size of its singular values): 1 for a part that did not move or was
  only translated, lower for strong rotation, foreshortening/stretching or enlargement.
- seam = exp(-(spread / (0.03 x torso height))^2), spread = the weighted spread of the reference
  locations the contributing parts fetch this pixel from: 1 where one part draws the pixel or all
  agree (a pose that did not change), low where parts that moved differently overlap; times, around
  each joint (neck, shoulders, elbows, hips, knees), 1 - dip x exp(-r^2 / (2 sigma^2)): dip =
  1 - exp(-(gap / (0.03 x torso height))^2), gap = how far apart the joint's two parts fetch the
  rim of the joint (reference pixels), r = distance to the joint, sigma = 0.75 x the joint's radius.
  A joint that bent by more than about 20 degrees is a seam of confidence near 0.
- 0 wherever alpha is 0.

Parts that are not drawn (their pixels get alpha and confidence 0 and are left to generation;
listed in WarpResult.skipped and logged):
- a part whose joints have confidence <= WarpConfig.min_confidence in either pose;
- the torso when the target torso is *mirrored* (its orientation, the sign of
  cross(shoulder/hip direction, spine), is the opposite of the reference's: the person turned
  around, so the reference shows the wrong side), *twisted* (the target's shoulder line points
  against its hip line) or *collapsed* (its area cross(across, spine) is under
  WarpConfig.collapse_ratio of the reference's at body scale, or its shoulder width under a fifth
  of the reference's: seen edge-on or folded); with a mirrored torso the head (whose back we would
  see) is not drawn either. A reference seen edge-on itself (area under 0.2 torso height^2) cannot
  be checked: its torso is moved as a bone along the spine instead.

Coordinates: x, y pixels, the reference's for the reference pose and the output's for the target
pose (any output size and aspect). Masks: True / 1 = person.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import IlatError, NoPersonError
from .pose.skeleton import (
    HEAD,
    JOINT_NAMES,
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    NUM_JOINTS,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ARMS_LAYER",
    "BODY_LAYER",
    "PART_NAMES",
    "PartTransform",
    "WarpConfig",
    "WarpReference",
    "WarpResult",
    "body_scale",
    "fit_affine",
    "limb_matrix",
    "part_transforms",
    "prepare_reference",
    "segment_distance",
    "similarity_matrix",
    "torso_state",
    "transform_trust",
    "warp_person",
    "warp_to_pose",
]

PART_NAMES: tuple[str, ...] = ("torso", "head", "right_upper_arm", "right_forearm", "left_upper_arm",
                               "left_forearm", "right_thigh", "right_shank", "left_thigh", "left_shank")
TORSO, HEAD_PART, R_UPPER, R_FORE, L_UPPER, L_FORE, R_THIGH, R_SHANK, L_THIGH, L_SHANK = range(10)
BODY_LAYER, ARMS_LAYER = 0, 1
ROOT_LIMBS = (R_UPPER, L_UPPER, R_THIGH, L_THIGH)  # limbs hanging from the torso
PART_LAYER = (BODY_LAYER, BODY_LAYER, ARMS_LAYER, ARMS_LAYER, ARMS_LAYER, ARMS_LAYER,
              BODY_LAYER, BODY_LAYER, BODY_LAYER, BODY_LAYER)
# Joints each part needs (confident in both poses) to be drawn.
PART_JOINTS: tuple[tuple[int, ...], ...] = (
    (R_SHOULDER, L_SHOULDER, R_HIP, L_HIP),
    (HEAD, R_SHOULDER, L_SHOULDER),
    (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST),
    (R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE),
)
# Limbs: (start joint, end joint) of the bone that defines the transform.
LIMB_BONES = {R_UPPER: (R_SHOULDER, R_ELBOW), R_FORE: (R_ELBOW, R_WRIST),
              L_UPPER: (L_SHOULDER, L_ELBOW), L_FORE: (L_ELBOW, L_WRIST),
              R_THIGH: (R_HIP, R_KNEE), R_SHANK: (R_KNEE, R_ANKLE),
              L_THIGH: (L_HIP, L_KNEE), L_SHANK: (L_KNEE, L_ANKLE)}
# Default radius of each part's capsule, x torso height (shoulder midpoint to hip midpoint); limbs
# are refined from the person mask (the distance to its edge along the bone). The head's radius is
# x the neck->nose distance, the torso's is how far it reaches beyond its 4 corners.
DEFAULT_RADIUS = (0.14, 0.45, 0.12, 0.10, 0.12, 0.10, 0.17, 0.12, 0.17, 0.12)
# Joints linking two parts: (part a, part b, a overhangs b, b overhangs a, disc radius x the
# smaller radius of the two; the torso's radius does not count). The disc is centred on the joint
# (the neck: between shoulders and nose). A disc no wider than the narrower limb makes the overhang
# a rounded joint cap: it fills the outer side of a bend without sticking out of either limb.
LINKS = (
    (TORSO, HEAD_PART, True, True, 0.6),
    (TORSO, R_UPPER, True, False, 0.6), (TORSO, L_UPPER, True, False, 0.6),
    (R_UPPER, R_FORE, True, True, 1.0), (L_UPPER, L_FORE, True, True, 1.0),
    (TORSO, R_THIGH, True, True, 1.0), (TORSO, L_THIGH, True, True, 1.0),
    (R_THIGH, R_SHANK, True, True, 1.0), (L_THIGH, L_SHANK, True, True, 1.0),
)
# Extras order (pose.extract.EXTRA_NAMES): r/l index, r/l pinky, r/l thumb, r/l heel, r/l toe.
_HAND_EXTRAS = {R_FORE: (0, 2), L_FORE: (1, 3)}  # index and pinky knuckles
_FOOT_EXTRAS = {R_SHANK: (6, 8), L_SHANK: (7, 9)}  # heel and toe
_LOG_FLOOR = -70.0  # skinning logits are clipped here so float32 weights never underflow to 0
HEAD_TILT_LIMIT = np.radians(25.0)  # the head's turn beyond the shoulders' (see _head_matrix)
SKIN_STRIDE = 2  # skinning distances are computed on every 2nd pixel and interpolated
_REFERENCE_EDGE_ON = 0.2  # a reference torso with area < this x height^2 is seen edge-on
SOFT_MASK = (0.25, 0.75)  # soft mask values below / above count as background / person
MIN_SCALE = 0.01  # the smallest body scale g (keeps every part's transform invertible)


@dataclass(frozen=True)
class WarpConfig:
    """How the warp decides what to draw and how far to trust it (see the module docstring).

    min_confidence: joints with confidence <= this count as missing.
    blend: skinning softness, in part radii: the seam between two parts is about this wide.
    collapse_ratio: a target torso with area under this fraction of the reference's (at body
        scale) is collapsed and not drawn.
    seam_scale: source spread (x torso height) at which the seam confidence falls to 1/e.
    rotation_scale: degrees; anisotropy_scale, magnification_scale: natural logs (trust terms).
    """

    min_confidence: float = 0.0
    blend: float = 0.25
    collapse_ratio: float = 0.3
    seam_scale: float = 0.03
    rotation_scale: float = 120.0
    anisotropy_scale: float = 0.4
    magnification_scale: float = 1.1

    def __post_init__(self):
        for name in ("blend", "collapse_ratio", "seam_scale", "rotation_scale", "anisotropy_scale",
                     "magnification_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"WarpConfig.{name} must be > 0, got {getattr(self, name)}")


# --- pure geometry ----------------------------------------------------------------------------

def segment_distance(xs: np.ndarray, ys: np.ndarray, a, b) -> np.ndarray:
    """Distance from points (xs, ys) (broadcastable float arrays) to the segment a-b."""
    ax, ay = float(a[0]), float(a[1])
    dx, dy = float(b[0]) - ax, float(b[1]) - ay
    px, py = xs - ax, ys - ay
    length2 = dx * dx + dy * dy
    if length2 < 1e-12:
        return np.sqrt(px * px + py * py)
    t = np.clip((px * dx + py * dy) * (1.0 / length2), 0.0, 1.0)
    ex, ey = px - t * dx, py - t * dy
    return np.sqrt(ex * ex + ey * ey)


def _shape_distance(xs: np.ndarray, ys: np.ndarray, segments: np.ndarray,
                    polygon: np.ndarray | None) -> np.ndarray:
    """Distance to a union of segments (S, 2, 2); with a polygon (K, 2), 0 inside it and the
    distance to its edges outside (xs: (1, W), ys: (H, 1) pixel coordinates of a grid)."""
    if polygon is not None:
        edges = [(polygon[i], polygon[(i + 1) % len(polygon)]) for i in range(len(polygon))]
        d = np.minimum.reduce([segment_distance(xs, ys, a, b) for a, b in edges])
        inside = np.zeros(d.shape, np.uint8)
        x0, y0 = float(xs.ravel()[0]), float(ys.ravel()[0])
        pts = np.round((polygon - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(inside, [pts], 1, lineType=cv2.LINE_8, shift=4)
        d[inside.astype(bool)] = 0.0
        return d
    return np.minimum.reduce([segment_distance(xs, ys, a, b) for a, b in segments])


def limb_matrix(a, b, a2, b2, across: float, min_stretch: float = 0.15) -> np.ndarray:
    """The 2x3 affine that maps bone a->b onto bone a2->b2: a onto a2, rotated with the bone,
    stretched along it by |a2 b2| / |a b| (at least min_stretch x across), scaled by `across`
    perpendicular to it. Orientation-preserving (no mirroring)."""
    a, b, a2, b2 = (np.asarray(p, np.float64)[:2] for p in (a, b, a2, b2))
    v, v2 = b - a, b2 - a2
    length, length2 = np.hypot(*v), np.hypot(*v2)
    if length < 1e-6:
        raise ValueError("limb_matrix: the reference bone has zero length")
    e1 = v / length
    e2 = v2 / length2 if length2 > 1e-6 else e1
    n1, n2 = np.array([-e1[1], e1[0]]), np.array([-e2[1], e2[0]])
    along = max(length2 / length, min_stretch * across)
    linear = along * np.outer(e2, e1) + across * np.outer(n2, n1)
    return np.hstack([linear, (a2 - linear @ a)[:, None]])


def fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine mapping points src (N, 2) onto dst (N, 2), N >= 3."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    design = np.hstack([src, np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T


def similarity_matrix(angle: float, scale: float, src_point, dst_point) -> np.ndarray:
    """2x3 rotation by `angle` (radians) and uniform `scale` that maps src_point onto dst_point."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    linear = np.array([[c, -s], [s, c]])
    return np.hstack([linear, (np.asarray(dst_point, np.float64)[:2]
                               - linear @ np.asarray(src_point, np.float64)[:2])[:, None]])


def transform_trust(matrix: np.ndarray, config: WarpConfig = WarpConfig()) -> float:
    """How far a part moved by this 2x3 affine keeps its look, in [0, 1] (module docstring)."""
    u, sigma, vt = np.linalg.svd(np.asarray(matrix, np.float64)[:, :2])
    rotation = u @ vt
    angle = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    stretch = np.log(sigma[0] / max(sigma[1], 1e-9))
    magnify = max(0.0, float(np.log(max(sigma[0], 1e-9))))
    return float(np.exp(-0.5 * (angle / config.rotation_scale) ** 2
                        - 0.5 * (stretch / config.anisotropy_scale) ** 2
                        - 0.5 * (magnify / config.magnification_scale) ** 2))


def _cross(u, v) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _torso_frame(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(across, spine, shoulder line) of a pose: across = mean of the right->left shoulder and hip
    vectors, spine = shoulder midpoint -> hip midpoint."""
    xy = pose[:, :2].astype(np.float64)
    shoulders = xy[L_SHOULDER] - xy[R_SHOULDER]
    hips = xy[L_HIP] - xy[R_HIP]
    spine = (xy[R_HIP] + xy[L_HIP]) / 2 - (xy[R_SHOULDER] + xy[L_SHOULDER]) / 2
    return (shoulders + hips) / 2, spine, shoulders


def torso_state(reference_pose: np.ndarray, target_pose: np.ndarray, scale: float,
                collapse_ratio: float = WarpConfig.collapse_ratio) -> str:
    """"ok", "edge-on reference", "mirrored", "twisted" or "collapsed" (module docstring).

    scale: the body scale g (target size / reference size).
    """
    across_r, spine_r, shoulders_r = _torso_frame(reference_pose)
    across_t, spine_t, shoulders_t = _torso_frame(target_pose)
    height_r = np.hypot(*spine_r)
    area_r, area_t = _cross(across_r, spine_r), _cross(across_t, spine_t)
    if height_r < 1e-6 or abs(area_r) < _REFERENCE_EDGE_ON * height_r ** 2:
        return "edge-on reference"
    g2 = scale * scale
    if area_t * area_r < 0 and abs(area_t) >= collapse_ratio * abs(area_r) * g2:
        return "mirrored"
    xy = target_pose[:, :2].astype(np.float64)
    if float(np.dot(xy[L_SHOULDER] - xy[R_SHOULDER], xy[L_HIP] - xy[R_HIP])) < 0:
        return "twisted"
    if (abs(area_t) < collapse_ratio * abs(area_r) * g2
            or np.hypot(*shoulders_t) < 0.2 * scale * np.hypot(*shoulders_r)):
        return "collapsed"
    return "ok"


_SCALE_BONES = ((R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST),
                (R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE))


def body_scale(reference_pose: np.ndarray, target_pose: np.ndarray, min_confidence: float = 0.0) -> float:
    """g: median over the bones seen in both poses (limbs and the spine) of target / reference
    length; 1 when no bone is seen in both; at least MIN_SCALE (a body shrunk to a point)."""
    ok = _joint_ok(reference_pose, min_confidence) & _joint_ok(target_pose, min_confidence)
    ratios = []
    for a, b in _SCALE_BONES:
        if ok[a] and ok[b]:
            ref = np.hypot(*(reference_pose[b, :2] - reference_pose[a, :2]))
            if ref > 1e-6:
                ratios.append(np.hypot(*(target_pose[b, :2] - target_pose[a, :2])) / ref)
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        ref = np.hypot(*_torso_frame(reference_pose)[1])
        if ref > 1e-6:
            ratios.append(np.hypot(*_torso_frame(target_pose)[1]) / ref)
    return max(float(np.median(ratios)), MIN_SCALE) if ratios else 1.0


# --- the reference, prepared once -------------------------------------------------------------

@dataclass
class _PartCrop:
    """A part's pixels in the reference: the box (x0, y0) + shape; prem: float32 (h, w, 4) =
    colour x coverage and coverage, coverage = mask x (owned or overhang); primary: float32 (h, w)
    = mask x owned (the parts' primaries sum to the mask: a partition of the person)."""

    x0: int
    y0: int
    prem: np.ndarray
    primary: np.ndarray


@dataclass
class WarpReference:
    """The reference photo prepared for warping (prepare_reference).

    image uint8 (H, W, 3); mask float32 (H, W) in [0, 1] (the given mask through a smoothstep
    from 0.25 to 0.75, SOFT_MASK); pose float32 (13, 3); extras (10, 3) or None;
    height: torso height in pixels (the body's unit); radii: each part's radius in pixels;
    segments: each part's bone(s) as (S, 2, 2) start/end points; polygon: the torso's 4 corners;
    labels: int8 (H, W), the part that owns each person pixel (-1: not the person, mask < 0.5);
    crops: per drawable part, its pixels (None for parts whose joints are missing).
    """

    image: np.ndarray
    mask: np.ndarray
    pose: np.ndarray
    extras: np.ndarray | None
    height: float
    radii: np.ndarray
    segments: list
    polygon: np.ndarray
    labels: np.ndarray
    crops: list
    config: WarpConfig = field(default_factory=WarpConfig)
    missing: dict = field(default_factory=dict)  # part -> why it cannot be drawn (reference side)
    links: list = field(default_factory=list)  # (part a, part b, joint centre (2,), disc radius)


def _joint_ok(pose: np.ndarray, min_confidence: float) -> np.ndarray:
    return np.isfinite(pose[:, :2]).all(1) & (pose[:, 2] > min_confidence)


def _missing_reason(part: int, ok: np.ndarray, which: str) -> str | None:
    gone = [JOINT_NAMES[j] for j in PART_JOINTS[part] if not ok[j]]
    if gone:
        return (f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} missing in the {which} pose "
                f"(no confidence or no position)")
    return None


def _neck(pose: np.ndarray) -> np.ndarray:
    return (pose[R_SHOULDER, :2].astype(np.float64) + pose[L_SHOULDER, :2]) / 2


def _reference_height(pose: np.ndarray, ok: np.ndarray) -> float:
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        height = float(np.hypot(*_torso_frame(pose)[1]))
        if height > 1e-3:
            return height
    xy = pose[ok, :2]
    if len(xy) < 2:
        raise NoPersonError("warp: the reference pose has fewer than 2 joints with confidence > 0; "
                            "expected a person's pose (13, 3) in the reference's pixels")
    return 0.3 * float(np.hypot(*(xy.max(0) - xy.min(0)))) + 1e-3


def _part_segments(pose: np.ndarray, extras: np.ndarray | None, ok: np.ndarray,
                   min_confidence: float) -> list:
    """Each part's bone(s) in the reference: (S, 2, 2) float64, or None when it has no joints."""
    xy = pose[:, :2].astype(np.float64)
    segments: list = [None] * len(PART_NAMES)
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        neck, pelvis = _neck(pose), (xy[R_HIP] + xy[L_HIP]) / 2
        segments[TORSO] = np.array([[neck, pelvis], [xy[R_SHOULDER], xy[L_SHOULDER]],
                                    [xy[R_HIP], xy[L_HIP]]])
    if ok[[HEAD, R_SHOULDER, L_SHOULDER]].all():
        neck = _neck(pose)
        v = xy[HEAD] - neck
        segments[HEAD_PART] = np.array([[neck + 0.5 * v, xy[HEAD] + 0.3 * v]])
    for part, (a, b) in LIMB_BONES.items():
        if not (ok[a] and ok[b]):
            continue
        segs = [[xy[a], xy[b]]]
        bone = xy[b] - xy[a]
        if part in _HAND_EXTRAS:
            points = _extra_points(extras, _HAND_EXTRAS[part], min_confidence)
            if points is not None:  # knuckles -> the fingers reach about as far again
                segs.append([xy[b], xy[b] + 1.6 * (points.mean(0) - xy[b])])
            else:
                segs.append([xy[b], xy[b] + 0.45 * bone])
        elif part in _FOOT_EXTRAS:
            points = _extra_points(extras, _FOOT_EXTRAS[part], min_confidence)
            if points is not None:  # ankle -> heel and ankle -> toe
                segs.extend([[xy[b], p] for p in points])
            else:
                segs.append([xy[b], xy[b] + 0.2 * bone])
        segments[part] = np.array(segs)
    return segments


def _extra_points(extras, indices, min_confidence) -> np.ndarray | None:
    if extras is None:
        return None
    points = np.asarray(extras, np.float64)[list(indices)]
    if not (points[:, 2] > min_confidence).all() or not np.isfinite(points).all():
        return None
    return points[:, :2]


def _check_inputs(image, mask, pose, extras) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise IlatError(f"warp: the reference image must be uint8 (H, W, 3) RGB, got "
                        f"{image.dtype} {image.shape}")
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise IlatError(f"warp: the reference mask must be (H, W) = {image.shape[:2]} like the image, "
                        f"got {mask.shape}")
    mask = mask.astype(np.float32) if mask.dtype == bool else np.clip(
        np.nan_to_num(mask.astype(np.float32)), 0, 1)
    if not (mask >= 0.5).any():
        raise NoPersonError("warp: the reference mask is empty (no pixel >= 0.5); expected the "
                            "person's mask, True / 1 = person")
    if (mask >= 0.5).all():
        raise NoPersonError("warp: the reference mask covers the whole image; expected the person's "
                            "mask, not the frame (True / 1 = person)")
    pose = _check_pose(pose, "reference")
    if extras is not None:
        extras = np.asarray(extras, np.float32)
        if extras.shape != (10, 3):
            raise IlatError(f"warp: reference extras must be (10, 3) (pose.extract.EXTRA_NAMES), "
                            f"got {extras.shape}")
    return image, mask, pose, extras


def _check_pose(pose, which: str) -> np.ndarray:
    pose = np.asarray(pose, np.float32)
    if pose.shape != (NUM_JOINTS, 3):
        raise IlatError(f"warp: the {which} pose must be ({NUM_JOINTS}, 3) = x, y, confidence, "
                        f"got {pose.shape}")
    return pose


def _limb_radius(distance: np.ndarray, segment: np.ndarray, default: float) -> float:
    """A limb's radius from the person mask's distance transform along its bone's middle (the
    distance to the silhouette's edge), between 0.6 and 1.3 x the default; a limb that lies over
    the body (farther from the edge than that) gets the default, as the edge says nothing then."""
    h, w = distance.shape
    t = np.linspace(0.2, 0.8, 13)[:, None]
    points = segment[0] + t * (segment[1] - segment[0])
    cols = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
    rows = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
    measured = float(np.median(distance[rows, cols]))
    if measured > 1.3 * default:
        return float(default)
    return max(measured, 0.6 * default)


def prepare_reference(image: np.ndarray, mask: np.ndarray, pose: np.ndarray,
                      extras: np.ndarray | None = None, *, config: WarpConfig = WarpConfig()
                      ) -> WarpReference:
    """Everything about the reference that does not depend on the target pose.

    image: uint8 (H, W, 3) RGB; mask: (H, W) bool or float in [0, 1], True / 1 = person (a soft
        mask's values are taken as alpha through a smoothstep from 0.25 to 0.75);
    pose: float32 (13, 3) in the image's pixels; extras: optional (10, 3) hand and foot points
    (pose.extract.EXTRA_NAMES order) that place the hands and feet.
    Raises IlatError / NoPersonError for inputs of the wrong kind, an empty or full mask.
    """
    image, mask, pose, extras = _check_inputs(image, mask, pose, extras)
    # A soft mask's unsure pixels (MediaPipe gives 0.1-0.3 around limbs it half sees) would be
    # carried as faint ghosts of the reference's background: alpha = smoothstep over SOFT_MASK.
    lo, hi = SOFT_MASK
    t = np.clip((mask - lo) / (hi - lo), 0.0, 1.0)
    mask = t * t * (3.0 - 2.0 * t)
    h, w = mask.shape
    ok = _joint_ok(pose, config.min_confidence)
    height = _reference_height(pose, ok)
    segments = _part_segments(pose, extras, ok, config.min_confidence)
    missing = {PART_NAMES[p]: _missing_reason(p, ok, "reference")
               for p in range(len(PART_NAMES)) if segments[p] is None}
    if missing:
        logger.info("warp: reference parts that cannot be drawn: %s",
                    "; ".join(f"{k} ({v})" for k, v in missing.items()))

    binary = (mask >= 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(binary, cv2.DIST_L2, 5)
    cols = np.clip(np.round(pose[ok, 0]).astype(int), 0, w - 1)
    rows = np.clip(np.round(pose[ok, 1]).astype(int), 0, h - 1)
    outside = cv2.distanceTransform(1 - binary, cv2.DIST_L2, 5)[rows, cols] > 0.1 * height
    if outside.mean() > 0.5:
        logger.warning("warp: %d of the reference pose's %d joints lie outside the person mask; "
                       "are the mask and the pose of the same person and image?",
                       int(outside.sum()), len(outside))
    radii = np.array(DEFAULT_RADIUS) * height
    if segments[HEAD_PART] is not None:
        radii[HEAD_PART] = DEFAULT_RADIUS[HEAD_PART] * np.hypot(*(pose[HEAD, :2] - _neck(pose)))
        radii[HEAD_PART] = max(radii[HEAD_PART], 0.1 * height)
    for part in LIMB_BONES:
        if segments[part] is not None:
            radii[part] = _limb_radius(distance, segments[part][0], radii[part])
    polygon = (pose[[R_SHOULDER, L_SHOULDER, L_HIP, R_HIP], :2].astype(np.float64)
               if segments[TORSO] is not None else None)

    # Labels over the person's box (a margin for the soft mask's edge).
    rows, cols = np.nonzero(mask > 0.01)
    pad = 2
    y0, y1 = max(0, rows.min() - pad), min(h, rows.max() + 1 + pad)
    x0, x1 = max(0, cols.min() - pad), min(w, cols.max() + 1 + pad)
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    present = [p for p in range(len(PART_NAMES)) if segments[p] is not None]
    if not present:
        raise NoPersonError("warp: the reference pose has no body part with all its joints; "
                            "expected a person's pose (13, 3) with confidence > 0")
    scores = np.empty((len(present), y1 - y0, x1 - x0), np.float32)
    for i, part in enumerate(present):
        d = _shape_distance(xs, ys, segments[part], polygon if part == TORSO else None)
        scores[i] = d / radii[part]
        if PART_LAYER[part] == ARMS_LAYER:  # arms are in front: they own their whole capsule
            np.subtract(scores[i], 1.0, out=scores[i], where=scores[i] < 1.0)
        if part in ROOT_LIMBS:  # the shoulder's and hip's caps, behind the joint, are the torso's
            (ax, ay), (bx, by) = segments[part][0]
            behind = (xs - ax) * (bx - ax) + (ys - ay) * (by - ay) < 0
            scores[i][behind] = np.inf
    nearest = np.argmin(scores, axis=0)
    box_labels = np.asarray(present, np.int8)[nearest]
    box_mask = mask[y0:y1, x0:x1]
    labels = np.full((h, w), -1, np.int8)
    labels[y0:y1, x0:x1] = np.where(box_mask >= 0.5, box_labels, -1)

    # Ownership with the overhang at the joints.
    own = {p: (box_labels == p) for p in present}
    extra = {p: np.zeros_like(own[p]) for p in present}
    links = []
    for a, b, a_over_b, b_over_a, factor in LINKS:
        if a not in own or b not in own:
            continue
        center = _link_center(a, b, pose)
        radius = factor * (min(radii[a], radii[b]) if a != TORSO else radii[b])
        links.append((a, b, center, float(radius)))
        disc = ((xs - center[0]) ** 2 + (ys - center[1]) ** 2) <= radius ** 2
        if a_over_b:
            extra[a] |= disc & own[b]
        if b_over_a:
            extra[b] |= disc & own[a]
    crops: list = [None] * len(PART_NAMES)
    colour = image[y0:y1, x0:x1].astype(np.float32)
    for p in present:
        owned = (own[p] | extra[p]).astype(np.float32)
        weight = owned * box_mask
        rr, cc = np.nonzero(weight > 0)
        if len(rr) == 0:
            continue
        ry0, ry1 = max(0, rr.min() - pad), min(y1 - y0, rr.max() + 1 + pad)
        rx0, rx1 = max(0, cc.min() - pad), min(x1 - x0, cc.max() + 1 + pad)
        wcrop = weight[ry0:ry1, rx0:rx1]
        prem = np.empty(wcrop.shape + (4,), np.float32)
        np.multiply(colour[ry0:ry1, rx0:rx1], wcrop[..., None], out=prem[..., :3])
        prem[..., 3] = wcrop
        primary = own[p][ry0:ry1, rx0:rx1] * box_mask[ry0:ry1, rx0:rx1]
        crops[p] = _PartCrop(x0 + rx0, y0 + ry0, prem, np.ascontiguousarray(primary, np.float32))
    return WarpReference(image, mask, pose, extras, height, radii, segments, polygon, labels, crops,
                         config, {k: v for k, v in missing.items()}, links)


def _link_center(a: int, b: int, pose: np.ndarray) -> np.ndarray:
    xy = pose[:, :2].astype(np.float64)
    if b == HEAD_PART:
        neck = _neck(pose)
        return neck + 0.4 * (xy[HEAD] - neck)
    shared = set(PART_JOINTS[a]) & set(PART_JOINTS[b]) if a != TORSO else set(PART_JOINTS[b][:1])
    return xy[min(shared)]


# --- per target pose --------------------------------------------------------------------------

@dataclass(frozen=True)
class PartTransform:
    """One part's move: matrix 2x3 affine (reference pixels -> target pixels) and its trust."""

    part: int
    matrix: np.ndarray
    trust: float


def part_transforms(reference: WarpReference, target_pose: np.ndarray
                    ) -> tuple[list[PartTransform], dict[str, str]]:
    """The drawable parts' transforms, and {part name: why it is not drawn} for the others."""
    config = reference.config
    target_pose = _check_pose(target_pose, "target")
    ref_pose = reference.pose
    ok_t = _joint_ok(target_pose, config.min_confidence)
    scale = body_scale(ref_pose, target_pose, config.min_confidence)
    skipped: dict[str, str] = dict(reference.missing)
    transforms: list[PartTransform] = []
    torso = None
    if reference.crops[TORSO] is not None:
        reason = _missing_reason(TORSO, ok_t, "target")
        if reason is None:
            torso = torso_state(ref_pose, target_pose, scale, config.collapse_ratio)
            if torso in ("mirrored", "twisted", "collapsed"):
                reason = f"the target torso is {torso}"
        if reason is not None:
            skipped["torso"] = reason
    for part in range(len(PART_NAMES)):
        if reference.crops[part] is None or PART_NAMES[part] in skipped:
            continue
        reason = _missing_reason(part, ok_t, "target")
        if reason is None and part == HEAD_PART and torso == "mirrored":
            reason = "the target torso is mirrored (the person turned around)"
        if reason is not None:
            skipped[PART_NAMES[part]] = reason
            continue
        if part == TORSO:
            matrix = _torso_matrix(ref_pose, target_pose, scale, torso)
        elif part == HEAD_PART:
            matrix = _head_matrix(ref_pose, target_pose, scale, reference.height)
        else:
            a, b = LIMB_BONES[part]
            if np.hypot(*(ref_pose[b, :2] - ref_pose[a, :2])) < 1e-3:
                skipped[PART_NAMES[part]] = "its reference bone has zero length"
                continue
            matrix = limb_matrix(ref_pose[a], ref_pose[b], target_pose[a], target_pose[b], scale)
        transforms.append(PartTransform(part, matrix, transform_trust(matrix, config)))
    return transforms, skipped


def _torso_matrix(ref_pose, target_pose, scale, state) -> np.ndarray:
    corners = [R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]
    if state == "edge-on reference":  # the spine as a bone
        neck_r, neck_t = _neck(ref_pose), _neck(target_pose)
        pelvis_r = (ref_pose[R_HIP, :2].astype(np.float64) + ref_pose[L_HIP, :2]) / 2
        pelvis_t = (target_pose[R_HIP, :2].astype(np.float64) + target_pose[L_HIP, :2]) / 2
        return limb_matrix(neck_r, pelvis_r, neck_t, pelvis_t, scale)
    return fit_affine(ref_pose[corners, :2], target_pose[corners, :2])


def _head_matrix(ref_pose, target_pose, scale, height) -> np.ndarray:
    """The head rides on the neck (the shoulder midpoint): it turns with the shoulder line, tilted
    further by the neck -> head direction's turn, at most HEAD_TILT_LIMIT. In 2-D a nod or a look
    down swings the head joint round the neck although the face does not roll; followed freely it
    would lay the face on its side."""
    def turn(a, b, c, d):  # the angle from vector b - a (reference) to d - c (target), or None
        u, v = b - a, d - c
        if np.hypot(*u) < 0.1 * height or np.hypot(*v) < 0.1 * height * scale:
            return None
        return float((np.arctan2(v[1], v[0]) - np.arctan2(u[1], u[0]) + np.pi) % (2 * np.pi) - np.pi)

    ref, tgt = ref_pose[:, :2].astype(np.float64), target_pose[:, :2].astype(np.float64)
    shoulders = turn(ref[R_SHOULDER], ref[L_SHOULDER], tgt[R_SHOULDER], tgt[L_SHOULDER]) or 0.0
    tilt = turn(_neck(ref_pose), ref[HEAD], _neck(target_pose), tgt[HEAD])
    extra = 0.0 if tilt is None else (tilt - shoulders + np.pi) % (2 * np.pi) - np.pi
    angle = shoulders + float(np.clip(extra, -HEAD_TILT_LIMIT, HEAD_TILT_LIMIT))
    return similarity_matrix(angle, scale, _neck(ref_pose), _neck(target_pose))


@dataclass
class WarpResult:
    """The reference person warped to a target pose (see the module docstring).

    image: uint8 (H, W, 3) straight (not premultiplied) RGB of the person, 0 where alpha is 0.
    alpha: float32 (H, W) in [0, 1], how much of the pixel the warped person covers.
    confidence: float32 (H, W) in [0, 1], <= alpha; how far the pixel can be trusted.
    part_labels: int8 (H, W), the part (index into PART_NAMES) that mostly drew each pixel, -1 none.
    skipped: {part name: why it was not drawn}.
    """

    image: np.ndarray
    alpha: np.ndarray
    confidence: np.ndarray
    part_labels: np.ndarray
    skipped: dict = field(default_factory=dict)

    def over(self, background: np.ndarray) -> np.ndarray:
        """The warped person composited over a uint8 (H, W, 3) background."""
        if background.shape != self.image.shape:
            raise IlatError(f"warp: the background must be {self.image.shape} like the warped "
                            f"frame, got {background.shape}")
        a = self.alpha[..., None]
        out = self.image.astype(np.float32) * a + background.astype(np.float32) * (1 - a)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)


class _Layer:
    """Accumulators of one depth layer over its box (x0, y0, x1, y1) in the output."""

    def __init__(self, box):
        self.box = box
        shape = (box[3] - box[1], box[2] - box[0])
        self.plain = np.zeros(shape + (3,), np.float32)   # sum colour * coverage
        self.covered = np.zeros(shape, np.float32)        # sum coverage
        self.skinned = np.zeros(shape + (3,), np.float32)  # sum S * colour * coverage
        self.weight = np.zeros(shape, np.float32)         # sum S * coverage
        self.primary = np.zeros(shape, np.float32)        # sum primary coverage
        self.overhang = np.zeros(shape, np.float32)       # max overhang coverage
        self.su = np.zeros(shape + (2,), np.float32)      # sum S * coverage * source offset
        self.suu = np.zeros(shape, np.float32)            # ... * |source offset|^2
        self.trust = np.zeros(shape, np.float32)          # ... * part trust
        self.best = np.zeros(shape, np.float32)
        self.label = np.full(shape, -1, np.int8)

    def finish(self, seam_pixels: float):
        """(colour (h, w, 3), alpha, confidence / alpha, labels) over the layer's box.

        seam = exp(-(spread / seam_pixels)^2), spread = the weighted spread of the reference
        locations the parts fetch the pixel from. Colour: the coverage-weighted mean of the
        parts' colours where they agree (seam 1) or only share the pixel (coverages adding up to
        at most 1: antialiased borders), which is exact; the skinning-weighted mean where they
        overlap and disagree (a joint that bent).
        """
        covered = np.maximum(self.covered, 1e-30)
        weight = np.maximum(self.weight, 1e-30)
        mean_u = self.su / weight[..., None]
        spread2 = self.suu / weight
        spread2 -= mean_u[..., 0] ** 2
        spread2 -= mean_u[..., 1] ** 2
        np.maximum(spread2, 0.0, out=spread2)
        spread2 *= np.float32(-1.0 / seam_pixels ** 2)
        seam = np.exp(spread2)
        mix = np.clip(self.covered - 1.0, 0.0, 1.0)
        mix *= 1.0 - seam
        colour = self.plain / covered[..., None]
        colour += mix[..., None] * (self.skinned / weight[..., None] - colour)
        # the parts' own pixels partition the person (they add up); the overhang only fills gaps
        alpha = np.maximum(np.minimum(self.primary, 1.0), self.overhang)
        trust = seam
        trust *= np.minimum(self.trust / weight, 1.0)
        empty = self.weight <= 0
        alpha[empty] = 0.0
        trust[empty] = 0.0
        return colour, alpha, trust, self.label


def warp_to_pose(reference: WarpReference, target_pose: np.ndarray, *,
                 out_shape: tuple[int, int] | None = None) -> WarpResult:
    """The prepared reference warped to target_pose (13, 3), in a frame of out_shape = (H, W)
    (default: the reference's size); the target pose is in that frame's pixels."""
    config = reference.config
    if out_shape is None:
        out_shape = reference.image.shape[:2]
    height, width = int(out_shape[0]), int(out_shape[1])
    if height < 1 or width < 1:
        raise IlatError(f"warp: out_shape must be (H, W) with H, W >= 1, got {out_shape}")
    transforms, skipped = part_transforms(reference, target_pose)
    if skipped:
        logger.info("warp: not drawn: %s", "; ".join(f"{k} ({v})" for k, v in skipped.items()))

    # Each part's box in the target, and each layer's box (their union).
    boxes = {}
    for tr in transforms:
        crop = reference.crops[tr.part]
        ch, cw = crop.primary.shape
        corners = np.array([[crop.x0, crop.y0], [crop.x0 + cw, crop.y0], [crop.x0, crop.y0 + ch],
                            [crop.x0 + cw, crop.y0 + ch]], np.float64) - 0.5
        mapped = corners @ tr.matrix[:, :2].T + tr.matrix[:, 2]
        bx0, by0 = np.floor(mapped.min(0)).astype(int) - 1
        bx1, by1 = np.ceil(mapped.max(0)).astype(int) + 2
        bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, width), min(by1, height)
        if bx1 > bx0 and by1 > by0:
            boxes[tr.part] = (int(bx0), int(by0), int(bx1), int(by1))
    image = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.float32)
    confidence = np.zeros((height, width), np.float32)
    part_labels = np.full((height, width), -1, np.int8)
    layers: dict[int, _Layer] = {}
    for layer_id in (BODY_LAYER, ARMS_LAYER):
        inside = [boxes[tr.part] for tr in transforms if tr.part in boxes and PART_LAYER[tr.part] == layer_id]
        if inside:
            layers[layer_id] = _Layer(_union(inside))
    if not layers:
        return WarpResult(image, alpha, confidence, part_labels, skipped)
    for tr in transforms:
        if tr.part in boxes:
            _draw_part(reference, tr, boxes[tr.part], layers[PART_LAYER[tr.part]], config)

    # The arms over the body, over the union of the layers' boxes.
    seam_pixels = config.seam_scale * reference.height
    ux0, uy0, ux1, uy1 = _union([layer.box for layer in layers.values()])
    shape = (uy1 - uy0, ux1 - ux0)
    colour = np.zeros(shape + (3,), np.float32)
    a = np.zeros(shape, np.float32)
    trust = np.zeros(shape, np.float32)
    labels = np.full(shape, -1, np.int8)
    for layer_id in (BODY_LAYER, ARMS_LAYER):
        if layer_id not in layers:
            continue
        layer = layers[layer_id]
        colour_l, a_l, trust_l, labels_l = layer.finish(seam_pixels)
        x0, y0, x1, y1 = layer.box
        sl = (slice(y0 - uy0, y1 - uy0), slice(x0 - ux0, x1 - ux0))
        colour[sl], a[sl], trust[sl] = _over(colour_l, a_l, trust_l, colour[sl], a[sl], trust[sl])
        labels[sl] = np.where(a_l >= 0.5, labels_l, labels[sl])
    _joint_seams(reference, transforms, trust, (ux0, uy0), seam_pixels)
    covered = a > 0
    box = (slice(uy0, uy1), slice(ux0, ux1))
    image[box] = np.clip(np.round(colour), 0, 255).astype(np.uint8) * covered[..., None]
    alpha[box] = a
    confidence[box] = np.clip(trust * a, 0.0, a)
    part_labels[box] = np.where(covered, labels, -1)
    return WarpResult(image, alpha, confidence, part_labels, skipped)


def _over(front_colour, front_alpha, front_trust, back_colour, back_alpha, back_trust):
    """(colour, alpha, trust) of a front layer over a back one. Where their coverages add up to
    at most 1 they only share the pixel (the antialiased border between an arm and the body that
    moved alike): coverage-weighted means and the summed alpha, which are exact. Where they
    overlap (coverages summing to 2) the front one covers the back one ("over")."""
    total = front_alpha + back_alpha
    overlap = np.clip(total - 1.0, 0.0, 1.0)
    behind = (1.0 - front_alpha) * back_alpha
    over_alpha = front_alpha + behind
    share = front_alpha / np.maximum(total, 1e-30)  # the front's share of the colour, shared
    share += overlap * (front_alpha / np.maximum(over_alpha, 1e-30) - share)  # ... or over
    colour = back_colour + share[..., None] * (front_colour - back_colour)
    trust = back_trust + share * (front_trust - back_trust)
    return colour, np.minimum(total, 1.0), trust


def _joint_seams(reference: WarpReference, transforms: list[PartTransform], trust: np.ndarray,
                 origin, seam_pixels: float) -> None:
    """Lower `trust` (in place; origin = its top-left pixel in the output) around each joint whose
    two parts moved differently: by how far apart the two parts fetch the joint's rim (the circle
    of its overhang radius, reference pixels), 1 - exp(-(gap / seam_pixels)^2), fading with the
    distance to the joint in the target as a Gaussian of sigma 0.75 x the disc's radius there."""
    moved = {tr.part: tr for tr in transforms}
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ox, oy = origin
    h, w = trust.shape
    for a, b, centre, radius in reference.links:
        if a not in moved or b not in moved:
            continue
        ma, mb = moved[a].matrix, moved[b].matrix
        rim = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
        rim = np.vstack([centre, rim])
        target = rim @ ma[:, :2].T + ma[:, 2]  # where part a puts the rim
        inverse_b = np.linalg.inv(np.vstack([mb, [0.0, 0.0, 1.0]]))[:2]
        fetched = target @ inverse_b[:, :2].T + inverse_b[:, 2]  # where part b fetches those from
        gap = float(np.linalg.norm(fetched - rim, axis=1).max())
        dip = 1.0 - np.exp(-(gap / seam_pixels) ** 2)
        if dip < 1e-3:
            continue
        cx, cy = (target[0] + (centre @ mb[:, :2].T + mb[:, 2])) / 2
        sigma = 0.75 * radius * np.sqrt(abs(np.linalg.det(ma[:, :2])))
        reach = 3.0 * sigma
        x0, x1 = max(int(cx - reach) - ox, 0), min(int(cx + reach) + 2 - ox, w)
        y0, y1 = max(int(cy - reach) - oy, 0), min(int(cy + reach) + 2 - oy, h)
        if x1 <= x0 or y1 <= y0:
            continue
        xs = np.arange(x0 + ox, x1 + ox, dtype=np.float32)[None, :] - np.float32(cx)
        ys = np.arange(y0 + oy, y1 + oy, dtype=np.float32)[:, None] - np.float32(cy)
        r2 = xs * xs + ys * ys
        bump = np.exp(r2 * np.float32(-0.5 / sigma ** 2))
        bump[r2 > reach * reach] = 0.0  # a disc: nothing changes beyond 3 sigma
        trust[y0:y1, x0:x1] *= 1.0 - np.float32(dip) * bump


def _union(boxes) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def _target_shape(reference: WarpReference, tr: PartTransform):
    """The part's bone(s) and torso polygon moved into the target."""
    linear, offset = tr.matrix[:, :2], tr.matrix[:, 2]
    segments = reference.segments[tr.part] @ linear.T + offset
    polygon = None
    if tr.part == TORSO and reference.polygon is not None:
        polygon = reference.polygon @ linear.T + offset
    return segments, polygon


def _skin(reference: WarpReference, tr: PartTransform, box, config: WarpConfig) -> np.ndarray:
    """Skinning weight of a part over its box: exp(-distance to its target bone / (radius x
    blend)), floored so it never underflows. Distances are smooth: computed on every SKIN_STRIDE-th
    pixel and interpolated (exactly for the straight parts of the field)."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    step = SKIN_STRIDE if min(bw, bh) > 4 * SKIN_STRIDE else 1
    xs = np.arange(bx0, bx1 + step - 1, step, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1 + step - 1, step, dtype=np.float32)[:, None]
    segments, polygon = _target_shape(reference, tr)
    radius = reference.radii[tr.part] * float(np.sqrt(abs(np.linalg.det(tr.matrix[:, :2]))))
    logit = _shape_distance(xs, ys, segments, polygon)
    logit *= np.float32(-1.0 / (max(radius, 1e-3) * config.blend))
    np.maximum(logit, _LOG_FLOOR, out=logit)
    if step > 1:  # grid point k sits at pixel k * step: scale by step, crop to the box
        matrix = np.array([[1.0 / step, 0, 0], [0, 1.0 / step, 0]])
        logit = cv2.warpAffine(logit, matrix, (bw, bh), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    return np.exp(logit)


def _draw_part(reference: WarpReference, tr: PartTransform, box, layer: _Layer,
               config: WarpConfig) -> None:
    crop = reference.crops[tr.part]
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    # target pixel (u, v) of the box -> reference crop pixel: inverse(matrix) (u + bx0, v + by0) - crop origin
    full = np.vstack([tr.matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)
    to_crop = np.array([[1.0, 0.0, -crop.x0], [0.0, 1.0, -crop.y0], [0.0, 0.0, 1.0]])
    from_box = np.array([[1.0, 0.0, bx0], [0.0, 1.0, by0], [0.0, 0.0, 1.0]])
    local = (to_crop @ inverse @ from_box)[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    prem = cv2.warpAffine(crop.prem, local, (bw, bh), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)
    primary = cv2.warpAffine(crop.primary, local, (bw, bh), flags=flags,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    covered = prem[..., 3]
    if not (covered > 0).any():
        return
    skin = _skin(reference, tr, box, config)
    weight = skin * covered
    # where each target pixel is fetched from, as an offset from itself (reference pixels)
    xs = np.arange(bx0, bx1, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1, dtype=np.float32)[:, None]
    m = inverse[:2]
    ux = np.float32(m[0, 0] - 1.0) * xs + (np.float32(m[0, 1]) * ys + np.float32(m[0, 2]))
    uy = np.float32(m[1, 0]) * xs + (np.float32(m[1, 1] - 1.0) * ys + np.float32(m[1, 2]))
    lx0, ly0 = layer.box[:2]
    sl = (slice(by0 - ly0, by1 - ly0), slice(bx0 - lx0, bx1 - lx0))
    layer.plain[sl] += prem[..., :3]
    layer.covered[sl] += covered
    layer.skinned[sl] += prem[..., :3] * skin[..., None]
    layer.weight[sl] += weight
    layer.primary[sl] += primary
    np.maximum(layer.overhang[sl], covered - primary, out=layer.overhang[sl])
    wux, wuy = weight * ux, weight * uy
    layer.su[sl + (0,)] += wux
    layer.su[sl + (1,)] += wuy
    wux *= ux
    wuy *= uy
    wux += wuy
    layer.suu[sl] += wux
    layer.trust[sl] += weight * np.float32(tr.trust)
    better = weight > layer.best[sl]
    np.copyto(layer.best[sl], weight, where=better)
    np.copyto(layer.label[sl], np.int8(tr.part), where=better)


def warp_person(reference: np.ndarray, reference_mask: np.ndarray, reference_pose: np.ndarray,
                target_pose: np.ndarray, *, out_shape: tuple[int, int] | None = None,
                reference_extras: np.ndarray | None = None,
                config: WarpConfig = WarpConfig()) -> WarpResult:
    """The reference person warped to target_pose in one call (prepare_reference + warp_to_pose).

    For many target poses of one reference, prepare it once and call warp_to_pose per pose.
    """
    prepared = prepare_reference(reference, reference_mask, reference_pose, reference_extras,
                                 config=config)
    return warp_to_pose(prepared, target_pose, out_shape=out_shape)
