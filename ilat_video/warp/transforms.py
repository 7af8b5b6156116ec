"""Per target pose: each part's 2x3 affine (reference pixels -> target pixels) and how far to trust it.

Limbs follow their bone (limb_matrix, across-scale g = body_scale), the torso its 4 corners
(fit_affine) unless torso_state finds it mirrored, twisted or collapsed, the head rides on the
neck (_head_matrix), a hand or foot follows its own bone when both poses show its points
(_extremity_matrix) and rides on its limb otherwise. A target turned around (its torso mirrored:
`turned_around`, in a video `steady_turns`) has its left and right swapped first, and its head
is drawn from its back. The method: the package docstring (ilat_video/warp/__init__.py).
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..pose.mapping import EXTRA_FLIP_PERMUTATION
from ..pose.skeleton import (
    FLIP_PERMUTATION,
    HEAD,
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)
from .elbows import moved_elbows
from .geometry import fit_affine, limb_matrix, similarity_matrix
from .parts import (
    BASE_PARTS,
    EXTREMITIES,
    HANDS,
    HEAD_PART,
    LIMB_BONES,
    LIMB_CHAINS,
    PART_JOINTS,
    PART_NAMES,
    TORSO,
    WarpConfig,
    check_extras,
    check_pose,
    distance_to_part,
    extremity_bone,
    face_turned,
    joint_ok,
    missing_reason,
    neck_point,
    spine,
    torso_frame,
)
from .reference import Extremity, StandIn, WarpReference

logger = logging.getLogger(__name__)

HEAD_TILT_LIMIT = np.radians(25.0)  # the head's turn beyond the shoulders' (see _head_matrix)
# A shoulder line shorter than this x the spine (shoulders' middle to hips' middle), in either pose, is
# seen side-on; where its turn then differs from the spine's by more than HEAD_SHOULDERS_DISAGREE, it
# says nothing of how the upper body turned (it points up the back in one pose and across the chest
# in the other), and the head turns with the spine instead.
HEAD_SHOULDERS_SIDE_ON = 0.5
HEAD_SHOULDERS_DISAGREE = np.radians(45.0)
_REFERENCE_EDGE_ON = 0.2  # a reference torso with area < this x height^2 is seen edge-on
MIN_SCALE = 0.01  # the smallest body scale g (keeps every part's transform invertible)
# A hand or foot moves on its own only when its target bone and width are at least EXTREMITY_FOLD of
# the reference's (at body scale: not folded onto itself, e.g. heel on toe) and it turns at most
# EXTREMITY_TURN_LIMIT against its limb (more is a wrist or ankle no body bends, a misplaced point);
# its bone is stretched at most EXTREMITY_STRETCH (at body scale).
EXTREMITY_FOLD = 0.3
EXTREMITY_TURN_LIMIT = np.radians(100.0)
EXTREMITY_STRETCH = 1.5
# A foot follows its points only while it turns at most FOOT_TURN_LIMIT from the photo's foot in
# the picture: a foot that points elsewhere (seen from the front in the photo, sideways in the
# driving video) has turned toward or away from the camera, which turning the photo's shoe in the
# picture cannot show: a shoe seen from the front turned 90 degrees is a black spike. It rides on
# its shank instead, as the photo shows it, turned only as the shank turns.
FOOT_TURN_LIMIT = np.radians(75.0)
# In a video (steady_follow) a hand or foot that follows its points keeps following while folded down
# to EXTREMITY_KEEP_FOLD (a fist seen end-on for a moment), and follows only in runs of at least
# MIN_FOLLOW_RUN frames.
EXTREMITY_KEEP_FOLD = 0.15
MIN_FOLLOW_RUN = 5
MIN_TURN_RUN = 5  # in a video (steady_turns), the back is turned only in runs of at least this many frames
# A limb the photo shows pointing at the camera is drawn from its mirrored other side
# (WarpReference.stand_ins) in the frames whose bone is over this many times its length in the photo
# (at body scale); in the others, pointing at the camera too or about to, from its own pixels.
STAND_IN_STRETCH = 2.0
# A leg the photo shows mostly hidden behind its other side is drawn from its stand-in (the other) in the
# frames whose knee (thigh) or ankle (shank) is farther from the other's than in the photo (at body
# scale) by over this many times the leg's radius: clear of the other, where the strip the photo
# shows of it was a thin stick; in the others, behind the other leg still, from its own pixels.
OCCLUDED_CLEAR = 1.0


@dataclass(frozen=True)
class PartTransform:
    """One part's move: matrix 2x3 affine (reference pixels -> target pixels) and its trust; cut:
    a forearm or shank drawn without its hand or foot, which moves on its own; stand_in: a limb the
    photo shows pointing at the camera or hidden behind its other side, drawn from its other side
    (mirrored for the first; the matrix maps the stand-in's bone)."""

    part: int
    matrix: np.ndarray
    trust: float
    cut: bool = False
    stand_in: bool = False  # drawn from its stand-in (WarpReference.stand_ins): a limb's other side, the head's back


# A target torso seen side-on, turned round or twisted is drawn along its spine (_torso_matrix) at
# this share of its trust: better than a hole, and marked for repair.
SPINE_FALLBACKS = ("side-on", "mirrored", "twisted")
FALLBACK_TRUST = 0.3
SIDE_ON_WIDTH = 0.45  # a torso seen side-on shows about half its front's width
COLLAPSED_SPINE = 0.25  # a spine shorter than this share of the reference's (at body scale): nothing to draw along


def part_transforms(reference: WarpReference, target_pose: np.ndarray, target_extras: np.ndarray | None = None,
                    *, follow: Collection[int] | None = None, turned: bool | None = None
                    ) -> tuple[list[PartTransform], dict[str, str]]:
    """The drawable parts' transforms, and {part name: why it is not drawn} for the others.

    target_extras: the target's (10, 3) hand and foot points, or None: a hand or foot the reference
    shows on its own (`reference.extremities`) follows them when they are confident and it is not
    folded or turned beyond the limits (EXTREMITY_*); otherwise, as without them, its limb carries it.
    follow: the hands and feet a video's track lets follow their points in this frame (`steady_follow`):
    the others ride on their limbs, and these need only WarpConfig.extras_keep_confidence and a
    fold above EXTREMITY_KEEP_FOLD.
    turned: whether the person turned their back here (WarpConfig.turned_around: drawn with left and
    right swapped, the head from its back); a video's track says (`steady_turns`), None: decided by
    this frame alone (its torso mirrored against the photo's).
    """
    config = reference.config
    target_pose = check_pose(target_pose, "target")
    target_extras = check_extras(target_extras, "target")
    ref_pose = reference.pose
    if turned is None:
        turned = turned_around(reference, target_pose)
    turned = turned and config.turned_around
    if turned:  # drawn as the photo's front: each side from the photo's side that stands there
        target_pose = target_pose[list(FLIP_PERMUTATION)]
        target_extras = None if target_extras is None else target_extras[list(EXTRA_FLIP_PERMUTATION)]
    if reference.elbows:  # moved as the reference's were, at the scale of the bones that moving leaves
        elbow_scale = body_scale(ref_pose, target_pose, bones=LEG_BONES)  # alone: its own pose lands on them
        target_pose = moved_elbows(target_pose, reference.elbows, elbow_scale)
    ok_t = joint_ok(target_pose, config.min_confidence)
    scale = body_scale(ref_pose, target_pose, config.min_confidence, out_of_view=reference.out_of_view)
    skipped: dict[str, str] = dict(reference.missing)
    transforms: list[PartTransform] = []
    torso = None
    if reference.crops[TORSO] is not None:
        reason = missing_reason(TORSO, ok_t, "target")
        if reason is None:
            torso = torso_state(ref_pose, target_pose, scale, config.collapse_ratio)
            if torso == "collapsed":
                reason = f"the target torso is {torso}"
        if reason is not None:
            skipped["torso"] = reason
    for part in BASE_PARTS:
        if reference.crops[part] is None or PART_NAMES[part] in skipped:
            continue
        reason = missing_reason(part, ok_t, "target")
        if reason is None and part == HEAD_PART and turned and part in reference.stand_ins:  # we see its back
            matrix = _head_matrix(ref_pose, target_pose, scale, reference.height)
            transforms.append(PartTransform(part, matrix, FALLBACK_TRUST * transform_trust(matrix, config),
                                            stand_in=True))
            continue
        if reason is None and part == HEAD_PART and torso == "mirrored":
            if config.turned_around:  # a moment of a stretch facing the camera (steady_turns): the face
                matrix = _head_matrix(ref_pose, target_pose, scale, reference.height, by_spine=True)
                transforms.append(PartTransform(part, matrix, FALLBACK_TRUST * transform_trust(matrix, config)))
                continue
            reason = "the target torso is mirrored (the person turned around)"
        if reason is not None:
            skipped[PART_NAMES[part]] = reason
            continue
        if part in reference.framed_out:  # the photo shows a strip of it: it moves with what it hangs from
            parent = next((upper for upper, lower in LIMB_CHAINS if lower == part), TORSO)
            carried = next((tr for tr in transforms if tr.part == parent and not tr.stand_in), None)
            if carried is None:
                skipped[PART_NAMES[part]] = f"the photo's edge cuts it and its {PART_NAMES[parent]} is not drawn"
            else:
                transforms.append(PartTransform(part, carried.matrix.copy(), carried.trust))
            continue
        if part == TORSO:
            matrix = _torso_matrix(ref_pose, target_pose, scale, torso, reference.out_of_view)
            if torso in SPINE_FALLBACKS:  # drawn, but the pixels say little about this view of the body
                transforms.append(PartTransform(part, matrix, FALLBACK_TRUST * transform_trust(matrix, config)))
                continue
        elif part == HEAD_PART:
            matrix = _head_matrix(ref_pose, target_pose, scale, reference.height)
        else:
            a, b = LIMB_BONES[part]
            length = float(np.hypot(*(ref_pose[b, :2] - ref_pose[a, :2])))
            stretch = float(np.hypot(*(target_pose[b, :2] - target_pose[a, :2]))) / max(scale * length, 1e-9)
            if part in reference.stand_ins and _stands_in(reference.stand_ins[part], part, target_pose, ok_t, scale,
                                                          stretch):  # straightened or clear: its other side
                start, end = reference.stand_ins[part].segments[0]
                matrix = limb_matrix(start, end, target_pose[a], target_pose[b], scale)
                transforms.append(PartTransform(part, matrix, transform_trust(matrix, config), stand_in=True))
                continue
            if length < 1e-3:
                skipped[PART_NAMES[part]] = "its reference bone has zero length"
                continue
            matrix = limb_matrix(ref_pose[a], ref_pose[b], target_pose[a], target_pose[b], scale)
        transforms.append(PartTransform(part, matrix, transform_trust(matrix, config)))
    if target_extras is not None:
        _move_extremities(reference, target_pose, target_extras, scale, transforms, follow)
    return transforms, skipped


def turned_around(reference: WarpReference, target_pose: np.ndarray) -> bool:
    """Whether the target's torso is mirrored against the photo's (`torso_state`): the driving
    person turned their back."""
    return _target_torso(reference, target_pose) == "mirrored"


def _target_torso(reference: WarpReference, target_pose: np.ndarray) -> str | None:
    """`torso_state` of the target against the photo, None where either has no torso."""
    config = reference.config
    target_pose = check_pose(target_pose, "target")
    ok_t = joint_ok(target_pose, config.min_confidence)
    if reference.crops[TORSO] is None or missing_reason(TORSO, ok_t, "target") is not None:
        return None
    scale = body_scale(reference.pose, target_pose, config.min_confidence, out_of_view=reference.out_of_view)
    return torso_state(reference.pose, target_pose, scale, config.collapse_ratio)


def _stands_in(stand_in: StandIn, part: int, target_pose: np.ndarray, ok_t: np.ndarray, scale: float,
               stretch: float) -> bool:
    """Whether a limb with a stand-in (`reference.StandIn`) is drawn from it in this target:
    a foreshortened one straightened past STAND_IN_STRETCH x its length in the photo, a hidden leg
    moved OCCLUDED_CLEAR x its radius farther from its other side than in the photo, an arm the
    photo shows behind the head or body moved as far farther from that (`reference._hidden_arms`)."""
    if stand_in.hidden_by is not None:
        end = LIMB_BONES[part][1]
        if not (ok_t[end] and ok_t[list(PART_JOINTS[stand_in.hidden_by])].all()):
            return False
        away = distance_to_part(target_pose, stand_in.hidden_by, target_pose[end, :2]) / max(scale, 1e-9)
        return away > stand_in.apart + OCCLUDED_CLEAR * stand_in.radius
    if stand_in.apart is None:
        return stretch > STAND_IN_STRETCH
    end, other_end = LIMB_BONES[part][1], LIMB_BONES[stand_in.other][1]
    if not (ok_t[end] and ok_t[other_end]):
        return False
    apart = float(np.hypot(*(target_pose[end, :2] - target_pose[other_end, :2]))) / max(scale, 1e-9)
    return apart > stand_in.apart + OCCLUDED_CLEAR * stand_in.radius


def _move_extremities(reference: WarpReference, target_pose: np.ndarray, target_extras: np.ndarray,
                      scale: float, transforms: list[PartTransform], follow: Collection[int] | None) -> None:
    """Append the transforms of the hands and feet that move on their own, their limbs then drawn
    cut (without them); in place. The others stay on their limbs (logged at debug level)."""
    config = reference.config
    index = {tr.part: i for i, tr in enumerate(transforms)}
    for part, extremity in reference.extremities.items():
        i = index.get(extremity.limb)
        if i is None or (follow is not None and part not in follow) or transforms[i].stand_in:
            continue  # its limb is not drawn, carries it, or is drawn from its other side (hand and all)
        matrix, why = _extremity_matrix(part, extremity, target_pose, target_extras, scale,
                                        transforms[i].matrix, config, keep=follow is not None)
        if matrix is None:
            logger.debug("warp: the %s moves with the %s: %s", PART_NAMES[part], PART_NAMES[extremity.limb], why)
            continue
        transforms[i] = dataclasses.replace(transforms[i], cut=True)
        transforms.append(PartTransform(part, matrix, transform_trust(matrix, config)))


def _extremity_matrix(part: int, extremity: Extremity, target_pose: np.ndarray, target_extras: np.ndarray,
                      scale: float, limb_matrix_: np.ndarray, config: WarpConfig, keep: bool = False
                      ) -> tuple[np.ndarray | None, str]:
    """(the hand's or foot's 2x3 affine, "") or (None, why it stays on its limb): its bone (wrist ->
    knuckles' midpoint, ankle -> toe) onto the target's, across scale g, the joint onto the target's.
    keep: it follows its points already (in a video), and keeps to them on the looser thresholds."""
    threshold = config.extras_keep_confidence if keep else config.extras_confidence
    fold = EXTREMITY_KEEP_FOLD if keep else EXTREMITY_FOLD
    bone = extremity_bone(part, target_pose, target_extras, max(threshold, config.min_confidence))
    if bone is None:
        return None, "its points are missing or unconfident in the target"
    start, tip, width = bone
    along_r, along_t = extremity.tip - extremity.start, tip - start
    length_r, length_t = float(np.hypot(*along_r)), float(np.hypot(*along_t))
    if length_t < fold * scale * length_r or width < fold * scale * extremity.width:
        return None, "it is folded onto itself in the target"
    matrix = limb_matrix(extremity.start, extremity.tip, start,
                         start + along_t * min(1.0, EXTREMITY_STRETCH * scale * length_r / length_t), scale)
    rotation = _rotation(matrix)
    turn = rotation - _rotation(limb_matrix_)
    if abs((turn + np.pi) % (2 * np.pi) - np.pi) > EXTREMITY_TURN_LIMIT:
        return None, f"it turns more than {np.degrees(EXTREMITY_TURN_LIMIT):.0f} degrees against its limb"
    if part not in HANDS and abs(rotation) > FOOT_TURN_LIMIT:
        return None, f"it turns more than {np.degrees(FOOT_TURN_LIMIT):.0f} degrees from the photo's foot"
    return matrix, ""


def steady_turns(reference: WarpReference, poses, *, min_run: int = MIN_TURN_RUN) -> list[bool]:
    """For a video: whether the person turned their back in each frame, as `part_transforms`'s
    `turned`. The frames whose torso is mirrored against the photo's (`turned_around`), and the
    stretches between two of them that show no torso facing the camera (side-on, twisted, folded
    or unseen: a person doing yoga with her back to the camera passes through side-on poses, and
    her face flashed up in them); then runs shorter than `min_run` frames inside the clip are
    dropped (a torso seen side-on can flip to mirrored for a frame, taichi_forest.mp4 frame 36:
    alone, the face would turn to the back of the head and back, and every limb to its other
    side). poses (T, 13, 3) in the reference's pixels."""
    states = [_target_torso(reference, pose) for pose in poses]
    flags = np.array([state == "mirrored" for state in states], bool)
    facing = [state in ("ok", "edge-on reference") for state in states]
    turned = np.flatnonzero(flags)
    for before, after in zip(turned[:-1], turned[1:]):
        if after - before > 1 and not any(facing[before + 1:after]):
            flags[before + 1:after] = True
    return [bool(flag) for flag in _without_short_runs(flags, min_run)]


def steady_follow(reference: WarpReference, poses, extras, *, min_run: int = MIN_FOLLOW_RUN,
                  turned: list[bool] | None = None) -> list[frozenset]:
    """For a video: which hands and feet follow their points in each frame, as `part_transforms`'s
    `follow`. Frame by frame a hand or foot that rides on its limb starts to follow its points when
    they are confident (WarpConfig.extras_confidence) and it is neither folded nor turned past the
    limits, and one that follows keeps following while they stay above extras_keep_confidence and
    it is not folded below EXTREMITY_KEEP_FOLD (hysteresis); then runs of following shorter than
    `min_run` frames inside the clip are dropped (the hand rides on its limb through them). Without this a hand
    whose confidence or fold hovered at a threshold jumped between the two every few frames: on the
    real clips driving examples/photo.jpg, 231 switches in 2,600 frames, 96 of them runs of under 5
    frames; with it 97 and 27 (benchmarks/results/follow.md). poses (T, 13, 3), extras (T, 10, 3)
    (or None: nothing follows), in the reference's pixels; turned: `steady_turns`' (None: each frame
    decides alone)."""
    parts = sorted(reference.extremities)
    if extras is None or not parts:
        return [frozenset()] * len(poses)
    on = np.zeros((len(poses), len(parts)), bool)
    following: frozenset = frozenset()
    turned = [None] * len(poses) if turned is None else turned
    for t, (pose, points) in enumerate(zip(poses, extras)):
        strict = _followers(part_transforms(reference, pose, points, turned=turned[t])[0])
        if following - strict:  # those that follow already keep to the looser thresholds
            loose = _followers(part_transforms(reference, pose, points, follow=parts, turned=turned[t])[0])
            following = frozenset(p for p in parts if p in strict or (p in following and p in loose))
        else:
            following = frozenset(strict)
        on[t] = [p in following for p in parts]
    for k in range(len(parts)):
        on[:, k] = _without_short_runs(on[:, k], min_run)
    return [frozenset(p for k, p in enumerate(parts) if on[t, k]) for t in range(len(poses))]


def _followers(transforms: list[PartTransform]) -> set:
    return {tr.part for tr in transforms if tr.part in EXTREMITIES}


def _without_short_runs(flags: np.ndarray, min_run: int) -> np.ndarray:
    """bool (T,): `flags` with its runs of True shorter than min_run set to False, but for runs
    at either end of the clip (it may start or end there; a clip of a few frames keeps them)."""
    out = flags.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, flags.astype(np.int8), 0]))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start < min_run and start > 0 and stop < len(flags):
            out[start:stop] = False
    return out


def _rotation(matrix: np.ndarray) -> float:
    """The rotation angle (radians) of a 2x3 affine's linear part (its polar decomposition)."""
    u, _sigma, vt = np.linalg.svd(np.asarray(matrix, np.float64)[:, :2])
    rotation = u @ vt
    return float(np.arctan2(rotation[1, 0], rotation[0, 0]))


def transform_trust(matrix: np.ndarray, config: WarpConfig = WarpConfig()) -> float:
    """How far a part moved by this 2x3 affine keeps its look, in [0, 1] (package docstring)."""
    _u, sigma, _vt = np.linalg.svd(np.asarray(matrix, np.float64)[:, :2])
    angle = np.degrees(_rotation(matrix))
    stretch = np.log(sigma[0] / max(sigma[1], 1e-9))
    magnify = max(0.0, float(np.log(max(sigma[0], 1e-9))))
    return float(np.exp(-0.5 * (angle / config.rotation_scale) ** 2
                        - 0.5 * (stretch / config.anisotropy_scale) ** 2
                        - 0.5 * (magnify / config.magnification_scale) ** 2))


def _look_aside(pose: np.ndarray) -> float:
    """The signed angle (radians) that turns the pose's neck -> nose direction up its spine; 0 where
    the hips or the nose are not seen."""
    if not (pose[[HEAD, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP], 2] > 0).all():
        return 0.0
    look, up = pose[HEAD, :2].astype(np.float64) - neck_point(pose), spine(pose)
    return float((np.arctan2(up[1], up[0]) - np.arctan2(look[1], look[0]) + np.pi) % (2 * np.pi) - np.pi)


def _nose_turned(pose: np.ndarray, angle: float) -> np.ndarray:
    """Where the pose's nose would be, its neck -> nose direction turned by `angle` (radians)."""
    neck = neck_point(pose)
    look = pose[HEAD, :2].astype(np.float64) - neck
    c, s = np.cos(angle), np.sin(angle)
    return neck + np.array([c * look[0] - s * look[1], s * look[0] + c * look[1]])


def _photo_look(pose: np.ndarray) -> float:
    """How far (radians, signed as `_look_aside`) a photo's face looks aside, as opposed to rolling:
    none for a face seen about frontal (under HEAD_TURNED[0] of the neck -> nose length to the side
    of the spine's line), all of its nose's turn off the spine for one seen turned (past
    HEAD_TURNED[1]), linearly between. Turned back by it, the nose is where it would be looking
    ahead."""
    return face_turned(pose) * _look_aside(pose)


def _shared_look(look: float, target_pose: np.ndarray) -> float:
    """How much of a target's nose's turn off its spine is the photo's look (`_photo_look`): the turn
    toward the same side, up to the photo's. A target seen as the photo is (its own pose, a clip
    of the same turned face) tilts the head by nothing; one looking ahead, or to the other side,
    by all of its turn (a driver's head rolling in a side bend moves the nose aside as a look does)."""
    aside = _look_aside(target_pose)
    if aside * look <= 0.0:
        return 0.0
    return float(np.sign(look) * min(abs(aside), abs(look)))


def _cross(u, v) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def torso_state(reference_pose: np.ndarray, target_pose: np.ndarray, scale: float,
                collapse_ratio: float = WarpConfig.collapse_ratio) -> str:
    """"ok", "edge-on reference", "mirrored", "twisted", "side-on" or "collapsed" (package docstring).

    scale: the body scale g (target size / reference size). "collapsed": the spine itself is under
    COLLAPSED_SPINE of the reference's at body scale (the shoulders fell onto the hips: nothing to
    draw along); "side-on": a spine, but the torso's area or shoulder width is under the limits.
    """
    across_r, spine_r, shoulders_r = torso_frame(reference_pose)
    across_t, spine_t, shoulders_t = torso_frame(target_pose)
    height_r = np.hypot(*spine_r)
    area_r, area_t = _cross(across_r, spine_r), _cross(across_t, spine_t)
    if height_r < 1e-6 or abs(area_r) < _REFERENCE_EDGE_ON * height_r ** 2:
        return "edge-on reference"
    if np.hypot(*spine_t) < COLLAPSED_SPINE * scale * height_r:
        return "collapsed"
    g2 = scale * scale
    if area_t * area_r < 0 and abs(area_t) >= collapse_ratio * abs(area_r) * g2:
        return "mirrored"
    xy = target_pose[:, :2].astype(np.float64)
    if float(np.dot(xy[L_SHOULDER] - xy[R_SHOULDER], xy[L_HIP] - xy[R_HIP])) < 0:
        return "twisted"
    if (abs(area_t) < collapse_ratio * abs(area_r) * g2
            or np.hypot(*shoulders_t) < 0.2 * scale * np.hypot(*shoulders_r)):
        return "side-on"
    return "ok"


LEG_BONES = ((R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE))
_SCALE_BONES = ((R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST)) + LEG_BONES


def body_scale(reference_pose: np.ndarray, target_pose: np.ndarray, min_confidence: float = 0.0, *,
               bones=_SCALE_BONES, out_of_view: Collection[int] = ()) -> float:
    """g: median over the bones seen in both poses (`bones`: the limbs; and the spine) of target /
    reference length; 1 when no bone is seen in both; at least MIN_SCALE (a body shrunk to a point).
    out_of_view: reference joints past the photo's edge (a pose model's guesses), whose bones say
    nothing; without the spine, the shoulders' span and the head's height over them count instead."""
    ok = joint_ok(reference_pose, min_confidence) & joint_ok(target_pose, min_confidence)
    ok[list(out_of_view)] = False
    ratios = []
    if out_of_view and not ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all() and ok[[R_SHOULDER, L_SHOULDER]].all():
        spans = [(reference_pose[R_SHOULDER, :2], reference_pose[L_SHOULDER, :2],
                  target_pose[R_SHOULDER, :2], target_pose[L_SHOULDER, :2])]
        if ok[HEAD]:
            spans.append((reference_pose[HEAD, :2], neck_point(reference_pose),
                          target_pose[HEAD, :2], neck_point(target_pose)))
        for a_r, b_r, a_t, b_t in spans:
            ref = float(np.hypot(*(b_r - a_r)))
            if ref > 1e-6:
                ratios.append(float(np.hypot(*(b_t - a_t))) / ref)
    for a, b in bones:
        if ok[a] and ok[b]:
            ref = np.hypot(*(reference_pose[b, :2] - reference_pose[a, :2]))
            if ref > 1e-6:
                ratios.append(np.hypot(*(target_pose[b, :2] - target_pose[a, :2])) / ref)
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        ref = np.hypot(*torso_frame(reference_pose)[1])
        if ref > 1e-6:
            ratios.append(np.hypot(*torso_frame(target_pose)[1]) / ref)
    return max(float(np.median(ratios)), MIN_SCALE) if ratios else 1.0


def _torso_matrix(ref_pose, target_pose, scale, state, out_of_view: Collection[int] = ()) -> np.ndarray:
    """The 4 corners' least-squares affine for an ordinary torso; the shoulders' line as a bone (the
    photo's own size across it: scaled, a trunk the photo's edge cuts lifted its cut edge into view)
    where the photo's hips are past its edge (`out_of_view`: the pose model's guesses, from which an
    affine stretched a chest-up photo's trunk); the spine as a bone otherwise:
    an edge-on reference at body scale; a target torso side-on, turned round or twisted at the
    width it shows (between SIDE_ON_WIDTH and 1 of the reference's, at body scale), never mirrored:
    the reference's front is kept the right way round, and the trust is lowered (FALLBACK_TRUST)."""
    corners = [R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]
    if {R_HIP, L_HIP} & set(out_of_view) and not {R_SHOULDER, L_SHOULDER} & set(out_of_view):
        return limb_matrix(ref_pose[R_SHOULDER, :2], ref_pose[L_SHOULDER, :2], target_pose[R_SHOULDER, :2],
                           target_pose[L_SHOULDER, :2], 1.0)
    if state == "ok":
        return fit_affine(ref_pose[corners, :2], target_pose[corners, :2])
    across = scale
    if state in SPINE_FALLBACKS:
        width = lambda pose: sum(np.hypot(*(pose[b, :2] - pose[a, :2])) for a, b in  # noqa: E731
                                 ((R_SHOULDER, L_SHOULDER), (R_HIP, L_HIP)))
        across = scale * float(np.clip(width(target_pose) / max(scale * width(ref_pose), 1e-6), SIDE_ON_WIDTH, 1.0))
    neck_r, neck_t = neck_point(ref_pose), neck_point(target_pose)
    pelvis_r = (ref_pose[R_HIP, :2].astype(np.float64) + ref_pose[L_HIP, :2]) / 2
    pelvis_t = (target_pose[R_HIP, :2].astype(np.float64) + target_pose[L_HIP, :2]) / 2
    return limb_matrix(neck_r, pelvis_r, neck_t, pelvis_t, across)


def _head_matrix(ref_pose, target_pose, scale, height, by_spine: bool = False) -> np.ndarray:
    """The head rides on the neck (the shoulder midpoint): it turns with the shoulder line, tilted
    further by the neck -> head direction's turn, at most HEAD_TILT_LIMIT. In 2-D a nod or a look
    down swings the head joint round the neck although the face does not roll; followed freely it
    would lay the face on its side. Where either pose shows the shoulders side-on (their line under
    HEAD_SHOULDERS_SIDE_ON x the spine) and their turn and the spine's differ by more than
    HEAD_SHOULDERS_DISAGREE, the head turns with the spine: a tennis player seen from the side, his
    shoulder line pointing up his back, animated facing the camera had his face turned 110 degrees,
    upside down beside his hand. The photo's neck -> head direction is measured as if its face
    looked ahead where it is seen turned (`_photo_look`): its nose off to the side of the neck
    says where it looks, and the warrior looking along his arm, animated by someone facing the
    camera, had his face tipped back 25 degrees. The target's likewise, as far as it turns the same
    way as the photo's look and no further (`_shared_look`): the photo's own pose, or a clip of
    that turned face, had it tipped by up to the limit (the tennis player, the warrior, both tai chi
    clips of the self-reenactment bench); a target looking ahead or the other way is taken as it is
    (a driver's head rolling in a side bend moves the nose aside as much as a look does). by_spine:
    turn with the spine whatever the shoulders show (a mirrored torso's shoulder line points the
    other way)."""
    def turn(a, b, c, d):  # the angle from vector b - a (reference) to d - c (target), or None
        u, v = b - a, d - c
        if np.hypot(*u) < 0.1 * height or np.hypot(*v) < 0.1 * height * scale:
            return None
        return float((np.arctan2(v[1], v[0]) - np.arctan2(u[1], u[0]) + np.pi) % (2 * np.pi) - np.pi)

    def side_on(pose: np.ndarray) -> bool:
        spine = pose[[R_SHOULDER, L_SHOULDER]].mean(0) - pose[[R_HIP, L_HIP]].mean(0)
        return np.hypot(*(pose[L_SHOULDER] - pose[R_SHOULDER])) < HEAD_SHOULDERS_SIDE_ON * np.hypot(*spine)

    ref, tgt = ref_pose[:, :2].astype(np.float64), target_pose[:, :2].astype(np.float64)
    shoulders = turn(ref[R_SHOULDER], ref[L_SHOULDER], tgt[R_SHOULDER], tgt[L_SHOULDER]) or 0.0
    if by_spine or side_on(ref) or side_on(tgt):
        hips_r, hips_t = ref[[R_HIP, L_HIP]].mean(0), tgt[[R_HIP, L_HIP]].mean(0)
        spine = turn(hips_r, ref[[R_SHOULDER, L_SHOULDER]].mean(0), hips_t, tgt[[R_SHOULDER, L_SHOULDER]].mean(0))
        if by_spine:
            shoulders = spine or 0.0
        elif spine is not None and abs((shoulders - spine + np.pi) % (2 * np.pi) - np.pi) > HEAD_SHOULDERS_DISAGREE:
            shoulders = spine
    look = _photo_look(ref_pose)
    tilt = turn(neck_point(ref_pose), _nose_turned(ref_pose, look),
                neck_point(target_pose), _nose_turned(target_pose, _shared_look(look, target_pose)))
    extra = 0.0 if tilt is None else (tilt - shoulders + np.pi) % (2 * np.pi) - np.pi
    angle = shoulders + float(np.clip(extra, -HEAD_TILT_LIMIT, HEAD_TILT_LIMIT))
    return similarity_matrix(angle, scale, neck_point(ref_pose), neck_point(target_pose))
