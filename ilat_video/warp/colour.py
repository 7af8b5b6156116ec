"""Giving an arm's capsule back to the body, and a forearm what its capsule missed, where their colours say so.

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
Over the hand, what would go back in the hand's own colours stays (`_fingers`): a piece can join
the strip of shorts beside a hand to the pale edge of the fingers resting on them.

`claim_by_colour` is the other way round, for the forearms: the body's pixels just past a
forearm's own that its colours say are the arm's (the strip of skin a capsule narrower than the
forearm missed) go to it.

`rims_by_colour` then judges what is left along the arms' inner sides by nearest colours, pixel by
pixel, where a histogram sees a rare colour as noise: the wall MediaPipe calls person between an
arm and the waist is not drawn, and the shorts' shadowed edge beside a hanging hand goes to the body.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

from ..matte import nearest_colour
from .geometry import distance_from, grown_by, shape_distance
from .parts import ARM_PARTS, HEAD_PART, L_FORE, R_FORE

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
# What the histograms leave along an arm's inner side, by nearest colours (`rims_by_colour`):
FINGER_REACH = 1.0  # pixels over a hand are compared with the hand's kept pixels this many radii around them...
FINGER_MARGIN = 15.0  # ... and stay with the hand when one is this near in colour (Lab)
RIM_REACH = 3.0  # an arm pixel's colour is looked for this many of its radii around it
RIM_MARGIN = 12.0  # ... and goes to the background or the body when nearer to it than the others by this (Lab)
RIM_CLOSING = 0.15  # ... those pixels closed over this x the arm's radius (a disc)
RIM_LIGHTNESS = 0.5  # ... the colours' lightness (Lab L) at this weight against their hue: light across a round
# arm shades its middle and lights its rim, and a lit rim of skin beside a pale wall went with the wall
MIN_PIECE = 6  # ... pieces of the background fewer pixels than this stay with the arm
FAR_NEIGHBOURHOOD = 3.0  # a piece is compared with the background within this many radii of it
SLICE = 0.5  # a sleeve is judged in slices across the bone this many radii long (`_sleeves`)
SLEEVE_SHARE = 0.5  # a slice whose rim looks like the body this much is a sleeve, and stays with the arm
# What a forearm's capsule missed of it (`claim_by_colour`): body pixels up to CLAIM_REACH x its radius
# past its own, attached to it, whose colour is at least exp(CLAIM_EVIDENCE) times likelier among its
# pixels than among the body's around it, in pieces nearer its colour than the body's beside them; 0: none
CLAIM_REACH = 0.5
CLAIM_EVIDENCE = 2.0
CLAIM_PARTS = (R_FORE, L_FORE)


def release_by_colour(image: np.ndarray, person: np.ndarray, labels: np.ndarray, body_labels: np.ndarray,
                      xs: np.ndarray, ys: np.ndarray, segments: list, radii: np.ndarray, *,
                      allowed: np.ndarray | None = None, depth: np.ndarray | None = None) -> np.ndarray:
    """The owners `labels` (int8 (h, w) over the person's box) with arm pixels that look like the body
    around them given to `body_labels` (the owners were there no arms). image: uint8 (h, w, 3) RGB
    over the box; person: bool (h, w); xs (1, w), ys (h, 1): the box's pixel coordinates; allowed:
    bool (h, w), the only pixels that may go back (all when None); depth: float32 (h, w), each
    person pixel's distance to the silhouette's edge, when the caller has it."""
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB)
    index = _bin_index(lab)
    is_arm = np.isin(labels, ARM_PARTS)
    body = person & ~is_arm
    out = labels.copy()
    lab_float = lab.astype(np.float32)
    if depth is None:
        depth = cv2.distanceTransform(person.astype(np.uint8), cv2.DIST_L2, 5)
    for part in np.unique(labels[is_arm]):
        distance = shape_distance(xs, ys, segments[part], None) / radii[part]
        mine = person & (labels == part)
        around = body & (distance < RING)
        arm, rim = _arm_core(mine, distance, depth, radii[part])
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
        if released.any() and len(segments[part]) > 1:  # a forearm with its hand
            released &= ~_fingers(released, mine & ~released, image, xs, ys, segments[part], radii[part])
        out[released] = body_labels[released]
    return out


def claim_by_colour(image: np.ndarray, person: np.ndarray, labels: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                    segments: list, radii: np.ndarray) -> np.ndarray:
    """The owners `labels` (int8 (h, w) over the person's box) with the body pixels along each
    forearm that are its own given to it: the release's other side. A capsule is as wide as the
    radius the silhouette gave the arm, and a forearm may be wider: the strip of skin along its edge
    stayed the body's, and when the arm moved away it was drawn as a pale line down the side of
    `photo.jpg`'s shorts, and as a patch of skin on the businessman's jacket where his hand lay
    among his folded arms. A body pixel
    (not the head's: a hand by the face) within CLAIM_REACH x the forearm's radius of its pixels is
    claimed where its colour is likelier the arm's (its core along its bone: not the rim along the
    silhouette the release reads, which mixes in the wall beside a hand held out) than the
    body's around it (within RING radii of its bone, that strip left out) by exp(CLAIM_EVIDENCE),
    in pieces that touch the arm and whose mean colour is nearer the arm's beside them than the
    body's (`_believable`, the sides swapped). Skin beside a hanging arm, a bare waist, is among the
    body's colours too: nothing is claimed. image: uint8 (h, w, 3) RGB; person: bool (h, w); xs (1,
    w), ys (h, 1): the box's pixel coordinates."""
    out = labels.copy()
    if CLAIM_REACH <= 0:
        return out
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB)
    index = _bin_index(lab)
    lab_float = lab.astype(np.float32)
    is_arm = np.isin(labels, ARM_PARTS)
    body = person & ~is_arm & (labels != HEAD_PART)
    for part in CLAIM_PARTS:
        mine = person & (labels == part)
        if segments[part] is None or mine.sum() < MIN_SAMPLES:
            continue
        radius = float(radii[part])
        band = body & grown_by(mine, max(1, int(round(CLAIM_REACH * radius))))
        if not band.any():
            continue
        distance = shape_distance(xs, ys, segments[part], None) / radius
        around = body & ~band & (distance < RING)
        arm = mine & (distance < CORE)
        if arm.sum() < MIN_SAMPLES or around.sum() < MIN_SAMPLES:
            continue
        p_arm, p_body = _likelihood(index[arm]), _likelihood(index[around])
        evidence = np.clip(np.log(p_arm[index] / p_body[index]), -MAX_EVIDENCE, MAX_EVIDENCE).astype(np.float32)
        evidence = cv2.GaussianBlur(evidence, (0, 0), max(0.75, EVIDENCE_BLUR * radius))
        claimed = _attached(band & (evidence > CLAIM_EVIDENCE), mine)
        if claimed.any():
            claimed = _believable(claimed, body & ~claimed, mine, lab_float, radius)
        out[claimed] = part
        body &= ~claimed
    return out


def arm_coloured(image: np.ndarray, arm: np.ndarray, body: np.ndarray) -> np.ndarray:
    """bool (h, w): the pixels whose colour is likelier among the `arm` pixels' than among the `body`
    pixels' (bool (h, w) each; their smoothed Lab histograms, as `release_by_colour` uses). None of
    them when either has fewer than MIN_SAMPLES pixels. image: uint8 (h, w, 3) RGB."""
    if arm.sum() < MIN_SAMPLES or body.sum() < MIN_SAMPLES:
        return np.zeros(arm.shape, bool)
    index = _bin_index(cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB))
    return _likelihood(index[arm])[index] > _likelihood(index[body])[index]


def _fingers(released: np.ndarray, kept: np.ndarray, image: np.ndarray, xs: np.ndarray, ys: np.ndarray,
             segments: np.ndarray, radius: float) -> np.ndarray:
    """bool (h, w): the pixels of `released` over the hand (within the forearm's radius of its hand
    segment, past the wrist) in the colours of the hand's kept pixels (`matte.nearest_colour`
    within FINGER_REACH x radius: under FINGER_MARGIN, Lab). A hand resting on the shorts, its fingers'
    edge as pale as the thigh below the hem: the release judged that edge with the strip of shorts
    beside the hand, gave both to the body, and the fingers' edge stayed on the shorts, a pale blob
    when the hand moved away. Skin beside a forearm (a bare waist) is not over the hand and goes.
    image: uint8 (h, w, 3) RGB."""
    out = np.zeros_like(released)
    wrist, tip = segments[1]
    along = ((xs - wrist[0]) * (tip[0] - wrist[0]) + (ys - wrist[1]) * (tip[1] - wrist[1]))
    hand = (along > 0) & (shape_distance(xs, ys, segments[1:], None) < radius)
    candidates, core = released & hand, kept & hand
    if not candidates.any() or core.sum() < MIN_SAMPLES:
        return out
    ys_, xs_ = np.nonzero(candidates)
    reach, unit = max(2, round(FINGER_REACH * radius)), max(1, round(radius))
    y0, x0 = max(0, ys_.min() - reach), max(0, xs_.min() - reach)
    y1, x1 = min(released.shape[0], ys_.max() + 1 + reach), min(released.shape[1], xs_.max() + 1 + reach)
    lab = cv2.cvtColor(image[y0:y1, x0:x1].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    out[ys_, xs_] = nearest_colour(lab, ys_ - y0, xs_ - x0, core[y0:y1, x0:x1], reach, unit) < FINGER_MARGIN
    return out


def rims_by_colour(image: np.ndarray, mask: np.ndarray, labels: np.ndarray, body_labels: np.ndarray,
                   xs: np.ndarray, ys: np.ndarray, segments: list, radii: np.ndarray, depth: np.ndarray, *,
                   allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the owners with more arm pixels given to the body, bool (h, w) the arms' pixels that are the
    background seen through them): what `release_by_colour`'s histograms leave along an arm's
    inner side, judged by nearest colours. MediaPipe's mask takes in the wall between an arm
    hanging beside the body and the waist, at full confidence, and the shadowed edge of the shorts
    beside it stayed with the forearm (its histogram is the arm's rim and its bone's, where the
    shorts' shadow is rare): held out, the arm drew a pale, blue-flecked fringe along its inner side.

    Each arm pixel outside its core (`_arm_core`, its rim measured from the silhouette's outer
    edge) finds the nearest colour (Lab, its lightness weighed by RIM_LIGHTNESS: a lit rim of skin
    is as light as a pale wall, not as warm; `matte.nearest_colour`, within RIM_REACH of the arm's
    radii) among the arm's core, the body beside it and the background just outside the
    silhouette (the arm's core: every arm's, so that a sleeve's hem in the forearm's capsule is
    told by the upper arm's sleeve). It is the background's, or the body's (where `allowed`:
    body_labels' owner), when that one is nearer than the other two by RIM_MARGIN; each piece that
    goes must be nearer on average to where it goes than to the arm beside it
    (`_like_the_background`, `_believable`). What that cuts off from the arm goes to the body too.
    A sleeve the colour of the wall or the shirt stays: the arm's core shows that colour too. The
    arm's soft outer edge (within EDGE_SKIP of the silhouette's edge) is left to `matte`.
    image: uint8 (h, w, 3) RGB over the person's box; mask: float32 (h, w) the soft person mask
    there (the arm draws pixels of its soft edge too, and its wall there goes as well); labels,
    body_labels: int8 (h, w) the owners (after `release_by_colour`) and the owners were there no arms; depth:
    float32 (h, w) each person pixel's distance to the silhouette's outer edge (the mask's holes
    filled: the wall round a speck MediaPipe left out is no rim of the arm)."""
    person = mask >= 0.5
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    lab_lit = lab * np.array([RIM_LIGHTNESS, 1.0, 1.0], np.float32)  # for the nearest colours
    lab8 = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB).astype(np.float32)
    arms = np.isin(labels, ARM_PARTS)
    is_arm, drawn = arms & person, arms & (mask > 0.0)
    body, outside = person & ~is_arm, mask <= 0.1
    out, background = labels.copy(), np.zeros_like(person)
    parts = [int(p) for p in np.unique(labels[is_arm])]
    distances = {p: shape_distance(xs, ys, segments[p], None) / radii[p] for p in parts}
    cores = {p: _arm_core(is_arm & (labels == p), distances[p], depth, radii[p])[0] for p in parts}
    core = np.logical_or.reduce([cores[p] for p in parts]) if parts else None  # a sleeve's colour is
    for part in parts:  # the upper arm's, though the forearm's capsule takes its hem
        distance, mine = distances[part], is_arm & (labels == part)
        near_body, near_outside = body & (distance < RING), outside & (distance < RING)
        candidates = drawn & (labels == part) & ~core & (depth >= EDGE_SKIP)
        if cores[part].sum() < MIN_SAMPLES or not candidates.any():
            continue
        reach, unit = max(2, round(RIM_REACH * radii[part])), max(1, round(radii[part]))

        def nearest(pixels: np.ndarray, sure: np.ndarray) -> np.ndarray:
            """float32 (h, w): `matte.nearest_colour` over `pixels`, inf elsewhere."""
            out = np.full(pixels.shape, np.inf, np.float32)
            if sure.sum() >= MIN_SAMPLES:
                ys_, xs_ = np.nonzero(pixels)
                out[ys_, xs_] = nearest_colour(lab_lit, ys_, xs_, sure, reach, unit)
            return out

        # The arm's candidates and the body beside it, in one search each against the arms' cores
        # and against the wall outside. The body's own pixels that look like that wall and not like
        # an arm are no sample of the body: the same wall, beside the waist, that the torso's
        # capsule takes in.
        to_arm, to_outside = nearest(candidates | near_body, core), nearest(candidates | near_body, near_outside)
        near_body &= ~(to_outside + RIM_MARGIN < to_arm)
        to_body = nearest(candidates, near_body)
        ys_, xs_ = np.nonzero(candidates)
        to_arm, to_body, to_outside = to_arm[ys_, xs_], to_body[ys_, xs_], to_outside[ys_, xs_]
        close = max(1, round(RIM_CLOSING * radii[part]))
        wall = _decided(ys_, xs_, to_outside, np.minimum(to_arm, to_body), candidates, close, MIN_PIECE)
        if wall.any():
            background |= _like_the_background(wall, mine & ~wall, body, near_outside, lab, radii[part])
        body_side = candidates & person & (True if allowed is None else allowed)
        given = _decided(ys_, xs_, to_body, np.minimum(to_arm, to_outside), body_side, close, 1)
        if given.any():
            given = _believable(given, mine & ~given & ~background, body, lab8, radii[part])
            out[given] = body_labels[given]
        stray = _cut_off(mine, (out == part) & person & ~background) & (True if allowed is None else allowed)
        out[stray] = body_labels[stray]  # what these leave cut off from the arm is no arm
    return out, background


def _decided(ys: np.ndarray, xs: np.ndarray, nearer: np.ndarray, farther: np.ndarray, where: np.ndarray,
             close: int, smallest: int) -> np.ndarray:
    """bool (h, w) = where.shape: the pixels (ys, xs) of `where` whose colour distance `nearer` beats
    `farther` by RIM_MARGIN, closed over (`_solid`), the closing taking in only pixels that lean
    the same way (nearer at all), not the arm's own."""
    sure, leaning = np.zeros_like(where), np.zeros_like(where)
    sure[ys, xs] = nearer + RIM_MARGIN < farther
    leaning[ys, xs] = nearer < farther
    return _solid(sure & where, close, smallest=smallest) & where & leaning


def _cut_off(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """bool: the pixels of `after` (bool, a part's pixels) that lay in the largest piece of `before`
    (8-connected) but no longer lie in the largest piece of `after`: cut off from the arm by what
    went, not a piece the photo shows apart (a forearm seen on both sides of the other one)."""
    pieces = []
    for pixels in (before, after):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(pixels.astype(np.uint8), connectivity=8)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 0
        pieces.append(labels == largest if largest else np.zeros_like(pixels))
    return after & pieces[0] & ~pieces[1]


def _solid(pixels: np.ndarray, close: int, *, smallest: int = 1) -> np.ndarray:
    """bool: `pixels` without holes between them (a closing by a disc of radius `close`) and
    without pieces of fewer than `smallest` pixels (a speck of highlight on skin that looks like a
    white wall stays with the arm; a line of wall one pixel wide goes)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close + 1, 2 * close + 1))
    closed = cv2.morphologyEx(pixels.astype(np.uint8), cv2.MORPH_CLOSE, disc)
    if smallest <= 1:
        return closed > 0
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    return (stats[:, cv2.CC_STAT_AREA] >= smallest)[pieces] & (closed > 0)


def _like_the_background(gone: np.ndarray, arm: np.ndarray, body: np.ndarray, outside: np.ndarray, lab: np.ndarray,
                         radius: float) -> np.ndarray:
    """The pieces of `gone` whose mean colour is nearer the background's (`outside` pixels within
    FAR_NEIGHBOURHOOD x radius of the piece) than the arm's and the body's beside it (NEIGHBOURHOOD
    x radius), by CHROMA_MARGIN in hue or RIM_MARGIN in all. lab: float32 (h, w, 3)."""
    near_reach, far_reach = max(1, round(NEIGHBOURHOOD * radius)), max(1, round(FAR_NEIGHBOURHOOD * radius))
    count, pieces, windows = _pieces(gone, far_reach)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        at = windows[i]
        piece = pieces[at] == i
        away = distance_from(piece)
        near, far = away <= near_reach, away <= far_reach
        outside_, lab_ = outside[at], lab[at]
        if not (far & outside_).any():
            continue
        colour = lab_[piece].mean(axis=0)
        to_outside = colour - lab_[far & outside_].mean(axis=0)
        others = [colour - lab_[near & side[at]].mean(axis=0) for side in (arm, body) if (near & side[at]).any()]
        keep[i] = all(np.linalg.norm(to_outside[1:]) + CHROMA_MARGIN < np.linalg.norm(o[1:])
                      or np.linalg.norm(to_outside) + RIM_MARGIN < np.linalg.norm(o) for o in others)
    return keep[pieces]


def _arm_core(mine: np.ndarray, distance: np.ndarray, depth: np.ndarray, radius: float
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """(the pixels surely the arm's, its rim along the silhouette's edge or None): the rim where it has
    one (an arm hanging beside the body: MediaPipe puts its joints near its inner edge, so the
    middle of its capsule holds what it lies against), else the pixels within CORE of its radius
    from its bone (an arm inside the body's outline, across the chest). mine: bool (h, w) its
    pixels; distance: float (h, w) in its radii from its bone; depth: to the silhouette's edge."""
    core = mine & (distance < CORE)
    rim = mine & (depth >= EDGE_SKIP) & (depth < EDGE_DEPTH * radius)
    if rim.sum() >= max(MIN_SAMPLES, MIN_EDGE_SHARE * core.sum()):
        return rim, rim
    return core, None


def _believable(released: np.ndarray, kept: np.ndarray, body: np.ndarray, lab: np.ndarray, radius: float
                ) -> np.ndarray:
    """The pieces of `released` whose mean colour is nearer the body's than the arm's where they meet
    (each side's pixels within NEIGHBOURHOOD x radius of the piece), in Lab and in its chroma alone
    (a*, b*: by more than CHROMA_MARGIN). A strip of shorts beside a hand is like the shorts next to
    it, in hue too. The shaded rim of a bare arm, which the histograms may match with a face or a
    leg elsewhere, and a sleeve the colour of the shirt differ from the arm beside them in lightness
    at most: they stay. lab: float32 (h, w, 3)."""
    reach = max(1, int(round(NEIGHBOURHOOD * radius)))
    count, pieces, windows = _pieces(released, reach)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        at = windows[i]
        piece = pieces[at] == i
        near = grown_by(piece, reach)
        arm_side, body_side = near & kept[at], near & body[at]
        if not arm_side.any() or not body_side.any():
            keep[i] = True
            continue
        lab_ = lab[at]
        colour = lab_[piece].mean(axis=0)
        to_body, to_arm = colour - lab_[body_side].mean(axis=0), colour - lab_[arm_side].mean(axis=0)
        keep[i] = (np.linalg.norm(to_body) < np.linalg.norm(to_arm)
                   and np.linalg.norm(to_body[1:]) + CHROMA_MARGIN < np.linalg.norm(to_arm[1:]))
    return keep[pieces]


def _pieces(pixels: np.ndarray, reach: int) -> tuple[int, np.ndarray, list]:
    """(count, pieces, windows): the 8-connected pieces of `pixels` (bool (h, w); `pieces` their
    int32 labels, 0 none) and for each piece the slice of its box grown by `reach` pixels, inside
    which the pixels within `reach` of the piece lie whole. Judging each piece inside its own
    window, not the whole box, keeps the time in proportion to the pieces' sizes."""
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(pixels.astype(np.uint8), connectivity=8)
    height, width = pixels.shape
    windows = [None] + [np.s_[max(0, y - reach):min(height, y + h + reach), max(0, x - reach):min(width, x + w + reach)]
                        for x, y, w, h in stats[1:, :4]]
    return count, pieces, windows


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


def _bin_index(lab: np.ndarray) -> np.ndarray:
    """int32 (h, w): each pixel's bin among the BINS^3 bins of `_likelihood`'s histograms; lab: uint8
    (h, w, 3) 8-bit Lab."""
    bins = lab.astype(np.int32) * BINS // 256
    return (bins[..., 0] * BINS + bins[..., 1]) * BINS + bins[..., 2]


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
