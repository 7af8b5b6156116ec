"""Frames at the photo's own size: a background plate, the reference person warped over it.

    stage = Stage.prepare(photo, mask, pose, extras, max_side=1280)   # once per video
    turned = stage.turn_track(poses)             # where the person turned their back, frame by frame
    follow = stage.follow_track(poses, extras, turned)   # which hands and feet follow their points
    for t, (target_pose, target_extras) in enumerate(zip(poses, extras)):   # in the photo's pixels
        frame, warped = stage.frame(target_pose, target_extras=target_extras, follow=follow[t],
                                    turned=turned[t])  # uint8, WarpResult

The reference's own pixels carry the person, part by part (`warp/`), so the face, the clothes and
the photo's resolution survive. What the warp cannot show is filled:
- the background behind where the person stood: the *plate*, the photo with the person removed and
  the hole inpainted, made once per video (`background_plate`; by default copies of the photo's
  own pixels where the background round the hole is textured (`exemplar.py`) and, where it is
  plain, a smooth membrane fill, the photo's own patches and its rows carried across the hole mixed
  by how well each predicts the pixels round the hole; or none at all: the warped person over the
  photo as it is, ghost included);
- the holes the warped parts leave inside the person (a hand moved off the hip, the crotch on a
  step, tears at bent joints) are filled from their surroundings (`holes_in_person`, `fill`:
  OpenCV by default, iLAT as an experiment), and the target torso an arm uncovered from the warped
  torso's own pixels (`uncovered_torso`, `fill_from_part`): `fill_holes`; everything else the
  parts do not cover is the plate.
  The warp's per-pixel confidence (low at seams, strong rotations, torsos drawn by the fallback)
  is returned with every frame for a repair step; no shipped model repairs well enough yet
  (`docs/results.md`).

Output size: the photo's, scaled so its longer side is at most `max_side`, rounded down to even
numbers (H.264's 4:2:0 needs them).
"""
from __future__ import annotations

import dataclasses
import logging

import cv2
import numpy as np

from .errors import IlatError, NoPersonError
from .exemplar import WORK_SIDE as EXEMPLAR_SIDE
from .exemplar import fill_exemplar
from .inpaint import inpaint as ilat_inpaint
from .matte import refine_edge
from .options import PLATES
from .regions import default_thickness, pose_region
from .repair import repair as ilat_repair
from .spread import PLATE_WORK_SIDE, fill_from_part, fill_scaled, solve_poisson
from .pose.skeleton import HEAD, L_ANKLE, L_HIP, L_SHOULDER, L_WRIST, R_ANKLE, R_HIP, R_SHOULDER, R_WRIST
from .warp import (
    HEAD_PART,
    LINKS,
    PART_NAMES,
    TORSO,
    WarpReference,
    WarpResult,
    link_joints,
    link_point,
    prepare_reference,
    steady_follow,
    steady_turns,
    warp_to_pose,
)
from .warp.geometry import grown_by

log = logging.getLogger(__name__)

PATCH_WORK_SIDE = 256  # the shift-map plate works on the whole photo at this longer side (its time grows ~ side^3)
# The default plate mixes the membrane, the patches and the rows by how well each predicts a ring
# of known pixels this share of the hole's extent wide around the hole, weight ~ error^-CHECK_POWER
# (experiments/results/probe_plate.md: power 2 beat 1 on synthetic frames, +0.5 dB).
CHECK_RING = 0.04
CHECK_POWER = 2.0
ROW_ENDS = 4  # the rows fill carries the mean of this many known pixels beyond each end of a run
# The default plate copies the photo's own pixels into the hole (`exemplar.fill_exemplar`) where the
# background round it is textured (grass, foliage, railings, stairs, tiles), and keeps the smooth mix
# (`inpaint_mixed`) where it is plain (a wall, a door, the sky), whose copies show as blocks of the
# wrong shade. Texture: the lightness's mean distance (CIE L) from its blur of sigma TEXTURE_SIGMA
# (pixels at exemplar.WORK_SIDE) on the ring round the hole, spread into it as the mix's errors are;
# the mix below TEXTURE_PLAIN, copies above TEXTURE_RICH, smoothstep between. On the development
# photos the hole's median: studio walls 0.0 to 0.09, a door 0.62, stairs 2.0, grass 1.6 to 4.1,
# foliage 5.9 (the hole's share copied: 0, 0.41, 1.0, 0.98 to 1.0, 0.94).
TEXTURE_SIGMA = 1.5
TEXTURE_PLAIN = 0.5
TEXTURE_RICH = 1.0
# The person's hole is MediaPipe's mask grown by this share of the body's height (its soft edge,
# hair): experiments/results/probe_hole_growth.md, real self-reenactment: 0.015 against the 0.06 of
# before, background PSNR +0.8 dB, revealed +0.3 dB (64% of moments); a wider hole is filled by
# smearing more of the surroundings into a person-shaped halo.
HOLE_GROWTH = 0.015
# Round the head (within HAIR_AROUND x its radius of the head joint), the hole also takes in what lies
# within HAIR_REACH x the body's height of it, touching it, and coloured more like the head's rim
# (its pixels within that reach inside the mask) than like the background beyond (from that reach to
# twice it): hair that sticks out past MediaPipe's mask, which stayed in the plate (`hair_past_mask`).
HAIR_REACH = 0.06
HAIR_AROUND = 2.0
HAIR_COLOURS = 4  # the rim's colours and the background's, each this many k-means centres (CIE Lab)
HOLE_CLOSING = 0.04  # gaps inside the warped person narrower than about twice this share of its height are holes
HOLE_LARGEST = 0.12  # ... and smaller in area than a square of this share of its height
HOLE_ADDED = 0.2  # ... where the closing adds at least this share of a coarse pixel's coverage
# ... and not a space between parts (`gaps_between_parts`): where a hole's two main neighbours (each
# at least GAP_SHARE of its rim) meet is the joint that joins them, or, not joined (a raised arm
# and the head), where each hangs from the torso; what lies farther than GAP_REACH x the body
# height from there is background, unless it is a sliver under GAP_WIDTH x the body height wide
# (a seam torn open): the V between spread thighs below the torso's crotch too. One between the
# head and the torso (the neck, hair over a shoulder) is always filled. GAP_WIDTH was 0.02: the
# Quick start's forearm, hanging a few pixels off her shorts, was smeared into them (12 px at her
# size); at 0.01 the wall shows between them, and cracks of a pixel or a few are still filled.
GAPS_ARE_BACKGROUND = True
GAP_SHARE = 0.2
GAP_REACH = 0.06
GAP_WIDTH = 0.01
# Each part -> the part it hangs from (LINKS, the one nearer the torso first).
_PARENT = {b: a for a, b, *_rest in LINKS}
# Drawn pixels trusted less than this (confidence / alpha) are regenerated by a repair model too.
# 0: only what the warp could not draw (holes, uncovered body). On real self-reenactment
# (experiments/results/probe_repair_trust.md) that beats the default OpenCV fill on every person
# metric (PSNR +0.09 dB on 85% of moments, SSIM, MAE, hands, feet); at 0.5 (seams, rotated parts
# too) PSNR gains more (+0.16) but SSIM falls (-0.010) and seams and side-on torsos turn to blur.
REPAIR_TRUST = 0.0
# --repair holes also fills the target torso the warp left uncovered (`uncovered_torso`), from the
# warped torso's own pixels (`fill_holes`): neutral on real self-reenactment, and an arm that lay
# across the body no longer leaves the background showing through the shirt
# (experiments/results/probe_uncovered_torso.md), nor the white wall smeared into a black suit
# (experiments/results/probe_torso_source.md).
FILL_UNCOVERED_TORSO = True


def output_size(width: int, height: int, max_side: int | None = None) -> tuple[int, int]:
    """(W, H) of the output: the photo's, its longer side at most `max_side`, both even (at least 2)."""
    if max_side is not None and max_side < 16:
        raise IlatError(f"max-side must be at least 16 pixels, got {max_side}")
    scale = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def resize_person(image: np.ndarray, mask: np.ndarray, pose: np.ndarray, extras: np.ndarray | None,
                  size: tuple[int, int]):
    """The photo, its person mask, pose and extra points at `size` = (W, H)."""
    height, width = image.shape[:2]
    if (width, height) == tuple(size):
        return image, mask, pose, extras
    sx, sy = size[0] / width, size[1] / height
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return image, mask, scale_points(pose, sx, sy), None if extras is None else scale_points(extras, sx, sy)


def scale_points(points: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Points (..., 3) x, y, confidence in one image's pixels -> in a resized image's (pixel centres)."""
    out = np.array(points, dtype=np.float32, copy=True)
    out[..., 0] = (out[..., 0] + 0.5) * sx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * sy - 0.5
    return out


def check_mask(mask: np.ndarray, name: str) -> np.ndarray:
    """The person mask as float32 in [0, 1], refused when empty or when it fills the image."""
    mask = np.asarray(mask, dtype=np.float32)
    share = float((mask >= 0.5).mean())
    if share == 0.0:
        raise NoPersonError(f"{name}: the person mask is empty: nobody to animate was segmented")
    if share > 0.95:
        raise NoPersonError(f"{name}: the person mask covers {100 * share:.0f}% of the image: the person "
                            "cannot be told from the background (crop the photo or use another one)")
    return mask


def person_hole(mask: np.ndarray, body_height: float, growth: float = HOLE_GROWTH) -> np.ndarray:
    """bool (H, W): where the person stood (mask >= 0.3), grown by HOLE_GROWTH x body height (the
    mask's soft edge, hair), what the plate must fill. A shadow at the feet stays in the plate."""
    radius = max(1, int(round(growth * body_height)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate((mask >= 0.3).astype(np.uint8), kernel) > 0


def hair_past_mask(image: np.ndarray, mask: np.ndarray, hole: np.ndarray, head: np.ndarray, head_radius: float,
                   body_height: float) -> np.ndarray:
    """bool (H, W): the person's `hole` with the hair past the mask round the head added: the
    pixels within HAIR_REACH x `body_height` of the hole and HAIR_AROUND x `head_radius` of the head
    joint (`head`, (x, y, confidence)) whose colour (CIE Lab) lies nearer the head's rim (the
    `mask`'s pixels, at least 1/2, within that reach of its edge, near the head) than the background
    beyond (the pixels from that reach to twice it off the hole) and that touch the hole through such
    pixels, a pixel wider (their soft edge). MediaPipe's mask stops short of spiky or flyaway hair;
    its tips stayed in the plate, and where the head moved away they showed as dark specks in the
    sky, streaked along the rows by the fill. A background the hair's colour beside the head (a dark
    tree behind dark hair) is taken in too, and filled. The hole as it is without a head joint or
    where either side has too few pixels to read."""
    reach = max(2, int(round(HAIR_REACH * body_height)))
    if head[2] <= 0 or HAIR_REACH <= 0:
        return hole
    height, width = hole.shape
    around = HAIR_AROUND * head_radius
    x0, x1 = max(0, int(head[0] - around - 2 * reach)), min(width, int(np.ceil(head[0] + around + 2 * reach)) + 1)
    y0, y1 = max(0, int(head[1] - around - 2 * reach)), min(height, int(np.ceil(head[1] + around + 2 * reach)) + 1)
    if x0 >= x1 or y0 >= y1:
        return hole
    box = np.s_[y0:y1, x0:x1]
    box_hole, person = hole[box], mask[box] >= 0.5
    from_head = np.hypot(np.arange(x0, x1)[None, :] - head[0], np.arange(y0, y1)[:, None] - head[1])
    off_hole = cv2.distanceTransform((~box_hole).astype(np.uint8), cv2.DIST_L2, 5)
    in_person = cv2.distanceTransform(person.astype(np.uint8), cv2.DIST_L2, 5)
    rim = person & (in_person <= reach) & (from_head <= around)
    beyond = ~box_hole & (off_hole > reach) & (off_hole <= 2 * reach) & (from_head <= around + 2 * reach)
    candidate = ~box_hole & (off_hole <= reach) & (from_head <= around)
    if rim.sum() < 4 * HAIR_COLOURS or beyond.sum() < 4 * HAIR_COLOURS or not candidate.any():
        return hole
    lab = cv2.cvtColor(image[box].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)

    def nearest(centres: np.ndarray) -> np.ndarray:
        return np.sqrt(((lab[candidate][:, None] - centres[None]) ** 2).sum(-1)).min(1)

    like = np.zeros_like(box_hole)
    like[candidate] = nearest(_colour_centres(lab[rim])) < nearest(_colour_centres(lab[beyond]))
    _, pieces = cv2.connectedComponents((box_hole | like).astype(np.uint8), connectivity=8)
    touching = np.isin(pieces, np.unique(pieces[box_hole])) & like
    if not touching.any():
        return hole
    grown = (cv2.dilate(touching.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & (off_hole <= reach + 1)
    log.debug("plate: the hole takes in %d pixels of hair past the mask", int((grown & ~box_hole).sum()))
    out = hole.copy()
    out[box] |= grown
    return out


def _colour_centres(lab: np.ndarray, count: int = HAIR_COLOURS, samples: int = 4000) -> np.ndarray:
    """float32 (k, 3): k-means centres (k <= count) of the colours `lab` (N, 3), fitted on at most
    `samples` of them drawn with a fixed seed: the same input gives the same centres."""
    rng = np.random.default_rng(0)
    fit = lab if len(lab) <= samples else lab[rng.choice(len(lab), samples, replace=False)]
    cv2.setRNGSeed(0)  # k-means++ draws its first centres from OpenCV's generator
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(np.ascontiguousarray(fit, np.float32), min(count, len(fit)), None, criteria, 2,
                               cv2.KMEANS_PP_CENTERS)
    return centres


def inpaint_smooth(image: np.ndarray, hole: np.ndarray, *, work_side: int = PLATE_WORK_SIDE) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by the membrane: Laplace's equation solved inside the
    hole with the pixels around it as the boundary, at `work_side` (the longer side) inside the hole's
    box, scaled back; the smoothest fill there is, with no seam where Navier-Stokes' fronts from
    either side of the hole meet (a shadow on a plain wall fades across the hole). uint8 (H, W, 3)."""
    if not hole.any():
        return image.copy()
    return fill_scaled(image, hole, _hole_box(hole), work_side, _membrane)


def _membrane(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
    """Each pixel of `small_hole` (uint8, 1 = fill) the mean of its 4 neighbours inside the picture
    (Dirichlet on the known pixels, Neumann at the picture's edge)."""
    out = solve_poisson(small.astype(np.float64), small_hole > 0)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def inpaint_rows(image: np.ndarray, hole: np.ndarray, *, ends: int = ROW_ENDS) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled along the rows: each run of hole pixels in a row
    goes linearly from the mean of the `ends` known pixels just left of it to the mean of those just
    right of it (a run that reaches the picture's edge takes its one end's; a row with no known
    pixel, the nearest row's). A person is a tall, narrow hole, and what stood behind them mostly
    runs across it: the edges of stairs, rails, a horizon, the stripes of a mown field carry on
    through the hole, which the membrane blurs into a person-shaped smear. Every pixel outside the
    hole is the input's (a hole that is the whole picture leaves it as it is). uint8 (H, W, 3)."""
    if not hole.any() or hole.all():
        return image.copy()
    height, width = hole.shape
    colour = image.astype(np.float32)
    known = (~hole).astype(np.float32)
    box = np.ones((1, ends), np.float32)
    means = []  # the mean of the known pixels among the `ends` ending at each pixel (left), starting there (right)
    for anchor in ((ends - 1, 0), (0, 0)):
        total = cv2.filter2D(colour * known[..., None], -1, box, anchor=anchor, borderType=cv2.BORDER_CONSTANT)
        count = cv2.filter2D(known, -1, box, anchor=anchor, borderType=cv2.BORDER_CONSTANT)
        means.append(total / np.maximum(count, 1e-6)[..., None])
    columns = np.broadcast_to(np.arange(width), (height, width))
    left = np.maximum.accumulate(np.where(hole, -1, columns), axis=1)  # the nearest known pixel at or left of each
    right = np.minimum.accumulate(np.where(hole, width, columns)[:, ::-1], axis=1)[:, ::-1]
    ys, xs = np.nonzero(hole)
    lo, hi = left[ys, xs], right[ys, xs]
    has_lo, has_hi = lo >= 0, hi < width
    start = means[0][ys, np.maximum(lo, 0)]
    stop = means[1][ys, np.minimum(hi, width - 1)]
    start[~has_lo], stop[~has_hi] = stop[~has_lo], start[~has_hi]
    along = np.where(has_lo & has_hi, (xs - lo) / np.maximum(hi - lo, 1), 0.0).astype(np.float32)[:, None]
    out = image.copy()
    out[ys, xs] = np.clip(np.round(start + along * (stop - start)), 0, 255).astype(np.uint8)
    whole = hole.all(axis=1)  # rows with no known pixel (a person from edge to edge): the nearest row's
    if whole.any():
        rows = np.arange(height)
        above = np.maximum.accumulate(np.where(whole, -1, rows))
        below = np.minimum.accumulate(np.where(whole, height, rows)[::-1])[::-1]
        nearest = np.where((above >= 0) & ((below >= height) | (rows - above <= below - rows)), above, below)
        out[whole] = out[nearest[whole]]
    return out


def inpaint_mixed(image: np.ndarray, hole: np.ndarray, *, check_share: float = CHECK_RING,
                  power: float = CHECK_POWER, patches=None) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by the membrane (`inpaint_smooth`), the picture's
    own patches (`inpaint_patches`) and its rows carried across the hole (`inpaint_rows`) mixed
    pixel by pixel, each weighted by how badly it predicts the known pixels near there. Each also
    fills the hole grown by `check_share` of its extent and is scored on that ring (squared error);
    the ring's errors are spread into the hole (a normalized Gaussian blur, sigma 10% of the hole's
    extent), and each fill's weight is e^-p over the sum of the three's. Texture that the ring shows
    the patches continue (railings, foliage) carries on, and so do the edges the rows carry across
    (stairs, a horizon); where the patches copy the wrong thing (tiles onto a door, blocks of
    another shade onto a plain wall) or the rows streak across texture, the others take over. Every
    pixel outside the hole is the input's. About twice `inpaint_patches`' time (seconds, once per
    video). patches: another fill of the photo's own patches, `patches(image, hole) -> uint8 (H, W,
    3)`, instead of `inpaint_patches` (experiments/plate_patchmatch/ tried one). uint8 (H, W, 3)."""
    patches = inpaint_patches if patches is None else patches
    if not hole.any():
        return image.copy()
    height, width = hole.shape
    extent = _hole_extent(hole)
    radius = max(2, round(check_share * extent))
    grown = grown_by(hole, radius)  # a disc hundreds of pixels wide on a 24 MP photo: by distances
    ring = (grown & ~hole).astype(np.float32)
    # The errors are spread at a small size: a blur of 10% of a 1080p person's extent is slow at full size.
    scale = min(1.0, 128 / max(height, width))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    sigma = max(1.0, 0.1 * extent * scale)
    reach = cv2.GaussianBlur(cv2.resize(ring, small_size, interpolation=cv2.INTER_AREA), (0, 0), sigma) + 1e-6

    def spread_error(filled: np.ndarray) -> np.ndarray:
        error = ((filled.astype(np.float32) - image) ** 2).mean(-1) * ring
        error = cv2.GaussianBlur(cv2.resize(error, small_size, interpolation=cv2.INTER_AREA), (0, 0), sigma) / reach
        return (cv2.resize(error, (width, height), interpolation=cv2.INTER_LINEAR) + 1.0) ** power  # + 1 grey level^2

    fills = (inpaint_smooth, patches, inpaint_rows)
    trust = [1.0 / spread_error(fill_with(image, grown)) for fill_with in fills]
    weights = [share / sum(trust) for share in trust]
    log.debug("mixed plate inside the hole: %s", ", ".join(
        f"{fill_with.__name__} {100 * float(weight[hole].mean()):.0f}%" for fill_with, weight in zip(fills, weights)))
    out = sum(fill_with(image, hole).astype(np.float32) * weight[..., None]
              for fill_with, weight in zip(fills, weights))
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[~hole] = image[~hole]
    return out


def inpaint_textured(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by copies of the photo's own pixels where the
    background round the hole is textured and by the smooth mix where it is plain (`texture_share`,
    TEXTURE_*): the copies (`exemplar.fill_exemplar`) follow the mix's colours and edges (its guide)
    and are blended into each other and their surroundings. Every pixel outside the hole is the
    input's. uint8 (H, W, 3)."""
    smooth = inpaint_mixed(image, hole)
    if not hole.any():
        return smooth
    share = texture_share(image, hole)
    if not (share[hole] > 0).any():
        return smooth
    sharp = fill_exemplar(image, hole, guide=smooth)
    if sharp is None:  # the hole is nearly all of the picture: nothing to copy from
        return smooth
    share = share[..., None]
    out = np.round(smooth * (1 - share) + sharp * share)
    return np.where(hole[..., None], out, image).astype(np.uint8)


def texture_share(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """float32 (H, W) in [0, 1]: how much of each hole pixel the copies fill (TEXTURE_*): 1 where
    the background round the hole is textured, 0 where it is plain; 0 outside the hole."""
    height, width = hole.shape
    share = np.zeros((height, width), np.float32)
    if not hole.any() or hole.all():
        return share
    scale = min(1.0, EXEMPLAR_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    known = (~small_hole).astype(np.float32)
    light = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255,
                         cv2.COLOR_RGB2LAB)[..., 0]
    blurred = (cv2.GaussianBlur(light * known, (0, 0), TEXTURE_SIGMA)
               / np.maximum(cv2.GaussianBlur(known, (0, 0), TEXTURE_SIGMA), 1e-6))
    detail = np.abs(light - blurred)
    extent = _hole_extent(small_hole)
    # The ring the mix is scored on, past the 2 pixels whose blur sees the hole.
    clear = cv2.erode(known, np.ones((5, 5), np.uint8)) > 0
    ring = grown_by(small_hole, 2 + max(2, round(CHECK_RING * extent))) & clear
    if not ring.any():
        return share
    sigma = max(1.0, 0.1 * extent)
    ring = ring.astype(np.float32)
    texture = cv2.GaussianBlur(detail * ring, (0, 0), sigma) / np.maximum(cv2.GaussianBlur(ring, (0, 0), sigma), 1e-6)
    texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_LINEAR)
    ramp = np.clip((texture - TEXTURE_PLAIN) / (TEXTURE_RICH - TEXTURE_PLAIN), 0.0, 1.0)
    share[hole] = (ramp * ramp * (3 - 2 * ramp))[hole]
    return share


def _hole_extent(hole: np.ndarray) -> int:
    ys, xs = np.nonzero(hole)
    return int(max(np.ptp(ys), np.ptp(xs))) + 1


def _hole_box(hole: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the hole's bounding box with a margin of 10% of its extent (at least 8 pixels)."""
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    margin = max(8, int(0.1 * max(np.ptp(ys), np.ptp(xs))))
    return (max(0, ys.min() - margin), min(height, ys.max() + margin + 1),
            max(0, xs.min() - margin), min(width, xs.max() + margin + 1))


def inpaint(image: np.ndarray, hole: np.ndarray, *, work_side: int = PLATE_WORK_SIDE) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by OpenCV's Navier-Stokes inpainting, done at `work_side`
    (the longer side) inside the hole's box with a margin, scaled back and blended into the hole
    over a few pixels; every pixel away from the hole is the input's. uint8 (H, W, 3)."""
    if not hole.any():
        return image.copy()
    return fill_scaled(image, hole, _hole_box(hole), work_side,
                       lambda small, small_hole: cv2.inpaint(small, small_hole, 5, cv2.INPAINT_NS))


def inpaint_patches(image: np.ndarray, hole: np.ndarray, *, work_side: int = PATCH_WORK_SIDE) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled from the picture's own patches: OpenCV contrib's
    shift-map inpainting (`cv2.xphoto`, after He and Sun 2012: each hole pixel copies a pixel of
    the rest of the picture, the offsets chosen among the picture's dominant self-similar shifts by
    a graph cut so that neighbours agree), on the whole picture at `work_side` (the longer side) in
    CIE Lab, scaled back and blended into the hole. Texture (foliage, tiles, brick) continues into
    the hole where smooth inpainting smears it; slower (seconds, once per video). uint8 (H, W, 3)."""
    if not hole.any():
        return image.copy()
    height, width = hole.shape

    def shift_map(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
        out = np.zeros_like(small)
        valid = (small_hole == 0).astype(np.uint8)  # xphoto's mask: non-zero = known pixel
        cv2.xphoto.inpaint(cv2.cvtColor(small, cv2.COLOR_RGB2LAB), valid, out, cv2.xphoto.INPAINT_SHIFTMAP)
        return cv2.cvtColor(out, cv2.COLOR_LAB2RGB)

    return fill_scaled(image, hole, (0, height, 0, width), work_side, shift_map)


def holes_in_person(warped: WarpResult, body_height: float, target_pose: np.ndarray | None = None) -> np.ndarray:
    """bool (H, W): the pixels inside the warped person's outline that no part covers (a hand
    moved off the hip, the crotch on a step, a tear at a bent knee): the person's coverage closed
    by a disc of HOLE_CLOSING x body height, minus the coverage, keeping only pieces smaller than
    a square of HOLE_LARGEST x body height (a wide space between a raised arm and the head is
    background, not a hole). With the target pose (13, 3) in the frame's pixels, spaces between
    parts are background too (`gaps_between_parts`, while GAPS_ARE_BACKGROUND): filled, they were
    blurs of skin and wall beside the head and down the sides of the top."""
    person = warped.alpha >= 0.5
    out = np.zeros_like(person)
    rows, cols = np.flatnonzero(person.any(axis=1)), np.flatnonzero(person.any(axis=0))
    if not len(rows):
        return out
    box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # holes lie inside the person's box
    inside = person[box].astype(np.uint8)
    # The closing at a scale where its disc is about 6 pixels wide: at 1080p a 40-pixel disc was
    # half of a frame's time. It closes the coverage's shares of those coarse pixels, and what it
    # adds, brought back to full size smoothly, marks the holes: the closing leaves a straight edge
    # as it is, where a closing of whole coarse pixels, enlarged as blocks, stood out of every
    # slanted edge as a staircase of little holes (filled, teeth along an arm held out).
    radius = max(1.0, HOLE_CLOSING * body_height)
    step = max(1, int(radius // 6))
    height, width = inside.shape
    small = cv2.resize(inside.astype(np.float32), (max(1, width // step), max(1, height // step)),
                       interpolation=cv2.INTER_AREA)
    r = max(1, int(round(radius / step)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    padded = cv2.copyMakeBorder(small, r, r, r, r, cv2.BORDER_CONSTANT, value=0)  # no person beyond the box
    added = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[r:-r, r:-r] - small
    added = cv2.resize(added, (width, height), interpolation=cv2.INTER_LINEAR)
    gaps = ((added > HOLE_ADDED) & (inside == 0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(gaps, connectivity=8)
    small_enough = stats[:, cv2.CC_STAT_AREA] <= (HOLE_LARGEST * body_height) ** 2
    small_enough[0] = False  # label 0: not a gap
    out[box] = small_enough[labels]
    if target_pose is not None and GAPS_ARE_BACKGROUND and out.any():
        out &= ~gaps_between_parts(out, warped, target_pose, body_height)
    return out


def gaps_between_parts(holes: np.ndarray, warped: WarpResult, target_pose: np.ndarray, body_height: float
                       ) -> np.ndarray:
    """bool (H, W): the pixels of `holes` that are background between two parts rather than a tear in
    the person. For each piece, its two main neighbours (the parts on its rim, each at least
    GAP_SHARE of it) meet at the link that joins them (LINKS, `warp.link_point`) or, not joined, at
    the links by which each hangs from the torso (a raised arm's shoulder, the head's neck). The piece's pixels
    farther than GAP_REACH x body height from there are background: the wall between a raised arm
    and the head, between an arm held out and the side of the top, between the shins; the armpit
    and a wedge opened at an elbow stay holes. So do slivers under GAP_WIDTH x body height wide
    (what an opening by a disc that wide removes: a seam torn open), pieces with one neighbour (a
    tear within a part) and pieces between the head and the torso (the neck, hair over a shoulder).
    Where no two parts hold GAP_SHARE of a rim each, a limb's parts count as one (`_chain_of`, `_CHAIN`): an
    arm hanging at the side splits its share of the space by the waist among three parts.
    The V that spread legs open between the thighs, below the crotch the torso draws, is background
    too: filled, it was a blurred dark blob of the shorts hanging below their hems.
    target_pose: (13, 3) in the frame's pixels."""
    out = np.zeros_like(holes)
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=8)
    person = warped.alpha >= 0.5
    height, width = holes.shape
    reach = GAP_REACH * body_height
    radius = max(1, int(round(GAP_WIDTH * body_height / 2)))
    sliver_disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    disc_area = int(sliver_disc.sum())
    pose = np.asarray(target_pose, np.float64)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if area < disc_area:  # no room for the disc: a sliver
            continue
        y0, y1, x0, x1 = max(0, y - 3), min(height, y + h + 3), max(0, x - 3), min(width, x + w + 3)
        piece = pieces[y0:y1, x0:x1] == i
        # slivers narrower than GAP_WIDTH x body height are seams torn open, not spaces: only what
        # an opening by a disc that wide keeps can be background
        thick = cv2.morphologyEx(piece.astype(np.uint8), cv2.MORPH_OPEN, sliver_disc) > 0
        if not thick.any():
            continue
        rim = (cv2.dilate(piece.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~piece & person[y0:y1, x0:x1]
        owners = warped.part_labels[y0:y1, x0:x1][rim]
        owners = owners[owners >= 0]
        if not len(owners):
            continue
        main = _main_neighbours(owners)
        if len(main) < 2:  # one limb's parts share the rim with one other: their chain stands for them
            main = _main_neighbours(_CHAIN[owners])
        if len(main) < 2 or set(main) == {TORSO, HEAD_PART}:  # the neck, hair over the shoulders
            continue
        # where two parts meet: the link that joins them, or, for parts not joined (an arm raised
        # beside the head), the links by which each hangs from the torso (the shoulder, the neck:
        # hair over a shoulder is body)
        first, second = main
        if _PARENT.get(second) == first:
            links = [(first, second)]
        elif _PARENT.get(first) == second:
            links = [(second, first)]
        else:
            links = [_hung_from_torso(p) for p in main if p != TORSO]
        anchors = [(link_point(*link, pose), link_joints(*link), reach) for link in links]
        ys, xs = np.mgrid[y0:y1, x0:x1]
        far = np.ones(piece.shape, bool)
        for (jx, jy), joints, distance in anchors:
            if (pose[list(joints), 2] > 0).all():
                far &= np.hypot(xs - jx, ys - jy) > distance
        out[y0:y1, x0:x1] |= thick & far
    return out


def _main_neighbours(owners: np.ndarray) -> list[int]:
    """The one or two parts (or chains) holding the most of a piece's rim, each at least GAP_SHARE of it."""
    counts = np.bincount(owners)
    return [int(p) for p in np.argsort(counts)[::-1][:2] if counts[p] >= GAP_SHARE * len(owners)]


def _chain_of(part: int) -> int:
    """The part by which `part`'s chain hangs from the torso (an arm's upper arm for its forearm and
    hand, the head for itself); the torso for itself. Between an arm hanging at the side and the
    waist the arm's rim is split among its upper arm, forearm and hand, none a main neighbour on its
    own: the wall seen there was filled as a tear in the torso, a smear of skin and shirt."""
    return part if part == TORSO else _hung_from_torso(part)[1]


def _hung_from_torso(part: int) -> tuple[int, int]:
    """The link (TORSO, limb or head) by which `part`'s chain hangs from the torso."""
    while _PARENT[part] != TORSO:
        part = _PARENT[part]
    return TORSO, part


_CHAIN = np.array([_chain_of(p) for p in range(len(PART_NAMES))])  # part -> `_chain_of`, for arrays of labels


def uncovered_body(warped: WarpResult, target_pose: np.ndarray) -> np.ndarray:
    """bool (H, W): the target skeleton's core (its bones at half the model region's width, the
    torso filled, no margin: inside any body in that pose) where the warp put no person."""
    height, width = warped.alpha.shape
    core = pose_region(target_pose, height, width, thickness=0.5 * default_thickness(target_pose), dilation=0.0)
    return core & (warped.alpha < 0.5)


def uncovered_trunk(warped: WarpResult, target_pose: np.ndarray) -> np.ndarray:
    """bool (H, W): `uncovered_body` without the head, the forearms and the shanks (the torso, the
    upper arms and the thighs, with the elbows' and knees' discs): what `--repair body` fills from
    the warped person (a squat's thighs parted from the trunk: the shorts, not the wall). The whole
    core reaches past the head, the hands and the feet where the driving pose is a little off:
    inpainted from everything around, it cost the head 0.74 dB in self-reenactment; filled from the
    person, the feet 0.40 and the background a motion reveals 0.73 (`docs/results.md`)."""
    trunk = np.array(target_pose, np.float64, copy=True)
    trunk[[HEAD, R_WRIST, L_WRIST, R_ANKLE, L_ANKLE], 2] = 0.0
    return uncovered_body(warped, trunk)


def uncovered_torso(warped: WarpResult, target_pose: np.ndarray) -> np.ndarray:
    """bool (H, W): the target torso (the convex hull of its shoulders and hips: inside any body in
    that pose) where the warp put no person: what an arm that lay across the body in the photo
    leaves when it moves away. Empty when a corner is not seen."""
    out = np.zeros(warped.alpha.shape, np.uint8)
    corners = np.asarray(target_pose, np.float64)[[R_SHOULDER, L_SHOULDER, L_HIP, R_HIP]]
    if (corners[:, 2] > 0).all() and np.isfinite(corners[:, :2]).all():
        cv2.fillConvexPoly(out, cv2.convexHull(np.round(corners[:, :2]).astype(np.int32)), 1)
    return (out > 0) & (warped.alpha < 0.5)


def fill_holes(frame: np.ndarray, warped: WarpResult, target_pose: np.ndarray, body_height: float, *,
               holes: np.ndarray | None = None, body: bool = False) -> np.ndarray:
    """What `--repair holes` draws into a warped frame (uint8 (H, W, 3), the warp over the plate), and
    what `--repair ilat` and its training samples start from: the holes inside the warped person
    inpainted from everything around (`fill`), and, with FILL_UNCOVERED_TORSO, the target torso the
    warp left bare, holes in it included, filled from the warped torso's own pixels
    (`fill_from_part`): the shirt an arm uncovered comes from the shirt, not from the wall behind it
    (inpainted, a gap down the shirt's side between it and the wall came out as a comb of the two);
    with body (`--repair body`), then the target's trunk the warp left bare (`uncovered_trunk`)
    filled from the warped person's own pixels. holes: `holes_in_person(warped, body_height,
    target_pose)` when the caller already has it."""
    if holes is None:
        holes = holes_in_person(warped, body_height, target_pose)
    torso = uncovered_torso(warped, target_pose) if FILL_UNCOVERED_TORSO else np.zeros_like(holes)
    filled = holes | torso
    frame = fill(frame, filled & ~torso)
    frame = fill_from_part(frame, torso, (warped.part_labels == TORSO) & (warped.alpha >= 0.99))
    if body:
        frame = fill_from_part(frame, uncovered_trunk(warped, target_pose) & ~filled, warped.alpha >= 0.99)
    return frame


def repair_region(warped: WarpResult, target_pose: np.ndarray, body_height: float, *,
                  trust: float = REPAIR_TRUST, holes: np.ndarray | None = None) -> np.ndarray:
    """bool (H, W): what a repair model generates in one warped frame: the holes inside the warped
    person (`holes_in_person`), the target skeleton's core the warp left uncovered (`uncovered_body`),
    and the drawn pixels whose trust (confidence / alpha: seams, strong rotations, torsos drawn by
    the fallback) is below `trust` (none at the default, REPAIR_TRUST = 0). holes:
    `holes_in_person(warped, body_height, target_pose)` when the caller already has it."""
    if holes is None:
        holes = holes_in_person(warped, body_height, target_pose)
    drawn = warped.alpha >= 0.5
    doubtful = drawn & (warped.confidence < trust * warped.alpha)
    return holes | uncovered_body(warped, target_pose) | doubtful


def background_plate(image: np.ndarray, hole: np.ndarray, *, method: str = "inpaint", models=None,
                     pose: np.ndarray | None = None) -> np.ndarray:
    """The photo with `hole` (bool (H, W)) filled: copies of the photo's own pixels where the
    background round the hole is textured and the mix (next) where it is plain (`inpaint_textured`,
    "inpaint"); the membrane, the picture's own patches and its rows mixed by how well each
    predicts the pixels around the hole (`inpaint_mixed`, "mixed"),
    OpenCV's Navier-Stokes inpainting at PLATE_WORK_SIDE, scaled back and blended into the hole over
    a few pixels (`inpaint`, "ns", the default until experiments/results/probe_plate.md), the patches
    alone (`inpaint_patches`, "patches"), iLAT under an empty pose ("ilat", `models` = (tokenizer,
    transformer); `pose`, the person's, tells it who to erase), or the photo unchanged ("none").
    uint8 (H, W, 3)."""
    if method not in PLATES:
        raise IlatError(f"plate must be one of {', '.join(PLATES)}, got {method!r}")
    if method == "none":
        return image.copy()
    if method == "inpaint":
        return inpaint_textured(image, hole)
    if method == "mixed":
        return inpaint_mixed(image, hole)
    if method == "patches":
        return inpaint_patches(image, hole)
    return fill(image, hole, method="ilat" if method == "ilat" else "opencv", models=models, pose=pose)


def fill(image: np.ndarray, hole: np.ndarray, *, method: str = "opencv", models=None,
         pose: np.ndarray | None = None) -> np.ndarray:
    """`image` with `hole` filled by OpenCV (`inpaint`) or by iLAT (`inpaint.inpaint`, `models` =
    (tokenizer, transformer)); every pixel away from the hole is the input's."""
    if method == "opencv" or not hole.any():
        return inpaint(image, hole)
    if models is None:
        raise IlatError("filling with iLAT needs the model (tokenizer, transformer)")
    return ilat_inpaint(image, hole, *models, pose=pose)


def body_height(reference: WarpReference) -> float:
    """The prepared reference's body height in pixels, about 3 torso heights: the unit of the
    hole rules above."""
    return reference.height * 3.0


@dataclasses.dataclass
class Stage:
    """What every frame of a video shares: the prepared reference and the plate, at the output size."""

    reference: WarpReference
    plate: np.ndarray  # uint8 (H, W, 3)
    hole: np.ndarray  # bool (H, W): where the person stood in the reference
    size: tuple[int, int]  # (W, H)
    scale: tuple[float, float]  # output pixels per photo pixel, (x, y)

    @classmethod
    def prepare(cls, image: np.ndarray, mask: np.ndarray, pose: np.ndarray, extras: np.ndarray | None = None,
                *, max_side: int | None = None, plate: str = "inpaint", name: str = "reference",
                models=None, edge: bool = True) -> Stage:
        """image uint8 (H, W, 3); mask (H, W) in [0, 1]; pose (13, 3) and extras (10, 3) in its pixels.
        models: (tokenizer, transformer) for plate="ilat". edge: the mask's edge is moved onto the
        photo's own edge (`matte.refine_edge`) for the person the warp carries; the plate's hole is
        the mask's as given, so that no rim of the person stays in the plate."""
        mask = check_mask(mask, name)
        height, width = image.shape[:2]
        size = output_size(width, height, max_side)
        image, mask, pose, extras = resize_person(image, mask, pose, extras, size)
        reference = prepare_reference(image, refine_edge(image, mask) if edge else mask, pose, extras)
        hole = hair_past_mask(image, mask, person_hole(mask, body_height(reference)), pose[HEAD],
                              float(reference.radii[HEAD_PART]), body_height(reference))
        return cls(reference=reference, plate=background_plate(image, hole, method=plate, models=models, pose=pose),
                   hole=hole, size=size, scale=(size[0] / width, size[1] / height))

    def turn_track(self, poses: np.ndarray) -> list[bool]:
        """For a video's target poses (T, 13, 3) in the photo's pixels: whether the person turned
        their back in each frame (`warp.steady_turns`), for `frame`'s `turned`."""
        return steady_turns(self.reference, [scale_points(p, *self.scale) for p in poses])

    def follow_track(self, poses: np.ndarray, extras: np.ndarray | None, turned: list[bool] | None = None) -> list:
        """For a video's target poses (T, 13, 3) and hand and foot points (T, 10, 3) in the photo's
        pixels: which hands and feet follow their points in each frame (`warp.steady_follow`), for
        `frame`'s `follow`; turned: `turn_track`'s (None: each frame decides alone)."""
        if extras is None:
            return [frozenset()] * len(poses)
        return steady_follow(self.reference, [scale_points(p, *self.scale) for p in poses],
                             [scale_points(e, *self.scale) for e in extras], turned=turned)

    def frame(self, target_pose: np.ndarray, *, target_extras: np.ndarray | None = None, repair: str = "none",
              models=None, follow=None, turned: bool | None = None) -> tuple[np.ndarray, WarpResult]:
        """The frame for one target pose (13, 3) in the photo's pixels: the warped person over the
        plate, uint8 (H, W, 3) at the output size, and the warp itself (alpha, confidence).
        target_extras: the target's (10, 3) hand and foot points in the photo's pixels, or None: the
        hands and feet follow them where the reference and they are confident (`warp_to_pose`);
        follow: in a video, which of them may (`follow_track`; None: this frame decides alone);
        turned: in a video, whether the person turned their back here (`turn_track`; None: this
        frame decides alone).
        repair: "holes" fills the holes inside the warped person (`holes_in_person`) from their
        surroundings (OpenCV) and the target torso it left bare (`uncovered_torso`) from the warped
        torso (`fill_holes`); "body" also the target's trunk the warp left bare (`uncovered_trunk`)
        from the warped person; "ilat" makes the "holes" frame, then
        regenerates `repair_region` (holes and uncovered body; low-trust pixels too when
        REPAIR_TRUST > 0) with iLAT under the target pose, tile by tile, decoding the expected codes
        (`repair.py`; `models` = (tokenizer, transformer)); "none" leaves the plate showing through."""
        pose = scale_points(target_pose, *self.scale)
        extras = None if target_extras is None else scale_points(target_extras, *self.scale)
        warped = warp_to_pose(self.reference, pose, out_shape=(self.size[1], self.size[0]), target_extras=extras,
                              follow=follow, turned=turned)
        frame = warped.over(self.plate)
        if repair == "none":
            return frame, warped
        if repair == "ilat" and models is None:
            raise IlatError("repairing with iLAT needs the model (tokenizer, transformer)")
        height = body_height(self.reference)
        holes = holes_in_person(warped, height, pose)
        frame = fill_holes(frame, warped, pose, height, holes=holes, body=repair == "body")
        if repair == "ilat":  # on the default frame: the condition shows OpenCV's fill to improve on
            region = repair_region(warped, pose, height, holes=holes)
            if region.any():
                frame = ilat_repair(frame, region, pose, *models, body_height=height, decode="expected")
        return frame, warped
