"""A textured background plate: multi-scale PatchMatch image completion.

    filled = inpaint_patchmatch(image, hole)          # uint8 (H, W, 3) RGB, hole bool (H, W)
    mixed = inpaint_patchmatch_mixed(image, hole)     # the same mixed with the membrane by a ring test

After Wexler, Shechtman and Irani 2007 ("Space-time completion of video"): the hole is filled so
that every 7x7 patch overlapping it looks like some patch of the known picture around it, by
alternating (a) a nearest-neighbour field (NNF) from each patch whose centre is in or near the hole
to a source patch lying wholly on known pixels (Barnes et al. 2009, PatchMatch: random start,
propagation, random search), and (b) voting: each hole pixel the weighted mean of what the patches
covering it put there, weight exp(-d / (2 sigma^2)) by the patch's distance (sigma^2 the 75th
percentile of the distances) and by how near the hole's rim the patch lies. Coarse to fine: the
coarsest scale starts from the membrane (Laplace) fill, each finer one from the coarser NNF scaled
up (its source patches voted at the finer scale) and refined there.

Vectorised numpy throughout: the propagation is whole-array jump-flooding passes (each target
tries its neighbours' offsets at steps 8, 4, 2, 1 in 4 directions at once), the patch distance is
the squared distance of the patches' projections on their leading principal components (the
patches of the known picture, CIE Lab, 147 -> PCA_DIMS numbers), and the votes are bincounts.

The fill runs on the hole's box with a margin (the source), scaled so its longer side is at most
`work_side`, and is scaled back and blended into the hole as the other plates are
(`spread.fill_scaled`). Every pixel outside the hole is the input's; the result is a function of
the inputs and `seed`.
"""
from __future__ import annotations

import cv2
import numpy as np

from ilat_video.spread import fill_scaled

WORK_SIDE = 320  # the fill works on the hole's box (with SOURCE_MARGIN) scaled to this longer side
PATCH = 7  # patch side (odd)
PCA_DIMS = 24  # the patch distance is taken on this many principal components of the 7x7x3 patches
SOURCE_MARGIN = 0.35  # the source is the hole's box grown by this share of the hole's extent on every side
COARSE_KNOWN = 0.5  # a pixel of a coarser scale is known when at least this share of the finer pixels it covers is
HOLE_MARGIN = 0  # source patches keep this many pixels (at each scale) away from the hole
COARSEST_SIDE = 40  # the pyramid stops when the picture's longer side is below about this,
COARSEST_INRADIUS = 4.0  # or the hole's inradius (pixels) would fall below this,
COARSEST_SOURCES = 1500  # or the valid source patches would be fewer than this
RIM_GAMMA = 1.3  # a patch's vote is weighted by RIM_GAMMA^-(its centre's distance into the hole), Wexler's
VOTE_PERCENTILE = 75  # sigma^2 of the vote's weights: this percentile of the patch distances
# the last vote at the finest scale: "mean" (weighted) or "best" (the nearest patch's pixel: sharp, seams)
FINAL_VOTE = "mean"


def inpaint_patchmatch(image: np.ndarray, hole: np.ndarray, *, work_side: int = WORK_SIDE, seed: int = 0,
                       margin: float = SOURCE_MARGIN) -> np.ndarray:
    """`image` (uint8 (H, W, 3) RGB) with `hole` (bool (H, W)) filled by multi-scale PatchMatch image
    completion from the known pixels of the hole's box grown by `margin` of the hole's extent, at
    `work_side` (the box's longer side), scaled back and blended into the hole over about one work
    pixel. Every pixel outside the hole is the input's; deterministic for a `seed`. uint8 (H, W, 3)."""
    hole = np.asarray(hole, bool)
    if not hole.any():
        return image.copy()
    rng = np.random.default_rng(seed)
    out = fill_scaled(image, hole, source_box(hole, margin), work_side,
                      lambda small, small_hole: complete(small, small_hole > 0, rng))
    out[~hole] = image[~hole]
    return out


def source_box(hole: np.ndarray, margin: float = SOURCE_MARGIN) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): the hole's bounding box grown by `margin` of its extent (at least 8 pixels)."""
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    grow = max(8, int(margin * (max(np.ptp(ys), np.ptp(xs)) + 1)))
    return (max(0, ys.min() - grow), min(height, ys.max() + grow + 1),
            max(0, xs.min() - grow), min(width, xs.max() + grow + 1))


# --- the completion on one small picture ------------------------------------------------------


def complete(small: np.ndarray, hole: np.ndarray, rng: np.random.Generator, *, em_coarse: int = 6,
             em_fine: int = 3, pm_iters: int = 2, start: str = "smooth", final: str | None = None) -> np.ndarray:
    """uint8 (h, w, 3) RGB `small` with `hole` (bool (h, w)) filled coarse to fine."""
    if hole.all():
        return small.copy()
    final = FINAL_VOTE if final is None else final
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    pyramid = [(lab, hole)]
    while max(pyramid[-1][1].shape) >= 2 * COARSEST_SIDE:
        image, mask = pyramid[-1]
        down_image, down_mask = _downsample(image, mask)
        thickness = cv2.distanceTransform(down_mask.astype(np.uint8), cv2.DIST_L2, 3).max()
        if thickness < COARSEST_INRADIUS or _source_count(down_mask) < COARSEST_SOURCES:
            break  # the hole too thin or too little known picture left at that scale
        pyramid.append((down_image, down_mask))
    image, mask = pyramid[-1]
    image = _onion_start(image, mask) if start == "onion" else _smooth_start(image, mask)
    nnf = None
    for level in range(len(pyramid) - 1, -1, -1):
        source, mask = pyramid[level]
        if level < len(pyramid) - 1:  # the coarser fill scaled up as the start, the NNF scaled up
            up = cv2.resize(image, mask.shape[::-1], interpolation=cv2.INTER_LINEAR)
            image = np.where(mask[..., None], up, source)
        else:
            image = np.where(mask[..., None], image, source)
        scale = Scale(source, mask, rng)
        if not scale.targets_y.size or not scale.source_ok.any():
            continue
        nnf = scale.start(nnf, rng)
        iters = em_coarse if level == len(pyramid) - 1 else em_fine
        for em in range(iters):
            scale.set_image(image)
            nnf = scale.search(nnf, rng, iterations=pm_iters + (2 if em == 0 else 0))
            last = level == 0 and em == iters - 1
            image = scale.vote(image, nnf, best=last and final == "best")
        nnf = (scale, nnf)
    lab8 = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return cv2.cvtColor(lab8, cv2.COLOR_LAB2RGB)


class Scale:
    """One pyramid level: the target patches (centres whose patch touches the hole), the valid source
    centres (the patch wholly on known pixels HOLE_MARGIN away from the hole, inside the picture), the
    PCA basis of the source patches and their projections."""

    def __init__(self, source: np.ndarray, mask: np.ndarray, rng: np.random.Generator):
        r = PATCH // 2
        height, width = mask.shape
        self.shape = (height, width)
        self.mask = mask
        near = _dilate(mask, r)
        self.targets_y, self.targets_x = np.nonzero(near)
        self.target_id = np.full((height, width), -1, np.int64)
        self.target_id[self.targets_y, self.targets_x] = np.arange(self.targets_y.size)
        ok = ~_dilate(mask, r + HOLE_MARGIN)
        ok[:r], ok[height - r:], ok[:, :r], ok[:, width - r:] = False, False, False, False
        self.source_ok = ok
        self.source_y, self.source_x = np.nonzero(ok)
        self.patches_view = _patch_view(source)  # (h, w, 3, P, P) over the edge-padded picture
        if not self.source_y.size:
            return
        sources = self.patches_view[self.source_y, self.source_x].reshape(self.source_y.size, -1)
        pick = rng.choice(self.source_y.size, size=min(4000, self.source_y.size), replace=False)
        sample = sources[np.sort(pick)].astype(np.float64)
        self.mean = sample.mean(0)
        _, _, vt = np.linalg.svd(sample - self.mean, full_matrices=False)
        self.basis = vt[:PCA_DIMS].T.astype(np.float32)  # (P*P*3, d)
        features = np.zeros((height * width, self.basis.shape[1]), np.float32)
        features[self.source_y * width + self.source_x] = (sources - self.mean.astype(np.float32)) @ self.basis
        self.source_features = features
        # the vote's rim weight: RIM_GAMMA^-(distance into the hole) at each target centre
        inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        self.rim = RIM_GAMMA ** -inside[self.targets_y, self.targets_x]

    # the NNF is (sy, sx, cost) per target, cost the squared PCA distance
    def start(self, coarse, rng: np.random.Generator):
        """The NNF at this scale: the coarser scale's offsets doubled where they land on a valid
        source, random valid sources elsewhere."""
        n = self.targets_y.size
        pick = rng.integers(0, self.source_y.size, n)
        sy, sx = self.source_y[pick].copy(), self.source_x[pick].copy()
        if coarse is not None:
            coarse_scale, (csy, csx, _) = coarse
            ch, cw = coarse_scale.shape
            cy, cx = np.minimum(self.targets_y // 2, ch - 1), np.minimum(self.targets_x // 2, cw - 1)
            cid = coarse_scale.target_id[cy, cx]
            has = cid >= 0
            ny = self.targets_y + 2 * (csy[cid] - cy)
            nx = self.targets_x + 2 * (csx[cid] - cx)
            good = has & self._valid(ny, nx)
            sy[good], sx[good] = ny[good], nx[good]
        return sy, sx, np.full(n, np.inf, np.float32)

    def set_image(self, image: np.ndarray) -> None:
        """Project the target patches of the current estimate."""
        view = _patch_view(image)
        patches = view[self.targets_y, self.targets_x].reshape(self.targets_y.size, -1)
        self.target_features = (patches - self.mean.astype(np.float32)) @ self.basis

    def _valid(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        height, width = self.shape
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        out = np.zeros(y.shape, bool)
        out[inside] = self.source_ok[y[inside], x[inside]]
        return out

    def _cost(self, y: np.ndarray, x: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        valid = self._valid(y, x)
        cost = np.full(y.shape, np.inf, np.float32)
        rows = np.nonzero(valid)[0]
        target = self.target_features if which is None else self.target_features[which]
        diff = target[rows] - self.source_features[y[rows] * self.shape[1] + x[rows]]
        cost[rows] = np.einsum("ij,ij->i", diff, diff)
        return cost

    def _try(self, nnf, y, x, which=None):
        sy, sx, cost = nnf
        if which is None:
            new = self._cost(y, x)
            better = new < cost
            sy[better], sx[better], cost[better] = y[better], x[better], new[better]
        else:
            new = self._cost(y, x, which)
            better = new < cost[which]
            idx = which[better]
            sy[idx], sx[idx], cost[idx] = y[better], x[better], new[better]

    def search(self, nnf, rng: np.random.Generator, iterations: int = 2):
        """PatchMatch on the current target features: the costs renewed, then `iterations` rounds of
        jump-flooding propagation (steps 8, 4, 2, 1; 4 directions) and random search (windows
        halving from the picture's size)."""
        sy, sx, _ = nnf
        nnf = (sy, sx, self._cost(sy, sx))
        height, width = self.shape
        ty, tx = self.targets_y, self.targets_x
        steps = [s for s in (8, 4, 2, 1) if s < max(height, width) // 4] or [1]
        for _ in range(iterations):
            for step in steps:
                for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                    qy, qx = ty + step * dy, tx + step * dx
                    inside = (qy >= 0) & (qy < height) & (qx >= 0) & (qx < width)
                    qid = np.full(ty.shape, -1, np.int64)
                    qid[inside] = self.target_id[qy[inside], qx[inside]]
                    which = np.nonzero(qid >= 0)[0]
                    q = qid[which]
                    self._try(nnf, nnf[0][q] - step * dy, nnf[1][q] - step * dx, which)
            radius = max(height, width)
            while radius >= 1:
                sy, sx, _ = nnf
                self._try(nnf, sy + rng.integers(-radius, radius + 1, sy.size),
                          sx + rng.integers(-radius, radius + 1, sx.size))
                radius //= 2
        return nnf

    def _overlaps(self, sy: np.ndarray, sx: np.ndarray):
        """For each offset (dy, dx) within a patch: (which target centres keep it: their pixel at that
        offset lies in the hole, the flat indices of those hole pixels, of the source pixels the
        centres' matches (sy, sx) bring there)."""
        height, width = self.shape
        r = PATCH // 2
        ty, tx = self.targets_y, self.targets_x
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                py, px = ty + dy, tx + dx
                keep = (py >= 0) & (py < height) & (px >= 0) & (px < width)
                keep[keep] = self.mask[py[keep], px[keep]]
                yield keep, py[keep] * width + px[keep], (sy[keep] + dy) * width + (sx[keep] + dx)

    def vote(self, image: np.ndarray, nnf, best: bool = False) -> np.ndarray:
        """Each hole pixel the weighted mean of the source pixels the patches covering it bring; with
        `best`, the pixel the nearest of those patches brings (no averaging: sharp, Newson et al. 2014's
        last step)."""
        sy, sx, cost = nnf
        height, width = self.shape
        if best:
            return self._vote_best(image, nnf)
        finite = np.isfinite(cost)
        sigma2 = max(float(np.percentile(cost[finite], VOTE_PERCENTILE)) if finite.any() else 1.0, 1e-3)
        weight = np.where(finite, np.exp(-np.where(finite, cost, 0) / (2 * sigma2)), 0.0) * self.rim
        weight = weight.astype(np.float64)
        acc = np.zeros((height * width, 3))
        total = np.zeros(height * width)
        flat = image.reshape(-1, 3).astype(np.float64)  # sources lie on known pixels: the picture there
        for keep, target, src in self._overlaps(sy, sx):
            w = weight[keep]
            total += np.bincount(target, weights=w, minlength=height * width)
            for c in range(3):
                acc[:, c] += np.bincount(target, weights=w * flat[src, c], minlength=height * width)
        out = image.copy()
        filled = self.mask.reshape(-1) & (total > 0)
        out.reshape(-1, 3)[filled] = (acc[filled] / total[filled, None]).astype(np.float32)
        return out

    def _vote_best(self, image: np.ndarray, nnf) -> np.ndarray:
        sy, sx, cost = nnf
        height, width = self.shape
        flat = image.reshape(-1, 3)
        best_cost = np.full(height * width, np.inf, np.float32)
        best_value = flat.copy()
        for keep, target, src in self._overlaps(sy, sx):  # one target per centre and offset in a pass
            c = cost[keep]
            better = c < best_cost[target]
            best_cost[target[better]] = c[better]
            best_value[target[better]] = flat[src[better]]
        out = image.copy()
        out.reshape(-1, 3)[self.mask.reshape(-1)] = best_value[self.mask.reshape(-1)]
        return out


# --- helpers ---------------------------------------------------------------------------------


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask.copy()
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def _source_count(mask: np.ndarray) -> int:
    r = PATCH // 2
    ok = ~_dilate(mask, r + HOLE_MARGIN)
    return int(ok[r:mask.shape[0] - r, r:mask.shape[1] - r].sum())


def _patch_view(image: np.ndarray) -> np.ndarray:
    """(h, w, 3, P, P): the patch centred on each pixel of the edge-padded picture (a view)."""
    r = PATCH // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, (PATCH, PATCH), axis=(0, 1))


def _downsample(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half the size, the known pixels averaged alone (the hole's colours do not leak into the
    known ones); a pixel is hole where any of its 2x2 pixels was."""
    height, width = mask.shape
    size = ((width + 1) // 2, (height + 1) // 2)
    known = (~mask).astype(np.float32)
    num = cv2.resize(image * known[..., None], size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    out = num / np.maximum(den, 1e-6)[..., None]
    return out.astype(np.float32), den < COARSE_KNOWN


def _smooth_start(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The coarsest start: the membrane fill of the hole (Laplace's equation, the known pixels as
    its boundary), by the project's solver."""
    from ilat_video.compose import _membrane

    lab8 = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return _membrane(lab8, mask.astype(np.uint8)).astype(np.float32)


def _onion_start(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The coarsest start, peeled from the rim inwards: each round the unfilled hole pixels that touch
    filled ones take the centre pixel of the source patch nearest to their patch, the distance
    taken on the patch's filled pixels alone (exhaustive search: the coarsest picture is small)."""
    r = PATCH // 2
    height, width = mask.shape
    out = image.copy()
    filled = ~mask
    ok = ~_dilate(mask, r + HOLE_MARGIN)
    ok[:r], ok[height - r:], ok[:, :r], ok[:, width - r:] = False, False, False, False
    sy, sx = np.nonzero(ok)
    if not sy.size:
        return _smooth_start(image, mask)
    sources = _patch_view(image)[sy, sx].reshape(sy.size, -1).astype(np.float64)  # (S, 3 P P)
    source_sq = sources ** 2
    kernel = np.ones((3, 3), np.uint8)
    while not filled.all():
        front = ~filled & (cv2.dilate(filled.astype(np.uint8), kernel) > 0)
        if not front.any():
            break
        fy, fx = np.nonzero(front)
        patches = _patch_view(out)[fy, fx].reshape(fy.size, -1).astype(np.float64)  # (F, 3 P P)
        known = np.tile(_patch_view(filled[..., None].astype(np.float64))[fy, fx].reshape(fy.size, -1), (1, 3))
        # sum over known of (t - s)^2 = sum k t^2 - 2 (k t) . s + k . s^2
        cost = ((known * patches ** 2).sum(1)[:, None] - 2 * (known * patches) @ sources.T + known @ source_sq.T)
        cost /= np.maximum(known.sum(1), 1)[:, None]
        best = np.argmin(cost, axis=1)
        out[fy, fx] = image[sy[best], sx[best]]
        filled = filled | front
    return out


# --- the mixture with the membrane -----------------------------------------------------------

CHECK_RING = 0.04  # the ring of known pixels the fills are checked on: this share of the hole's extent wide
CHECK_POWER = 2.0  # weight ~ error^-CHECK_POWER


def inpaint_patchmatch_mixed(image: np.ndarray, hole: np.ndarray, *, work_side: int = WORK_SIDE, seed: int = 0,
                             check_share: float = CHECK_RING, power: float = CHECK_POWER) -> np.ndarray:
    """`image` with `hole` filled by the membrane and `inpaint_patchmatch` mixed pixel by pixel by
    how badly each predicts a ring of known pixels round the hole: `compose.inpaint_mixed` with this
    fill for its patches. uint8 (H, W, 3)."""
    from ilat_video.compose import inpaint_mixed

    return inpaint_mixed(image, np.asarray(hole, bool), check_share=check_share, power=power,
                         patches=lambda im, h: inpaint_patchmatch(im, h, work_side=work_side, seed=seed))

