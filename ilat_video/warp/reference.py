"""The reference photo, prepared once for any number of target poses (prepare_reference).

Each person pixel is given to one part (the nearest bone in units of the part's radius; arms own
their whole capsule, being in front, less what looks like the body around it: `colour.py`), each
part also takes its neighbour's pixels within a disc at the joints that link them (the overhang),
and each part's pixels are kept premultiplied in a crop of their own. Where the reference shows a
hand's or foot's points, its limb's pixels are also cut in two (the limb without it, and the hand
or foot) for targets that place it on its own. The method: the package docstring
(ilat_video/warp/__init__.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes

from ..errors import IlatError, NoPersonError
from ..pose.retarget import inside_by, past_the_edge
from ..pose.skeleton import HEAD, L_HIP, L_KNEE, L_SHOULDER, R_HIP, R_KNEE, R_SHOULDER
from ..spread import fill_by_material, solve_poisson
from .back import back_of_head
from .colour import arm_coloured, claim_by_colour, release_by_colour, rims_by_colour
from .elbows import elbow_offsets, moved_elbows
from .geometry import closed_by, distance_from, inside_polygon, shape_distance, smoothstep
from .parts import (
    ARM_PARTS,
    ARMS_LAYER,
    BASE_PARTS,
    BODY_LAYER,
    DEFAULT_RADIUS,
    EXTREMITIES,
    EXTREMITY_OF,
    HANDS,
    HEAD_PART,
    L_FORE,
    L_SHANK,
    L_THIGH,
    L_UPPER,
    LIMB_BONES,
    LIMB_CHAINS,
    LINKS,
    PART_JOINTS,
    PART_LAYER,
    PART_NAMES,
    R_FORE,
    R_SHANK,
    R_THIGH,
    R_UPPER,
    ROOT_LIMBS,
    TORSO,
    WarpConfig,
    check_extras,
    check_pose,
    extra_points,
    distance_to_part,
    extremity_bone,
    face_turned,
    head_bone,
    joint_ok,
    link_point,
    missing_reason,
    neck_point,
    spine,
    torso_frame,
    torso_polygon,
)

logger = logging.getLogger(__name__)

SOFT_MASK = (0.25, 0.75)  # soft mask values below / above count as background / person
# The torso owns no pixel of a shoulder's cap (`_shoulder_cap`) within SHOULDER_CAP_REACH x the upper arm's
# radius of its bone; an arm within SHOULDER_CAP_ANGLE degrees of the way to its hip has no cap, nor has a
# torso whose shoulders are under SHOULDER_CAP_WIDTH x its spine apart
SHOULDER_CAP_REACH, SHOULDER_CAP_ANGLE, SHOULDER_CAP_WIDTH = 2.0, 15.0, 0.45
# ... and of an arm raised more than ARMPIT_ANGLE degrees from the way to its hip, the cap takes in what lies past
# the torso's flank beneath the arm (the armpit; nearer the hip, the side of the torso past that line is its own)
ARMPIT_CAP, ARMPIT_ANGLE = True, 45.0
# ... and the arms' colour release (`colour.release_by_colour`) gives none of the cap back to the torso
CAP_KEEPS_COLOURS = True
JOINT_CAP_REACH = 1.5  # an elbow's or knee's overhang disc reaches at most this x the narrower limb's radius
# ... and an elbow's no farther than the arm's own pixels reach across it (`_reach_across`), nor less than
# ELBOW_DISC_LEAST x that radius: an arm hanging against the body has no edge of its own to measure and
# gets the default radius, and a raised arm carried a knob of forearm that far past its elbow; False: off
ELBOW_DISC_OWN, ELBOW_DISC_LEAST = True, 0.5
HIDDEN_REACH = 1.5  # the body's outline is closed over arms this many forearm radii wide (`_hidden_body`)
# A limb whose bone in the photo is under FORESHORTENED x its other side's (at least MIN_STAND_IN x the
# torso height) points at the camera: it is drawn from the other side's pixels, mirrored.
FORESHORTENED = 0.4
MIN_STAND_IN = 0.3
MIRRORED_LIMBS = ((R_UPPER, L_UPPER), (L_UPPER, R_UPPER), (R_FORE, L_FORE), (L_FORE, R_FORE),
                  (R_THIGH, L_THIGH), (L_THIGH, R_THIGH), (R_SHANK, L_SHANK), (L_SHANK, R_SHANK))
# A leg part whose visible pixels per pixel of bone are under OCCLUDED_WIDTH x its other side's, its
# bone at least OCCLUDED_LENGTH x the other's and the other's at least that x its own (neither pointing
# at the camera), is mostly hidden behind the other in the photo: it is drawn from the other side's
# pixels as they are, where a target moves it clear (`transforms.OCCLUDED_CLEAR`); so is the rest of
# its leg (the thigh above a hidden shank) where that is under OCCLUDED_LEG_WIDTH x its other side's.
OCCLUDED_WIDTH = 0.5
OCCLUDED_LEG_WIDTH = 0.75
OCCLUDED_LENGTH = 0.7
# An arm joint with confidence under ARM_JOINT_HIDDEN (MediaPipe's visibility: the joint is likely
# covered), the other arm's seen, is behind the head or the body (WarpConfig.hidden_arms). A part of
# that arm whose visible pixels per pixel of bone are under OCCLUDED_WIDTH x its other side's is drawn
# from the other side, mirrored, where a target moves its far joint (elbow, wrist)
# transforms.OCCLUDED_CLEAR x its radius farther from what hid it (the head or the torso, whichever is
# nearer in their radii) than in the photo.
ARM_JOINT_HIDDEN = 0.5
ARM_AT_EDGE = 0.25  # ... unless it lies within this x the torso's height of the photo's edge: cut by the frame
# A limb whose bone lies over FRAMED_OUT of its length past the photo's edge (and the limbs below it)
# moves with what it hangs from (the torso, the upper arm or thigh) instead of being posed
FRAMED_OUT = 0.3
FRAMED_RUN = 1.5  # ... or whose far joint is this x its radius from the edge and its pixels run along it as far
FACE_PAST_NOSE = 0.15  # x the head's radius: the face seen in profile reaches this far past its nose (`_face_reach`)
HIDDEN_ARMS = ((R_UPPER, L_UPPER), (L_UPPER, R_UPPER), (R_FORE, L_FORE), (L_FORE, R_FORE))
OCCLUDED_LIMBS = ((R_THIGH, L_THIGH), (L_THIGH, R_THIGH), (R_SHANK, L_SHANK), (L_SHANK, R_SHANK))
_SAME_LEG = {R_THIGH: R_SHANK, R_SHANK: R_THIGH, L_THIGH: L_SHANK, L_SHANK: L_THIGH}
CROTCH_DEPTH = 0.4  # the torso draws the crotch down to this share of the hips' way to the knees (`_crotch`)
SIDE_START = 0.35  # a side is carried on under an arm only from this share of the way from shoulders to hips
SIDE_GAP = 0.2  # ... across a seam of background up to this x the forearm's radius wide
SIDE_MIN_SHARE = 0.05  # body pieces under this share of the largest have no side of their own (`_sides_under_arms`)
ISLAND_AREA = 1.0  # body pieces an arm surrounds, under this x the forearm's radius squared, are the arm's
STRAND_WIDTH = 0.4  # strands of arm narrower than this x the narrower forearm's radius reaching into the body are its
MIN_HIDDEN = 20  # fewer hidden pixels than this for a part are not worth filling
SEAM_WIDTH = 0.2  # the seams between arms and body, this x the forearm's radius wide, recoloured (`_clean_seams`)
HIDDEN_SOURCE_DEPTH = 0.5  # the hidden body is filled from pixels this x the wider forearm's radius inside
HIDDEN_SOURCE_GAP = 1.0  # ... its materials none this near (x that radius) an arm in the arms' colours ...
HIDDEN_SOURCE_SEAM = 0.5  # ... nor any this near an arm (the seam's pixels mix the arm's skin and the shirt)
# The legs' hidden pixels take their materials from their rows first (`spread.fill_by_material`'s rows: the
# nearest of the leg's own pixels along the row, the seam's left out, the arm-coloured ones read too): a
# hem runs across a leg, and a hand hanging at the side hides its end; the trunk's materials run every way
# (hair over a shoulder, the shadow under a folded arm), and rows carried hair across a shirt's shoulders.
HEMMED_PARTS = (R_THIGH, L_THIGH, R_SHANK, L_SHANK)
# ... and so do the trunk's hidden pieces no wider along their rows, on average, than this x the wider
# forearm's radius (`_upright_strips`): the side of a top under an arm hanging beside it, across which the
# top's upper edge runs at the armpit (read by what lay most around, the top's grey rose above that edge
# to the armpit: arm-coloured skin beside an arm is not read); 0: none
TRUNK_STRIP = 1.0
# The fills read by rows are shaded to meet the part's own pixels round them (`_shaded_to_rim`): the
# difference at each such pixel whose colour is within this (CIE Lab) of the fill beside it, spread over
# the fill by the membrane. The thigh round a hand that hung over a cuff lies in the hand's shadow, and
# the fill from beyond it drew a paler oval there; 0: flat
RIM_MATCH = 20.0
# The hidden body takes the detail of the body beside it reflected along its rows (`_reflected_along_rows`):
# the colour less its Gaussian blur of DETAIL_SIGMA pixels, weighed by exp(-(the colour difference (RGB)
# between that blur and the fill / DETAIL_AGREE)^2); False / 0: the fill alone, flat
HIDDEN_DETAIL, DETAIL_SIGMA, DETAIL_AGREE = True, 2.5, 25.0
# The boundary between the arms' and the body's pixels, smoothed by a Gaussian of this sigma (pixels),
# is where their shares cross 1/2; they ramp across it over 2.5 x sigma / slope pixels (`_share_of`)
SHARE_SIGMA, SHARE_SLOPE = 1.2, 3.0
_SHARE_REACH = 2  # pixels: how far a side's share reaches into the other's own pixels at most
SOLID_ALPHA = 0.99  # the person's pixels with at least this alpha are its own colour; the soft edge ...
EDGE_SIGMA = 1.5  # ... takes theirs from this close (Gaussian sigma, pixels: `_decontaminated`)
_PAD = 2  # pixels of margin around the person's box and each part's crop (the soft mask's edge)


@dataclass
class _PartCrop:
    """A part's pixels in the reference: the box (x0, y0) + shape; prem: float32 (h, w, 4) =
    colour x coverage and coverage, coverage = mask x the larger of its share of its own pixels and
    of its overhang's (a share is 1 but along the arms' boundary with the body, `_arm_share`);
    primary: float32 (h, w) = mask x own share (the parts' primaries sum to the mask: a partition of
    the person); seam: where
    its seam between the arms and the body is given its own colours (`_clean_seams`), (x0, y0,
    float32 (h, w, 3)): the change to prem's colour over the box around that band, in the
    reference's pixels, added where the other side no longer lies beside it; or None; crotch: the
    torso's, the share of the coverage that is the crotch alone, which a blended hip does not draw
    where it fetches the crotch from higher up the body than the torso's own map
    (`render._crotch_from_below`)."""

    x0: int
    y0: int
    prem: np.ndarray
    primary: np.ndarray
    seam: tuple | None = None
    crotch: np.ndarray | None = None  # float32 (h, w): the coverage that is the torso's crotch alone (`_crotch`)


@dataclass
class Extremity:
    """A hand or foot the reference shows (its points confident): what moves it on its own.

    limb: the forearm or shank that carries it otherwise; start, tip: float64 (2,) its bone in the
    reference (wrist -> knuckles' midpoint, ankle -> toe); width: index to pinky, heel to toe;
    limb_crop, limb_segments: the limb's pixels and bone without the hand or foot, drawn instead
    of the whole limb when the hand or foot moves on its own (its pixels: `WarpReference.crops`)."""

    limb: int
    start: np.ndarray
    tip: np.ndarray
    width: float
    limb_crop: _PartCrop
    limb_segments: np.ndarray


@dataclass
class StandIn:
    """A part drawn from other pixels than its own. A limb from its other side's: one the photo
    shows pointing at the camera (WarpConfig.mirror_foreshortened), from the other side mirrored
    about the body's vertical axis, when a target straightens it; a leg mostly hidden behind the
    other (WarpConfig.copy_hidden_legs), from the other leg as it is (a person turned to one side
    shows both feet pointing one way), when a target moves it clear. The head from its back
    (WarpConfig.turned_around: its face filled from its hair), where a target's torso is turned
    around. crop, segments (S, 2, 2) (the first is its bone) and radius: the other side's, mirrored
    or not (the head's own); other: that part; apart: for a hidden leg, the pixels between its far
    joint (knee, ankle) and the other's in the photo; for an arm behind the head or the body
    (WarpConfig.hidden_arms), between its far joint (elbow, wrist) and the part that hid it,
    hidden_by (`distance_to_part`); None otherwise."""

    crop: _PartCrop
    segments: np.ndarray
    radius: float
    other: int = -1
    apart: float | None = None
    hidden_by: int | None = None


@dataclass
class WarpReference:
    """The reference photo prepared for warping (prepare_reference).

    image uint8 (H, W, 3); mask float32 (H, W) in [0, 1] (the given mask through a smoothstep
    from 0.25 to 0.75, SOFT_MASK); pose float32 (13, 3): the pose the parts hang on, the given one
    with each elbow of `elbows` moved onto its arm's middle line (WarpConfig.medial_elbows; targets'
    elbows are moved alike: `elbows.moved_elbows`); extras (10, 3) or None;
    height: torso height in pixels (the body's unit); radii: each part's radius in pixels;
    segments: each part's bone(s) as (S, 2, 2) start/end points; polygon: the torso's 4 corners;
    labels: int8 (H, W), the part that owns each person pixel (-1: not the person, mask < 0.5;
    hands and feet are their limbs' here); crops: per drawable part, its pixels (None for parts
    whose joints are missing, and for hands and feet the reference does not show on their own);
    extremities: {hand or foot part: Extremity} for those it does show.
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
    extremities: dict = field(default_factory=dict)  # hand or foot part -> Extremity
    stand_ins: dict = field(default_factory=dict)  # foreshortened or hidden limb, or the head -> StandIn
    seam_width: float = 0.0  # pixels: the seam between the arms and the body recoloured in the clean colours
    elbows: dict = field(default_factory=dict)  # elbow joint -> its halves' offsets (`elbows.elbow_offsets`)
    framed_out: frozenset = frozenset()  # limbs the photo's edge cuts: they ride on their parents (`_framed_out`)
    out_of_view: frozenset = frozenset()  # joints past the photo's edge (a pose model's guesses): no scale, no torso

    def crop_of(self, part: int, cut: bool = False, stand_in: bool = False) -> _PartCrop:
        """A part's pixels; cut: a limb's without its hand or foot (moving on its own); stand_in: a
        foreshortened or hidden limb's stand-in's."""
        if stand_in:
            return self.stand_ins[part].crop
        return self.extremities[EXTREMITY_OF[part]].limb_crop if cut else self.crops[part]

    def segments_of(self, part: int, cut: bool = False, stand_in: bool = False) -> np.ndarray:
        """A part's bone(s) (S, 2, 2); cut: a limb's without its hand or foot; stand_in: as crop_of."""
        if stand_in:
            return self.stand_ins[part].segments
        return self.extremities[EXTREMITY_OF[part]].limb_segments if cut else self.segments[part]

    def radius_of(self, part: int, stand_in: bool = False) -> float:
        """A part's radius in pixels; stand_in: as crop_of."""
        return self.stand_ins[part].radius if stand_in else float(self.radii[part])


def prepare_reference(image: np.ndarray, mask: np.ndarray, pose: np.ndarray,
                      extras: np.ndarray | None = None, *, config: WarpConfig = WarpConfig()
                      ) -> WarpReference:
    """Everything about the reference that does not depend on the target pose.

    image: uint8 (H, W, 3) RGB; mask: (H, W) bool or float in [0, 1], True / 1 = person (a soft
        mask's values are taken as alpha through a smoothstep from 0.25 to 0.75);
    pose: float32 (13, 3) in the image's pixels; extras: optional (10, 3) hand and foot points
    (pose.mapping.EXTRA_NAMES order) that place the hands and feet: they extend the forearms' and
    shanks' capsules over them and, where confident (WarpConfig.extras_confidence), cut the hands
    and feet out as parts of their own for targets that place them (warp_to_pose's target_extras).
    Raises IlatError / NoPersonError for inputs of the wrong kind, an empty or full mask.
    """
    image, mask, pose, extras = _check_inputs(image, mask, pose, extras)
    mask = _soft_alpha(mask)
    ok = joint_ok(pose, config.min_confidence)
    height = _reference_height(pose, ok)
    segments = _part_segments(pose, extras, ok, config.min_confidence)
    missing = {PART_NAMES[p]: missing_reason(p, ok, "reference") for p in BASE_PARTS if segments[p] is None}
    if missing:
        logger.info("warp: reference parts that cannot be drawn: %s",
                    "; ".join(f"{k} ({v})" for k, v in missing.items()))
    binary = (mask >= 0.5).astype(np.uint8)
    _warn_if_pose_off_mask(binary, pose, ok, height)
    inside = cv2.distanceTransform(binary, cv2.DIST_L2, 5)  # to the silhouette's edge
    radii = _part_radii(inside, pose, segments, height)
    polygon = torso_polygon(pose) if segments[TORSO] is not None else None

    box = _person_box(mask)
    x0, y0, x1, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    behind = _arms_behind(pose, mask.shape, height) if config.hidden_arms else frozenset()
    face = _face_reach(xs, ys, pose, float(radii[HEAD_PART])) if behind and segments[HEAD_PART] is not None else None
    box_labels = _nearest_parts(xs, ys, segments, polygon, radii, shoulder_caps=config.shoulder_caps,
                                arms_behind=behind, face_reach=face)
    box_mask = mask[y0:y1, x0:x1]
    beneath = _beneath_arms(xs, ys, segments, polygon, radii) if config.arms_by_colour or config.hidden_body else None
    if config.arms_by_colour and beneath is not None:
        body_labels, reach = beneath
        allowed = reach <= 1.0
        if config.shoulder_caps and CAP_KEEPS_COLOURS and segments[TORSO] is not None:  # the cap stays the arm's
            for arm in (R_UPPER, L_UPPER):
                if segments[arm] is not None:
                    allowed &= ~_shoulder_cap(xs, ys, segments, arm)
        box_labels = release_by_colour(image[y0:y1, x0:x1], box_mask >= 0.5, box_labels, body_labels, xs, ys,
                                       segments, radii, allowed=allowed, depth=inside[y0:y1, x0:x1])
        box_labels = claim_by_colour(image[y0:y1, x0:x1], box_mask >= 0.5, box_labels, xs, ys, segments, radii)
    if config.rims_by_colour and beneath is not None:  # the arms' rims along the silhouette's outer edge
        outer_depth = cv2.distanceTransform(binary_fill_holes(binary[y0:y1, x0:x1]).astype(np.uint8), cv2.DIST_L2, 5)
        box_labels, seen = rims_by_colour(image[y0:y1, x0:x1], box_mask, box_labels, beneath[0], xs, ys, segments,
                                          radii, outer_depth, allowed=beneath[1] <= 1.0)
        if seen.any():  # not drawn, its border softened over about a pixel (box_mask is a view of mask)
            logger.info("warp: %d pixels of background seen through the arms are not drawn", int(seen.sum()))
            box_mask *= np.clip(1.0 - cv2.GaussianBlur(seen.astype(np.float32), (0, 0), 0.7), 0.0, 1.0)
            box_mask[seen] = 0.0
    if beneath is not None:
        box_labels = _islands_to_arms(box_labels, box_mask >= 0.5, radii, segments)
        box_labels = _strands_to_body(box_labels, box_mask >= 0.5, beneath[0], xs, ys, radii, segments)
    labels = np.full(mask.shape, -1, np.int8)
    labels[y0:y1, x0:x1] = np.where(box_mask >= 0.5, box_labels, -1)
    elbows = elbow_offsets(labels, mask, pose, segments, radii) if config.medial_elbows else {}
    if elbows:  # from here on the arms turn about elbows on their middle lines; their pixels stay theirs
        pose = moved_elbows(pose, elbows)
        segments = _part_segments(pose, extras, ok, config.min_confidence)
    own = {p: (box_labels == p) for p in BASE_PARTS if segments[p] is not None}
    extra, links, crotch = _overhangs(xs, ys, pose, own, radii, inside)
    colours = _decontaminated(image, box_mask, box) if config.clean_outline else image
    seam_width = _seam_width(radii, segments)
    arm_share = _arm_share(box_labels, box_mask >= 0.5) if config.antialias_arms else None
    clean, body_clean = _clean_seams(colours[y0:y1, x0:x1], box_mask, box_labels, seam_width, arm_share)
    body_colour, hidden = None, {}
    if config.hidden_body and beneath is not None:  # the fill reads the body's recoloured side of the seams
        hidden, body_colour = _hidden_body(colours[y0:y1, x0:x1] if body_clean is None else body_clean,
                                           box_mask >= 0.5, box_mask >= 1.0, box_labels, beneath, segments, radii,
                                           inside[y0:y1, x0:x1], _below_the_armpits(pose) - y0)
    if arm_share is not None:  # under specks of arm that fade out the body is its own, not hidden
        hidden = {p: pixels & (arm_share >= 0.5) for p, pixels in hidden.items()}
    hidden_any = np.logical_or.reduce(list(hidden.values())) if hidden else np.zeros(box_labels.shape, bool)
    shares = None if arm_share is None else \
        (arm_share, _body_share(box_labels, box_mask >= 0.5, box_mask >= 1.0, hidden_any, arm_share))
    if shares is not None:  # a part draws its neighbour's pixels at the joints as far as they are the neighbour's
        whole = np.where(np.isin(box_labels, ARM_PARTS), shares[0], shares[1])
        whole[box_mask < 0.5] = 1.0
        extra = {p: extra_p * whole for p, extra_p in extra.items()}
        crotch = None if crotch is None else crotch * whole
    for p, pixels in hidden.items():  # the body under the arms: wholly its
        if p in extra:
            extra[p] = np.maximum(extra[p], pixels)
    if body_colour is not None and body_clean is not None:
        # its own pixels and those it shares with an arm: the photo's; their clean side: the clean colours and the fill
        body_clean = np.where(hidden_any[..., None], body_colour, body_clean)
        visible = ~hidden_any if shares is None else ~hidden_any | (shares[0] < 1.0)
        body_colour[visible] = colours[y0:y1, x0:x1][visible]
    own_shares = _own_shares(own, box_labels, box_mask >= 0.5, shares)
    crops = _part_crops(colours, box_mask, box, own_shares, extra, body_colour, clean, body_clean, crotch, hidden)
    mirrored = _foreshortened(pose, height, segments) if config.mirror_foreshortened else []
    hidden_legs = _occluded(segments, crops, {limb for limb, _other in mirrored}) if config.copy_hidden_legs else []
    stand_ins = _stand_ins(mirrored + hidden_legs, pose, segments, radii, crops, {limb for limb, _other in hidden_legs})
    for limb, stand_in in _hidden_arms(pose, segments, radii, crops, behind, set(stand_ins)).items():
        stand_ins[limb] = stand_in
    if config.turned_around and crops[HEAD_PART] is not None:  # for targets turned around
        head = crops[HEAD_PART]
        back = _PartCrop(head.x0, head.y0, back_of_head(head.prem, head.x0, head.y0, pose, float(radii[HEAD_PART])),
                         head.primary)
        stand_ins[HEAD_PART] = StandIn(back, segments[HEAD_PART].copy(), float(radii[HEAD_PART]), HEAD_PART)
    extremities = _cut_extremities(colours, box_mask, box, xs, ys, pose, extras, own_shares, extra, segments, radii,
                                   crops, links, max(config.extras_confidence, config.min_confidence), clean)
    framed_out = _framed_out(pose, segments, labels, radii)
    if framed_out:
        logger.info("warp: the photo's edge cuts the %s: moved with what they hang from, not posed (the rest of "
                    "them is not in the photo)", ", ".join(PART_NAMES[p] for p in sorted(framed_out)))
    return WarpReference(image, mask, pose, extras, height, radii, segments, polygon, labels, crops,
                         config, dict(missing), links, extremities, stand_ins,
                         seam_width if clean is not None else 0.0, elbows, framed_out, _out_of_view(pose, mask.shape))


def _out_of_view(pose: np.ndarray, shape: tuple[int, int]) -> frozenset:
    """The joints of `pose` past the edges of an image of `shape` (h, w) as retargeting judges them
    (`retarget.past_the_edge`: a hip a few pixels past a waist-up photo's edge is a hip)."""
    return frozenset(int(j) for j in np.flatnonzero(past_the_edge(pose, shape[1], shape[0])))


def _framed_out(pose: np.ndarray, segments: list, labels: np.ndarray, radii: np.ndarray) -> frozenset:
    """The limbs the photo's edge cuts, and the limbs below them: those whose bone lies over
    FRAMED_OUT of its length past the edges of the image (labels: int8 (H, W), the owners); and
    the upper arms and thighs whose far joint lies within FRAMED_RUN x their radius of an edge (or
    past it) where the limb below runs out of the photo so (its bone past the edge), or where their
    own pixels and the lower limb's run along that edge for as long (a shoe resting on the lower
    edge, its ankle above it, is not cut). Posed, a limb cut by the frame swings its cut end into
    view: the thighs of a photo cut above the knees spread as two stumps, a chest-up photo's upper
    arm rose as a stump carrying the hair over it, and the strip of thigh below a jacket, with a
    knee the pose model guessed below it, swung up as a smear. A forearm whose hand alone the edge
    cuts is posed: riding on its upper arm it would show its cut end as well, without its bend."""
    h, w = labels.shape
    border = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])

    def past_share(part: int) -> float:
        a, b = LIMB_BONES[part]
        points = pose[a, :2] + np.linspace(0.0, 1.0, 33)[:, None] * (pose[b, :2] - pose[a, :2])
        return float((inside_by(points, w, h) < 0).mean())

    out = {part for part in LIMB_BONES if segments[part] is not None and past_share(part) > FRAMED_OUT}
    for upper, lower in LIMB_CHAINS:
        if segments[upper] is None or upper in out:
            continue
        if inside_by(pose[None, LIMB_BONES[upper][1], :2], w, h)[0] > FRAMED_RUN * radii[upper]:  # well inside
            continue
        if lower in out or np.isin(border, [upper, lower]).sum() >= FRAMED_RUN * radii[upper]:
            out.add(upper)
    for upper, lower in LIMB_CHAINS:
        if upper in out and segments[lower] is not None:
            out.add(lower)
    return frozenset(out)


def _local_mean(colour: np.ndarray, source: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(float32 (h, w, 3), float32 (h, w)): the Gaussian-weighted (sigma pixels) mean of `colour`
    over the `source` pixels (bool or float weights) around each pixel, and the weight it had
    (meaningless where that is near 0)."""
    source = source.astype(np.float32)
    weight = cv2.GaussianBlur(source, (0, 0), sigma)
    mean = cv2.GaussianBlur(colour.astype(np.float32) * source[..., None], (0, 0), sigma)
    mean /= np.maximum(weight, 1e-6)[..., None]
    return mean, weight


def _decontaminated(image: np.ndarray, box_mask: np.ndarray, box) -> np.ndarray:
    """uint8 (H, W, 3): the photo with the person's soft edge (the mask over the person's box under
    SOLID_ALPHA, > 0) given the colours of the person's solid pixels beside it (a Gaussian-weighted
    mean, sigma EDGE_SIGMA pixels; the photo's where none is that near). The photo mixes the person
    there with what stood behind them: moved in front of something else, an arm raised against a
    pale sky carried a pale rim over the railing and the sea."""
    x0, y0, x1, y1 = box
    soft = (box_mask > 0) & (box_mask < SOLID_ALPHA)
    solid = box_mask >= SOLID_ALPHA
    if not soft.any() or not solid.any():
        return image
    mean, weight = _local_mean(image[y0:y1, x0:x1], solid, EDGE_SIGMA)
    fix = soft & (weight > 0.02)
    out = image.copy()
    out[y0:y1, x0:x1][fix] = np.clip(np.round(mean[fix]), 0, 255).astype(np.uint8)
    return out


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
    return image, mask, check_pose(pose, "reference"), check_extras(extras, "reference")



def _soft_alpha(mask: np.ndarray) -> np.ndarray:
    """A soft mask's unsure pixels (MediaPipe gives 0.1-0.3 around limbs it half sees) would be
    carried as faint ghosts of the reference's background: alpha = smoothstep over SOFT_MASK."""
    lo, hi = SOFT_MASK
    return smoothstep((mask - lo) / (hi - lo))


def _reference_height(pose: np.ndarray, ok: np.ndarray) -> float:
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        height = float(np.hypot(*torso_frame(pose)[1]))
        if height > 1e-3:
            return height
    xy = pose[ok, :2]
    if len(xy) < 2:
        raise NoPersonError("warp: the reference pose has fewer than 2 joints with confidence > 0; "
                            "expected a person's pose (13, 3) in the reference's pixels")
    return 0.3 * float(np.hypot(*(xy.max(0) - xy.min(0)))) + 1e-3


def _part_segments(pose: np.ndarray, extras: np.ndarray | None, ok: np.ndarray,
                   min_confidence: float) -> list:
    """Each part's bone(s) in the reference: (S, 2, 2) float64, or None when it has no joints (and
    for the hands and feet: a forearm's or shank's segments after its bone cover its hand or foot,
    reaching the hand or foot points where they are given, a default length of the bone otherwise)."""
    xy = pose[:, :2].astype(np.float64)
    segments: list = [None] * len(PART_NAMES)
    if ok[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP]].all():
        neck, pelvis = neck_point(pose), (xy[R_HIP] + xy[L_HIP]) / 2
        segments[TORSO] = np.array([[neck, pelvis], [xy[R_SHOULDER], xy[L_SHOULDER]],
                                    [xy[R_HIP], xy[L_HIP]]])
    if ok[[HEAD, R_SHOULDER, L_SHOULDER]].all():
        segments[HEAD_PART] = head_bone(pose)
    for part, (a, b) in LIMB_BONES.items():
        if not (ok[a] and ok[b]):
            continue
        segs = [[xy[a], xy[b]]]
        bone = xy[b] - xy[a]
        extremity = EXTREMITY_OF.get(part)
        if extremity is not None:
            points = extra_points(extras, EXTREMITIES[extremity][2], min_confidence)
            if extremity in HANDS:
                if points is not None:  # knuckles -> the fingers reach about as far again
                    segs.append([xy[b], xy[b] + 1.6 * (points.mean(0) - xy[b])])
                else:
                    segs.append([xy[b], xy[b] + 0.45 * bone])
            elif points is not None:  # ankle -> heel and ankle -> toe
                segs.extend([[xy[b], p] for p in points])
            else:
                segs.append([xy[b], xy[b] + 0.2 * bone])
        segments[part] = np.array(segs)
    return segments



def _warn_if_pose_off_mask(binary: np.ndarray, pose: np.ndarray, ok: np.ndarray,
                           height: float) -> None:
    """Warn when most joints lie outside the person mask (binary uint8 (H, W), 1 = person)."""
    h, w = binary.shape
    cols = np.clip(np.round(pose[ok, 0]).astype(int), 0, w - 1)
    rows = np.clip(np.round(pose[ok, 1]).astype(int), 0, h - 1)
    outside = cv2.distanceTransform(1 - binary, cv2.DIST_L2, 5)[rows, cols] > 0.1 * height
    if outside.mean() > 0.5:
        logger.warning("warp: %d of the reference pose's %d joints lie outside the person mask; "
                       "are the mask and the pose of the same person and image?",
                       int(outside.sum()), len(outside))


def _part_radii(distance: np.ndarray, pose: np.ndarray, segments: list, height: float) -> np.ndarray:
    """Each part's radius in pixels: DEFAULT_RADIUS x the torso height; the head's from the
    neck->nose distance; the limbs' measured on the person mask (distance: float32 (H, W), each
    person pixel's distance to the silhouette's edge)."""
    radii = np.array(DEFAULT_RADIUS) * height
    if segments[HEAD_PART] is not None:
        radii[HEAD_PART] = DEFAULT_RADIUS[HEAD_PART] * np.hypot(*(pose[HEAD, :2] - neck_point(pose)))
        radii[HEAD_PART] = max(radii[HEAD_PART], 0.1 * height)
    for part in LIMB_BONES:
        if segments[part] is not None:
            radii[part] = _limb_radius(distance, segments[part][0], radii[part])
    return radii


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


def _person_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the box of the mask's pixels above 0.01, with a margin of _PAD."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask > 0.01)
    y0, y1 = max(0, rows.min() - _PAD), min(h, rows.max() + 1 + _PAD)
    x0, x1 = max(0, cols.min() - _PAD), min(w, cols.max() + 1 + _PAD)
    return x0, y0, x1, y1


def _nearest_parts(xs: np.ndarray, ys: np.ndarray, segments: list, polygon: np.ndarray | None,
                   radii: np.ndarray, *, with_score: bool = False, shoulder_caps: bool = False,
                   arms_behind: frozenset = frozenset(), face_reach: np.ndarray | None = None):
    """int8 (h, w): the part owning each pixel of the grid xs (1, w), ys (h, 1): the nearest bone
    in units of its part's radius. An arm owns its whole capsule (arms are in front) unless it is
    in arms_behind (`_arms_behind`): those own nothing within the head's or torso's radius (the
    head's only within face_reach, bool (h, w) or None: `_face_reach`); a root
    limb's round end behind the shoulder or hip joint is the torso's; with shoulder_caps, the
    shoulder's cap beyond the joint is the arm's (`_shoulder_cap`). with_score: also that
    distance, float32 (h, w) (an arm's less 1 inside its capsule)."""
    present = [p for p in range(len(PART_NAMES)) if segments[p] is not None]
    if not present:
        raise NoPersonError("warp: the reference pose has no body part with all its joints; "
                            "expected a person's pose (13, 3) with confidence > 0")
    scores = np.empty((len(present), ys.shape[0], xs.shape[1]), np.float32)
    for i, part in enumerate(present):
        d = shape_distance(xs, ys, segments[part], polygon if part == TORSO else None)
        scores[i] = d / radii[part]
        if PART_LAYER[part] == ARMS_LAYER and part not in arms_behind:  # in front: its whole capsule
            np.subtract(scores[i], 1.0, out=scores[i], where=scores[i] < 1.0)
        if part in ROOT_LIMBS:  # the shoulder's and hip's caps, behind the joint, are the torso's
            (ax, ay), (bx, by) = segments[part][0]
            behind = (xs - ax) * (bx - ax) + (ys - ay) * (by - ay) < 0
            scores[i][behind] = np.inf
    index = {part: i for i, part in enumerate(present)}
    for arm in arms_behind & set(index):  # behind the head or body, up to its far joint: what they reach is theirs
        (ax, ay), (bx, by) = segments[arm][0]
        along = (xs - ax) * (bx - ax) + (ys - ay) * (by - ay) <= (bx - ax) ** 2 + (by - ay) ** 2
        for body in (TORSO, HEAD_PART):
            if body in index:
                claimed = along & (scores[index[body]] <= 1.0)
                if body == HEAD_PART and face_reach is not None:
                    claimed &= face_reach
                    past = ~face_reach & (scores[index[arm]] <= 1.0)  # past a profile's nose, on the arm
                    scores[index[body]][past] = np.inf
                scores[index[arm]][claimed] = np.inf
    if shoulder_caps and TORSO in index:
        for arm in (R_UPPER, L_UPPER):
            if arm in index:
                cap = _shoulder_cap(xs, ys, segments, arm) & (scores[index[arm]] < SHOULDER_CAP_REACH)
                scores[index[TORSO]][cap] = np.inf
    for upper, lower in LIMB_CHAINS:  # elbows and knees: each limb keeps to its side of the joint
        if upper in index and lower in index:
            side = _joint_side(xs, ys, segments[upper][0], segments[lower][0])
            if side is not None:
                scores[index[upper]][side > 0] = np.inf
                scores[index[lower]][side < 0] = np.inf
    nearest = np.argmin(scores, axis=0)
    labels = np.asarray(present, np.int8)[nearest]
    if with_score:  # and the winner's distance in its radii
        return labels, np.take_along_axis(scores, nearest[None], axis=0)[0]
    return labels


def _face_reach(xs: np.ndarray, ys: np.ndarray, pose: np.ndarray, radius: float) -> np.ndarray | None:
    """bool (h, w): the pixels a head may claim from an arm behind it: a face seen turned ends at its
    nose along its look (across the spine, toward the nose's side), a frontal one a radius past it
    (HEAD_TURNED, linear between; FACE_PAST_NOSE x the radius more either way); None for a face seen
    from the front (its radius is its reach) and where the pose says nothing of the look (hips
    unseen, or the nose on the spine's line)."""
    turned = face_turned(pose)
    if turned <= 0.0:
        return None
    up = spine(pose)
    up /= np.hypot(*up)
    look = pose[HEAD, :2].astype(np.float64) - neck_point(pose)
    look = look - (look @ up) * up  # across the spine, toward the nose's side
    look /= max(float(np.hypot(*look)), 1e-9)
    nose = pose[HEAD, :2].astype(np.float64)
    past = (xs - nose[0]) * look[0] + (ys - nose[1]) * look[1]
    return past <= (FACE_PAST_NOSE + 1.0 - turned) * radius


def _arms_behind(pose: np.ndarray, shape: tuple[int, int] | None = None, height: float = 0.0) -> frozenset:
    """The arm parts (upper arms, forearms) with a joint the pose calls hidden (confidence above 0,
    seen at all, but under ARM_JOINT_HIDDEN) whose other side's joints are all seen: that one can
    stand in for it. Both hidden (hands clasped behind the back), each keeps its capsule: an arm
    drawn in the body's colours, not none. A joint within ARM_AT_EDGE x `height` of the edge of an
    image of `shape` (h, w) is not hidden but cut by the frame (MediaPipe calls a wrist whose hand
    runs past a waist-length photo's lower edge hidden: 0.4), and its arm is drawn as the photo shows it."""
    hidden = (pose[:, 2] > 0) & (pose[:, 2] < ARM_JOINT_HIDDEN)
    if shape is not None:
        hidden &= inside_by(pose[:, :2], shape[1], shape[0]) >= ARM_AT_EDGE * height
    seen = pose[:, 2] >= ARM_JOINT_HIDDEN
    return frozenset(part for part, other in HIDDEN_ARMS
                     if hidden[list(PART_JOINTS[part])].any() and seen[list(PART_JOINTS[other])].all())


def _shoulder_cap(xs: np.ndarray, ys: np.ndarray, segments: list, arm: int) -> np.ndarray:
    """bool (h, w): the shoulder's cap, which moves with the arm and the torso does not own: the
    pixels beyond an upper arm's shoulder joint along the shoulders' line (away from the other
    shoulder) and along the arm, on the arm's side away from the hip, and with ARMPIT_CAP, of an arm
    raised past ARMPIT_ANGLE, on its side towards the hip too where they lie past the torso's flank
    (the line from the shoulder to the hip). The arm's capsule, measured along its bone's middle, is
    thinner than the shoulder, so the torso took the cap: the warrior's horizontal arms left it
    sticking out beside his neck as a flap when they came down, and the armpit's skin below them,
    past his flanks, as wedges of skin; the baseball player's glove, held at his shoulder, stayed
    there as a flap when his arm moved. The side beneath the arm, inside the flank, is the torso's;
    an arm hanging along it (within SHOULDER_CAP_ANGLE of the way to the hip) has no cap to give,
    nor has a torso seen side-on (its shoulders under SHOULDER_CAP_WIDTH x its spine apart), where
    the shoulders' line says little of which way is out: the tennis player's took the back of his
    head."""
    (ax, ay), (bx, by) = segments[arm][0]
    spine, shoulders, hips = segments[TORSO]
    if np.hypot(*(shoulders[1] - shoulders[0])) < SHOULDER_CAP_WIDTH * np.hypot(*(spine[1] - spine[0])):
        return np.zeros((ys.shape[0], xs.shape[1]), bool)
    ox, oy = shoulders[1 if arm == R_UPPER else 0]  # the other shoulder
    hx, hy = hips[0 if arm == R_UPPER else 1]  # the hip on the arm's side
    along, to_hip = np.array([bx - ax, by - ay]), np.array([hx - ax, hy - ay])
    side_of_hip = along[0] * to_hip[1] - along[1] * to_hip[0]
    if abs(side_of_hip) < np.sin(np.radians(SHOULDER_CAP_ANGLE)) * np.hypot(*along) * np.hypot(*to_hip):
        return np.zeros((ys.shape[0], xs.shape[1]), bool)
    outward = (xs - ax) * (ax - ox) + (ys - ay) * (ay - oy) > 0
    ahead = (xs - ax) * along[0] + (ys - ay) * along[1] > 0
    away_from_hip = (along[0] * (ys - ay) - along[1] * (xs - ax)) * side_of_hip < 0
    raised = abs(side_of_hip) >= np.sin(np.radians(ARMPIT_ANGLE)) * np.hypot(*along) * np.hypot(*to_hip) \
        or along @ to_hip < 0  # past ARMPIT_ANGLE from the way to the hip (the sine's other side: past 90)
    if not ARMPIT_CAP or not raised:
        return outward & ahead & away_from_hip
    inner = to_hip[0] * (oy - ay) - to_hip[1] * (ox - ax)  # the other shoulder's side of the flank (shoulder -> hip)
    past_flank = (to_hip[0] * (ys - ay) - to_hip[1] * (xs - ax)) * inner < 0
    return outward & ahead & (away_from_hip | past_flank)


def _joint_side(xs: np.ndarray, ys: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray | None:
    """float32 (h, w): which side of an elbow or knee each pixel lies, < 0 the upper limb's, > 0 the
    lower one's, split by the line through the joint that halves the angle between the two bones
    (upper: (2, 2) shoulder or hip -> joint; lower: joint -> wrist or ankle). None when the limb is
    folded nearly flat (the bones within 20 degrees of each other), where no line splits them.

    Without it the thicker limb's capsule reaches round the joint: the thigh owned a wedge of the
    shin's outer side below the knee, which stuck out as a spike when the knee bent."""
    joint = upper[1]
    normal = _through_joint(upper, lower)
    if np.hypot(*normal) < 2 * np.sin(np.radians(10)):
        return None
    return (xs - np.float32(joint[0])) * np.float32(normal[0]) + (ys - np.float32(joint[1])) * np.float32(normal[1])


def _through_joint(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """(2,): the sum of an elbow's or knee's two bones' unit directions (upper: (2, 2) shoulder or
    hip -> joint; lower: joint -> wrist or ankle): the limb's way through the joint, and the normal
    of the line that halves its bend."""
    return sum((b - a) / max(float(np.hypot(*(b - a))), 1e-9) for a, b in (upper, lower))


def _beneath_arms(xs: np.ndarray, ys: np.ndarray, segments: list, polygon, radii: np.ndarray):
    """(int8 (h, w) the body part that would own each pixel were there no arms, float32 (h, w) its
    distance in that part's radii), shared by the arms' colour release (`colour.release_by_colour`:
    what an arm gives back goes to that part, where its capsule reaches) and the hidden body
    (`_hidden_body`); None when the reference has no arm or no body part."""
    body_segments = [None if PART_LAYER[p] == ARMS_LAYER else s for p, s in enumerate(segments)]
    has_arm = any(PART_LAYER[p] == ARMS_LAYER and segments[p] is not None for p in BASE_PARTS)
    if not has_arm or all(s is None for s in body_segments):
        return None
    return _nearest_parts(xs, ys, body_segments, polygon, radii, with_score=True)


def _reach_across(limb: np.ndarray, centre, along, xs: np.ndarray, ys: np.ndarray, radius: float) -> float | None:
    """How far the limb (bool (h, w) over the grid xs (1, w), ys (h, 1)) reaches from `centre` (x,
    y) across the direction `along` (2,): the mean of its reach to either side (its pixels in a row
    along the normal, half-pixel steps, up to 3 x radius), its half-width there. The farther side
    alone grew the disc where an arm's pixels at the elbow run on into the body's side; the nearer
    alone shrank it where the joint is off the middle line. None when the centre is off the limb."""
    h, w = limb.shape
    normal = np.array([-along[1], along[0]], np.float64) / max(float(np.hypot(*along)), 1e-9)
    steps = np.arange(0.0, 3.0 * radius + 1.0, 0.5)
    reach = []
    for sign in (1.0, -1.0):
        cols = np.round(centre[0] + sign * steps * normal[0] - xs[0, 0]).astype(int)
        rows = np.round(centre[1] + sign * steps * normal[1] - ys[0, 0]).astype(int)
        inside = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
        on = np.zeros(len(steps), bool)
        on[inside] = limb[rows[inside], cols[inside]]
        if not on[0]:
            return None
        reach.append(float(steps[np.argmin(on)]) if not on.all() else float(steps[-1]))
    return (reach[0] + reach[1]) / 2


def _overhangs(xs: np.ndarray, ys: np.ndarray, pose: np.ndarray, own: dict, radii: np.ndarray,
               distance: np.ndarray) -> tuple[dict, list, np.ndarray | None]:
    """({part: bool (h, w), the neighbour's pixels it also draws}, links, crotch): at each joint of
    LINKS whose two parts are present, a disc around the joint; links lists (part a, part b, joint
    centre (2,), disc radius) for the joint seams; crotch: bool (h, w), the thighs' pixels the torso
    draws only as the crotch (`_crotch`), or None. At an elbow or knee the disc reaches the
    silhouette's edge (distance: each pixel's distance to it, float32 (H, W)) where the joint is
    wider than the narrower limb's radius, up to JOINT_CAP_REACH x that radius: a bent knee is
    widest at the joint, and a smaller cap left a notch on its outer side. At an elbow it reaches
    no farther than the arm's own pixels do across it (ELBOW_DISC_OWN): the radius is a guess."""
    extra = {p: np.zeros_like(own[p]) for p in own}
    links = []
    chains = set(LIMB_CHAINS)
    bx0, by0 = int(xs[0, 0]), int(ys[0, 0])
    person = distance[by0:by0 + ys.shape[0], bx0:bx0 + xs.shape[1]] > 0  # the silhouette over the box
    for a, b, a_over_b, b_over_a, factor in LINKS:
        if a not in own or b not in own:
            continue
        center = link_point(a, b, pose)
        radius = factor * (min(radii[a], radii[b]) if a != TORSO else radii[b])
        if (a, b) in chains:  # out to the silhouette's edge where the joint is wider than the limb
            h, w = distance.shape
            col, row = (int(np.clip(round(v), 0, n - 1)) for v, n in zip(center, (w, h)))
            least = radius
            radius = max(radius, min(float(distance[row, col]), JOINT_CAP_REACH * radius))
            if a in ARM_PARTS and ELBOW_DISC_OWN:  # ... but no wider than the arm is across the elbow
                along = _through_joint(pose[list(LIMB_BONES[a]), :2], pose[list(LIMB_BONES[b]), :2])
                across = _reach_across((own[a] | own[b]) & person, center, along, xs, ys, least)
                if across is not None:
                    radius = min(radius, max(across, ELBOW_DISC_LEAST * least))
        links.append((a, b, center, float(radius)))
        disc = ((xs - center[0]) ** 2 + (ys - center[1]) ** 2) <= radius ** 2
        if a_over_b:
            extra[a] |= disc & own[b]
        if b_over_a:
            extra[b] |= disc & own[a]
    crotch = None
    if CROTCH_DEPTH > 0 and all(p in own for p in (TORSO, R_THIGH, L_THIGH)):
        crotch = _crotch(xs, ys, pose) & (own[R_THIGH] | own[L_THIGH]) & ~extra[TORSO]
        extra[TORSO] |= crotch
    return extra, links, crotch


def _crotch(xs: np.ndarray, ys: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """bool (h, w): the triangle between the hips and a point CROTCH_DEPTH of the way from their
    middle to the knees' middle, which the torso draws beneath the thighs: the shorts' or trousers'
    crotch. The thighs own it in the photo (it lies below the hips), and when the legs spread
    apart a V of the background opened between them there."""
    xy = pose[:, :2].astype(np.float64)
    hips = (xy[R_HIP] + xy[L_HIP]) / 2
    corners = np.array([xy[R_HIP], xy[L_HIP], hips + CROTCH_DEPTH * ((xy[R_KNEE] + xy[L_KNEE]) / 2 - hips)])
    edges = [(corners[i], corners[(i + 1) % 3]) for i in range(3)]
    return inside_polygon(xs, ys, edges)


def _part_crops(image: np.ndarray, box_mask: np.ndarray, box, own: dict, extra: dict,
                body_colour: np.ndarray | None = None, clean: np.ndarray | None = None,
                body_clean: np.ndarray | None = None, crotch: np.ndarray | None = None,
                hidden: dict | None = None) -> list:
    """Each present part's _PartCrop (None for the others); box_mask: the mask over the person's
    box (x0, y0, x1, y1), own / extra: each part's owned / overhang pixels there; crotch: the
    torso's overhang pixels that are the crotch alone (`_overhangs`), or None; hidden: {body part:
    the pixels of the body the arms hide that it draws (`_hidden_body`)}, which count as its own in
    its primary: they partition the hidden body as the parts' own pixels partition the rest, so
    that where the torso's and a thigh's meet no line of half coverage opens; body_colour:
    uint8 (h, w, 3) over the box, the colours the body parts draw (the photo's, with the body the
    arms hide filled in), or None: the photo's; clean, body_clean: uint8 (h, w, 3) over the box,
    the arms' and the body parts' colours with their seam recoloured (`_clean_seams`), or None."""
    crops: list = [None] * len(PART_NAMES)
    colour = image[box[1]:box[3], box[0]:box[2]].astype(np.float32)
    body = colour if body_colour is None else body_colour.astype(np.float32)
    arms = None if clean is None else clean.astype(np.float32)
    body_clean = None if body_clean is None else body_clean.astype(np.float32)
    for p, own_p in own.items():
        if PART_LAYER[p] == ARMS_LAYER:
            crops[p] = _crop(colour, box_mask, box, own_p, extra[p], arms)
        else:
            hidden_p = (hidden or {}).get(p)
            crops[p] = _crop(body, box_mask, box, own_p, extra[p], body_clean, crotch if p == TORSO else None,
                             None if hidden_p is None else np.maximum(own_p, hidden_p))
    return crops


def _forearm_radii(radii: np.ndarray, segments: list) -> list:
    """The radii of the forearms the reference has (the arms' unit for seams, the hidden body, specks)."""
    return [radii[p] for p in (R_FORE, L_FORE) if segments[p] is not None]


def _seam_width(radii: np.ndarray, segments: list) -> float:
    """Pixels: SEAM_WIDTH x the narrower forearm's radius (at least 1), 0 without forearms or when
    SEAM_WIDTH is 0."""
    forearms = _forearm_radii(radii, segments)
    return max(1.0, SEAM_WIDTH * min(forearms)) if forearms and SEAM_WIDTH > 0 else 0.0


def _clean_seams(image: np.ndarray, mask: np.ndarray, labels: np.ndarray, width: float,
                 arm_share: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(arms, body): uint8 (h, w, 3) each, the photo over the person's box with the arms' and the
    body's side of the seams between them given that side's own colours, or (None, None) (no arm,
    or width 0). Where an arm lies on the body the photo's pixels along their seam mix the two: a
    forearm on denim has a dark rim of denim, the shirt under an arm a rim of skin. Moved apart,
    the arm carried its rim as a dark line along its new edge, and the body kept a rim of skin
    where the arm had been (and spread it into the body the arm hid). Each side's pixels within
    `width` of the other, and the other's within _SHARE_REACH of it (which the two share:
    `_body_share`), take a Gaussian-weighted mean (that sigma) of the side's own pixels beyond the
    seam; the warp draws a recoloured rim only where the other side no longer lies beside it in
    the target, so an arm still against the body shows the photo's own seam. mask: the soft mask
    over the box; arm_share: the arms' share of each pixel (`_arm_share`), or None: the arms'
    labels. Each side is where its share x the mask is at least 1/2, where the warp's alpha of its
    layer is in the photo's own pose: the other side then lies beside every band in that pose."""
    person = mask >= 0.5
    if arm_share is None:
        is_arm = np.isin(labels, ARM_PARTS) & person
        body = person & ~is_arm
    else:
        is_arm = arm_share * mask >= 0.5
        body = person & ((1.0 - arm_share) * mask >= 0.5)
    if width <= 0 or not is_arm.any():
        return None, None
    colour = image.astype(np.float32)
    reach = max(1, int(np.ceil(width)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    shared = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * _SHARE_REACH + 1,) * 2)
    out = []
    for own, other in ((is_arm, body), (body, is_arm)):
        side = own | (other & (cv2.dilate(own.astype(np.uint8), shared) > 0))
        band = side & (cv2.dilate(other.astype(np.uint8), disc) > 0)
        mean, weight = _local_mean(colour, own & ~band, width)
        fix = band & (weight > 0.02)
        fixed = colour.copy()
        fixed[fix] = mean[fix]
        out.append(np.clip(np.round(fixed), 0, 255).astype(np.uint8))
    return out[0], out[1]


def _share_of(side: np.ndarray, person: np.ndarray) -> np.ndarray:
    """float32 (h, w): the share of `side` (bool) in each pixel along its border with the rest of the
    person, antialiased: the share of side pixels around each pixel among the person's (a Gaussian of
    SHARE_SIGMA) ramps from 0 to 1 over about a pixel (SHARE_SLOPE) as it crosses 1/2; 0 off the person."""
    around = np.maximum(cv2.GaussianBlur(person.astype(np.float32), (0, 0), SHARE_SIGMA), 1e-6)
    share = cv2.GaussianBlur(side.astype(np.float32), (0, 0), SHARE_SIGMA) / around
    return (np.clip((share - 0.5) * SHARE_SLOPE + 0.5, 0.0, 1.0) * person).astype(np.float32)


def _arm_share(labels: np.ndarray, person: np.ndarray) -> np.ndarray | None:
    """float32 (h, w): the arms' share of each person pixel over the box (`_share_of`), or None (no
    arm or no body). The photo's boundary between an arm's pixels and the body's is a staircase, a
    pixel every few rows; an arm moved away from the body, turned, showed it as a sawtooth along
    its edge. Smoothed, it is where the arms' share crosses 1/2, and the arm's edge turns with the
    arm as a straight, antialiased line (specks of arm a pixel or two across fade out)."""
    is_arm = np.isin(labels, ARM_PARTS) & person
    if not is_arm.any() or not (person & ~is_arm).any():
        return None
    return _share_of(is_arm, person)


def _body_share(labels: np.ndarray, person: np.ndarray, solid: np.ndarray, hidden: np.ndarray,
                arms: np.ndarray) -> np.ndarray:
    """float32 (h, w): the body's share of each person pixel over the box, beside the arms' (`arms`,
    `_arm_share`): 1 - the arms' but 1 beside the body the arms hide (`hidden`: the body draws it,
    so its edge there is no edge), reaching into an arm's pixels at most _SHARE_REACH pixels from
    the body's own. Where an arm lies, arm + body >= 1 (nothing opens between them), and on the
    silhouette's soft edge (`solid`: the mask at 1 elsewhere) exactly 1, which keeps its alpha."""
    is_arm = np.isin(labels, ARM_PARTS) & person
    body = person & ~is_arm
    near_body = cv2.dilate(body.astype(np.uint8), np.ones((2 * _SHARE_REACH + 1,) * 2, np.uint8)) > 0
    share = 1.0 - np.where(solid, _share_of(is_arm & ~hidden, person), arms)
    share *= body | (is_arm & near_body & ~hidden)
    return share.astype(np.float32)


def _own_shares(own: dict, labels: np.ndarray, person: np.ndarray, shares: tuple | None) -> dict:
    """{part: float32 (h, w)}: each part's share of the pixels over the person's box: its own (`own`,
    bool), or with `shares` ((arms, body): `_arm_share`, `_body_share`) its side's share of its own
    pixels and of the other side's pixels next to them (those go to the part that owns the nearest
    of its side's pixels within _SHARE_REACH). Beyond the person (its soft edge) a part's own
    pixels are wholly its."""
    if shares is None:
        return {p: own_p.astype(np.float32) for p, own_p in own.items()}
    arms, body = shares
    is_arm = np.isin(labels, ARM_PARTS) & person
    window = np.ones((2 * _SHARE_REACH + 1,) * 2, np.uint8)
    out = {}
    for layer, side, share in ((ARMS_LAYER, is_arm, arms), (BODY_LAYER, person & ~is_arm, body)):
        nearest = cv2.dilate(np.where(side, labels + 1, 0).astype(np.uint8), window).astype(np.int16) - 1
        for p, own_p in own.items():
            if PART_LAYER[p] != layer:
                continue
            taken = person & ~side & (nearest == p) & (share > 0)
            out[p] = np.where(own_p & ~person, 1.0, np.where((own_p & person) | taken, share, 0.0)).astype(np.float32)
    return out


def _hidden_body(image: np.ndarray, person: np.ndarray, solid: np.ndarray, labels: np.ndarray,
                 beneath: tuple[np.ndarray, np.ndarray], segments, radii, depth: np.ndarray, first_row: int = 0
                 ) -> tuple[dict, np.ndarray | None]:
    """The body the arms hide in the reference, and what it looks like: ({body part: bool (h, w), the
    arm pixels it would draw}, uint8 (h, w, 3) the photo over the box with each part's pixels filled
    from that part's visible pixels around them, one material at a time (`spread.fill_by_material`:
    the denim above a hem and the skin below it carry on behind a hand, where a smooth fill mixed
    them into a pale smear) and, with HIDDEN_DETAIL, the detail of the part's pixels beside them
    reflected along the rows (`_with_detail`: the weave and the cuff's roll carry on)), or ({},
    None) when there is none. labels: the owners over the box;
    beneath: the owners were there no arms and their distances in radii (`_beneath_arms`); depth:
    each pixel's distance to the silhouette's edge.
    The fill reads only pixels the mask covers fully and at least HIDDEN_SOURCE_DEPTH x the wider
    forearm's radius inside the silhouette: MediaPipe's mask runs some pixels past the body, and
    that rim of wall, spread into the hidden body, drew white streaks down a black suit. Its
    materials are read from no pixel within HIDDEN_SOURCE_GAP x that radius of an arm whose colour
    is likelier the arms' than the body's (`colour.arm_coloured`), nor from any within
    HIDDEN_SOURCE_SEAM x that radius (the seam's pixels mix the two): a capsule misses a strip of
    the arm's skin along its edge, which the body owns, and the dancer's chest behind her forearm
    was filled with that skin, a pale brown band across her grey tee; the denim cuff beside a hand
    is read, and carries on behind it (the detail still comes from beside the seam: it is weighed by
    how well it agrees with the fill). A leg's fill takes each row's material from the leg's pixels
    nearest along the row first (HEMMED_PARTS): the shorts' cuff behind a hanging hand ended in a
    tooth of denim down the thigh, the denim being the most of what lay around; so does a strip of
    the trunk's side under a hanging arm (TRUNK_STRIP). Those row fills are then shaded to meet the
    part's pixels round them (`_shaded_to_rim`, RIM_MATCH): the thigh below a hand lies in its shadow.

    Hidden body is where an arm interrupts the body's outline: the arm pixels a closing of the body
    without the arms (a disc of HIDDEN_REACH x the wider forearm's radius: `geometry.closed_by`)
    takes in, such as a hand held against the side of the shorts; and every arm pixel inside the
    torso's polygon (shoulders and hips), where the trunk surely is behind the arm: arms folded
    across the chest cover more than a closing can bridge. An arm that hangs clear of the body, or
    along a straight side, adds nothing: the closing only fills dents. Given to the
    body part that would own them were there no arms, they are drawn under the arms and show when an
    arm moves away, where a hole in the shorts used to open. Only where the arm covers its pixel
    fully (`solid`, the soft mask at 1), so that the body never shows through an arm's soft edge."""
    is_arm = np.isin(labels, ARM_PARTS) & person
    forearms = _forearm_radii(radii, segments)
    body = person & ~is_arm
    if not is_arm.any() or not body.any() or not forearms:
        return {}, None
    reach = max(2, int(round(HIDDEN_REACH * max(forearms))))
    closed = closed_by(np.pad(body, reach), reach)[reach:-reach, reach:-reach]
    body_labels, reach_in_radii = beneath
    trunk = (body_labels == TORSO) & (reach_in_radii <= 0)  # inside the torso's polygon
    sides = _sides_under_arms(body, is_arm, first_row, gap=int(round(SIDE_GAP * max(forearms))))
    hidden = (closed | trunk | sides) & is_arm & solid
    if not hidden.any():
        return {}, None
    out = {int(p): hidden & (body_labels == p) for p in np.unique(body_labels[hidden])}
    out = {p: pixels for p, pixels in out.items() if pixels.sum() >= MIN_HIDDEN}
    if not out:
        return {}, None
    colour = image.copy()
    clean = body & solid & (depth > HIDDEN_SOURCE_DEPTH * max(forearms))  # no rim of wall
    if clean.sum() < MIN_HIDDEN:
        clean = body
    # no rim of the arm's own skin: beside the arms, no pixel in the arms' colours, and none at all at the seam
    from_arms = distance_from(is_arm)
    off_seam = from_arms > HIDDEN_SOURCE_SEAM * max(forearms)
    off_arms = off_seam & ~((from_arms <= HIDDEN_SOURCE_GAP * max(forearms))
                           & arm_coloured(image, is_arm & solid, clean))
    for part, pixels in out.items():  # each from its own visible pixels: the trunk behind folded arms
        own = clean & (labels == part)  # looks like the trunk, not like the thighs beside it
        sources = own if own.sum() >= MIN_HIDDEN else clean
        materials = sources & off_arms if (sources & off_arms).sum() >= MIN_HIDDEN else sources
        rows = sources & off_seam  # a hem runs across a leg, and across a strip of the trunk's side
        strips = pixels if part in HEMMED_PARTS else np.zeros_like(pixels)
        if part == TORSO and TRUNK_STRIP > 0:
            strips = _upright_strips(pixels, TRUNK_STRIP * max(forearms))
        filled = fill_by_material(image, pixels & ~strips, materials)
        if strips.any():
            filled[strips] = fill_by_material(image, strips, materials, rows=rows)[strips]
        if HIDDEN_DETAIL:  # the detail beside the seam, less its mean, where it agrees with the fill
            filled = _with_detail(image, filled, pixels, sources, int(np.ceil(SEAM_WIDTH * max(forearms))) + 1)
        if strips.any() and RIM_MATCH > 0:  # lit or shaded as the part beside it
            filled = _shaded_to_rim(image, filled, strips, body & solid & (labels == part), RIM_MATCH)
        colour[pixels] = filled[pixels]  # its blend into the hole's rim would touch the body's own pixels
    return out, colour


def _upright_strips(pixels: np.ndarray, width: float) -> np.ndarray:
    """bool (h, w): the 8-connected pieces of `pixels` whose runs along the rows are on average no
    wider than `width` pixels (their area over the rows they span, every row of their box: a
    connected piece skips none): strips standing up, such as the side of a top an arm hung beside."""
    _count, pieces, stats, _centres = cv2.connectedComponentsWithStats(pixels.astype(np.uint8), connectivity=8)
    narrow = stats[:, cv2.CC_STAT_AREA] <= width * stats[:, cv2.CC_STAT_HEIGHT]
    narrow[0] = False  # the background
    return narrow[pieces] & pixels


def _shaded_to_rim(image: np.ndarray, filled: np.ndarray, hole: np.ndarray, own: np.ndarray, match: float
                   ) -> np.ndarray:
    """uint8 (h, w, 3): `filled` with a smooth correction over the `hole` (bool (h, w)) so that it
    meets the `own` pixels round it: at each own pixel touching the hole whose colour (in `image`) is
    within `match` (CIE Lab) of the nearest filled pixel's, the difference between the two, spread
    over the hole by the membrane (Laplace's equation; 0 at the hole's other neighbours: another
    material, another part, the background). Pixels away from the hole are `filled`'s."""
    ring = own & ~hole & (cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if not ring.any():
        return filled
    ys, xs = np.nonzero(hole | ring)
    y0, y1 = max(int(ys.min()) - 1, 0), min(int(ys.max()) + 2, hole.shape[0])  # a hole at the photo's edge:
    x0, x1 = max(int(xs.min()) - 1, 0), min(int(xs.max()) + 2, hole.shape[1])  # its box stops there
    box_hole, box_ring = hole[y0:y1, x0:x1], ring[y0:y1, x0:x1]
    # each ring pixel's nearest hole pixel: the labels of the distance transform to the hole
    _distance, nearest = cv2.distanceTransformWithLabels((~box_hole).astype(np.uint8), cv2.DIST_L2, 5,
                                                         labelType=cv2.DIST_LABEL_PIXEL)
    hy, hx = np.nonzero(box_hole)
    where = np.zeros((int(nearest.max()) + 1, 2), np.int64)
    where[nearest[hy, hx]] = np.stack([hy, hx], axis=1)
    ry, rx = np.nonzero(box_ring)
    ny, nx = where[nearest[ry, rx]].T
    rim = image[y0:y1, x0:x1][ry, rx].astype(np.float32)
    inside = filled[y0:y1, x0:x1][ny, nx].astype(np.float32)
    lab = cv2.cvtColor(np.concatenate([rim, inside])[:, None, :] / 255, cv2.COLOR_RGB2LAB)[:, 0]
    alike = np.linalg.norm(lab[:len(rim)] - lab[len(rim):], axis=1) < match
    values = np.zeros((y1 - y0, x1 - x0, 3), np.float64)
    values[ry[alike], rx[alike]] = rim[alike] - inside[alike]
    correction = solve_poisson(values, box_hole)
    out = filled.copy()
    box = out[y0:y1, x0:x1]
    box[box_hole] = np.clip(np.round(box[box_hole] + correction[box_hole]), 0, 255).astype(np.uint8)
    return out


def _with_detail(image: np.ndarray, filled: np.ndarray, hole: np.ndarray, source: np.ndarray, gap: int
                 ) -> np.ndarray:
    """uint8 (h, w, 3): `filled` (the hole filled one material at a time, flat) with the detail of
    the `source` pixels reflected into the `hole` along its rows from past the `gap` pixels at its
    ends (the seam's recoloured band: `_reflected_along_rows`), each pixel's colour less its
    Gaussian blur (DETAIL_SIGMA), added where the reflection sees the material the fill chose:
    the weave of the denim and the stitched roll of a cuff carry on behind where a hand lay, where
    the fill alone drew a flat blue block; a hem that slants away from its row does not draw its
    edge across the skin below."""
    mirrored, found = _reflected_along_rows(image, hole, source, gap)
    if not found.any():
        return filled
    base, _weight = _local_mean(mirrored, found, DETAIL_SIGMA)
    detail = mirrored.astype(np.float32) - base
    detail *= np.exp(-(np.linalg.norm(base - filled.astype(np.float32), axis=2) / DETAIL_AGREE) ** 2)[..., None]
    out = filled.copy()
    out[found] = np.clip(np.round(filled[found].astype(np.float32) + detail[found]), 0, 255).astype(np.uint8)
    return out


def _reflected_along_rows(image: np.ndarray, hole: np.ndarray, source: np.ndarray, gap: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (h, w, 3), bool (h, w)): each `hole` pixel's colour reflected along its row from the
    `source` pixels beyond the nearer end of its run of hole pixels, skipping the `gap` pixels next
    to that end (the run's end pixel takes the pixel gap + 1 beyond it, its neighbour the next one
    out, and so on; where that is no source pixel, the same from the farther end), and where that
    found a source pixel."""
    out = np.zeros_like(image)
    found = np.zeros(hole.shape, bool)
    width = hole.shape[1]
    for row in np.flatnonzero(hole.any(axis=1)):
        line = hole[row]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], line.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):  # a run start .. stop - 1
            cols = np.arange(start, stop)
            left = 2 * start - 1 - cols - gap  # mirrored about the run's left end, `gap` pixels out
            right = 2 * stop - 1 - cols + gap  # ... and its right end
            nearer = np.where(np.abs(cols - (start - 0.5)) <= np.abs(cols - (stop - 0.5)), left, right)
            take = np.full(len(cols), -1)
            for candidate in (nearer, np.where(nearer == left, right, left)):
                valid = (take < 0) & (candidate >= 0) & (candidate < width)
                valid[valid] &= source[row, candidate[valid]]
                take[valid] = candidate[valid]
            got = take >= 0
            out[row, cols[got]] = image[row, take[got]]
            found[row, cols[got]] = True
    return out, found


def _islands_to_arms(labels: np.ndarray, person: np.ndarray, radii: np.ndarray, segments: list) -> np.ndarray:
    """The owners `labels` (int8 (h, w) over the person's box) with each small piece of body that an
    arm surrounds on every side given to that arm: the colour release gives the body a few pixels
    inside a hand that rests on the thigh (skin like the thigh's), and when the hand moved away
    they stayed behind, specks of skin on the shorts. A piece is small under ISLAND_AREA x the
    wider forearm's radius squared."""
    forearms = _forearm_radii(radii, segments)
    is_arm = np.isin(labels, ARM_PARTS) & person
    body = person & ~is_arm
    if not forearms or not is_arm.any() or not body.any():
        return labels
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(body.astype(np.uint8), connectivity=8)
    small = 1 + np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] <= ISLAND_AREA * max(forearms) ** 2)
    out = labels
    ring_shape = np.ones((3, 3), np.uint8)
    height, width = labels.shape
    for piece in small:
        x, y, w, h = stats[piece, :4]
        if x == 0 or y == 0 or x + w == width or y + h == height:
            continue  # on the box's border: not surrounded
        y0, y1, x0, x1 = y - 1, y + h + 1, x - 1, x + w + 1
        this = pieces[y0:y1, x0:x1] == piece
        ring = (cv2.dilate(this.astype(np.uint8), ring_shape) > 0) & ~this
        if not is_arm[y0:y1, x0:x1][ring].all():
            continue
        arms, votes = np.unique(labels[y0:y1, x0:x1][ring], return_counts=True)
        if out is labels:
            out = labels.copy()
        out[y0:y1, x0:x1][this] = arms[votes.argmax()]
    return out


def _strands_to_body(labels: np.ndarray, person: np.ndarray, body_labels: np.ndarray, xs: np.ndarray,
                     ys: np.ndarray, radii: np.ndarray, segments: list) -> np.ndarray:
    """The owners `labels` (int8 (h, w) over the person's box) with each strand of arm that reaches
    into the body given to the body part beneath it (`body_labels`): a piece of arm that an
    opening by a disc STRAND_WIDTH x the narrower forearm's radius wide takes off, whose rim is
    more body than background, short of the wrists (fingers are as thin). The colour release
    judges hair lying along an upper arm pixel by pixel, and a strand here and there stayed with
    the arm: raised, the arm trailed them below it as wisps of hair."""
    forearms = _forearm_radii(radii, segments)
    is_arm = np.isin(labels, ARM_PARTS) & person
    body = person & ~is_arm
    if STRAND_WIDTH <= 0 or not forearms or not is_arm.any() or not body.any():
        return labels
    reach = max(1, int(round(STRAND_WIDTH * min(forearms) / 2)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    thin = is_arm & ~(cv2.morphologyEx(is_arm.astype(np.uint8), cv2.MORPH_OPEN, disc) > 0)
    for fore in (R_FORE, L_FORE):  # past the wrist: the hand
        if segments[fore] is not None:
            elbow, wrist = segments[fore][0]
            along = (wrist - elbow) / max(float(np.hypot(*(wrist - elbow))), 1e-6)
            thin &= (xs - wrist[0]) * along[0] + (ys - wrist[1]) * along[1] < -radii[fore]
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    out = labels
    ring = np.ones((3, 3), np.uint8)
    for piece in range(1, count):
        x, y, w, h = stats[piece, :4]
        sl = np.s_[max(0, y - 1):y + h + 1, max(0, x - 1):x + w + 1]
        this = pieces[sl] == piece
        rim = (cv2.dilate(this.astype(np.uint8), ring) > 0) & ~this
        this &= body_labels[sl] >= 0
        if (rim & body[sl]).sum() <= (rim & ~person[sl]).sum():
            continue  # the arm's own outline against the background
        if out is labels:
            out = labels.copy()
        out[sl][this] = body_labels[sl][this]
    return out


def _below_the_armpits(pose: np.ndarray) -> int:
    """The image row SIDE_START of the way from the shoulders down to the hips."""
    shoulders = float(np.mean(pose[[R_SHOULDER, L_SHOULDER], 1]))
    hips = float(np.mean(pose[[R_HIP, L_HIP], 1]))
    return int(round(shoulders + SIDE_START * (hips - shoulders)))


def _sides_under_arms(body: np.ndarray, is_arm: np.ndarray, first_row: int, gap: int = 0) -> np.ndarray:
    """bool (h, w): the arm pixels between the body's visible side and that side carried on under
    an arm that lies along it. Row by row, the body's outermost pixel on each side is its outline,
    hidden where an arm pixel lies beyond it (across at most `gap` pixels of background: the seam
    between a forearm and the shorts it lies on can be a line of background in the mask); over each
    run of such rows the outline is the straight line between the visible outline just above and
    just below the run (a hand resting on the side of the shorts hides the shorts' side from the
    waist to the hem). Only runs below `first_row`
    (a third of the way down from the shoulders: `_below_the_armpits`): higher up, the run of an
    arm hanging from the shoulder begins at the shoulder, and a line from there takes in the upper
    arm. Runs reaching the body's top or bottom, with nothing seen beyond them, add nothing."""
    count, components, stats, _ = cv2.connectedComponentsWithStats(body.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(body)
    areas = stats[1:, cv2.CC_STAT_AREA]
    main = np.isin(components, 1 + np.flatnonzero(areas >= SIDE_MIN_SHARE * areas.max()))
    out = np.zeros_like(body)
    h, w = body.shape
    rows = np.flatnonzero(main.any(axis=1))
    for flip in (False, True):  # the left sides, then the right ones (the image mirrored)
        m = main[:, ::-1] if flip else main
        arm = is_arm[:, ::-1] if flip else is_arm
        edge = np.where(m.any(axis=1), m.argmax(axis=1), -1)
        hidden = np.zeros(h, bool)
        for step in range(1, gap + 2):  # an arm pixel within gap + 1 pixels beyond the edge
            hidden[rows] |= (edge[rows] >= step) & arm[rows, np.maximum(edge[rows] - step, 0)]
        y = 0
        while y < h:
            if not hidden[y]:
                y += 1
                continue
            a = y
            while y < h and hidden[y]:
                y += 1
            b = y  # rows a .. b-1 hidden
            if a - 1 < first_row or b >= h or edge[a - 1] < 0 or edge[b] < 0 or hidden[a - 1] or hidden[b]:
                continue
            for r in range(a, b):
                line = edge[a - 1] + (edge[b] - edge[a - 1]) * (r - a + 1) / (b - a + 1)
                x = edge[r] - 1
                while x >= 0 and x >= line - 0.5 and (arm[r, x] or edge[r] - x <= gap):
                    x -= 1
                cols = np.arange(x + 1, edge[r])
                cols = cols[arm[r, cols]]  # the background of the seam stays background
                out[r, (w - 1 - cols) if flip else cols] = True
    return out


def _foreshortened(pose: np.ndarray, height: float, segments: list) -> list:
    """[(limb, its other side)] for the limbs the photo shows foreshortened, pointing at the camera: a
    bone under FORESHORTENED x its other side's, which is at least MIN_STAND_IN x the torso height."""
    if segments[TORSO] is None:
        return []
    lengths = {p: float(np.hypot(*(segments[p][0][1] - segments[p][0][0]))) for p in LIMB_BONES
               if segments[p] is not None}
    out = []
    for limb, other in MIRRORED_LIMBS:
        if limb in lengths and other in lengths and lengths[limb] < FORESHORTENED * lengths[other] \
                and lengths[other] >= MIN_STAND_IN * height:
            out.append((limb, other))
            logger.info("warp: the %s is foreshortened in the photo (%.0f pixels against %.0f): where a pose "
                        "straightens it, drawn from the %s, mirrored", PART_NAMES[limb], lengths[limb], lengths[other],
                        PART_NAMES[other])
    return out


def _occluded(segments: list, crops: list, taken: set) -> list:
    """[(leg part, its other side)] for the thighs and shanks the photo shows mostly hidden behind
    their other side (OCCLUDED_*): a strip of trouser beside the near leg, which drawn where the
    legs moved apart was a thin stick with a spike for a shoe. taken: limbs already stood in for."""
    if segments[TORSO] is None:
        return []
    lengths, widths = {}, {}
    for part in {p for pair in OCCLUDED_LIMBS for p in pair}:
        if segments[part] is None or crops[part] is None:
            continue
        lengths[part] = float(np.hypot(*(segments[part][0][1] - segments[part][0][0])))
        widths[part] = float(crops[part].primary.sum()) / max(lengths[part], 1.0)

    def hidden(limb: int, other: int, width: float) -> bool:
        return limb not in taken and other not in taken and limb in widths and other in widths and \
            widths[limb] < width * widths[other] and \
            OCCLUDED_LENGTH * lengths[other] <= lengths[limb] <= lengths[other] / OCCLUDED_LENGTH

    found = {limb: other for limb, other in OCCLUDED_LIMBS if hidden(limb, other, OCCLUDED_WIDTH)}
    for limb, other in OCCLUDED_LIMBS:  # the rest of a hidden part's leg, where it is narrow too
        if _SAME_LEG[limb] in found and limb not in found and hidden(limb, other, OCCLUDED_LEG_WIDTH):
            found[limb] = other
    for limb, other in found.items():
        logger.info("warp: the %s is mostly hidden behind the %s in the photo (%.0f pixels wide against %.0f): "
                    "where a pose moves it clear, drawn from the %s", PART_NAMES[limb],
                    PART_NAMES[other], widths[limb], widths[other], PART_NAMES[other])
    return list(found.items())


def _hidden_arms(pose: np.ndarray, segments: list, radii: np.ndarray, crops: list, behind: frozenset,
                 taken: set) -> dict:
    """{arm part: StandIn} for the parts of the arms behind the head or body (`_arms_behind`) that
    the photo shows mostly hidden (under OCCLUDED_WIDTH x the other arm's pixels beside the bone,
    the other arm not behind itself): the other side, mirrored, as for a foreshortened limb, and
    how far the part's far joint is from the head or torso, whichever hid it (nearer in radii).
    taken: limbs already stood in for. A tennis player's far forearm, behind his face, kept only his
    fingers past his cheek: drawn from its own pixels alone it was a hand in the air."""
    if segments[TORSO] is None:
        return {}
    width = {}
    for part in {p for pair in HIDDEN_ARMS for p in pair}:
        if segments[part] is not None and crops[part] is not None:
            width[part] = _width_along(crops[part], segments[part][0])
    pairs = [(limb, other) for limb, other in HIDDEN_ARMS
             if limb in behind and other not in behind and limb not in taken and limb in width and other in width
             and width[limb] < OCCLUDED_WIDTH * width[other]]
    out = {}
    for limb, stand_in in _stand_ins(pairs, pose, segments, radii, crops).items():
        end = pose[LIMB_BONES[limb][1], :2]
        by = min((HEAD_PART, TORSO), key=lambda part: distance_to_part(pose, part, end) / max(radii[part], 1e-6)
                 if segments[part] is not None else np.inf)
        out[limb] = replace(stand_in, apart=distance_to_part(pose, by, end), hidden_by=by)
        logger.info("warp: the %s is mostly hidden behind the %s in the photo: where a pose moves it clear, "
                    "drawn from the %s, mirrored", PART_NAMES[limb], PART_NAMES[by], PART_NAMES[stand_in.other])
    return out


def _width_along(crop: _PartCrop, bone: np.ndarray) -> float:
    """A part's own pixels beside its bone (those whose foot on the bone's line falls between its
    joints: not a hand past the wrist) per pixel of bone."""
    (ax, ay), (bx, by) = bone
    length2 = max((bx - ax) ** 2 + (by - ay) ** 2, 1.0)
    h, w = crop.primary.shape
    xs = np.arange(crop.x0, crop.x0 + w, dtype=np.float64)[None, :]
    ys = np.arange(crop.y0, crop.y0 + h, dtype=np.float64)[:, None]
    along = ((xs - ax) * (bx - ax) + (ys - ay) * (by - ay)) / length2
    return float(crop.primary[(along >= 0) & (along <= 1)].sum()) / np.sqrt(length2)


def _stand_ins(pairs: list, pose: np.ndarray, segments: list, radii: np.ndarray, crops: list,
               hidden: set = frozenset()) -> dict:
    """{limb: StandIn} for each (limb, other side) of `_foreshortened` and `_occluded` (the `hidden`
    legs): the other side's crop, bone(s) and radius, mirrored about the body's vertical axis for a
    foreshortened limb, as they are for a hidden leg (built before the hands and feet are cut from
    the limbs: the whole limb)."""
    axis = round(2.0 * float(np.mean(pose[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP], 0])))  # 2 x the mirror's x
    out = {}
    for limb, other in pairs:
        source = crops[other]
        if source is None or crops[limb] is None:
            continue
        if limb in hidden:  # the other leg as it is: the photo's view of a leg, its foot pointing its way
            apart = float(np.hypot(*(segments[limb][0][1] - segments[other][0][1])))
            out[limb] = StandIn(source, segments[other].copy(), float(radii[other]), other, apart)
            continue
        w = source.primary.shape[1]
        crop = _PartCrop(axis - source.x0 - w + 1, source.y0, np.ascontiguousarray(source.prem[:, ::-1]),
                         np.ascontiguousarray(source.primary[:, ::-1]),
                         None if source.seam is None else _mirrored_seam(source.seam, axis))
        bones = segments[other].copy()
        bones[..., 0] = axis - bones[..., 0]
        out[limb] = StandIn(crop, bones, float(radii[other]), other)
    return out


def _mirrored_seam(seam: tuple, axis: int) -> tuple:
    x0, y0, change = seam
    return axis - x0 - change.shape[1] + 1, y0, np.ascontiguousarray(change[:, ::-1])


def _crop(colour: np.ndarray, box_mask: np.ndarray, box, own: np.ndarray, extra: np.ndarray,
          clean: np.ndarray | None = None, crotch: np.ndarray | None = None,
          primary_pixels: np.ndarray | None = None) -> _PartCrop | None:
    """One part's _PartCrop from its share of its own pixels and its overhang's (float or bool, over
    the person's box: its coverage is the larger times the mask), or None when it has none; colour:
    float32, the image over the box; clean: float32, the same with the seams between the arms and
    the body recoloured (`_clean_seams`), or None; crotch: the torso's crotch pixels (over the
    box), or None; primary_pixels: its share of the pixels its primary covers (over the box; None:
    its own)."""
    x0, y0, x1, y1 = box
    weight = np.maximum(own, extra).astype(np.float32) * box_mask
    rr, cc = np.nonzero(weight > 0)
    if len(rr) == 0:
        return None
    ry0, ry1 = max(0, rr.min() - _PAD), min(y1 - y0, rr.max() + 1 + _PAD)
    rx0, rx1 = max(0, cc.min() - _PAD), min(x1 - x0, cc.max() + 1 + _PAD)
    wcrop = weight[ry0:ry1, rx0:rx1]
    prem = np.empty(wcrop.shape + (4,), np.float32)
    np.multiply(colour[ry0:ry1, rx0:rx1], wcrop[..., None], out=prem[..., :3])
    prem[..., 3] = wcrop
    primary = (own if primary_pixels is None else primary_pixels)[ry0:ry1, rx0:rx1] * box_mask[ry0:ry1, rx0:rx1]
    seam = None
    if clean is not None:
        change = (clean[ry0:ry1, rx0:rx1] - colour[ry0:ry1, rx0:rx1]) * wcrop[..., None]
        rows, cols = np.nonzero(np.abs(change).max(axis=2) > 0.5)
        if len(rows):
            sy0, sy1, sx0, sx1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
            seam = (x0 + rx0 + sx0, y0 + ry0 + sy0, np.ascontiguousarray(change[sy0:sy1, sx0:sx1]))
    crotch_cover = None
    if crotch is not None and crotch[ry0:ry1, rx0:rx1].any():
        crotch_cover = np.ascontiguousarray(crotch[ry0:ry1, rx0:rx1] * box_mask[ry0:ry1, rx0:rx1], np.float32)
    return _PartCrop(x0 + rx0, y0 + ry0, prem, np.ascontiguousarray(primary, np.float32), seam, crotch_cover)


def _cut_extremities(image, box_mask, box, xs, ys, pose, extras, own, extra, segments, radii, crops, links,
                     min_confidence, clean: np.ndarray | None = None) -> dict:
    """{hand or foot part: Extremity} for those whose points the reference shows (confidence >
    min_confidence) on a limb it draws. The limb's owned pixels are cut in two by the nearer of
    its bone and the hand's or foot's segments (the ones that extend the limb's capsule); at the
    joint (wrist, ankle) each half overhangs the other within a disc of the limb's radius, as at
    the other joints (LINKS). Fills in segments, radii and crops of the hands and feet and appends
    their links (in place)."""
    out = {}
    colour = None
    arms = None if clean is None else clean.astype(np.float32)  # a hand's recoloured seam (not a foot's)
    for part, (limb, joint, _indices) in EXTREMITIES.items():
        bone = extremity_bone(part, pose, extras, min_confidence)
        if limb not in own or crops[limb] is None or bone is None:
            continue
        start, tip, width = bone
        if np.hypot(*(tip - start)) < 1.0:  # no direction to turn it by
            continue
        limb_segments, ext_segments = segments[limb][:1], segments[limb][1:]
        nearer = (shape_distance(xs, ys, ext_segments, None) < shape_distance(xs, ys, limb_segments, None))
        own_ext = own[limb] * nearer
        own_limb = own[limb] * ~nearer
        centre, radius = pose[joint, :2].astype(np.float64), float(radii[limb])
        disc = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) <= radius ** 2
        colour = image[box[1]:box[3], box[0]:box[2]].astype(np.float32) if colour is None else colour
        seams = arms if PART_LAYER[limb] == ARMS_LAYER else None
        ext_crop = _crop(colour, box_mask, box, own_ext, disc * own_limb, seams)
        limb_crop = _crop(colour, box_mask, box, own_limb, np.maximum(extra[limb], disc * own_ext), seams)
        if ext_crop is None or limb_crop is None:
            continue
        segments[part], radii[part], crops[part] = ext_segments, radius, ext_crop
        links.append((limb, part, centre, radius))
        out[part] = Extremity(limb, start, tip, width, limb_crop, limb_segments)
    return out
