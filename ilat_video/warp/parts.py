"""The body's parts as the warp sees them, the warp's options, and reading a pose.

The parts (PART_NAMES) and their table: the joints each part needs, the bone that moves a limb,
default radii, the joints that link two parts, the hands and feet (EXTREMITIES: the limb that
carries each, the hand and foot points that place it). How they are used: the package docstring
(ilat_video/warp/__init__.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import IlatError
from ..pose.skeleton import (
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
from .geometry import shape_distance

PART_NAMES: tuple[str, ...] = ("torso", "head", "right_upper_arm", "right_forearm", "left_upper_arm",
                               "left_forearm", "right_thigh", "right_shank", "left_thigh", "left_shank",
                               "right_hand", "left_hand", "right_foot", "left_foot")
(TORSO, HEAD_PART, R_UPPER, R_FORE, L_UPPER, L_FORE, R_THIGH, R_SHANK, L_THIGH, L_SHANK,
 R_HAND, L_HAND, R_FOOT, L_FOOT) = range(14)
BODY_LAYER, ARMS_LAYER = 0, 1
# A nose more than HEAD_TURNED[0] of the neck -> nose length to the side of the neck (across the spine,
# `nose_sideways`) is a face seen turning; past HEAD_TURNED[1], turned (seen in profile, it ends at its
# nose): a photo's tilt is then measured as if it looked ahead (`transforms._photo_look`), and the head
# claims no pixel past its nose from an arm behind it (`reference._face_reach`).
HEAD_TURNED = (0.3, 0.6)
ROOT_LIMBS = (R_UPPER, L_UPPER, R_THIGH, L_THIGH)  # limbs hanging from the torso
PART_LAYER = (BODY_LAYER, BODY_LAYER, ARMS_LAYER, ARMS_LAYER, ARMS_LAYER, ARMS_LAYER,
              BODY_LAYER, BODY_LAYER, BODY_LAYER, BODY_LAYER, ARMS_LAYER, ARMS_LAYER, BODY_LAYER, BODY_LAYER)
ARM_PARTS = tuple(p for p, layer in enumerate(PART_LAYER) if layer == ARMS_LAYER)  # drawn over the body
# Joints each part needs (confident in both poses) to be drawn. A hand or foot also needs its limb
# and its hand or foot points (EXTREMITIES); without them its limb carries it.
PART_JOINTS: tuple[tuple[int, ...], ...] = (
    (R_SHOULDER, L_SHOULDER, R_HIP, L_HIP),
    (HEAD, R_SHOULDER, L_SHOULDER),
    (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST),
    (R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE),
    (R_WRIST,), (L_WRIST,), (R_ANKLE,), (L_ANKLE,),
)
# The parts every reference has (when their joints are seen); the hands and feet after them are
# cut out of their limbs only when the reference shows their points (EXTREMITIES).
BASE_PARTS = tuple(range(10))
# Limbs: (start joint, end joint) of the bone that defines the transform.
LIMB_BONES = {R_UPPER: (R_SHOULDER, R_ELBOW), R_FORE: (R_ELBOW, R_WRIST),
              L_UPPER: (L_SHOULDER, L_ELBOW), L_FORE: (L_ELBOW, L_WRIST),
              R_THIGH: (R_HIP, R_KNEE), R_SHANK: (R_KNEE, R_ANKLE),
              L_THIGH: (L_HIP, L_KNEE), L_SHANK: (L_KNEE, L_ANKLE)}
# Limbs joined end to end at an elbow or knee: (upper, lower).
LIMB_CHAINS = ((R_UPPER, R_FORE), (L_UPPER, L_FORE), (R_THIGH, R_SHANK), (L_THIGH, L_SHANK))
# Default radius of each part's capsule, x torso height (shoulder midpoint to hip midpoint); limbs
# are refined from the person mask (the distance to its edge along the bone). The head's radius is
# x the neck->nose distance, the torso's is how far it reaches beyond its 4 corners.
# A hand or foot takes its limb's radius (DEFAULT_RADIUS lists it for the table's sake).
DEFAULT_RADIUS = (0.14, 0.45, 0.12, 0.10, 0.12, 0.10, 0.17, 0.12, 0.17, 0.12, 0.10, 0.10, 0.12, 0.12)
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
    (R_FORE, R_HAND, True, True, 1.0), (L_FORE, L_HAND, True, True, 1.0),
    (R_SHANK, R_FOOT, True, True, 1.0), (L_SHANK, L_FOOT, True, True, 1.0),
)
# Hands and feet: part -> (the limb that carries it, its joint (wrist, ankle), its two hand or foot
# points in the extras, pose.mapping.EXTRA_NAMES: r/l index, r/l pinky, r/l thumb, r/l heel, r/l
# toe). A hand's points are the index and pinky knuckles, its bone wrist -> their midpoint; a foot's
# are the heel and the toe, its bone ankle -> toe.
EXTREMITIES = {R_HAND: (R_FORE, R_WRIST, (0, 2)), L_HAND: (L_FORE, L_WRIST, (1, 3)),
               R_FOOT: (R_SHANK, R_ANKLE, (6, 8)), L_FOOT: (L_SHANK, L_ANKLE, (7, 9))}
HANDS = (R_HAND, L_HAND)
EXTREMITY_OF = {limb: part for part, (limb, _joint, _points) in EXTREMITIES.items()}  # limb -> its hand/foot


@dataclass(frozen=True)
class WarpConfig:
    """How the warp decides what to draw and how far to trust it (the package docstring).

    min_confidence: joints with confidence <= this count as missing.
    blend: skinning softness, in part radii: the seam between two parts is about this wide.
    collapse_ratio: a target torso with area under this fraction of the reference's (at body
        scale) is collapsed and not drawn.
    seam_scale: source spread (x torso height) at which the seam confidence falls to 1/e.
    rotation_scale: degrees; anisotropy_scale, magnification_scale: natural logs (trust terms).
    extras_confidence: hand and foot points with confidence <= this count as missing when a hand or
        foot is to move on its own (both poses need them; otherwise its limb carries it).
    extras_keep_confidence: in a video (`steady_follow`), a hand or foot that follows its points
        keeps following while they stay above this.
    arms_by_colour: give the arms' capsule pixels that look like the body around them back to the
        body (`colour.release_by_colour`); False: the capsules as they are.
    rims_by_colour: what the colour release leaves along an arm's inner side is judged again by
        nearest colours (`colour.rims_by_colour`): pixels like the background just outside the
        silhouette (the wall between an arm and the waist, which MediaPipe calls person) are not
        drawn, pixels like the body beside the arm (the shadowed edge of the shorts) go to it.
    hidden_body: the body parts also draw, under the arms, the body the arms hide where they
        interrupt its outline, filled from the body's visible pixels around it
        (`reference._hidden_body`); False: a hole opens there when the arm moves away.
    mirror_foreshortened: a limb the photo shows pointing at the camera (much shorter than its
        other side) is drawn from the other side's pixels, mirrored, where a target straightens it
        (`reference._stand_ins`, `transforms.STAND_IN_STRETCH`); False: its few pixels are
        stretched along the target's bone.
    copy_hidden_legs: a leg the photo shows mostly hidden behind the other (a person turned a
        little to one side) is drawn from the other leg's pixels as they are, where a target moves
        it clear of the other (`reference._occluded`, `transforms.OCCLUDED_CLEAR`); False: the strip
        the photo shows of it is drawn, a thin stick with a spike for a foot.
    turned_around: a target whose torso is mirrored against the photo's (the driving person turned
        their back) is drawn as the photo's front with the pose's left and right swapped, so that
        each arm and leg is drawn from the photo's one on that side of the body, joined to the
        torso as in the photo, and the head from its back (`back.back_of_head`); False: the torso
        along its spine at FALLBACK_TRUST, each limb from its own side, no head.
    blend_hips: near each hip the torso and the thigh fetch their pixels through one blend of their
        two maps (`blend.py`), so that the shorts bend at the hip instead of tearing into a flap and
        a notch; False: both rigid up to the joint.
    antialias_arms: the arms and the body share the pixels along the photo's boundary between them,
        each's share ramping across that boundary smoothed (`reference._arm_share`, `_body_share`),
        so that an arm moved away from the body has a straight edge there, not the staircase of the
        photo's pixels; False: each pixel is wholly one side's.
    clean_outline: the person's soft edge is drawn in the colours of its solid pixels beside it, not
        the photo's, which mix the person with what stood behind (`reference._decontaminated`).
    medial_elbows: the parts turn about elbows on the arms' middle lines, where MediaPipe often puts
        them at an arm's edge: the reference's elbows are moved there, measured on the arms' own
        pixels, and every target's alike (`elbows.py`); False: the elbows as given, and an arm bent
        in the target stands out of its elbow as two lobes.
    shoulder_caps: a shoulder's cap beyond its joint, on the arm's side away from the hip, is the
        arm's, not the torso's (`reference._shoulder_cap`); False: the nearest bone in radii owns
        it, and an arm raised in the photo leaves the cap's top sticking out when it comes down.
    hidden_arms: an arm with a joint the pose calls hidden (confidence under
        `reference.ARM_JOINT_HIDDEN`: MediaPipe's visibility), the other arm's seen, is behind the
        head or the body there, not in front: its bones there own no pixel within the head's or
        torso's reach, and one the
        photo shows mostly hidden is drawn from its other side, mirrored, where a target moves it
        clear of what hid it (`reference._hidden_arms`); False: every arm owns its whole capsule,
        and a tennis player's far forearm, behind his face, took his face with it when it moved.
    """

    min_confidence: float = 0.0
    blend: float = 0.25
    collapse_ratio: float = 0.3
    seam_scale: float = 0.03
    rotation_scale: float = 120.0
    anisotropy_scale: float = 0.4
    magnification_scale: float = 1.1
    extras_confidence: float = 0.5
    extras_keep_confidence: float = 0.25
    arms_by_colour: bool = True
    rims_by_colour: bool = True
    hidden_body: bool = True
    mirror_foreshortened: bool = True
    copy_hidden_legs: bool = True
    turned_around: bool = True
    blend_hips: bool = True
    antialias_arms: bool = True
    clean_outline: bool = True
    medial_elbows: bool = True
    shoulder_caps: bool = True
    hidden_arms: bool = True

    def __post_init__(self):
        for name in ("blend", "collapse_ratio", "seam_scale", "rotation_scale", "anisotropy_scale",
                     "magnification_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"WarpConfig.{name} must be > 0, got {getattr(self, name)}")


# --- reading a pose ---------------------------------------------------------------------------

def check_pose(pose, which: str) -> np.ndarray:
    """The pose as float32 (13, 3); IlatError naming `which` pose when it has another shape."""
    pose = np.asarray(pose, np.float32)
    if pose.shape != (NUM_JOINTS, 3):
        raise IlatError(f"warp: the {which} pose must be ({NUM_JOINTS}, 3) = x, y, confidence, "
                        f"got {pose.shape}")
    return pose


def joint_ok(pose: np.ndarray, min_confidence: float) -> np.ndarray:
    """(13,) bool: the joint has a finite position and confidence > min_confidence."""
    return np.isfinite(pose[:, :2]).all(1) & (pose[:, 2] > min_confidence)


def missing_reason(part: int, ok: np.ndarray, which: str) -> str | None:
    """Why `part` cannot be drawn from `which` pose (its joints not ok), or None."""
    gone = [JOINT_NAMES[j] for j in PART_JOINTS[part] if not ok[j]]
    if gone:
        return (f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} missing in the {which} pose "
                f"(no confidence or no position)")
    return None


def extremity_bone(part: int, pose: np.ndarray, extras: np.ndarray | None, min_confidence: float
                   ) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A hand's or foot's (joint (2,), tip (2,), width) in one pose: the wrist and the knuckles'
    midpoint (width: index to pinky), or the ankle and the toe (width: heel to toe); float64. None
    when the joint or either point is missing (confidence <= min_confidence or no position)."""
    _limb, joint, indices = EXTREMITIES[part]
    points = extra_points(extras, indices, min_confidence)
    if points is None or not (np.isfinite(pose[joint, :2]).all() and pose[joint, 2] > min_confidence):
        return None
    start = pose[joint, :2].astype(np.float64)
    tip = points.mean(0) if part in HANDS else points[1]
    return start, tip, float(np.hypot(*(points[1] - points[0])))


def extra_points(extras: np.ndarray | None, indices, min_confidence: float) -> np.ndarray | None:
    """float64 (k, 2): the extras' points `indices`, or None when any is missing (confidence <=
    min_confidence or no position) or there are no extras."""
    if extras is None:
        return None
    points = np.asarray(extras, np.float64)[list(indices)]
    if not (points[:, 2] > min_confidence).all() or not np.isfinite(points).all():
        return None
    return points[:, :2]


def check_extras(extras, which: str) -> np.ndarray | None:
    """The extras as float32 (10, 3), or None; IlatError naming `which` pose for another shape."""
    if extras is None:
        return None
    extras = np.asarray(extras, np.float32)
    if extras.shape != (10, 3):
        raise IlatError(f"warp: {which} extras must be (10, 3) (pose.mapping.EXTRA_NAMES), got {extras.shape}")
    return extras


def neck_point(pose: np.ndarray) -> np.ndarray:
    """The shoulder midpoint: where the head sits and the spine starts."""
    return (pose[R_SHOULDER, :2].astype(np.float64) + pose[L_SHOULDER, :2]) / 2


def spine(pose: np.ndarray) -> np.ndarray:
    """The spine, pointing up: the hips' middle -> the neck (`neck_point`), float64 (2,)."""
    return neck_point(pose) - pose[[R_HIP, L_HIP], :2].astype(np.float64).mean(0)


def nose_sideways(pose: np.ndarray) -> float:
    """How far to the side of the neck the nose sits, signed: the neck -> nose vector's component
    across the spine (neck to the hips' middle), over its length; 0 where the hips or the nose are
    not seen. About 0 for a face seen from the front, toward 1 for one seen in profile (HEAD_TURNED)."""
    if not (pose[[HEAD, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP], 2] > 0).all():
        return 0.0
    nose = pose[HEAD, :2].astype(np.float64) - neck_point(pose)
    up = spine(pose)
    length, height = float(np.hypot(*nose)), float(np.hypot(*up))
    if length < 1e-6 or height < 1e-6:
        return 0.0
    return float(up[0] * nose[1] - up[1] * nose[0]) / (height * length)


def face_turned(pose: np.ndarray) -> float:
    """How far a face is seen turned, from `nose_sideways`: 0 under HEAD_TURNED[0] (about frontal),
    1 past HEAD_TURNED[1] (in profile), linear between."""
    low, high = HEAD_TURNED
    return float(np.clip((abs(nose_sideways(pose)) - low) / (high - low), 0.0, 1.0))


def head_bone(pose: np.ndarray) -> np.ndarray:
    """The head's bone (1, 2, 2): from halfway up the neck -> nose line to 0.3 of it past the nose."""
    neck = neck_point(pose)
    v = pose[HEAD, :2].astype(np.float64) - neck
    return np.array([[neck + 0.5 * v, pose[HEAD, :2] + 0.3 * v]])


def torso_polygon(pose: np.ndarray) -> np.ndarray:
    """The torso's corners (4, 2): right shoulder, left shoulder, left hip, right hip."""
    return pose[[R_SHOULDER, L_SHOULDER, L_HIP, R_HIP], :2].astype(np.float64)


def distance_to_part(pose: np.ndarray, part: int, point: np.ndarray) -> float:
    """Pixels from point (x, y) to the head's bone (part HEAD_PART) or into the torso's polygon
    (TORSO: 0 inside it) of a pose."""
    x = np.array([[float(point[0])]])
    y = np.array([[float(point[1])]])
    if part == HEAD_PART:
        return float(shape_distance(x, y, head_bone(pose), None)[0, 0])
    if part == TORSO:
        return float(shape_distance(x, y, None, torso_polygon(pose))[0, 0])
    raise ValueError(f"distance_to_part: the head ({HEAD_PART}) or the torso ({TORSO}), got {part}")


def link_joints(a: int, b: int) -> tuple[int, ...]:
    """The joints that place the link between parts a and b, as LINKS lists them (a the one nearer the
    torso): the shoulders and the head for the neck, the joint a limb hangs from the torso by, or
    the joint two limbs share (an elbow, a wrist)."""
    if b == HEAD_PART:
        return (R_SHOULDER, L_SHOULDER, HEAD)
    if a == TORSO:
        return PART_JOINTS[b][:1]
    return (min(set(PART_JOINTS[a]) & set(PART_JOINTS[b])),)


def link_point(a: int, b: int, pose: np.ndarray) -> np.ndarray:
    """Where the link between parts a and b (as LINKS lists them) lies in `pose`: its joint, or for the
    neck 0.4 of the way from the shoulder midpoint to the head. float64 (2,)."""
    xy = pose[:, :2].astype(np.float64)
    if b == HEAD_PART:
        neck = neck_point(pose)
        return neck + 0.4 * (xy[HEAD] - neck)
    return xy[link_joints(a, b)[0]]


def torso_frame(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(across, spine, shoulder line) of a pose: across = mean of the right->left shoulder and hip
    vectors, spine = shoulder midpoint -> hip midpoint."""
    xy = pose[:, :2].astype(np.float64)
    shoulders = xy[L_SHOULDER] - xy[R_SHOULDER]
    hips = xy[L_HIP] - xy[R_HIP]
    spine = (xy[R_HIP] + xy[L_HIP]) / 2 - (xy[R_SHOULDER] + xy[L_SHOULDER]) / 2
    return (shoulders + hips) / 2, spine, shoulders
