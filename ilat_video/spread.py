"""Smooth fills of a hole from known pixels, at a reduced scale: the helpers the plate, the holes
in a warped frame and the body an arm hides in the reference share.

    filled = fill_from_part(image, hole, known)   # the hole from the known pixels alone
"""
from __future__ import annotations

import cv2
import numpy as np

PLATE_WORK_SIDE = 512  # the smooth fills work at this longer side, then are scaled back


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
        small_known &= small_hole == 0
        out = small.astype(np.float32)
        todo = small_hole > 0
        weight = small_known.astype(np.float32)
        colour = out * weight[..., None]
        sigma = 1.0
        while todo.any() and small_known.any():
            den = cv2.GaussianBlur(weight, (0, 0), sigma)
            ready = todo & (den > 0.05) if sigma < max(small.shape[:2]) else todo
            if ready.any():
                num = cv2.GaussianBlur(colour, (0, 0), sigma)
                out[ready] = num[ready] / np.maximum(den[ready], 1e-12)[..., None]
                todo &= ~ready
            sigma *= 2.0
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    return fill_scaled(image, hole, box, work_side, spread)
