"""Giving an arm's capsule back to the body where its colours say so.

An arm owns its whole capsule (arms are drawn in front, `reference._nearest_parts`), but a capsule
is a guess at the arm's outline: a hand hanging beside the shorts takes a strip of denim with it,
an upper arm takes the edge of the top, an arm across the chest takes the shirt around it. When
the arm moves, those pixels travel with it as shreds of the wrong stuff along its edges.

`release_by_colour` asks each arm's colours: a histogram of its core (surely arm) against one of
the body pixels just around its capsule (surely not arm). The core is the arm's rim along the
silhouette's edge where it has one (an arm hanging beside the body): MediaPipe puts such an arm's
joints near its inner edge, so the middle of its capsule holds the hair and the top it lies
against. An arm inside the body's outline (across the chest) has no such rim; its core is then
along its bone. A capsule pixel goes back to the nearest body part when the body's colours
explain it better, with a prior that trusts the capsule near the bone and is even at its rim; the
arm's histogram is then made again from the core it kept (a strip of shorts inside its core goes
too), for ROUNDS rounds. What goes back comes in pieces, each of which must touch the body and
look more like the body than the arm where it meets them, in hue as well as in colour (a histogram
may match an arm's shadow with a face or a leg elsewhere, and a shadow differs in lightness, not
hue). Where the two histograms look alike the prior keeps the capsule as it was.

A short sleeve the colour of the shirt is told from hair or a ruffle lying over the arm by the rim:
a sleeve wraps the arm, rim and all, and stays with it (`_sleeves`); hair over the arm's inner side
leaves its rim bare, and goes back to the head and torso, where it hangs when the arm is raised.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

from .geometry import shape_distance
from .parts import ARMS_LAYER, PART_LAYER

CORE = 0.5  # the arm's colours at first: its pixels within this share of its radius from its bone
RING = 2.0  # the body's colours: body pixels within this many radii of the arm's bone
BINS = 16  # histogram bins per Lab channel
BIN_BLUR = 0.75  # the histograms' Gaussian smoothing, in bins
MIN_SAMPLES = 50  # pixels each side needs before its colours are believed
EVIDENCE_BLUR = 0.04  # the colour evidence is smoothed over this share of the arm's radius (Gaussian sigma)
MAX_EVIDENCE = 4.0  # |log likelihood ratio| at most this (a ratio of about 55)
PRIOR_AT_BONE = 0.05  # P(body) before the colours on the bone; it rises to 1/2 at the capsule's rim
CHROMA_MARGIN = 4.0  # a piece given back is nearer the body's chroma than the arm's by this (8-bit Lab)
NEIGHBOURHOOD = 0.5  # a piece is compared with the arm and body pixels within this many radii of it
ROUNDS = 3  # the arm's colours re-estimated from the core it keeps
MIN_KEPT = 0.3  # a release that would leave the arm less than this share of its capsule is not believed
# The arm's rim along the silhouette's edge, its core where it has one (the module's docstring):
EDGE_SKIP = 2.0  # pixels at the silhouette's very edge, mixed with the background, are left out
EDGE_DEPTH = 0.6  # the rim is this many of the arm's radii deep
MIN_EDGE_SHARE = 0.3  # a rim with fewer pixels than this share of the bone's core is not used
SLICE = 0.5  # a sleeve is judged in slices across the bone this many radii long (`_sleeves`)
SLEEVE_SHARE = 0.5  # a slice whose rim looks like the body this much is a sleeve, and stays with the arm


def release_by_colour(image: np.ndarray, person: np.ndarray, labels: np.ndarray, body_labels: np.ndarray,
                      xs: np.ndarray, ys: np.ndarray, segments: list, radii: np.ndarray, *,
                      allowed: np.ndarray | None = None, depth: np.ndarray | None = None) -> np.ndarray:
    """The owners `labels` (int8 (h, w) over the person's box) with arm pixels that look like the body
    around them given to `body_labels` (the owners were there no arms). image: uint8 (h, w, 3) RGB
    over the box; person: bool (h, w); xs (1, w), ys (h, 1): the box's pixel coordinates; allowed:
    bool (h, w), the only pixels that may go back (all when None); depth: float32 (h, w), each
    person pixel's distance to the silhouette's edge, when the caller has it."""
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB)
    bins = (lab.astype(np.int32) * BINS) // 256
    index = (bins[..., 0] * BINS + bins[..., 1]) * BINS + bins[..., 2]
    is_arm = np.isin(labels, [p for p in range(len(PART_LAYER)) if PART_LAYER[p] == ARMS_LAYER])
    body = person & ~is_arm
    out = labels.copy()
    lab_float = lab.astype(np.float32)
    if depth is None:
        depth = cv2.distanceTransform(person.astype(np.uint8), cv2.DIST_L2, 5)
    for part in np.unique(labels[is_arm]):
        distance = shape_distance(xs, ys, segments[part], None) / radii[part]
        mine = person & (labels == part)
        around = body & (distance < RING)
        arm = mine & (distance < CORE)
        rim = mine & (depth >= EDGE_SKIP) & (depth < EDGE_DEPTH * radii[part])
        if rim.sum() >= max(MIN_SAMPLES, MIN_EDGE_SHARE * arm.sum()):
            arm = rim
        else:  # an arm inside the body's outline (across the chest): its colours from along its bone
            rim = None
        if arm.sum() < MIN_SAMPLES or around.sum() < MIN_SAMPLES:
            continue
        p_body = _likelihood(index[around])
        prior = PRIOR_AT_BONE + (0.5 - PRIOR_AT_BONE) * np.clip(distance, 0.0, 1.0) ** 2
        prior_odds = prior / (1.0 - prior)
        sigma = max(0.75, EVIDENCE_BLUR * radii[part])
        released, rim_like_body = np.zeros_like(mine), None
        for _ in range(ROUNDS):  # the arm's colours from what it keeps: a strip of shorts in its core goes too
            p_arm = _likelihood(index[arm])
            # The evidence, log P(colour | body) / P(colour | arm), bounded (a colour one side has never
            # seen says much, not everything) and smoothed over a pixel or two so that a pixel is
            # judged with its neighbours.
            evidence = np.clip(np.log(p_body[index] / p_arm[index]), -MAX_EVIDENCE, MAX_EVIDENCE).astype(np.float32)
            evidence = cv2.GaussianBlur(evidence, (0, 0), sigma)
            now = mine & (prior_odds * np.exp(evidence) > 1.0)
            now = _attached(now if allowed is None else now & allowed, body)
            kept = mine & ~now
            if kept.sum() < max(MIN_SAMPLES, MIN_KEPT * mine.sum()):  # colours that cannot tell arm from body
                break
            released = now
            rim_like_body = None if rim is None else rim & (evidence > 0)
            if np.array_equal(kept & arm, arm):
                break
            arm = arm & kept  # not in place: arm may be the rim itself
        if released.any() and rim is not None:
            released &= ~_sleeves(rim, rim_like_body, xs, ys, segments[part][0], radii[part])
        if released.any():
            released = _believable(released, mine & ~released, body, lab_float, radii[part])
        out[released] = body_labels[released]
    return out


def _believable(released: np.ndarray, kept: np.ndarray, body: np.ndarray, lab: np.ndarray, radius: float
                ) -> np.ndarray:
    """The pieces of `released` whose mean colour is nearer the body's than the arm's where they meet
    (each side's pixels within NEIGHBOURHOOD x radius of the piece), in Lab and in its chroma alone
    (a*, b*: by more than CHROMA_MARGIN). A strip of shorts beside a hand is like the shorts next to
    it, in hue too. The shaded rim of a bare arm, which the histograms may match with a face or a
    leg elsewhere, and a sleeve the colour of the shirt differ from the arm beside them in lightness
    at most: they stay. lab: float32 (h, w, 3)."""
    count, pieces = cv2.connectedComponents(released.astype(np.uint8), connectivity=8)
    reach = max(1, int(round(NEIGHBOURHOOD * radius)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    keep = np.zeros(count, bool)
    for i in range(1, count):
        piece = pieces == i
        near = cv2.dilate(piece.astype(np.uint8), kernel) > 0
        arm_side, body_side = near & kept, near & body
        if not arm_side.any() or not body_side.any():
            keep[i] = True
            continue
        colour = lab[piece].mean(axis=0)
        to_body, to_arm = colour - lab[body_side].mean(axis=0), colour - lab[arm_side].mean(axis=0)
        keep[i] = (np.linalg.norm(to_body) < np.linalg.norm(to_arm)
                   and np.linalg.norm(to_body[1:]) + CHROMA_MARGIN < np.linalg.norm(to_arm[1:]))
    return keep[pieces]


def _sleeves(rim: np.ndarray, rim_like_body: np.ndarray, xs: np.ndarray, ys: np.ndarray, bone: np.ndarray,
             radius: float) -> np.ndarray:
    """bool (h, w): the slices across the arm's bone (SLICE x radius long) where at least SLEEVE_SHARE
    of the arm's rim looks like the body. A sleeve the colour of the shirt wraps the arm, rim and
    all; hair or a ruffle lying over the arm's inner side leaves its rim bare. rim, rim_like_body:
    bool (h, w); bone: (2, 2) its ends (x, y)."""
    start, direction = bone[0], bone[1] - bone[0]
    length = max(float(np.hypot(*direction)), 1e-6)
    along = ((xs - start[0]) * direction[0] + (ys - start[1]) * direction[1]) / length
    slices = np.broadcast_to(np.floor(along / max(1.0, SLICE * radius)).astype(np.int64), rim.shape)
    slices = slices - slices.min()
    count = int(slices.max()) + 1
    total = np.bincount(slices[rim], minlength=count)
    like_body = np.bincount(slices[rim_like_body], minlength=count)
    return ((total >= 3) & (like_body >= SLEEVE_SHARE * total))[slices]


def _likelihood(samples: np.ndarray) -> np.ndarray:
    """A smoothed, normalised colour histogram over the BINS^3 Lab bins of the samples' bin indices."""
    counts = np.bincount(samples, minlength=BINS ** 3).astype(np.float64).reshape(BINS, BINS, BINS)
    counts = gaussian_filter(counts, BIN_BLUR, mode="constant")
    return (counts / max(counts.sum(), 1e-12)).ravel() + 1e-9


def _attached(released: np.ndarray, body: np.ndarray) -> np.ndarray:
    """The pieces of `released` (bool) that touch `body`."""
    count, pieces = cv2.connectedComponents(released.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(released)
    touching = np.unique(pieces[cv2.dilate(body.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0])
    keep = np.zeros(count, bool)
    keep[touching] = True
    keep[0] = False
    return keep[pieces]
