"""A hole filled from the picture's own patches, edges first, sharp at the picture's own resolution.

    plate = fill_exemplar(photo, hole, guide=smooth_fill)

The person's hole in a photo is tall and person-shaped, and what stood behind them is a railing,
stairs, a lawn, foliage: a smooth fill (`compose.inpaint_smooth`) leaves a blurred person-shaped
smear there, and mixing smooth fills with copied ones (`compose.inpaint_mixed`) averages the smear
into the copies. Here every hole pixel is a copy of a real pixel of the photo, its light adjusted.

At a work size (WORK_SIDE on the longer side) the hole is filled patch by patch (PATCH pixels
square) from its rim inwards, in the order of exemplar-based inpainting (after Criminisi, Perez and
Toyama, 2004): the rim point filled next is the one whose patch is most known (confidence, carried
inwards with the filled pixels) times how squarely an edge of the picture runs into the hole there
(the isophote against the rim's normal, floored at DATA_FLOOR so that confidence mostly decides).
Each patch copies the patch of the picture nearest in colour (CIE Lab) on its known pixels and,
when a guide is given, near the guide on the rest: a smooth fill's colours and edges (the rows of
stairs, a lawn's shade) steer the copies, which bring the texture. Candidates wholly outside the
hole only, each paying for its distance (ACROSS, ALONG): what stood behind a person mostly runs
across the hole at the same height.

Each work pixel thus has a source; at the photo's size every hole pixel copies the photo's pixel at
its work pixel's offset, scaled: the texture keeps the photo's resolution. Last, the copies are
blended as in Poisson image editing (Perez, Gangnet and Blake, 2003): at the work size, the fill
whose differences between neighbours are those the picture shows beside their sources (the
copies' own within a piece copied with one offset; across a seam between pieces, or at the rim,
the mean of what each side's source shows there) is solved for with the rim fixed; its difference
from the copies, scaled up, is added. A piece from a shaded patch beside one from a lit patch
keeps its texture and takes the light round it: no step at the seams or the rim.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from .spread import NEIGHBOURS, solve_poisson

log = logging.getLogger(__name__)

WORK_SIDE = 320  # the patches are chosen at this longer side (the time grows ~ side^4: the hole's area x the search)
PATCH = 13  # pixels (odd) at the work size; a smaller picture's patches cover as much of it (at least MIN_PATCH)
MIN_PATCH = 5
# A candidate patch pays ACROSS (Lab^2 per known pixel) x its horizontal distance / the work side, squared,
# and ALONG x its vertical one: what stood behind a person mostly runs across the hole at the same height.
ACROSS = 50.0
ALONG = 1000.0
MIN_SOURCES = 64  # with fewer whole patches outside the hole there is nothing to copy: `fill_exemplar` gives None
DATA_FLOOR = 0.05  # the edge term's floor: on flat areas (and, for the most part, near edges) confidence decides


def fill_exemplar(image: np.ndarray, hole: np.ndarray, *, work_side: int = WORK_SIDE, guide: np.ndarray | None = None,
                  guide_weight: float = 0.5, blend: bool = True) -> np.ndarray | None:
    """`image` (uint8 (H, W, 3) RGB) with `hole` (bool (H, W)) filled by copies of its own pixels
    (the module's docstring); every pixel outside the hole is the input's. None when the picture
    has too few whole patches outside the hole to copy from (a hole over nearly all of it).
    guide: uint8 (H, W, 3), a fill of the hole the copies should stay near (a smooth one: its
    colours and its edges), weighed guide_weight^2 against a known pixel. blend: the seams between
    copies and with the rim smoothed away (`_blend_seams`); False: the copies as they are.
    uint8 (H, W, 3)."""
    hole = np.asarray(hole, dtype=bool)
    if not hole.any():
        return image.copy()
    height, width = hole.shape
    scale = min(1.0, work_side / max(height, width))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.float32), small_size, interpolation=cv2.INTER_AREA) > 0
    small_hole = cv2.dilate(small_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # and no rim of it
    small_guide = None if guide is None else cv2.resize(guide, small_size, interpolation=cv2.INTER_AREA)
    sources = _fill_small(small, small_hole, small_guide, guide_weight)
    if sources is None:
        return None
    source_y, source_x = sources
    out = image.copy()
    ys, xs = np.nonzero(hole)
    # Each hole pixel's work pixel, and that pixel's source's offset at the photo's scale.
    sy, sx = small_size[1] / height, small_size[0] / width
    i = np.clip(np.round((ys + 0.5) * sy - 0.5).astype(np.int64), 0, small_size[1] - 1)
    j = np.clip(np.round((xs + 0.5) * sx - 0.5).astype(np.int64), 0, small_size[0] - 1)
    from_y = np.round(ys + (source_y[i, j] - i) / sy).astype(np.int64)
    from_x = np.round(xs + (source_x[i, j] - j) / sx).astype(np.int64)
    inside = (from_y >= 0) & (from_y < height) & (from_x >= 0) & (from_x < width)
    from_y, from_x = np.clip(from_y, 0, height - 1), np.clip(from_x, 0, width - 1)
    bad = ~inside | hole[from_y, from_x]  # rounding can land a copy in the hole: its nearest work source then
    from_y[bad] = np.clip(np.round((source_y[i, j][bad] + 0.5) / sy - 0.5), 0, height - 1).astype(np.int64)
    from_x[bad] = np.clip(np.round((source_x[i, j][bad] + 0.5) / sx - 0.5), 0, width - 1).astype(np.int64)
    out[ys, xs] = image[from_y, from_x]
    if blend:
        correction = _blend_seams(small, small_hole, source_y, source_x)
        correction = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)[ys, xs]
        out[ys, xs] = np.clip(np.round(out[ys, xs] + correction), 0, 255).astype(np.uint8)
    return out


def _fill_small(small: np.ndarray, todo: np.ndarray, guide: np.ndarray | None = None, guide_weight: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """For each pixel of `small` (uint8 (h, w, 3)) the (row, column) whose colour it takes: its own
    outside `todo` (bool (h, w)), inside it a pixel outside, chosen patch by patch (the module's
    docstring). None when fewer than MIN_SOURCES whole patches lie outside `todo`."""
    height, width = todo.shape
    longer = max(height, width)
    side = PATCH if longer >= WORK_SIDE else max(MIN_PATCH, 2 * round((PATCH // 2) * longer / WORK_SIDE) + 1)
    r = side // 2
    lab = np.pad(cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2LAB), ((r, r), (r, r), (0, 0)))
    if guide is not None:
        guide = np.pad(cv2.cvtColor(guide.astype(np.float32) / 255, cv2.COLOR_RGB2LAB), ((r, r), (r, r), (0, 0)))
    known = np.pad(~todo, r, constant_values=False)  # the padding is neither known nor to fill
    todo = np.pad(todo, r, constant_values=False)
    patch = np.ones((side, side), np.uint8)
    # Candidate sources: patches wholly known (centres in the unpadded picture's coordinates).
    whole = cv2.erode(known.astype(np.uint8), patch, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    candidate = whole[r:r + height, r:r + width]
    if candidate.sum() < MIN_SOURCES:
        return None
    cost_floor = np.where(candidate, 0.0, np.inf).astype(np.float32)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    source_y, source_x = np.mgrid[0:height + 2 * r, 0:width + 2 * r] - r  # in unpadded coordinates
    confidence = known.astype(np.float32)
    across, along = ACROSS / float(max(height, width)) ** 2, ALONG / float(max(height, width)) ** 2
    steps = 0
    while todo.any():
        y, x = _next_point(lab, known, todo, confidence, side)
        window = (slice(y - r, y + r + 1), slice(x - r, x + r + 1))
        mask = known[window]
        template = lab[window].copy()
        weight = mask.astype(np.float32)
        if guide is not None:
            inside = todo[window]
            template[inside] = guide[window][inside]
            weight[inside] = guide_weight
        weight = np.repeat(weight[..., None], 3, axis=2)
        cost = cv2.matchTemplate(lab, template, cv2.TM_SQDIFF, mask=weight)
        cost = cost + cost_floor + float(mask.sum()) * (along * (rows - (y - r)) ** 2 + across * (cols - (x - r)) ** 2)
        qy, qx = np.unravel_index(int(np.argmin(cost)), cost.shape)  # the source patch's centre, unpadded
        fill = todo[window]
        target_y, target_x = np.nonzero(fill)
        target_y, target_x = target_y + y - r, target_x + x - r
        from_y, from_x = target_y - y + qy + r, target_x - x + qx + r  # padded coordinates
        lab[target_y, target_x] = lab[from_y, from_x]
        source_y[target_y, target_x] = from_y - r
        source_x[target_y, target_x] = from_x - r
        confidence[target_y, target_x] = confidence[window][mask].sum() / side ** 2
        known[target_y, target_x] = True
        todo[target_y, target_x] = False
        steps += 1
    log.debug("exemplar fill: %d patches at %dx%d", steps, width, height)
    return source_y[r:r + height, r:r + width], source_x[r:r + height, r:r + width]


def _next_point(lab: np.ndarray, known: np.ndarray, todo: np.ndarray, confidence: np.ndarray, side: int
                ) -> tuple[int, int]:
    """The rim pixel (padded coordinates) of `todo` to fill next: the most known patch where an edge
    runs most squarely into the hole (confidence x edge term), worked out over the rim's box only."""
    reach = side + 2
    ys, xs = np.nonzero(todo)
    y0, y1 = max(0, ys.min() - reach), min(todo.shape[0], ys.max() + reach + 1)
    x0, x1 = max(0, xs.min() - reach), min(todo.shape[1], xs.max() + reach + 1)
    box_known, box_todo = known[y0:y1, x0:x1], todo[y0:y1, x0:x1]
    rim = box_todo & (cv2.dilate(box_known.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if not rim.any():  # a hole with no known pixel beside it (nothing can be: `_fill_small` checks)
        rim = box_todo
    size = (side, side)
    trust = cv2.boxFilter(confidence[y0:y1, x0:x1] * box_known, -1, size, normalize=False) / side ** 2
    # The edge term: the known pixels' gradients (where all 3x3 around are known), as a structure
    # tensor averaged over the patch, against the normal of the rim.
    light = lab[y0:y1, x0:x1, 0] / 100.0
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3) / 8
    sound = (cv2.erode(box_known.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0).astype(np.float32)
    count = np.maximum(cv2.boxFilter(sound, -1, size, normalize=False), 1.0)
    jxx, jxy, jyy = (cv2.boxFilter(v * sound, -1, size, normalize=False) / count for v in (gx * gx, gx * gy, gy * gy))
    outside = cv2.GaussianBlur(box_known.astype(np.float32), (0, 0), 1.5)  # its gradient: the rim's normal
    nx, ny = cv2.Sobel(outside, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(outside, cv2.CV_32F, 0, 1, ksize=3)
    norm = np.maximum(np.hypot(nx, ny), 1e-6)
    nx, ny = nx / norm, ny / norm
    # |isophote . normal|^2 = (gx ny - gy nx)^2, averaged: ny^2 Jxx - 2 nx ny Jxy + nx^2 Jyy.
    edge = np.sqrt(np.maximum(ny * ny * jxx - 2 * nx * ny * jxy + nx * nx * jyy, 0.0))
    priority = np.where(rim, trust * (edge + DATA_FLOOR), -1.0)
    # A point must lie at least r from the padded border: the padding is r wide, so any todo pixel does.
    py, px = np.unravel_index(int(np.argmax(priority)), priority.shape)
    return int(py + y0), int(px + x0)


def _blend_seams(small: np.ndarray, todo: np.ndarray, source_y: np.ndarray, source_x: np.ndarray) -> np.ndarray:
    """float32 (h, w, 3): what to add to the copies at the work size (0 outside `todo`) so that
    they meet each other and the rim without a step, as in Poisson image editing. Each link between
    neighbours p and q = p + d should differ as the picture does beside the sources: by
    small[s_p] - small[s_p + d] as p's piece sees it, by small[s_q - d] - small[s_q] as q's does
    (the mean of the two, of those whose pixels lie outside the hole); within a piece copied with
    one offset both are the copies' own difference. A piece from a shaded patch beside one from a
    lit patch keeps its texture and takes the light round it, and a rail or a step's edge that both
    pieces carry runs on through the seam."""
    height, width = todo.shape
    picture = small.astype(np.float64)
    copies = picture[source_y, source_x]
    guidance = []
    for dy, dx in NEIGHBOURS:
        views, counts = np.zeros_like(picture), np.zeros((height, width))
        # p's view: the pixel beside its source, if that lies in the picture and outside the hole.
        by, bx = source_y + dy, source_x + dx
        ok = (by >= 0) & (by < height) & (bx >= 0) & (bx < width)
        by, bx = np.clip(by, 0, height - 1), np.clip(bx, 0, width - 1)
        ok &= ~todo[by, bx]
        views[ok] += copies[ok] - picture[by, bx][ok]
        counts += ok
        # q's view (q = p + d): the pixel before q's source.
        qy, qx = np.clip(np.arange(height) + dy, 0, height - 1), np.clip(np.arange(width) + dx, 0, width - 1)
        q_source_y, q_source_x = source_y[np.ix_(qy, qx)], source_x[np.ix_(qy, qx)]
        ay, ax = q_source_y - dy, q_source_x - dx
        ok = (ay >= 0) & (ay < height) & (ax >= 0) & (ax < width)
        ay, ax = np.clip(ay, 0, height - 1), np.clip(ax, 0, width - 1)
        ok &= ~todo[ay, ax]
        views[ok] += picture[ay, ax][ok] - picture[q_source_y, q_source_x][ok]
        counts += ok
        guidance.append(views / np.maximum(counts, 1)[..., None])
    solved = solve_poisson(copies, todo, guidance)
    return (solved - copies).astype(np.float32)
