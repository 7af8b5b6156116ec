"""A hole filled from the picture's own patches, edges first, sharp at the picture's own resolution.

    plate = fill_exemplar(photo, hole)

The person's hole in a photo is tall and person-shaped, and what stood behind them is a railing,
stairs, a door, grass: a smooth fill (`compose.inpaint_smooth`) leaves a blurred person-shaped
smear there, and mixing smooth fills with copied ones (`compose.inpaint_mixed`) averages the smear
into the copies. Here every hole pixel is a copy of a real pixel of the photo.

At a work size (WORK_SIDE on the longer side) the hole is filled patch by patch from its rim
inwards, in the order of exemplar-based inpainting (after Criminisi, Perez and Toyama, 2004): the
rim point filled next is the one whose patch is most known (confidence, carried inwards with the
filled pixels) times how squarely an edge of the picture runs into the hole there (the isophote
against the rim's normal). Edges (a rail, a step, a horizon, the frame of a door) are carried
across before the flat areas between them are filled. Each patch copies the patch of the picture
nearest in colour (CIE Lab) on its known pixels, among the patches wholly outside the hole, with a
small price on distance (`NEARBY`) so that of near-equal candidates the nearby one wins.

Each work pixel thus has a source; at the photo's size every hole pixel copies the photo's pixel at
its work pixel's offset, scaled: the texture keeps the photo's resolution. Last, the copies are
blended into their surroundings as in Poisson image editing: the difference between each pixel
beside the hole and its copy (what the copy would have shown there) is spread smoothly across the
hole (`compose`'s membrane) and added, so a shaded wall stays shaded and no rim shows.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

WORK_SIDE = 320  # the patches are chosen at this longer side (the time grows ~ side^4: the hole's area x the search)
PATCH = 13  # pixels (odd) at the work size
# A candidate patch pays ACROSS (Lab^2 per known pixel) x its horizontal distance / the work side, squared,
# and ALONG x its vertical one: what stood behind a person mostly runs across the hole at the same height.
ACROSS = 50.0
ALONG = 1000.0
MIN_SOURCES = 64  # with fewer whole patches outside the hole there is nothing to copy: `fill_exemplar` gives None
DATA_FLOOR = 0.05  # the edge term's floor: on flat areas (and, for the most part, near edges) confidence decides
RIM = 0.008  # the rim whose differences are spread over the hole: this share of the longer side (at least 3 px)


def fill_exemplar(image: np.ndarray, hole: np.ndarray, *, work_side: int = WORK_SIDE, smooth=None,
                  guide: np.ndarray | None = None, guide_weight: float = 0.5) -> np.ndarray | None:
    """`image` (uint8 (H, W, 3) RGB) with `hole` (bool (H, W)) filled by copies of its own pixels
    (the module's docstring); every pixel outside the hole is the input's. None when the picture
    has too few whole patches outside the hole to copy from (a hole over nearly all of it).
    smooth: `smooth(image, hole) -> uint8 (H, W, 3)`, the membrane that spreads the rim's
    differences (`compose.inpaint_smooth`); None: the copies are pasted as they are."""
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
    if smooth is not None:
        out = _blend_rim(image, hole, out, (ys, xs), (from_y - ys, from_x - xs), smooth)
    return out


def _fill_small(small: np.ndarray, todo: np.ndarray, guide: np.ndarray | None = None, guide_weight: float = 0.5
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """For each pixel of `small` (uint8 (h, w, 3)) the (row, column) whose colour it takes: its own
    outside `todo` (bool (h, w)), inside it a pixel outside, chosen patch by patch (the module's
    docstring). None when fewer than MIN_SOURCES whole patches lie outside `todo`."""
    height, width = todo.shape
    r = PATCH // 2
    lab = np.pad(cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2LAB), ((r, r), (r, r), (0, 0)))
    if guide is not None:
        guide = np.pad(cv2.cvtColor(guide.astype(np.float32) / 255, cv2.COLOR_RGB2LAB), ((r, r), (r, r), (0, 0)))
    known = np.pad(~todo, r, constant_values=False)  # the padding is neither known nor to fill
    todo = np.pad(todo, r, constant_values=False)
    patch = np.ones((PATCH, PATCH), np.uint8)
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
        y, x = _next_point(lab, known, todo, confidence)
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
        confidence[target_y, target_x] = confidence[window][mask].sum() / PATCH ** 2
        known[target_y, target_x] = True
        todo[target_y, target_x] = False
        steps += 1
    log.debug("exemplar fill: %d patches at %dx%d", steps, width, height)
    return source_y[r:r + height, r:r + width], source_x[r:r + height, r:r + width]


def _next_point(lab: np.ndarray, known: np.ndarray, todo: np.ndarray, confidence: np.ndarray) -> tuple[int, int]:
    """The rim pixel (padded coordinates) of `todo` to fill next: the most known patch where an edge
    runs most squarely into the hole (confidence x edge term), worked out over the rim's box only."""
    reach = PATCH + 2
    ys, xs = np.nonzero(todo)
    y0, y1 = max(0, ys.min() - reach), min(todo.shape[0], ys.max() + reach + 1)
    x0, x1 = max(0, xs.min() - reach), min(todo.shape[1], xs.max() + reach + 1)
    box_known, box_todo = known[y0:y1, x0:x1], todo[y0:y1, x0:x1]
    rim = box_todo & (cv2.dilate(box_known.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if not rim.any():  # a hole with no known pixel beside it (nothing can be: `_fill_small` checks)
        rim = box_todo
    size = (PATCH, PATCH)
    trust = cv2.boxFilter(confidence[y0:y1, x0:x1] * box_known, -1, size, normalize=False) / PATCH ** 2
    # The edge term: the known pixels' gradients (where all 3x3 around are known), as a structure
    # tensor averaged over the patch, against the normal of the rim.
    light = lab[y0:y1, x0:x1, 0] / 100.0
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3) / 8
    sound = (cv2.erode(box_known.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0).astype(np.float32)
    count = np.maximum(cv2.boxFilter(sound, -1, size, normalize=False), 1.0)
    jxx, jxy, jyy = (cv2.boxFilter(v * sound, -1, size, normalize=False) / count for v in (gx * gx, gx * gy, gy * gy))
    side = cv2.GaussianBlur(box_known.astype(np.float32), (0, 0), 1.5)
    nx, ny = cv2.Sobel(side, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(side, cv2.CV_32F, 0, 1, ksize=3)
    norm = np.maximum(np.hypot(nx, ny), 1e-6)
    nx, ny = nx / norm, ny / norm
    # |isophote . normal|^2 = (gx ny - gy nx)^2, averaged: ny^2 Jxx - 2 nx ny Jxy + nx^2 Jyy.
    edge = np.sqrt(np.maximum(ny * ny * jxx - 2 * nx * ny * jxy + nx * nx * jyy, 0.0))
    priority = np.where(rim, trust * (edge + DATA_FLOOR), -1.0)
    # A point must lie at least r from the padded border: the padding is r wide, so any todo pixel does.
    py, px = np.unravel_index(int(np.argmax(priority)), priority.shape)
    return int(py + y0), int(px + x0)


def _blend_rim(image: np.ndarray, hole: np.ndarray, out: np.ndarray, where: tuple[np.ndarray, np.ndarray],
               offsets: tuple[np.ndarray, np.ndarray], smooth) -> np.ndarray:
    """`out` with the rim's differences spread over the hole: each known pixel beside the hole
    against the pixel its nearest hole pixel's copy would show there; the differences, filled
    smoothly into the hole by `smooth`, are added to the copies."""
    height, width = hole.shape
    reach = max(3, round(RIM * max(height, width)))
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0) & ~hole
    offset_y = np.zeros((height, width), np.int64)
    offset_x = np.zeros((height, width), np.int64)
    offset_y[where], offset_x[where] = offsets
    _, nearest = cv2.distanceTransformWithLabels((~hole).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    label_y = np.zeros(nearest.max() + 1, np.int64)
    label_x = np.zeros(nearest.max() + 1, np.int64)
    label_y[nearest[where]], label_x[nearest[where]] = where
    ry, rx = np.nonzero(ring)
    hy, hx = label_y[nearest[ry, rx]], label_x[nearest[ry, rx]]
    fy, fx = ry + offset_y[hy, hx], rx + offset_x[hy, hx]
    usable = (fy >= 0) & (fy < height) & (fx >= 0) & (fx < width)
    fy, fx = np.clip(fy, 0, height - 1), np.clip(fx, 0, width - 1)
    usable &= ~hole[fy, fx]
    difference = np.full((height, width, 3), 128.0, np.float32)
    difference[ry, rx] = 128.0 + image[ry, rx].astype(np.float32) - image[fy, fx]
    difference[ry[~usable], rx[~usable]] = 128.0
    spread = smooth(np.clip(np.round(difference), 0, 255).astype(np.uint8), hole).astype(np.float32) - 128.0
    blended = out.copy()
    blended[where] = np.clip(np.round(out[where] + spread[where]), 0, 255).astype(np.uint8)
    return blended
