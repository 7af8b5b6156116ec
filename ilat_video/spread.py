"""Fills of a hole from known pixels, at a reduced scale: the helpers the plate, the holes in a
warped frame and the body an arm hides in the reference share.

    filled = fill_from_part(image, hole, known)   # the hole from the known pixels alone
    filled = fill_by_material(image, hole, known) # ... each pixel from one material of them
    solved = solve_poisson(values, unknown)       # the membrane (or, with a guidance field, Poisson editing)
"""
from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

PLATE_WORK_SIDE = 512  # the smooth fills work at this longer side, then are scaled back
MATERIALS = 3  # fill_by_material sorts the known pixels into this many colours (k-means in Lab)
MATERIAL_SAMPLES = 20000  # ... fitted on at most this many of them
MATERIAL_APART = 20.0  # ... colours nearer than this (CIE Lab, L 0..100) are shades of one material, and
MATERIAL_GRADUAL = 0.15  # ... so are two that meet in a gradual change: across their border the colour changes
# by less than this x the distance between them a pixel (the median over the border; an edge between two
# materials changes by a third to a half of it a pixel)
MATERIAL_EDGE = 1.0  # the borders between materials softened by a blur of this sigma (work-side pixels)
ROW_MATERIAL_REACH = 8  # fill_by_material's rows: a side's material is the commonest of this many work-side
# pixels past the hole's edge along the row, and ...
ROW_SMOOTH = 0.05  # ... the rows' material shares are smoothed down the rows by this sigma x the hole's height


NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (dy, dx): the 4 links of each pixel, in `solve_poisson`'s order


def solve_poisson(values: np.ndarray, unknown: np.ndarray, guidance=None) -> np.ndarray:
    """`values` (float (h, w, c)) with the `unknown` pixels (bool (h, w)) solved for, directly
    (sparse LU): for each unknown pixel p, the sum over its neighbours q = p + d inside the picture
    (NEIGHBOURS; known ones fixed, Dirichlet; the picture's edge, Neumann) of f(p) - f(q) equals the
    sum of guidance[k][p], what each link's difference should be (float (h, w, c) for each d_k).
    guidance None: the membrane, each unknown pixel the mean of its neighbours (Laplace's
    equation); given: Poisson image editing. float64 (h, w, c)."""
    height, width = unknown.shape
    out = np.array(values, dtype=np.float64)
    if not unknown.any() or unknown.all():
        return out
    ys, xs = np.nonzero(unknown)
    count = len(ys)
    index = np.full((height, width), -1, np.int64)
    index[ys, xs] = np.arange(count)
    diagonal, rhs = np.zeros(count), np.zeros((count, out.shape[2]))
    rows, cols = [], []
    for k, (dy, dx) in enumerate(NEIGHBOURS):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        ny, nx = np.clip(ny, 0, height - 1), np.clip(nx, 0, width - 1)
        neighbour = np.where(inside, index[ny, nx], -1)
        diagonal += inside
        free = neighbour >= 0
        rows.append(np.nonzero(free)[0])
        cols.append(neighbour[free])
        known = inside & ~free
        rhs[known] += out[ny[known], nx[known]]
        if guidance is not None:
            rhs[inside] += guidance[k][ys[inside], xs[inside]]
    rows.append(np.arange(count))
    cols.append(np.arange(count))
    data = np.concatenate([-np.ones(sum(len(r) for r in rows[:-1])), diagonal])
    matrix = scipy.sparse.csc_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(count, count))
    out[ys, xs] = scipy.sparse.linalg.splu(matrix).solve(rhs)
    return out


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

    def spread(small: np.ndarray, todo: np.ndarray, small_known: np.ndarray) -> np.ndarray:
        out = small.astype(np.float32)
        weight = small_known.astype(np.float32)
        colour = out * weight[..., None]
        for sigma, ready, den in _growing_scales(todo, weight):
            num = cv2.GaussianBlur(colour, (0, 0), sigma)
            out[ready] = num[ready] / np.maximum(den[ready], 1e-12)[..., None]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return _fill_from_known(image, hole, known, work_side, spread)


def fill_by_material(image: np.ndarray, hole: np.ndarray, known: np.ndarray, *, materials: int = MATERIALS,
                     work_side: int = PLATE_WORK_SIDE, rows: np.ndarray | None = None) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled from the `known` pixels (bool (H, W)) alone, one
    material at a time: the known pixels are sorted into `materials` colours (k-means in Lab), and
    each hole pixel takes the mean colour of the material with the most known pixels around it
    (Gaussian-weighted, at the smallest scale, sigma 1, 2, 4, ... pixels at `work_side`, that has
    enough of them), its borders softened over about a pixel. Where `fill_from_part` mixes what is
    around (denim above a hem and skin below it averaged into a pale blue-grey), this carries each
    on: denim where denim is nearer, skin where skin is. rows: bool (H, W), or None: the pixels
    that say which material each row of the hole carries (`_row_classes`: each matched to the
    nearest of the known pixels' materials, so they need not be known themselves: the skin beside
    a hand that was not read for its likeness to the hand's); where its row has some, a hole pixel
    takes that material, whatever else lies nearer: the mean of the material's pixels among these
    around it, at the smallest scale that has enough of them (the rows within the box of the hole
    and the known pixels). Every pixel
    away from the hole is the input's; the same input gives the same output. uint8 (H, W, 3)."""

    def spread(small: np.ndarray, todo: np.ndarray, small_known: np.ndarray,
               small_rows: np.ndarray | None = None) -> np.ndarray:
        hole = todo.copy()
        classes = _materials(small, small_known, materials, also=small_rows)
        colour = small.astype(np.float32)
        members = [np.where(small_known, classes == c, False).astype(np.float32) for c in range(classes.max() + 1)]
        out = colour.copy()
        if small_rows is not None:  # each row's material first: its known pixels' local mean
            along_row = _row_classes(np.where(small_rows & ~hole, classes, -1), hole)
            for c in range(len(members)):
                member = (small_rows & ~hole & (classes == c)).astype(np.float32)
                if member.any():
                    for sigma, ready, density in _growing_scales(todo & (along_row == c), member):
                        mean = cv2.GaussianBlur(colour * member[..., None], (0, 0), sigma)[ready]
                        out[ready] = mean / np.maximum(density[ready], 1e-12)[:, None]
                    todo &= along_row != c
        for sigma, ready, _den in _growing_scales(todo, small_known.astype(np.float32)):
            best = np.full(int(ready.sum()), -1.0, np.float32)
            for member in members:
                density = cv2.GaussianBlur(member, (0, 0), sigma)[ready]
                mean = cv2.GaussianBlur(colour * member[..., None], (0, 0), sigma)[ready]
                denser = density > best
                best[denser] = density[denser]
                picked = out[ready]
                picked[denser] = mean[denser] / np.maximum(density[denser], 1e-12)[:, None]
                out[ready] = picked
        soft = cv2.GaussianBlur(out, (0, 0), MATERIAL_EDGE)
        out[hole] = soft[hole]
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return _fill_from_known(image, hole, known, work_side, spread, rows)


def _row_classes(classes: np.ndarray, hole: np.ndarray, reach: int = ROW_MATERIAL_REACH) -> np.ndarray:
    """int (h, w): each hole pixel's material from its row: each material's share at the nearest
    known pixels on the left and on the right (the commonest within `reach`), carried linearly
    across between them (the one side's where the other has none), smoothed down the rows (a hem
    seen at two heights either side of a hand slants across it instead of stepping), the largest;
    -1 where its row has no known pixel, and outside the hole."""
    h, w = classes.shape
    count = int(classes.max()) + 1
    if count <= 0 or not hole.any():
        return np.full((h, w), -1, np.int32)
    # per material, how many of its pixels lie in each row up to each column: a side's material is
    # the commonest of the `reach` columns beyond the hole's edge there
    ahead = np.concatenate([np.zeros((h, 1, count), np.int32),
                            np.cumsum(np.stack([classes == c for c in range(count)], -1), axis=1, dtype=np.int32)], 1)
    cols = np.broadcast_to(np.arange(w), (h, w))
    known = classes >= 0
    left = np.maximum.accumulate(np.where(known, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(known, cols, w)[:, ::-1], axis=1)[:, ::-1]
    has_left, has_right = left >= 0, right < w

    def commonest(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        start, stop = np.clip(start, 0, w), np.clip(stop, 0, w)
        take = lambda at: np.take_along_axis(ahead, at[..., None], axis=1)  # noqa: E731
        return (take(stop) - take(start)).argmax(-1)

    left_class = commonest(left - reach + 1, left + 1)
    right_class = commonest(right, right + reach)
    t = np.where(has_left & has_right, (cols - left) / np.maximum(right - left, 1), np.where(has_right, 1.0, 0.0))
    shares = np.zeros((h, w, count), np.float32)
    rows = (has_left | has_right) & hole
    for c in range(count):
        shares[..., c] = np.where(rows, (1 - t) * (has_left & (left_class == c)) + t * (has_right & (right_class == c)),
                                  0.0)
    ys = np.nonzero(hole.any(axis=1))[0]
    sigma = max(1.0, ROW_SMOOTH * float(ys.max() - ys.min() + 1))
    weight = cv2.GaussianBlur(rows.astype(np.float32), (1, 0), sigmaX=0.01, sigmaY=sigma)
    smooth = cv2.GaussianBlur(shares, (1, 0), sigmaX=0.01, sigmaY=sigma)
    if smooth.ndim == 2:
        smooth = smooth[..., None]
    best = (smooth / np.maximum(weight, 1e-6)[..., None]).argmax(-1)
    return np.where(rows, best, -1)


def _fill_from_known(image: np.ndarray, hole: np.ndarray, known: np.ndarray, work_side: int, fill,
                     rows: np.ndarray | None = None) -> np.ndarray:
    """`fill(small image, small hole (bool), small known pixels (bool, none in the hole)[, small
    rows]) -> small filled image` run through `fill_scaled` on the box of the hole and the known
    pixels (rows: an extra bool (H, W) scaled alike and passed on where given); the image as it is
    when either is empty."""
    if not hole.any() or not known.any():
        return image.copy()
    ys, xs = np.nonzero(hole | known)
    box = (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)

    def scaled(pixels: np.ndarray, shape) -> np.ndarray:
        return cv2.resize(pixels[box[0]:box[1], box[2]:box[3]].astype(np.uint8), shape[::-1],
                          interpolation=cv2.INTER_NEAREST) > 0

    def method(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
        small_known = scaled(known, small_hole.shape) & (small_hole == 0)
        if not small_known.any():
            return small
        if rows is None:
            return fill(small, small_hole > 0, small_known)
        return fill(small, small_hole > 0, small_known, scaled(rows, small_hole.shape))

    return fill_scaled(image, hole, box, work_side, method)


def _growing_scales(todo: np.ndarray, weight: np.ndarray):
    """Yields (sigma, ready, the known pixels' Gaussian density at that sigma) at sigma 1, 2, 4, ...
    for the pixels of `todo` (bool, emptied in place as they are handed out) whose density first
    passes 0.05 there; at a sigma as wide as the picture, all that are left. weight: float32, 1 on
    the known pixels."""
    sigma = 1.0
    while todo.any():
        density = cv2.GaussianBlur(weight, (0, 0), sigma)
        ready = todo & (density > 0.05) if sigma < max(weight.shape) else todo.copy()
        if ready.any():
            yield sigma, ready, density
            todo &= ~ready
        sigma *= 2.0


def _materials(image: np.ndarray, known: np.ndarray, count: int, also: np.ndarray | None = None) -> np.ndarray:
    """int (h, w): each known pixel's material, 0 .. count - 1 at most (k-means of the Lab colours,
    started by k-means++ from a fixed seed, fitted on at most MATERIAL_SAMPLES of them; centres
    nearer than MATERIAL_APART joined: the shading of one white shirt is one material, filled
    smoothly, not a patchwork of flat shades), and each pixel of `also` (bool, or None) matched to
    the nearest of those materials; -1 elsewhere."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[known]  # L 0..100
    rng = np.random.default_rng(0)
    fit = lab if len(lab) <= MATERIAL_SAMPLES else lab[rng.choice(len(lab), MATERIAL_SAMPLES, replace=False)]
    centres = fit[[rng.integers(len(fit))]]
    while len(centres) < min(count, len(fit)):
        nearest = ((fit[:, None] - centres[None]) ** 2).sum(-1).min(1)
        if nearest.sum() <= 0:
            break  # fewer colours than materials
        centres = np.concatenate([centres, fit[[rng.choice(len(fit), p=nearest / nearest.sum())]]])
    for _ in range(10):
        which = ((fit[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([fit[which == c].mean(0) if (which == c).any() else centres[c]
                            for c in range(len(centres))])
    group = np.arange(len(centres))
    for a in range(len(centres)):
        for b in range(a + 1, len(centres)):
            if np.linalg.norm(centres[a] - centres[b]) < MATERIAL_APART:
                group[group == group[b]] = group[a]
    _, group = np.unique(group, return_inverse=True)
    classes = np.full(known.shape, -1, np.int32)
    labelled = known if also is None else known | also
    every = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    classes[labelled] = group[((every[labelled][:, None] - centres[None]) ** 2).sum(-1).argmin(1)]
    joined = _shades_joined(every, np.where(known, classes, -1))
    return np.where(classes >= 0, joined[np.maximum(classes, 0)], -1)


def _shades_joined(lab: np.ndarray, classes: np.ndarray, min_border: int = 8) -> np.ndarray:
    """int (count,): each material of `classes` (int (h, w), -1 where unknown) renumbered, those
    that are shades of one joined: two that meet along a border (at least `min_border` pixel pairs
    side by side) across which the colour (`lab`, float32 (h, w, 3)) changes gradually, by a median
    under MATERIAL_GRADUAL x the distance between their mean colours a pixel (over the three pixels
    from the one before the border to the one after it). A grey tee in light and shadow is one
    material, whose shades a fill should blend; the k-means of its colours split it into a light
    and a dark one, and behind an arm the fill drew flat blocks of each, one as dark as the jeans."""
    count = int(classes.max()) + 1
    group = np.arange(max(count, 0))
    if count < 2:
        return group
    centres = [lab[classes == c].mean(0) for c in range(count)]
    pairs, steps = [], []
    for axis in (0, 1):
        line, colour = np.moveaxis(classes, axis, 0), np.moveaxis(lab, axis, 0)
        if line.shape[0] < 4:
            continue
        before, a, b, after = line[:-3], line[1:-2], line[2:-1], line[3:]
        border = (a >= 0) & (b >= 0) & (a != b) & (before == a) & (after == b)  # a clean border, both sides known
        pairs.append(np.minimum(a, b)[border] * count + np.maximum(a, b)[border])
        steps.append(np.linalg.norm(colour[3:] - colour[:-3], axis=-1)[border] / 3.0)
    pairs, steps = np.concatenate(pairs or [[]]).astype(np.int64), np.concatenate(steps or [[]])
    for pair in np.unique(pairs):
        first, second = divmod(int(pair), count)
        values = steps[pairs == pair]
        apart = float(np.linalg.norm(centres[first] - centres[second]))
        if len(values) >= min_border and np.median(values) < MATERIAL_GRADUAL * apart:
            group[group == group[second]] = group[first]
    return np.unique(group, return_inverse=True)[1]
