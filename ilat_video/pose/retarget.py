"""Motion retargeting: move a driving person's motion onto the reference person's body and image.

    target = retarget(driving, reference_pose, (width, height), mode="scale")

`driving` is a PoseSequence in the pixels of its own frames; `reference_pose` is the (13, 3) pose of
the person in the reference image. The result is a PoseSequence in the reference image's pixels
(reference width x height), at the driving sequence's fps, one frame per driving frame.

Modes (DESIGN.md section 7):

- ``none``: the driving poses as given, stretched to the reference image size per axis
  (`PoseSequence.rescaled`). The driving person's size and position leak through; nothing is filled.
- ``scale``: one similarity transform for the whole sequence (Everybody Dance Now's global pose
  normalization with a single reference frame): scale ``s = H_ref / median_t H_drv(t)`` with H the
  body height of `body_height`, and a translation that puts the driving sequence's ground line
  (the median over frames of the lowest visible ankle) on the reference's lowest ankle and the
  median hip midpoint's x on the reference's hip midpoint. The driving motion is kept (a person who
  walks or jumps still does), its size and place are not. EDN also interpolates the scale between
  the nearest and farthest ankle positions; with one reference frame there is one target size,
  and a per-frame scale would make a jumping person grow, so the scale is one number.
- ``relative``: FOMM's relative mode: joint j in frame t is ``ref_j + s * (drv_j(t) - drv_j(t0))``
  with t0 the first frame with a person (so that frame equals the reference pose exactly) and s the
  size ratio of `scale` (medians over the whole sequence, so one odd first frame cannot set it). A joint
  the driving first sees later is anchored, in that frame, where the fill rule below puts it.
- ``bones``: the reference's bone lengths with the driving's joint angles. The `scale` result is
  the guide: the torso block (head, shoulders, hips) is the reference's torso moved rigidly (the
  2-D rotation and translation that best fit the guide's torso, least squares), then each limb
  bone (shoulder-elbow-wrist, hip-knee-ankle) takes the guide's direction and the reference's
  length. Every bone of `skeleton.BONES` therefore has the reference's length in every frame; the
  root (the torso) follows the driving trajectory scaled by s. The price of exact 2-D lengths: no
  foreshortening, and the torso keeps the reference's shape (no twist, the head stays fixed to the
  shoulders). The driving person's proportions do not leak; the feet may leave the reference
  ground line when the two people's leg-to-height ratios differ.

- ``steady`` (the default, DEFAULT_MODE): `scale` made per frame, for real footage with a moving
  camera, where one similarity lets camera motion become body motion (a zoom grows the figure, a
  tilt slides it off its ground line, a tight photo loses raised arms over its edge). Frame t is
  mapped by ``s_t = H_ref / h_t`` and anchors, all from smoothed driving measures (centred windows,
  seconds at the driving fps): H_ref / h_t, the ratio of the two body heights measured on the
  joints both poses show in that frame where they share the trunk (a driving video or a photo cut
  at the waist is sized by head and trunk; the whole heights otherwise: a head alone says little,
  a nod would scale the figure), its rolling median then mean over SIZE_WINDOW_SECONDS (in log
  space), so a zoom does not change the figure's size while a bend or a squat still foreshortens
  it; the ground line g_t, a rolling upper envelope (90th percentile of the lowest ankle's y)
  then mean over GROUND_WINDOW_SECONDS, mapped onto the reference's lowest ankle, so the feet
  stand on the reference's ground line whenever the driving feet are on theirs and rise only for a
  jump shorter than about that window; the hip midpoint's x, rolling median
  then mean over LATERAL_WINDOW_SECONDS, mapped onto the reference's: sideways motion faster than
  that (a step, a sway) is kept, slower drift is taken as the camera's (or as walking off, which a
  still photo cannot show) and removed. Without ankles (hips, shoulders, centroid) the same
  fallback order as `scale`, each smoothed like x. Then the fill rule, then the fit: where a
  placed joint would leave the image (less FRAME_MARGIN, HEAD_MARGIN for the head, in reference
  heights; never tighter than the reference pose itself), the figure shrinks about its ground
  point and slides sideways, eased in and out over FIT_WINDOW_SECONDS and never less than a frame
  needs; below MIN_FIT the joints are clipped to the frame. So every placed joint is inside the
  image. Reference joints further than PAST_EDGE past the photo's edge are not seen (a pose
  model's guesses); a photo whose edges cut the person (its completed pose reaches past them) is
  animated as framed: there is no fit, what moves past the edges leaves the frame, and the anchor
  is held where the photo has it each frame, unsmoothed, across a cut side edge and up and down
  where the lower edge cuts the legs (the hips: rising would show the cut edge). The side and upper
  edges are judged on the joints the photo's own pose places past them, the lower one on the
  completed pose too (a pose file may leave a waist-up photo's legs out). A driving video whose
  frame cuts the person's legs off (its hips, or its knees, past its edges in most frames: a
  webcam's view) has its legs not seen in any frame (an ankle below a knee in view and the arms
  keep the pose model's guesses); the photo's own legs stand in, each joint moved with the nearest
  joint up its limb that the driving shows (a knee and an ankle with their hip, a hip with its
  shoulder), the hips (or the neck) held where the photo has them and the fit's shrink made about
  the photo's ground line, so the photo stands on its feet while its upper body moves. Without the
  hips, the size is measured on the head and the shoulders' span, near their longest over
  UPPER_SIZE_WINDOW_SECONDS (a shrug or raised arms shorten them). Why the default: on the
  nine real clips x five photos it keeps every joint in the frame (`scale`: 19% of frames have one
  outside), with a quarter of `scale`'s foot drift and, through a
  synthetic handheld camera, a third of its camera leak (`benchmarks/results/retarget.md`). Its
  costs: drift slower than LATERAL_WINDOW_SECONDS is lost, a figure shrinks for a moment to fit
  raised arms, and a camera that moves fast (a whip pan) still moves the figure.

Body height (`body_height`): the length of the chain head -> neck (shoulder midpoint) -> pelvis (hip
midpoint) -> knee -> ankle (the two legs averaged), which bends with the body but does not
shrink with it. When part of the chain is not visible, the visible parts are divided by their
usual share of the chain (rough adult proportions, `CHAIN_SHARES`); with no chain part visible,
the visible bones are used the same way (`BONE_SHARES`).

Missing joints (confidence 0), `scale`, `relative` and `bones`:
1. The reference is completed first: a joint the reference lacks but the driving sees takes the
   driving's position for it (in the first frame that sees it) relative to the joints both see,
   scaled by s.
2. In each frame with a person, a joint the driving does not see takes its last seen value: its
   position in the last frame that saw it (before any: the completed reference), carried along
   with the body by the 2-D similarity that best moves the joints seen in both frames from there
   to here (a translation when fewer than 3 are shared). See `_CarryAlong`.
3. A joint that neither the reference nor any driving frame shows stays missing (confidence 0),
   but for the hips, knees and ankles: those are placed as the standard figure has them, fitted to
   the head, shoulders and hips the completed reference has, at FIGURE_CONFIDENCE (a photo and a
   video both cut at the waist: the legs below the photo say it is cut there; both cut at the
   chest: the figure keeps a trunk).

Output confidences: a joint the driving sees keeps the driving's confidence (in every mode; in
`bones` too, where its position comes from the reference's bone lengths). A filled joint gets
``min(FILL_CONFIDENCE, confidence of the value it was filled from)``, so filled joints are always
present but never more trusted than 0.5.

Frames with no person stay frames with no person (all confidences 0): a gap is reported, never
invented here; holding the last pose is the caller's choice. Output coordinates may fall outside
the reference image (an arm raised above the frame); they are not clipped.
"""
from __future__ import annotations

import logging
from typing import Iterable, Sequence

import numpy as np

from ..errors import IlatError, NoPersonError, PoseFileError
from .sequence import PoseSequence
from .skeleton import (HEAD, JOINT_NAMES, L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NUM_JOINTS, R_ANKLE,
                       R_ELBOW, R_HIP, R_KNEE, R_SHOULDER, R_WRIST)

logger = logging.getLogger(__name__)

__all__ = ["retarget", "past_the_edge", "inside_by", "body_height", "MODES", "DEFAULT_MODE", "FILL_CONFIDENCE",
           "FIGURE_CONFIDENCE",
           "CHAIN_SHARES", "BONE_SHARES", "STANDARD_FIGURE", "TORSO_JOINTS", "LIMB_BONES"]

MODES: tuple[str, ...] = ("none", "scale", "relative", "bones", "steady")
# The mode the CLI and the Animator use unless told otherwise (why: the module docstring, `steady`).
DEFAULT_MODE = "steady"

# `steady`: the smoothing windows (seconds, centred on the frame) and the frame margins.
SIZE_WINDOW_SECONDS = 1.0      # the driving body's size: a rolling median, then a rolling mean
UPPER_SIZE_WINDOW_SECONDS = 2.0  # ... without hips, by head and shoulders: a rolling low envelope of the ratio
GROUND_WINDOW_SECONDS = 0.5    # the driving ground line: a rolling upper envelope of the lowest ankle
LATERAL_WINDOW_SECONDS = 2.0   # the driving body's place across the frame: a rolling median, then mean
FIT_WINDOW_SECONDS = 0.5       # how gradually the figure shrinks or slides to stay in the frame
FRAME_MARGIN = 0.02            # joints stay this far inside the image (in reference body heights) ...
HEAD_MARGIN = 0.08             # ... and the head joint this far below the top (room for the skull)
MIN_FIT = 0.5                  # the figure never shrinks below this share; a last clip keeps it inside
PAST_EDGE = 0.05               # a joint further than this (in body heights) past the photo's edge is out of view
EDGE_GUESS = 0.5               # a driving joint past its frame's edge with a confidence under this is a guess

# The highest confidence a filled (not seen) joint gets.
FILL_CONFIDENCE = 0.5
# A joint neither the reference nor the driving shows, placed as the standard figure has it.
FIGURE_CONFIDENCE = 0.1

# A standard adult figure, standing straight and facing the camera, in shares of standing height
# (rounded from segment-length tables): head joint 0.11 above the shoulder line, shoulders 0.20
# apart, hips 0.10 apart and 0.29 below the shoulders, thighs and shins 0.245, upper arms 0.186,
# forearms 0.146. Only used to estimate the head-to-ankle chain when parts of it are not visible;
# with the whole chain visible the height is its exact length whatever these are.
_HEAD_NECK, _TORSO, _THIGH, _SHIN, _UPPER_ARM, _FOREARM = 0.11, 0.29, 0.245, 0.245, 0.186, 0.146
_SHOULDER_HALF, _HIP_HALF = 0.10, 0.05
_CHAIN_OF_STATURE = _HEAD_NECK + _TORSO + _THIGH + _SHIN
CHAIN_SHARES: tuple[float, float, float] = (_HEAD_NECK / _CHAIN_OF_STATURE, _TORSO / _CHAIN_OF_STATURE,
                                            (_THIGH + _SHIN) / _CHAIN_OF_STATURE)
# Each bone of skeleton.BONES in the standard figure, as a share of the chain: the last resort when
# no chain part is visible.
_BONE_OF_STATURE = {
    (HEAD, R_SHOULDER): float(np.hypot(_SHOULDER_HALF, _HEAD_NECK)),
    (HEAD, L_SHOULDER): float(np.hypot(_SHOULDER_HALF, _HEAD_NECK)),
    (R_SHOULDER, L_SHOULDER): 2 * _SHOULDER_HALF,
    (R_SHOULDER, R_ELBOW): _UPPER_ARM, (R_ELBOW, R_WRIST): _FOREARM,
    (L_SHOULDER, L_ELBOW): _UPPER_ARM, (L_ELBOW, L_WRIST): _FOREARM,
    (R_SHOULDER, R_HIP): float(np.hypot(_SHOULDER_HALF - _HIP_HALF, _TORSO)),
    (L_SHOULDER, L_HIP): float(np.hypot(_SHOULDER_HALF - _HIP_HALF, _TORSO)),
    (R_HIP, L_HIP): 2 * _HIP_HALF,
    (R_HIP, R_KNEE): _THIGH, (R_KNEE, R_ANKLE): _SHIN, (L_HIP, L_KNEE): _THIGH, (L_KNEE, L_ANKLE): _SHIN,
}
BONE_SHARES: dict[tuple[int, int], float] = {bone: v / _CHAIN_OF_STATURE for bone, v in _BONE_OF_STATURE.items()}


def _standard_figure() -> np.ndarray:
    """The standard figure as a (13, 3) pose of chain length 1, pelvis at the origin, arms hanging."""
    pose = np.ones((NUM_JOINTS, 3))
    shoulder_y, head_y = -_TORSO, -_TORSO - _HEAD_NECK
    for sign, (shoulder, elbow, wrist, hip, knee, ankle) in ((-1, (R_SHOULDER, R_ELBOW, R_WRIST, R_HIP, R_KNEE, R_ANKLE)),
                                                             (1, (L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE))):
        pose[shoulder, :2] = (sign * _SHOULDER_HALF, shoulder_y)
        pose[elbow, :2] = (sign * _SHOULDER_HALF, shoulder_y + _UPPER_ARM)
        pose[wrist, :2] = (sign * _SHOULDER_HALF, shoulder_y + _UPPER_ARM + _FOREARM)
        pose[hip, :2] = (sign * _HIP_HALF, 0.0)
        pose[knee, :2] = (sign * _HIP_HALF, _THIGH)
        pose[ankle, :2] = (sign * _HIP_HALF, _THIGH + _SHIN)
    pose[HEAD, :2] = (0.0, head_y)
    pose[:, :2] /= _CHAIN_OF_STATURE
    return pose


# The standard figure (x, y, confidence 1) with a chain length of 1: `body_height` measures 1 on it
# with any subset of joints visible that has a bone.
STANDARD_FIGURE = _standard_figure()

# Moved rigidly in `bones` mode (all their pairwise distances are reference bones or fixed with them).
TORSO_JOINTS: tuple[int, ...] = (HEAD, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP)
# (parent, child), parents before children: walked from the torso outwards in `bones` mode.
LIMB_BONES: tuple[tuple[int, int], ...] = (
    (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST),
    (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST),
    (R_HIP, R_KNEE), (R_KNEE, R_ANKLE),
    (L_HIP, L_KNEE), (L_KNEE, L_ANKLE),
)
_LEGS = ((R_HIP, R_KNEE, R_ANKLE), (L_HIP, L_KNEE, L_ANKLE))


def retarget(driving: PoseSequence, reference_pose: np.ndarray | PoseSequence,
             reference_size: tuple[int, int] | None = None, mode: str = DEFAULT_MODE, *,
             cut: Iterable[str] = ()) -> PoseSequence:
    """The driving motion on the reference body, in the reference image's pixels.

    driving: the motion, (T, 13, 3) in the pixels of its own frames.
    reference_pose: the reference person's pose, float (13, 3) x, y pixels + confidence, or a
        PoseSequence of one frame.
    reference_size: (width, height) of the reference image. Default: the PoseSequence's size (an
        array needs it). A PoseSequence of another size is rescaled to it first.
    mode: one of MODES (see the module docstring for each, the fill rule and the confidences).
    cut: edges of the photo ("lower", "upper", "left", "right") that cut the person where its joints
        do not say so (the Animator judges the sides on the person mask: a photo cut down the body's
        middle keeps every joint inside), for `steady`.
    Returns a PoseSequence of T frames, reference_size, driving.fps; frames without a person stay so.
    Raises IlatError for an unknown mode, PoseFileError for a malformed reference, NoPersonError
    when the reference (or, for modes other than `none`, every driving frame) shows too little of a
    body to measure its size.
    """
    if mode not in MODES:
        raise IlatError(f"unknown retarget mode {mode!r}; expected one of: {', '.join(MODES)}")
    ref, (width, height), ref_name = _reference(reference_pose, reference_size)
    source = f"{driving.source} retargeted ({mode}) onto {ref_name}"
    if mode == "none":
        return driving.rescaled(width, height).replace(source=source)

    num_frames = len(driving)
    out = np.zeros((num_frames, NUM_JOINTS, 3), np.float64)
    person = driving.has_person
    if not (ref[:, 2] > 0).any():
        raise NoPersonError(f"{ref_name}: the reference pose has no visible joint (every confidence is 0)")
    if not person.any():
        logger.warning("%s: no frame has a person; the retargeted sequence has none either", driving.source)
        return PoseSequence(out.astype(np.float32), width, height, driving.fps, source)

    drv = driving.keypoints.astype(np.float64)
    as_given = ref
    if mode == "steady":
        ref = _in_view(ref, width, height, ref_name)
        drv = _driving_in_view(drv, driving.width, driving.height, driving.source)
    ratio = _size_ratio(ref, ref_name, drv[person], driving.source)
    ref_full = _complete_by_figure(_complete_reference(ref, drv[person], ratio))
    if mode == "steady":
        out = _steady_mode(drv, person, ref, ref_full, driving.fps, (width, height), as_given, ref_name,
                           set(cut))
    else:
        guide = _scale_mode(drv, person, ref, ref_full, ratio)
        if mode == "scale":
            out = guide
        elif mode == "relative":
            out = _relative_mode(drv, person, ref_full, ratio)
        else:
            out = _bones_mode(guide, person, ref_full)
    extras = None if driving.extras is None else carry_extras(drv, driving.extras, out)
    return PoseSequence(out.astype(np.float32), width, height, driving.fps, source, extras=extras)


# Each hand and foot point (mapping.EXTRA_NAMES order) rides on the bone that ends at its joint:
# (from joint, to joint) = forearm for index, pinky and thumb, shank for heel and toe.
EXTRA_BONES = ((R_ELBOW, R_WRIST), (L_ELBOW, L_WRIST), (R_ELBOW, R_WRIST), (L_ELBOW, L_WRIST),
               (R_ELBOW, R_WRIST), (L_ELBOW, L_WRIST), (R_KNEE, R_ANKLE), (L_KNEE, L_ANKLE),
               (R_KNEE, R_ANKLE), (L_KNEE, L_ANKLE))


def carry_extras(drv: np.ndarray, extras: np.ndarray, out: np.ndarray) -> np.ndarray:
    """float32 (T, 10, 3): the driving hand and foot points (T, 10, 3) carried onto the retargeted
    joints `out` (T, 13, 3): each keeps its place relative to its bone (`EXTRA_BONES`), the bone's
    turn and stretch from the driving (T, 13, 3) to `out` applied to its offset from the bone's
    end. A point whose bone is not seen at both ends, in both, is dropped (confidence 0)."""
    extras = np.asarray(extras, np.float64)
    moved = np.zeros_like(extras)
    for k, (a, b) in enumerate(EXTRA_BONES):
        before = drv[:, b, :2] - drv[:, a, :2]
        after = out[:, b, :2] - out[:, a, :2]
        # The similarity that turns `before` into `after`, as a complex ratio: z_after / z_before.
        z_before = before[:, 0] + 1j * before[:, 1]
        z_after = after[:, 0] + 1j * after[:, 1]
        ok = ((drv[:, a, 2] > 0) & (drv[:, b, 2] > 0) & (out[:, a, 2] > 0) & (out[:, b, 2] > 0)
              & (extras[:, k, 2] > 0) & (np.abs(z_before) > 1e-6))
        turn = np.where(ok, z_after / np.where(ok, z_before, 1.0), 0.0)
        offset = (extras[:, k, 0] - drv[:, b, 0]) + 1j * (extras[:, k, 1] - drv[:, b, 1])
        placed = out[:, b, 0] + 1j * out[:, b, 1] + turn * offset
        moved[:, k, 0] = np.where(ok, placed.real, 0.0)
        moved[:, k, 1] = np.where(ok, placed.imag, 0.0)
        moved[:, k, 2] = np.where(ok, extras[:, k, 2], 0.0)
    return moved.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Measuring a body
# --------------------------------------------------------------------------------------------
def body_height(keypoints: np.ndarray) -> np.ndarray | float:
    """Body height in pixels: the head-neck-pelvis-knee-ankle chain length (module docstring).

    keypoints: (13, 3) or (T, 13, 3). Returns a float, or (T,) floats; NaN where no two joints
    joined by a bone are visible (or all visible bones have length 0).
    """
    kp = np.asarray(keypoints, np.float64)
    single = kp.ndim == 2
    kp = kp[None] if single else kp
    xy, seen = kp[..., :2], kp[..., 2] > 0

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a - b, axis=-1)

    neck = (xy[:, R_SHOULDER] + xy[:, L_SHOULDER]) / 2
    has_neck = seen[:, R_SHOULDER] & seen[:, L_SHOULDER]
    pelvis = (xy[:, R_HIP] + xy[:, L_HIP]) / 2
    has_pelvis = seen[:, R_HIP] & seen[:, L_HIP]
    head_neck = np.where(seen[:, HEAD] & has_neck, dist(xy[:, HEAD], neck), np.nan)
    torso = np.where(has_neck & has_pelvis, dist(neck, pelvis), np.nan)
    legs = np.stack([np.where(seen[:, a] & seen[:, b] & seen[:, c], dist(xy[:, a], xy[:, b]) + dist(xy[:, b], xy[:, c]),
                              np.nan) for a, b, c in _LEGS])                      # (2, T)
    leg_count = np.isfinite(legs).sum(0)
    leg = np.where(leg_count > 0, np.where(np.isfinite(legs), legs, 0.0).sum(0) / np.maximum(leg_count, 1), np.nan)

    parts = np.stack([head_neck, torso, leg], axis=-1)                           # (T, 3)
    present = np.isfinite(parts)
    share = (present * np.asarray(CHAIN_SHARES)).sum(-1)
    chain = np.where(present, parts, 0.0).sum(-1) / np.where(share > 0, share, 1.0)

    bone_sum, bone_share = np.zeros(len(kp)), np.zeros(len(kp))
    for (a, b), bone in BONE_SHARES.items():
        both = seen[:, a] & seen[:, b]
        bone_sum += np.where(both, dist(xy[:, a], xy[:, b]), 0.0)
        bone_share += both * bone
    from_bones = np.where(bone_share > 0, bone_sum / np.where(bone_share > 0, bone_share, 1.0), np.nan)

    height = np.where(share > 0, chain, from_bones)
    height = np.where(height > 0, height, np.nan)         # a body collapsed to a point has no size
    return float(height[0]) if single else height


def _size_ratio(ref: np.ndarray, ref_name: str, drv: np.ndarray, drv_name: str) -> float:
    """s = reference height / median driving height (drv: frames with a person only)."""
    ref_height = body_height(ref)
    if not np.isfinite(ref_height):
        raise NoPersonError(f"{ref_name}: the reference pose shows too little of the body to measure its size "
                            "(needs two visible joints joined by a bone)")
    heights = body_height(drv)
    heights = heights[np.isfinite(heights)]
    if heights.size == 0:
        raise NoPersonError(f"{drv_name}: no frame shows enough of the body to measure its size "
                            "(needs two visible joints joined by a bone)")
    ratio = ref_height / float(np.median(heights))
    logger.info("retarget: reference height %.1f px, driving median height %.1f px, ratio %.4f",
                ref_height, float(np.median(heights)), ratio)
    return ratio


def _anchor_candidates(kp: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-frame anchor points, best first: x candidates and y candidates, each (T,) with NaN.

    x: hip midpoint, shoulder midpoint, centroid of visible joints.
    y: ground line (lowest visible ankle, the largest y), hip midpoint, shoulder midpoint, centroid.
    """
    xy, seen = kp[..., :2], kp[..., 2] > 0

    def midpoint(a: int, b: int) -> np.ndarray:
        ok = (seen[:, a] & seen[:, b])[:, None]
        return np.where(ok, (xy[:, a] + xy[:, b]) / 2, np.nan)

    pelvis, neck = midpoint(R_HIP, L_HIP), midpoint(R_SHOULDER, L_SHOULDER)
    count = seen.sum(1)
    centroid = np.where((count > 0)[:, None], (xy * seen[..., None]).sum(1) / np.maximum(count, 1)[:, None], np.nan)
    ankles_y = np.where(seen[:, [R_ANKLE, L_ANKLE]], xy[:, [R_ANKLE, L_ANKLE], 1], -np.inf).max(1)
    ground = np.where(np.isfinite(ankles_y), ankles_y, np.nan)
    return ([pelvis[:, 0], neck[:, 0], centroid[:, 0]],
            [ground, pelvis[:, 1], neck[:, 1], centroid[:, 1]])


def _anchors(ref: np.ndarray, drv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reference anchor (2,), driving anchor (2,)): per axis the first kind both have, median over frames."""
    ref_x, ref_y = _anchor_candidates(ref[None])
    drv_x, drv_y = _anchor_candidates(drv)
    ref_point, drv_point = np.zeros(2), np.zeros(2)
    for axis, (ref_kinds, drv_kinds) in enumerate(((ref_x, drv_x), (ref_y, drv_y))):
        for ref_value, drv_values in zip(ref_kinds, drv_kinds):
            drv_values = drv_values[np.isfinite(drv_values)]
            if np.isfinite(ref_value[0]) and drv_values.size:
                ref_point[axis], drv_point[axis] = ref_value[0], np.median(drv_values)
                break
    return ref_point, drv_point


# --------------------------------------------------------------------------------------------
# Filling missing joints
# --------------------------------------------------------------------------------------------
def _complete_reference(ref: np.ndarray, drv: np.ndarray, ratio: float) -> np.ndarray:
    """The reference with joints it lacks taken from the driving (fill rule 1). drv: person frames."""
    full = ref.copy()
    ref_seen = ref[:, 2] > 0
    for joint in np.flatnonzero(~ref_seen):
        frames = np.flatnonzero(drv[:, joint, 2] > 0)
        for t in frames:
            common = ref_seen & (drv[t, :, 2] > 0)
            if common.any():
                offset = drv[t, joint, :2] - drv[t, common, :2].mean(0)
                full[joint, :2] = ref[common, :2].mean(0) + ratio * offset
                full[joint, 2] = min(FILL_CONFIDENCE, drv[t, joint, 2])
                break
    return full


def _complete_by_figure(full: np.ndarray) -> np.ndarray:
    """The completed reference with the hips, knees and ankles that neither it nor the driving shows
    (a photo and a video both cut at the waist, or at the chest) placed as the standard figure has
    them, fitted to the head, shoulders and hips it has, at confidence FIGURE_CONFIDENCE: the legs
    below a waist-up photo's edge say it is cut there, and a chest-up figure has a trunk to draw."""
    missing = [j for j in (R_HIP, L_HIP, R_KNEE, L_KNEE, R_ANKLE, L_ANKLE) if full[j, 2] <= 0]
    basis = [j for j in TORSO_JOINTS if full[j, 2] > 0]
    if not missing or len(basis) < 3:
        return full
    matrix, shift = _fit_similarity(STANDARD_FIGURE[basis, :2], full[basis, :2])
    full = full.copy()
    full[missing, :2] = STANDARD_FIGURE[missing, :2] @ matrix.T + shift
    full[missing, 2] = FIGURE_CONFIDENCE
    return full


class _CarryAlong:
    """Fill rule 2. Remembers, per joint, the last frame that saw it (at first: the completed reference).

    A joint missing now is moved from that frame by the 2-D similarity (scale, rotation, translation;
    least squares) that takes the joints seen in both frames from there to here: a translation only
    when fewer than 3 joints are shared, nothing when none are. Fitting to the joint's own last seen
    frame, not chaining frame to frame, keeps a long gap from drifting.

    hang (`steady`): a joint the driving has not yet seen is the reference's own, moved with the
    nearest joint up its limb that is seen (`_holder`: a knee and an ankle with their hip, a hip with
    its shoulder), not turned or scaled: the reference's limbs are in the photo's pose, not the
    driving's, and a similarity fitted to the driving's raised arms would turn the photo's legs over
    its head.
    """

    def __init__(self, start: np.ndarray, hang: bool = False):
        seen = start[:, 2] > 0
        self.start = start if hang else None
        self.last: list[tuple[np.ndarray, np.ndarray] | None] = [(start, seen) if seen[j] else None
                                                                 for j in range(NUM_JOINTS)]

    def fill(self, current: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """current (13, 3) with `seen` (13,) bool placed; returns a copy with the other joints filled."""
        out = current.copy()
        groups: dict[int, list[int]] = {}
        for joint in np.flatnonzero(~seen):
            if self.last[joint] is not None:
                groups.setdefault(id(self.last[joint]), []).append(int(joint))
        for joints in groups.values():
            key_pose, key_seen = self.last[joints[0]]
            common = seen & key_seen
            scale_rotation, shift = _fit_similarity(key_pose[common, :2], current[common, :2])
            out[joints, :2] = key_pose[joints, :2] @ scale_rotation.T + shift
            out[joints, 2] = np.minimum(key_pose[joints, 2], FILL_CONFIDENCE)
            if key_pose is self.start:  # never seen: the reference's own, hanging from what holds it
                for joint in joints:
                    holder = _holder(joint, common)
                    if holder is not None:
                        out[joint, :2] = key_pose[joint, :2] + current[holder, :2] - key_pose[holder, :2]
        return out

    def update(self, pose: np.ndarray, seen: np.ndarray) -> None:
        """Record `pose` (13, 3) as the last frame that saw the joints where `seen` is True."""
        entry = (pose, seen.copy())
        for joint in np.flatnonzero(seen):
            self.last[joint] = entry


# What holds each joint up: a limb's joint its parent, a hip its shoulder, a shoulder its hip, the head
# a shoulder. `_holder` walks this to the first joint seen.
_HELD_BY = {R_ELBOW: R_SHOULDER, R_WRIST: R_ELBOW, L_ELBOW: L_SHOULDER, L_WRIST: L_ELBOW,
            R_KNEE: R_HIP, R_ANKLE: R_KNEE, L_KNEE: L_HIP, L_ANKLE: L_KNEE,
            R_HIP: R_SHOULDER, L_HIP: L_SHOULDER, R_SHOULDER: R_HIP, L_SHOULDER: L_HIP, HEAD: R_SHOULDER}


def _holder(joint: int, seen: np.ndarray) -> int | None:
    """The nearest joint up `_HELD_BY` from `joint` that `seen` (13,) bool has; None when none."""
    visited = {joint}
    while joint in _HELD_BY and _HELD_BY[joint] not in visited:
        joint = _HELD_BY[joint]
        if seen[joint]:
            return joint
        visited.add(joint)
    return None


def _fit_similarity(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M (2, 2), t (2,)) with target ~ source @ M.T + t; M = scale x rotation. source, target: (N, 2)."""
    if len(source) == 0:
        return np.eye(2), np.zeros(2)
    source_center, target_center = source.mean(0), target.mean(0)
    a, b = source - source_center, target - target_center
    spread = float((a * a).sum())
    if len(source) < 3 or spread < 1e-9:
        return np.eye(2), target_center - source_center
    dot = float((a * b).sum()) / spread
    cross = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / spread
    matrix = np.array([[dot, -cross], [cross, dot]])
    return matrix, target_center - source_center @ matrix.T


# --------------------------------------------------------------------------------------------
# The modes
# --------------------------------------------------------------------------------------------
def _scale_mode(drv: np.ndarray, person: np.ndarray, ref: np.ndarray, ref_full: np.ndarray,
                ratio: float) -> np.ndarray:
    """(T, 13, 3): one similarity (ratio, anchors) for all frames, then the fill rule."""
    ref_anchor, drv_anchor = _anchors(ref, drv[person])
    logger.info("retarget: driving anchor (%.1f, %.1f) -> reference anchor (%.1f, %.1f)", *drv_anchor, *ref_anchor)
    return _map_and_fill(drv, person, ref_full, ratio, drv_anchor, ref_anchor)


def _map_and_fill(drv: np.ndarray, person: np.ndarray, ref_full: np.ndarray, scale, drv_anchor,
                  ref_anchor, hang: bool = False) -> np.ndarray:
    """(T, 13, 3): every seen driving joint moved by scale x (joint - drv_anchor) + ref_anchor
    (scale and drv_anchor broadcast over frames and joints), then the joints not seen filled
    along the reference's own (`_CarryAlong`)."""
    out = np.zeros_like(drv)
    seen = drv[..., 2] > 0
    mapped = scale * (drv[..., :2] - drv_anchor) + ref_anchor
    out[..., :2] = np.where(seen[..., None], mapped, 0.0)
    out[..., 2] = drv[..., 2]
    carry = _CarryAlong(ref_full, hang)
    for t in np.flatnonzero(person):
        out[t] = carry.fill(out[t], seen[t])
        carry.update(out[t], seen[t])
    return out


def _relative_mode(drv: np.ndarray, person: np.ndarray, ref_full: np.ndarray, ratio: float) -> np.ndarray:
    """(T, 13, 3): reference + ratio x displacement since each joint's anchor frame, then the fill rule."""
    out = np.zeros_like(drv)
    anchored = np.zeros(NUM_JOINTS, bool)
    anchor_out = np.zeros((NUM_JOINTS, 2))   # where the joint was put in its anchor frame
    anchor_drv = np.zeros((NUM_JOINTS, 2))   # where the driving had it then
    carry = _CarryAlong(ref_full)
    for t in np.flatnonzero(person):
        seen = drv[t, :, 2] > 0
        old = seen & anchored
        current = np.zeros((NUM_JOINTS, 3))
        current[old, :2] = anchor_out[old] + ratio * (drv[t, old, :2] - anchor_drv[old])
        current[old, 2] = drv[t, old, 2]
        # Everything else where the fill rule puts it; a joint seen for the first time is anchored
        # there (in the first frame that is the reference itself: nothing has moved yet).
        current = carry.fill(current, old)
        new = seen & ~anchored & (current[:, 2] > 0)
        anchor_out[new] = current[new, :2]
        anchor_drv[new] = drv[t, new, :2]
        anchored |= new
        current[new, 2] = drv[t, new, 2]
        # A seen joint that cannot be placed (no reference, no earlier frame) stays missing.
        current[seen & ~anchored] = 0.0
        out[t] = current
        carry.update(current, seen & anchored)
    return out


def _bones_mode(guide: np.ndarray, person: np.ndarray, ref_full: np.ndarray) -> np.ndarray:
    """(T, 13, 3): the reference torso fitted rigidly to the guide, limbs at the guide's angles."""
    out = np.zeros_like(guide)
    in_ref = ref_full[:, 2] > 0
    torso = [j for j in TORSO_JOINTS if in_ref[j]]
    ref_torso = ref_full[torso, :2]
    ref_center = ref_torso.mean(0) if torso else np.zeros(2)
    last_direction: dict[tuple[int, int], np.ndarray] = {}
    for t in np.flatnonzero(person):
        frame = guide[t].copy()
        placed = frame[:, 2] > 0
        if torso:
            # The guide has every joint the completed reference has (fill rule), so the fit uses all.
            center = frame[torso, :2].mean(0)
            rotation = _best_rotation(ref_torso - ref_center, frame[torso, :2] - center)
            frame[torso, :2] = (ref_torso - ref_center) @ rotation.T + center
        for parent, child in LIMB_BONES:
            if not (placed[child] and placed[parent] and in_ref[child] and in_ref[parent]):
                continue  # no reference length for this bone: the guide's position stays
            length = float(np.linalg.norm(ref_full[child, :2] - ref_full[parent, :2]))
            direction = guide[t, child, :2] - guide[t, parent, :2]
            norm = float(np.linalg.norm(direction))
            if norm > 1e-9:
                direction = direction / norm
            else:  # the guide's bone has no direction: keep the last one (or the reference's)
                direction = last_direction.get((parent, child))
                if direction is None:
                    ref_bone = ref_full[child, :2] - ref_full[parent, :2]
                    direction = ref_bone / length if length > 0 else np.array([0.0, 1.0])
            last_direction[(parent, child)] = direction
            frame[child, :2] = frame[parent, :2] + length * direction
        out[t] = frame
    return out


def _steady_mode(drv: np.ndarray, person: np.ndarray, ref: np.ndarray, ref_full: np.ndarray, fps: float,
                 size: tuple[int, int], as_given: np.ndarray, name: str = "<reference pose>",
                 cut_given: set | None = None) -> np.ndarray:
    """(T, 13, 3): per-frame size and anchors from smoothed driving measures, then the fill rule, then
    the fit into the frame (module docstring, `steady`). ref: the reference's joints in view
    (`_in_view`); as_given: all of them, where the fit may reach."""
    # The photo's edges its person runs past: a completion from the driving's first frame (a wrist it
    # lacks, raised there) says nothing about the photo's framing, but legs completed below it do
    cut = _cut_edges(as_given, *size) | (_cut_edges(ref_full, *size) & {"lower"}) | (cut_given or set())
    # Each frame's size ratio on the joints both show: a photo cut at the waist is sized by its head
    # and trunk against the driving's, and a driving video cut at the waist by its own, instead of
    # against a whole height guessed from standard proportions for the legs one of them lacks.
    both = (ref[:, 2] > 0)[None, :] & (drv[..., 2] > 0)                          # (T, 13)
    ref_heights = body_height(np.where(both[..., None], ref[None], 0.0))
    heights = body_height(np.where(both[..., None], drv, 0.0))
    # ... where they share the trunk: a head's length alone says little (a nod would scale the figure)
    trunk = both[:, [R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all(1)
    whole = np.log(body_height(ref)) - np.log(body_height(drv))
    # A driving video cut above the hips (a webcam's view) has no height of its own but a guess from
    # the head's length, which a shrug or raised arms shorten by a third: sized instead by the head
    # and the shoulders' span both show, near their longest over a few seconds (projection and
    # shrugs only shorten them)
    upper = np.log(_upper_size(ref[None])) - np.log(_upper_size(drv))
    upper = np.where(np.isfinite(upper) & person, upper, np.nan)
    if np.isfinite(upper).any():
        upper = _near_longest(upper, _half_window(UPPER_SIZE_WINDOW_SECONDS, fps))
    no_hips = (drv[:, [R_HIP, L_HIP], 2] <= 0).all(1)   # (a hip hidden for a moment: the whole height)
    whole = np.where(no_hips & np.isfinite(upper), upper, whole)
    log_ratio = np.where(person, np.where(trunk, np.log(ref_heights) - np.log(heights), whole), np.nan)
    # Log space, so that a zoom in and the same zoom out weigh the same.
    scale = np.exp(_smooth(log_ratio, _half_window(SIZE_WINDOW_SECONDS, fps), np.median))   # (T,)
    size_now = body_height(ref) / scale

    ref_anchor, drv_anchor = np.zeros(2), np.zeros((len(drv), 2))
    ref_x, ref_y = _anchor_candidates(ref[None])
    drv_x, drv_y = _anchor_candidates(np.where(person[:, None, None], drv, 0.0))
    for axis, (ref_kinds, drv_kinds) in enumerate(((ref_x, drv_x), (ref_y, drv_y))):
        for kind, (ref_value, drv_values) in enumerate(zip(ref_kinds, drv_kinds)):
            drv_values = np.where(person, drv_values, np.nan)
            if np.isfinite(ref_value[0]) and np.isfinite(drv_values).any():
                ground = axis == 1 and kind == 0
                if ground:   # the ground line: where the lowest ankle comes back down to
                    track = _ground_line(drv_values, _half_window(GROUND_WINDOW_SECONDS, fps))
                elif ((axis == 1 and ("lower" in cut or np.isfinite(ref_y[0][0])))
                      or (axis == 0 and cut & {"left", "right"})):
                    # Held where the photo has it each frame: across a cut edge (moving off it shows the
                    # cut), and up and down when the driving shows no ankles but the photo stands (its
                    # legs stand in for the video's, and a bob or a landing of legs nobody sees would
                    # sink them through the floor or lift them off it)
                    track = _interpolate(drv_values)
                else:        # the body's own slow drift, which a pan or a zoom also makes
                    track = _smooth(drv_values, _half_window(LATERAL_WINDOW_SECONDS, fps), np.median)
                ref_anchor[axis], drv_anchor[:, axis] = ref_value[0], track
                break
    logger.info("retarget (steady): reference anchor (%.1f, %.1f), driving height %.1f-%.1f px",
                *ref_anchor, np.nanmin(size_now), np.nanmax(size_now))

    out = _map_and_fill(drv, person, ref_full, scale[:, None, None], drv_anchor[:, None, :], ref_anchor, hang=True)
    if cut:  # a photo of part of the person: framed as it was taken
        logger.warning("%s: the photo's %s edge%s cut%s the person: animated as framed (the figure keeps its size%s; "
                       "what the motion takes past the edges leaves the frame)", name, " and ".join(sorted(cut)),
                       "s" if len(cut) > 1 else "", "" if len(cut) > 1 else "s",
                       " and stays against the cut edge" if cut - {"upper"} else "")
        return out
    # The shrink keeps the feet on the ground line: the photo's, when the driving shows no ankles
    # (a video cut at the waist anchors on the hips, which a shrink about them would lift off it)
    pivot = np.array([ref_anchor[0], ref_y[0][0] if np.isfinite(ref_y[0][0]) else ref_anchor[1]])
    return _fit_in_frame(out, person, as_given, pivot, size, _half_window(FIT_WINDOW_SECONDS, fps))


def _cut_edges(pose: np.ndarray, width: int, height: int) -> set:
    """The edges of a width x height photo ("lower", "upper", "left", "right") that `pose` (13, 3)
    runs past (`past_the_edge`)."""
    past, xy = past_the_edge(pose, width, height), pose[:, :2]
    return {edge for edge, beyond in (("lower", xy[:, 1] > height - 1), ("upper", xy[:, 1] < 0),
                                      ("left", xy[:, 0] < 0), ("right", xy[:, 0] > width - 1)) if (past & beyond).any()}


def inside_by(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """float (N,): how far each point of xy (N, 2) lies inside a width x height image, from its
    nearest edge (negative: past it)."""
    xy = np.asarray(xy, np.float64)
    return np.minimum(np.minimum(xy[:, 0], width - 1 - xy[:, 0]), np.minimum(xy[:, 1], height - 1 - xy[:, 1]))


def past_the_edge(pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """bool (13,) or (T, 13): the joints of `pose` (13, 3) or of each frame of poses (T, 13, 3)
    further than PAST_EDGE x its body height past the edges of a width x height image: the image
    does not show them (a pose model's guesses; an ankle a few pixels past the lower edge is a foot
    at the edge)."""
    pose = np.asarray(pose, np.float64)
    frames = pose.reshape(-1, NUM_JOINTS, 3)
    seen = frames[..., 2] > 0
    heights = np.atleast_1d(body_height(frames))
    slack = np.where(np.isfinite(heights) & (seen.sum(1) > 1), PAST_EDGE * heights, 0.0)       # (T,)
    depth = inside_by(frames[..., :2].reshape(-1, 2), width, height).reshape(seen.shape)
    return (seen & (depth < -slack[:, None])).reshape(pose.shape[:-1])


def _in_view(ref: np.ndarray, width: int, height: int, name: str) -> np.ndarray:
    """The reference with its joints past the image's edges unseen (confidence 0): a photo cut at the
    waist has no knees, and what a pose model places below its edge is a guess (MediaPipe's come with
    confidences of 0.01-0.1), which would set the figure's size and ground line."""
    outside = past_the_edge(ref, width, height)
    if not outside.any() or outside.all():
        return ref
    logger.info("%s: %d joint(s) of the reference lie past the photo's edge and are taken as not seen", name,
                int(outside.sum()))
    ref = ref.copy()
    ref[outside] = 0.0
    return ref


def _driving_in_view(drv: np.ndarray, width: int, height: int, name: str) -> np.ndarray:
    """The driving poses (T, 13, 3) without the legs its frame cuts off: the hips, or the knees, past
    its edges in most frames with a person, and what hangs from them, unseen in every frame. A video
    cut at the waist (a webcam's view) comes with knees and ankles a pose model guesses below it,
    which set the figure's size, legs and ground line: the figure shrank by a fifth whenever a
    jumping person's hips rose from guessed legs that stayed put. The photo's own legs stand in for
    them (`_CarryAlong`, hang). Past the edge means further than PAST_EDGE body heights, or past it at
    all under EDGE_GUESS (MediaPipe's knees just below a waist-high frame: 0.2-0.36). The clip keeps
    one rule throughout, so a leg does not jump between the driving's and the photo's. Kept as the
    pose model gives them: an ankle below a knee in view (a squat puts it where the squat does) and
    the arms (a hand below a chest-high frame hangs there, and rises into view to wave)."""
    kp = np.asarray(drv, np.float64)
    seen = kp[..., 2] > 0
    person = seen.any(1)
    if not person.any():
        return drv
    outside = inside_by(kp[..., :2].reshape(-1, 2), width, height).reshape(seen.shape) < 0
    past = past_the_edge(kp, width, height) | (seen & outside & (kp[..., 2] < EDGE_GUESS))
    most = past[person].mean(0) > 0.5
    cut = np.zeros(NUM_JOINTS, bool)
    for hip, knee, ankle in _LEGS:  # an ankle goes with its knee, but below a knee in view it is the squat's
        cut[hip] = most[hip]
        cut[knee] = most[knee] or cut[hip]
        cut[ankle] = cut[knee]
    if not cut.any() or cut[seen.any(0)].all():
        return drv
    logger.warning("%s: the video's frame cuts the person (%s past its edge in most frames): the photo's "
                   "own stand in for them", name, ", ".join(JOINT_NAMES[j] for j in np.flatnonzero(cut)))
    drv = drv.copy()
    drv[:, cut] = 0.0
    return drv


def _fit_in_frame(out: np.ndarray, person: np.ndarray, ref: np.ndarray, pivot: np.ndarray, size: tuple[int, int],
                  half: int) -> np.ndarray:
    """Shrink the figure about `pivot` (its ground point) and slide it sideways so every placed joint
    stays inside the image, gradually over about 2 * half + 1 frames. out: (T, 13, 3), changed in place.

    Bounds per joint: the image less the margins (FRAME_MARGIN, HEAD_MARGIN x reference height), but
    never tighter than where the reference itself has its joints (a reference at the edge stays valid).
    The shrink is a rolling minimum then a rolling mean of each frame's need, so it is never less
    than that need; the slide is clipped to each frame's bounds; a last clip catches what MIN_FIT
    does not allow.
    """
    width, height = size
    ref_height = body_height(ref)
    margin = np.full((NUM_JOINTS, 2), FRAME_MARGIN * ref_height)
    lower = margin.copy()
    lower[HEAD, 1] = HEAD_MARGIN * ref_height
    upper = np.array([width - 1.0, height - 1.0]) - margin
    ref_seen = ref[:, 2] > 0
    if ref_seen.any():
        ref_low, ref_high = ref[ref_seen, :2].min(0), ref[ref_seen, :2].max(0)
        lower = np.minimum(lower, ref_low)
        upper = np.maximum(upper, ref_high)
    pivot = np.clip(pivot, lower.max(0), upper.min(0)) if (lower.max(0) <= upper.min(0)).all() else pivot

    placed = (out[..., 2] > 0) & person[:, None]                                 # (T, 13)
    xy = out[..., :2]
    # Vertical need: each joint's room between the pivot's height and its bound, over its reach.
    reach_y = xy[..., 1] - pivot[1]
    room_y = np.where(reach_y > 0, upper[:, 1] - pivot[1], pivot[1] - lower[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(placed & (np.abs(reach_y) > 1e-9), room_y / np.abs(reach_y), np.inf).min(1)
    # Horizontal need: only when the figure is wider than the room (otherwise it slides).
    span = np.where(placed, xy[..., 0], -np.inf).max(1) - np.where(placed, xy[..., 0], np.inf).min(1)
    room_x = float((upper[:, 0] - lower[:, 0]).min())
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.minimum(need, np.where(span > room_x, room_x / span, np.inf))
    need = np.clip(np.where(person, need, 1.0), MIN_FIT, 1.0)
    fit = _opening(need, half)                                                  # <= need, gradual
    xy[:] = np.where(placed[..., None], pivot + fit[:, None, None] * (xy - pivot), xy)

    # Slide: the least shift that brings the sides in, then smoothed the same way on each side.
    x_low = np.where(placed, xy[..., 0] - lower[:, 0], np.inf).min(1)        # >= 0 when the left is in
    x_high = np.where(placed, xy[..., 0] - upper[:, 0], -np.inf).max(1)      # <= 0 when the right is in
    right = np.where(person & np.isfinite(x_low), np.maximum(-x_low, 0.0), 0.0)
    left = np.where(person & np.isfinite(x_high), np.maximum(x_high, 0.0), 0.0)
    shift = -_opening(-right, half) - (-_opening(-left, half))
    shift = np.clip(shift, -x_low, -x_high)             # +-inf where a frame has no joint: no bound
    shift = np.where(np.isfinite(shift), shift, 0.0)
    xy[..., 0] = np.where(placed, xy[..., 0] + shift[:, None], xy[..., 0])
    clipped = placed & ((xy < lower) | (xy > upper)).any(-1)
    if clipped.any():
        logger.info("retarget (steady): %d joint positions in %d frames clipped to the frame (the figure "
                    "could not shrink further than %.2f)", int(clipped.sum()), int(clipped.any(1).sum()), MIN_FIT)
        xy[:] = np.where(placed[..., None], np.clip(xy, lower, upper), xy)
    return out


def _half_window(seconds: float, fps: float) -> int:
    """Frames on each side of a centred window of about `seconds`."""
    return max(0, round(seconds * fps / 2))


def _windows(values: np.ndarray, half: int, fill: float) -> np.ndarray:
    """(T, 2 * half + 1) view: row t holds values[t - half : t + half + 1], `fill` beyond the ends."""
    padded = np.concatenate([np.full(half, fill), values, np.full(half, fill)])
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)


def _ground_line(lowest_ankle: np.ndarray, half: int) -> np.ndarray:
    """(T,) the ground line under a lowest-ankle track (T,) with NaN: a trend (rolling median then mean
    over twice the window, which a steady tilt or zoom of the camera moves and a short jump does not)
    plus the upper envelope of what is left about it (so the line is where the feet come down to,
    not their average, and a steady trend does not bias it as an envelope of the raw track would)."""
    trend = _smooth(lowest_ankle, 2 * half, np.median)
    return trend + _smooth(lowest_ankle - trend, half, _upper_envelope)


def _upper_size(kp: np.ndarray) -> np.ndarray:
    """(T,) the head-to-neck length plus the shoulders' span of kp (T, 13, 3); NaN where one is not seen."""
    xy, seen = kp[..., :2], kp[..., 2] > 0
    neck = (xy[:, R_SHOULDER] + xy[:, L_SHOULDER]) / 2
    size = np.linalg.norm(xy[:, HEAD] - neck, axis=-1) + np.linalg.norm(xy[:, R_SHOULDER] - xy[:, L_SHOULDER], axis=-1)
    return np.where(seen[:, [HEAD, R_SHOULDER, L_SHOULDER]].all(1) & (size > 0), size, np.nan)


def _near_longest(log_ratio: np.ndarray, half: int) -> np.ndarray:
    """(T,) log size ratios (T,) with NaN (filled linearly) taken near the driving body's longest: a
    rolling low percentile then a rolling mean over 2 * half + 1 frames, the windows cut short at the
    ends (a reflected dip would make up a body longer than any frame shows)."""
    values = _interpolate(np.asarray(log_ratio, np.float64))
    if half == 0 or not np.isfinite(values).all():
        return values
    low = np.nanpercentile(_windows(values, half, np.nan), 10, axis=1)
    return np.nanmean(_windows(low, half, np.nan), axis=1)


def _upper_envelope(window: np.ndarray, axis: int) -> np.ndarray:
    """The ground line in a window of lowest-ankle heights: a high percentile, robust to one odd frame."""
    return np.percentile(window, 90, axis=axis)


def _smooth(values: np.ndarray, half: int, reduce) -> np.ndarray:
    """A rolling `reduce` (np.median, _upper_envelope) then a rolling mean, both centred over 2 * half + 1
    frames. values: (T,) with NaN where not measured: filled linearly from the measured frames first
    (the nearest beyond the ends). The ends are padded by point reflection, so a steady trend (a zoom
    under way when the clip starts or stops) is followed to the last frame instead of flattened.
    All NaN in, all NaN out."""
    values = _interpolate(np.asarray(values, np.float64))
    if half == 0 or len(values) < 2 or not np.isfinite(values).all():
        return values
    reduced = reduce(_reflected_windows(values, half), axis=1)
    return _reflected_windows(reduced, half).mean(1)


def _reflected_windows(values: np.ndarray, half: int) -> np.ndarray:
    """(T, 2 * half + 1) view of values (T >= 2) padded at each end by point reflection."""
    padded = np.pad(values, half, mode="reflect", reflect_type="odd")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)


def _interpolate(values: np.ndarray) -> np.ndarray:
    """NaN entries of (T,) filled linearly from the finite ones (the nearest beyond the ends)."""
    good = np.isfinite(values)
    if good.all() or not good.any():
        return values
    index = np.arange(len(values))
    return np.interp(index, index[good], values[good])


def _opening(need: np.ndarray, half: int) -> np.ndarray:
    """A rolling minimum then a rolling mean over 2 * half + 1 frames: smooth, and never above `need`
    (every window averaged holds frame t, so each minimum in it is <= need[t])."""
    if half == 0:
        return need.copy()
    low = _windows(need, half, np.inf).min(1)
    low = np.where(np.isfinite(low), low, need)
    padded = _windows(low, half, np.nan)
    return np.nanmean(padded, axis=1)


def _best_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x2 rotation R minimising sum |R source_i - target_i|^2 (both centred, (N, 2))."""
    dot = float((source * target).sum())
    cross = float((source[:, 0] * target[:, 1] - source[:, 1] * target[:, 0]).sum())
    angle = np.arctan2(cross, dot) if (dot or cross) else 0.0
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def _reference(reference_pose: np.ndarray | PoseSequence, reference_size: Sequence[int] | None
               ) -> tuple[np.ndarray, tuple[int, int], str]:
    """(pose float64 (13, 3), (width, height), name for messages), validated."""
    if isinstance(reference_pose, PoseSequence):
        name = reference_pose.source
        if len(reference_pose) != 1:
            raise PoseFileError(f"{name}: a reference pose must be one frame, got {len(reference_pose)} frames")
        if reference_size is None:
            reference_size = (reference_pose.width, reference_pose.height)
        elif (reference_pose.width, reference_pose.height) != tuple(int(v) for v in reference_size):
            logger.info("%s: rescaling the reference pose from %dx%d to %dx%d", name, reference_pose.width,
                        reference_pose.height, *reference_size)
            reference_pose = reference_pose.rescaled(*reference_size)
        pose = reference_pose.keypoints[0]
    else:
        name = "<reference pose>"
        if reference_size is None:
            raise IlatError("retarget: reference_size=(width, height) is needed with a reference pose array")
        pose = np.asarray(reference_pose, np.float64)
        if pose.shape != (NUM_JOINTS, 3):
            raise PoseFileError(f"{name}: expected a ({NUM_JOINTS}, 3) array, got shape {pose.shape}")
    if len(reference_size) != 2:
        raise IlatError(f"retarget: reference_size must be (width, height), got {reference_size!r}")
    width, height = (int(v) for v in reference_size)
    checked = PoseSequence(np.asarray(pose, np.float32)[None], width, height, source=name)  # validates
    return checked.keypoints[0].astype(np.float64), (width, height), name
