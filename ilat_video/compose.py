"""Frames at the photo's own size: a background plate, the reference person warped over it.

    stage = Stage.prepare(photo, mask, pose, extras, max_side=1280)   # once per video
    for target_pose in poses:                                          # in the photo's pixels
        frame, warped = stage.frame(target_pose)                       # uint8 (H', W', 3), WarpResult

The reference's own pixels carry the person, part by part (`warp/`), so the face, the clothes and
the photo's resolution survive. What the warp cannot show is filled:
- the background behind where the person stood: the *plate*, the photo with the person removed and
  the hole inpainted, made once per video (`background_plate`; OpenCV's Navier-Stokes inpainting by
  default, or none at all: the warped person over the photo as it is, ghost included);
- the holes the warped parts leave inside the person (a hand moved off the hip, the crotch on a
  step, tears at bent joints) are filled from their surroundings (`holes_in_person`, `fill`:
  OpenCV by default, iLAT as an experiment); everything else the parts do not cover is the plate.
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
from .inpaint import inpaint as ilat_inpaint
from .options import PLATES
from .regions import default_thickness, pose_region
from .warp import WarpReference, WarpResult, prepare_reference, warp_to_pose

log = logging.getLogger(__name__)

PLATE_WORK_SIDE = 512  # the hole is inpainted at this longer side, then scaled back into the photo
HOLE_GROWTH = 0.06  # the person's hole is the mask grown by this share of the body's height (hair, shadow, blur)
HOLE_CLOSING = 0.04  # gaps inside the warped person narrower than about twice this share of its height are holes
HOLE_LARGEST = 0.12  # ... and smaller in area than a square of this share of its height


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
    """bool (H, W): where the person stood, grown by HOLE_GROWTH x body height (hair, soft edges,
    the shadow at the feet), what the plate must fill."""
    radius = max(1, int(round(growth * body_height)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate((mask >= 0.3).astype(np.uint8), kernel) > 0


def inpaint(image: np.ndarray, hole: np.ndarray, *, work_side: int = PLATE_WORK_SIDE) -> np.ndarray:
    """`image` with `hole` (bool (H, W)) filled by OpenCV's Navier-Stokes inpainting, done at `work_side`
    (the longer side) inside the hole's box with a margin, scaled back and blended into the hole
    over a few pixels; every pixel away from the hole is the input's. uint8 (H, W, 3)."""
    if not hole.any():
        return image.copy()
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    margin = max(8, int(0.1 * max(np.ptp(ys), np.ptp(xs))))
    y0, y1 = max(0, ys.min() - margin), min(height, ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(width, xs.max() + margin + 1)
    crop, crop_hole = image[y0:y1, x0:x1], hole[y0:y1, x0:x1]
    scale = min(1.0, work_side / max(y1 - y0, x1 - x0))
    small_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    small = cv2.resize(crop, small_size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(crop_hole.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))  # cover what the resize cut off
    filled = cv2.resize(cv2.inpaint(small, small_hole, 5, cv2.INPAINT_NS), (x1 - x0, y1 - y0),
                        interpolation=cv2.INTER_CUBIC)
    weight = cv2.GaussianBlur(crop_hole.astype(np.float32), (0, 0), max(1.0, 1.0 / scale))
    weight = np.maximum(weight, crop_hole)[..., None]
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(np.round(filled * weight + crop * (1 - weight)), 0, 255).astype(np.uint8)
    return out


def holes_in_person(warped: WarpResult, body_height: float) -> np.ndarray:
    """bool (H, W): the pixels inside the warped person's outline that no part covers (a hand
    moved off the hip, the crotch on a step, a tear at a bent knee): the person's coverage closed
    by a disc of HOLE_CLOSING x body height, minus the coverage, keeping only pieces smaller than
    a square of HOLE_LARGEST x body height (the space between a raised arm and the head is
    background, not a hole)."""
    person = warped.alpha >= 0.5
    out = np.zeros_like(person)
    rows, cols = np.flatnonzero(person.any(axis=1)), np.flatnonzero(person.any(axis=0))
    if not len(rows):
        return out
    box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # holes lie inside the person's box
    inside = person[box].astype(np.uint8)
    # The closing at a scale where its disc is about 6 pixels wide: at 1080p a 40-pixel disc was
    # half of a frame's time; the holes' outline at that scale is ample for what fills them.
    radius = max(1.0, HOLE_CLOSING * body_height)
    step = max(1, int(radius // 6))
    height, width = inside.shape
    small = cv2.resize(inside, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
    r = max(1, int(round(radius / step)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    closed = cv2.resize(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (width, height),
                        interpolation=cv2.INTER_NEAREST)
    gaps = ((closed > 0) & (inside == 0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(gaps, connectivity=8)
    small_enough = stats[:, cv2.CC_STAT_AREA] <= (HOLE_LARGEST * body_height) ** 2
    small_enough[0] = False  # label 0: not a gap
    out[box] = small_enough[labels]
    return out


def uncovered_body(warped: WarpResult, target_pose: np.ndarray) -> np.ndarray:
    """bool (H, W): the target skeleton's core (its bones at half the model region's width, the
    torso filled, no margin: inside any body in that pose) where the warp put no person."""
    height, width = warped.alpha.shape
    core = pose_region(target_pose, height, width, thickness=0.5 * default_thickness(target_pose), dilation=0.0)
    return core & (warped.alpha < 0.5)


def background_plate(image: np.ndarray, hole: np.ndarray, *, method: str = "inpaint", models=None,
                     pose: np.ndarray | None = None) -> np.ndarray:
    """The photo with `hole` (bool (H, W)) filled: OpenCV's Navier-Stokes inpainting at PLATE_WORK_SIDE,
    scaled back and blended into the hole over a few pixels ("inpaint"), iLAT under an empty pose
    ("ilat", `models` = (tokenizer, transformer); `pose`, the person's, tells it who to erase), or the
    photo unchanged ("none"). uint8 (H, W, 3)."""
    if method not in PLATES:
        raise IlatError(f"plate must be one of {', '.join(PLATES)}, got {method!r}")
    if method == "none":
        return image.copy()
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
                models=None) -> "Stage":
        """image uint8 (H, W, 3); mask (H, W) in [0, 1]; pose (13, 3) and extras (10, 3) in its pixels.
        models: (tokenizer, transformer) for plate="ilat"."""
        mask = check_mask(mask, name)
        height, width = image.shape[:2]
        size = output_size(width, height, max_side)
        image, mask, pose, extras = resize_person(image, mask, pose, extras, size)
        reference = prepare_reference(image, mask, pose, extras)
        hole = person_hole(mask, body_height(reference))
        return cls(reference=reference, plate=background_plate(image, hole, method=plate, models=models, pose=pose), hole=hole,
                   size=size, scale=(size[0] / width, size[1] / height))

    def frame(self, target_pose: np.ndarray, *, repair: str = "none", models=None) -> tuple[np.ndarray, WarpResult]:
        """The frame for one target pose (13, 3) in the photo's pixels: the warped person over the
        plate, uint8 (H, W, 3) at the output size, and the warp itself (alpha, confidence).
        repair: "holes" fills the holes inside the warped person (`holes_in_person`) from their
        surroundings (OpenCV); "ilat" generates them with iLAT (`models` = (tokenizer,
        transformer)); "none" leaves the plate showing through them."""
        pose = scale_points(target_pose, *self.scale)
        warped = warp_to_pose(self.reference, pose, out_shape=(self.size[1], self.size[0]))
        frame = warped.over(self.plate)
        if repair != "none":
            holes = holes_in_person(warped, body_height(self.reference))
            if repair == "body":
                holes |= uncovered_body(warped, pose)
            frame = fill(frame, holes, method="ilat" if repair == "ilat" else "opencv", models=models)
        return frame, warped
