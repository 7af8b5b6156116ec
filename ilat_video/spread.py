"""Smooth fills of a hole from known pixels, at a reduced scale: the helpers the plate, the holes
in a warped frame and the body an arm hides in the reference share.

    filled = fill_from_part(image, hole, known)   # the hole from the known pixels alone
"""
from __future__ import annotations

import cv2
import numpy as np

PLATE_WORK_SIDE = 512  # the smooth fills work at this longer side, then are scaled back
PATCH_FILL_SIDE = 384  # the patch fill works on each piece's box at this longer side at most
LOCALITY = 0.5  # the patch fill's cost for distance: per pixel and Lab channel, per patch width squared


def fill_scaled(image: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int], work_side: int,
                method) -> np.ndarray:
    """`method(small image, small hole (uint8, 1 = fill)) -> small filled image` run on the box
    (y0, y1, x0, x1) of `image` scaled so its longer side is at most `work_side`; the result scaled
    back (bicubic) and blended into the hole over about one small pixel."""
    y0, y1, x0, x1 = box
    crop, crop_hole = image[y0:y1, x0:x1], hole[y0:y1, x0:x1]
    scale = min(1.0, work_side / max(y1 - y0, x1 - x0))
    small_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    small = cv2.resize(crop, small_size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(crop_hole.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))  # cover what the resize cut off
    filled = cv2.resize(method(small, small_hole), (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
    weight = cv2.GaussianBlur(crop_hole.astype(np.float32), (0, 0), max(1.0, 1.0 / scale))
    weight = np.maximum(weight, crop_hole)[..., None]
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(np.round(filled * weight + crop * (1 - weight)), 0, 255).astype(np.uint8)
    return out


def fill_from_part(image: np.ndarray, hole: np.ndarray, known: np.ndarray, *, work_side: int = PLATE_WORK_SIDE
                   ) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled from the `known` pixels (bool (H, W)) alone, by
    normalised convolution: a Gaussian-weighted mean of the known pixels around, at the smallest
    scale (sigma 1, 2, 4, ... pixels at `work_side`) that has enough of them, scaled back and
    blended into the hole over about a pixel. Smooth: the local colour of the known pixels near
    them, their mean far off. Every pixel away from the hole is the input's. uint8 (H, W, 3)."""
    if not hole.any() or not known.any():
        return image.copy()
    ys, xs = np.nonzero(hole | known)
    box = (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)

    def spread(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
        small_known = cv2.resize(known[box[0]:box[1], box[2]:box[3]].astype(np.uint8), small_hole.shape[::-1],
                                 interpolation=cv2.INTER_NEAREST) > 0
        return _spread(small, small_hole > 0, small_known & (small_hole == 0))

    return fill_scaled(image, hole, box, work_side, spread)


def _spread(image: np.ndarray, todo: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The normalised convolution of `fill_from_part` at its working scale: image uint8 (h, w, 3)
    with the `todo` pixels (bool (h, w)) set from the `known` ones. uint8 (h, w, 3)."""
    out = image.astype(np.float32)
    todo = todo.copy()
    weight = known.astype(np.float32)
    colour = out * weight[..., None]
    sigma = 1.0
    while todo.any() and known.any():
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
        ready = todo & (den > 0.05) if sigma < max(image.shape[:2]) else todo
        if ready.any():
            num = cv2.GaussianBlur(colour, (0, 0), sigma)
            out[ready] = num[ready] / np.maximum(den[ready], 1e-12)[..., None]
            todo &= ~ready
        sigma *= 2.0
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def fill_from_patches(image: np.ndarray, hole: np.ndarray, known: np.ndarray, *, source: np.ndarray | None = None,
                      radius: int = 3, work_side: int = PATCH_FILL_SIDE) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by copying patches of the picture, in the order of
    Criminisi, Pérez and Toyama (2004): the front pixel whose patch is most known, and where an edge
    runs into the hole, goes first; it takes the missing pixels of the patch ((2 radius + 1) pixels
    square at the working scale) most like its own `known` pixels (bool (H, W); squared difference
    in CIE Lab), plus a cost for distance (LOCALITY: the same cloth is near), among the patches
    wholly inside `source` (bool (H, W), within known; default: known). A hem, a seam or a stripe
    carries on into the hole, where the smooth fill (`fill_from_part`) mixes the colours on either
    side of it into a smear. Each connected piece of the hole is filled inside its box grown by its
    size, at most `work_side` pixels long, scaled back and blended in over about a pixel; a piece
    no patch fits beside is filled smoothly. Every pixel away from the hole is the input's. uint8
    (H, W, 3)."""
    out = image.copy()
    if not hole.any() or not known.any():
        return out
    known = known & ~hole
    source = known if source is None else source & known
    height, width = hole.shape
    side = 2 * radius + 1
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    for i in range(1, count):
        x, y, w, h = stats[i, :4]
        margin = max(w, h, 4 * side)
        y0, y1, x0, x1 = max(0, y - margin), min(height, y + h + margin), max(0, x - margin), min(width, x + w + margin)

        def copy_patches(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
            def scaled(mask: np.ndarray) -> np.ndarray:
                return cv2.resize(mask[y0:y1, x0:x1].astype(np.uint8), small_hole.shape[::-1],
                                  interpolation=cv2.INTER_NEAREST) > 0
            todo = small_hole > 0
            small_known = scaled(known) & ~todo
            inside = cv2.erode(np.pad(scaled(source) & ~todo, radius).astype(np.uint8), np.ones((side, side), np.uint8))
            centres = inside[radius:-radius, radius:-radius] > 0  # of patches wholly inside the source
            if not centres.any() or not small_known.any():
                return _spread(small, todo, small_known)
            return _copy_patches(small, todo, small_known, centres, radius)

        out = fill_scaled(out, pieces == i, (y0, y1, x0, x1), work_side, copy_patches)
    return out


def _copy_patches(image: np.ndarray, hole: np.ndarray, known: np.ndarray, sources: np.ndarray, radius: int
                  ) -> np.ndarray:
    """The exemplar fill of `fill_from_patches` at its working scale: image uint8 (h, w, 3); hole,
    known, sources bool (h, w), sources the centres of the patches that may be copied."""
    side = 2 * radius + 1

    def pad(a: np.ndarray) -> np.ndarray:  # so that every patch around a pixel of the box fits
        return np.pad(a, [(radius, radius), (radius, radius)] + [(0, 0)] * (a.ndim - 2))

    out = pad(image)
    lab = pad(cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32))
    todo = pad(hole)
    filled = pad(known & ~hole)  # the pixels a patch is compared on
    confidence = filled.astype(np.float32)
    box_kernel = np.ones((side, side), np.float32) / side ** 2
    # a patch centred on (y, x) of the box is the padded arrays' window with its corner at (y, x), so
    # matchTemplate's scores over the padded arrays are indexed like `sources`
    rows = np.arange(sources.shape[0], dtype=np.float32)[:, None] + radius  # the centres, padded
    cols = np.arange(sources.shape[1], dtype=np.float32)[None, :] + radius
    while todo.any():
        near = cv2.dilate(filled.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        front = todo & near
        if not front.any():  # what is left touches nothing known: filled smoothly below
            break
        cover = cv2.filter2D(confidence, -1, box_kernel, borderType=cv2.BORDER_CONSTANT)
        grey = lab[..., 0]
        gy, gx = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        sound = cv2.erode(filled.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # no unfilled pixel in reach
        gy, gx = cv2.blur(np.where(sound, gy, 0), (5, 5)), cv2.blur(np.where(sound, gx, 0), (5, 5))
        ny = cv2.Sobel(filled.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3)
        nx = cv2.Sobel(filled.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)
        # an edge runs into the hole where the isophote (the gradient turned by 90 degrees) meets the front's normal
        edge = np.abs(-gy * nx + gx * ny) / (np.hypot(nx, ny) + 1e-6) / 255.0
        priority = np.where(front, cover * (edge + 0.01), -1.0)
        y, x = np.unravel_index(int(np.argmax(priority)), priority.shape)
        window = np.s_[y - radius:y + radius + 1, x - radius:x + radius + 1]
        weight = filled[window].astype(np.float32)
        scores = cv2.matchTemplate(lab, lab[window], cv2.TM_SQDIFF, mask=np.repeat(weight[..., None], 3, axis=2))
        scores = scores + LOCALITY * 3 * weight.sum() * (((rows - y) ** 2 + (cols - x) ** 2) / side ** 2)
        scores = np.where(sources, scores, np.inf)
        sy, sx = np.unravel_index(int(np.argmin(scores)), scores.shape)
        source = np.s_[sy:sy + side, sx:sx + side]
        take = todo[window].copy()
        out[window][take] = out[source][take]
        lab[window][take] = lab[source][take]
        confidence[window][take] = cover[y, x]
        filled[window] |= take
        todo[window] &= ~take
    out, rest = out[radius:-radius, radius:-radius], todo[radius:-radius, radius:-radius]
    return _spread(out, rest, filled[radius:-radius, radius:-radius]) if rest.any() else out
