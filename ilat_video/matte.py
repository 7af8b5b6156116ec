"""The person mask's edge moved onto the photo's own edge, by colour.

MediaPipe segments at a few hundred pixels and scales its mask up: at a photo's resolution its
edge is a staircase of steps several pixels long that cuts into an arm here and takes in a strip of
wall there. The warp carries whatever the mask calls person, outline and all, into every frame.

    mask = refine_edge(image, mask)

Each pixel near the mask's edge (EDGE_BAND x the person's height either side of it, and wherever
the mask is unsure) is compared with the pixels around it that are surely person and surely
background: its alpha is how much nearer in colour (CIE Lab) it is to the nearest person pixel
than to the nearest background pixel, each paid for by its distance (`SPATIAL`). A pixel whose
colour both sides show alike keeps the mask's value: a white shirt against a white wall is left
as MediaPipe had it. Pixels away from the edge keep the mask's value; the mask's values are
alpha, so a pixel half arm and half wall gets about 1/2. Not done: the wall MediaPipe calls person
at full confidence, between an arm and the waist, is among the surely-person pixels, and stays.
"""
from __future__ import annotations

import cv2
import numpy as np

EDGE_BAND = 0.006  # pixels this x the person's height (the mask's) either side of the mask's edge are judged again
REACH = 4.0  # ... against surely-person and surely-background pixels up to this x the band away,
FAR_REACH = 12.0  # ... or this far where there are none nearer (the wall between an arm and the waist)
SURE = 0.9  # the mask at or above this (below 1 - this) and a band inside (outside) its edge is sure
SPATIAL = 0.5  # a sample's colour distance is paid this much more (Lab units) per band of distance
NOISE = 4.0  # the two sides' colour distances (Lab units) nearer than this say nothing (a photo's noise)
CONTRAST = 12.0  # ... and this much farther apart than that, they are believed in full
SMOOTH = 0.5  # the change to the mask smoothed by a blur of this sigma (pixels), against speckle
MIN_BAND = 2  # pixels


def refine_edge(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person mask (float32 (H, W) in [0, 1], as MediaPipe's) with the pixels near its edge
    given the alpha their colours say (the module's docstring). image: uint8 (H, W, 3) RGB.
    float32 (H, W)."""
    mask = np.asarray(mask, dtype=np.float32)
    binary = (mask >= 0.5).astype(np.uint8)
    rows, cols = np.nonzero(binary)
    if rows.size == 0 or binary.all():
        return mask.copy()
    band = max(MIN_BAND, int(round(EDGE_BAND * (rows.max() + 1 - rows.min()))))
    reach = max(band + 1, int(round(REACH * band)))
    far = int(round(FAR_REACH * band))
    height, width = mask.shape
    margin = far + band
    y0, y1 = max(0, rows.min() - margin), min(height, rows.max() + 1 + margin)
    x0, x1 = max(0, cols.min() - margin), min(width, cols.max() + 1 + margin)
    box_mask, box_binary = mask[y0:y1, x0:x1], binary[y0:y1, x0:x1]
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    person = (cv2.erode(box_binary, disc, borderType=cv2.BORDER_REPLICATE) > 0) & (box_mask >= SURE)
    background = (cv2.dilate(box_binary, disc, borderType=cv2.BORDER_REPLICATE) == 0) & (box_mask <= 1 - SURE)
    unsure = ~person & ~background
    if not unsure.any() or not person.any() or not background.any():
        return mask.copy()
    lab = cv2.cvtColor(image[y0:y1, x0:x1].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    ys, xs = np.nonzero(unsure)
    to_person = nearest_colour(lab, ys, xs, person, reach, band)
    to_background = nearest_colour(lab, ys, xs, background, reach, band)
    for distances, sure in ((to_person, person), (to_background, background)):
        alone = ~np.isfinite(distances)
        if alone.any():
            distances[alone] = nearest_colour(lab, ys[alone], xs[alone], sure, far, band)
    both = np.isfinite(to_person) & np.isfinite(to_background)  # else the mask's value stands
    to_person, to_background = np.where(both, to_person, 0.0), np.where(both, to_background, 0.0)
    colour_alpha = to_background / np.maximum(to_person + to_background, 1e-6)
    trust = np.where(both, np.clip((np.abs(to_background - to_person) - NOISE) / CONTRAST, 0.0, 1.0), 0.0)
    alpha = box_mask.copy()
    alpha[ys, xs] = trust * colour_alpha + (1.0 - trust) * box_mask[ys, xs]
    change = cv2.GaussianBlur(alpha - box_mask, (0, 0), SMOOTH)  # a pixel judged with its neighbours
    alpha[unsure] = box_mask[unsure] + change[unsure]
    out = mask.copy()
    out[y0:y1, x0:x1] = np.clip(alpha, 0.0, 1.0)
    return out


def nearest_colour(lab: np.ndarray, ys: np.ndarray, xs: np.ndarray, sure: np.ndarray, reach: int, band: int
                   ) -> np.ndarray:
    """float32 (n,): for each pixel (ys, xs) of `lab` (float32 (h, w, 3)) the least colour distance
    to a `sure` pixel within `reach` pixels of it, plus SPATIAL per `band` pixels between them; inf
    where there is none. Samples every few pixels: colours change slowly along an edge."""
    height, width = sure.shape
    step = max(1, reach // 8)
    channels = [np.ascontiguousarray(lab[..., c]) for c in range(3)]
    colour = [c[ys, xs] for c in channels]
    best = np.full(len(ys), np.inf, np.float32)
    for dy in range(-reach, reach + 1, step):
        for dx in range(-reach, reach + 1, step):
            distance = float(np.hypot(dy, dx))
            if distance > reach:
                continue
            sy, sx = ys + dy, xs + dx
            inside = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
            usable = np.nonzero(inside)[0]
            usable = usable[sure[sy[usable], sx[usable]]]  # only the pixels whose sample is sure
            if usable.size == 0:
                continue
            sy, sx = sy[usable], sx[usable]
            squared = sum((own[usable] - channel[sy, sx]) ** 2 for own, channel in zip(colour, channels))
            cost = np.sqrt(squared) + np.float32(SPATIAL * distance / band)
            better = cost < best[usable]
            best[usable[better]] = cost[better]
    return best
