"""Crop and refine: run the landmarker again on a square crop around a person, scaled to its input.

MediaPipe's landmarks are nearly perfect once the person fills the picture it is given (PCK@0.2
0.993 on crops around labelled COCO people against 0.960 as found, benchmarks/results/extract.md)
and its detector misses people that are small in a wide frame. So:

    box = CropBox.around(landmarks, frame_width, frame_height)   # square, CROP_MARGIN around them
    crop = box.cut(frame)                                        # (REFINE_SIZE, REFINE_SIZE, 3)
    refined = box.to_frame(landmarker.detect(crop)[0])           # back in the frame's pixels

and `search_tiles` finds people the full frame misses by looking at overlapping square tiles.

Coordinates are continuous pixels (0 = the left edge of the first pixel, as MediaPipe's normalized
coordinates times the width), so a crop is a pure scale and shift: to_frame inverts to_crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The crop side given to the landmarker: its landmark model's input (BlazePose GHUM: 256x256).
REFINE_SIZE = 256
# Space around the landmarks' box on each side, as a fraction of its larger side: the box of
# MediaPipe's 33 points stops at the eyes and the heels, and its detector wants some context.
CROP_MARGIN = 0.25
MIN_CROP_SIDE = 24  # pixels of the frame; a smaller crop is mostly blur once scaled up
# Tile search: square tiles of these fractions of the frame's shorter side, half overlapping.
TILE_FRACTIONS = (1.0, 0.6)


@dataclass(frozen=True)
class CropBox:
    """A square window of a frame: x0, y0 (its top-left corner, may lie outside the frame), side
    (in frame pixels) and size (the side of the crop image it is scaled to)."""

    x0: int
    y0: int
    side: int
    size: int = REFINE_SIZE

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return self.size / self.side

    @classmethod
    def around(cls, points: np.ndarray, margin: float = CROP_MARGIN, size: int = REFINE_SIZE,
               min_side: int = MIN_CROP_SIDE) -> CropBox:
        """The square centred on the box of `points` (..., >=2 x, y), `margin` x its larger side
        added on every side."""
        xy = np.asarray(points, np.float64).reshape(-1, np.shape(points)[-1])[:, :2]
        low, high = xy.min(axis=0), xy.max(axis=0)
        side = max(float((high - low).max()) * (1 + 2 * margin), float(min_side))
        side = int(math.ceil(side))
        cx, cy = (low + high) / 2
        return cls(int(round(cx - side / 2)), int(round(cy - side / 2)), side, size)

    @classmethod
    def whole(cls, width: int, height: int, size: int = REFINE_SIZE) -> CropBox:
        """The square around a whole frame (its shorter side padded), as MediaPipe letterboxes it."""
        side = max(width, height)
        return cls((width - side) // 2, (height - side) // 2, side, size)

    def toward(self, target: CropBox, step: float = 0.1) -> CropBox:
        """A box moved from this one toward `target` by at most `step` x this side in each of
        centre x, centre y and side: the landmarker in VIDEO mode tracks the person from the last
        crop's coordinates, so the crop must not jump."""
        limit = step * self.side
        side = self.side + float(np.clip(target.side - self.side, -limit, limit))
        centre = np.array([self.x0, self.y0], float) + self.side / 2
        goal = np.array([target.x0, target.y0], float) + target.side / 2
        centre = centre + np.clip(goal - centre, -limit, limit)
        side = int(round(side))
        return CropBox(int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2)), side, self.size)

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        """Frame pixels (..., 2+) -> crop pixels; extra columns (confidence) are kept."""
        out = np.array(xy, dtype=np.float32, copy=True)
        out[..., 0] = (out[..., 0] - self.x0) * self.scale
        out[..., 1] = (out[..., 1] - self.y0) * self.scale
        return out

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2+) -> frame pixels; the inverse of to_crop."""
        out = np.array(xy, dtype=np.float32, copy=True)
        out[..., 0] = out[..., 0] / self.scale + self.x0
        out[..., 1] = out[..., 1] / self.scale + self.y0
        return out

    def cut(self, frame: np.ndarray) -> np.ndarray:
        """The crop as uint8 (size, size, 3), black where the box leaves the frame.

        One bilinear warp that computes only the crop's pixels (under a millisecond for a 1080p
        frame; shrinking the region with area averaging first cost 5 ms and changed the crop by
        0.3 grey levels on average), as MediaPipe itself scales a whole frame to its input.
        """
        import cv2

        matrix = np.array([[self.scale, 0, -self.x0 * self.scale], [0, self.scale, -self.y0 * self.scale]])
        # warpAffine maps pixel centres (index + 0.5 in continuous coordinates)
        matrix[:, 2] += 0.5 * (self.scale - 1)
        return cv2.warpAffine(np.ascontiguousarray(frame), matrix, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))

    def mask_to_frame(self, mask: np.ndarray, width: int, height: int) -> np.ndarray:
        """A float mask of the crop (size, size) placed back into a (height, width) frame (0 outside)."""
        import cv2

        matrix = np.array([[1 / self.scale, 0, self.x0], [0, 1 / self.scale, self.y0]], np.float64)
        # warpAffine's matrix maps destination-pixel centres; shift so continuous coordinates match
        matrix[:, 2] += 0.5 * (matrix[0, 0] - 1)
        return cv2.warpAffine(np.asarray(mask, np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def refine(landmarker, frame: np.ndarray, landmarks: np.ndarray, *, with_masks: bool = False):
    """Landmarks (33, 3) of the person near `landmarks`, found again in a crop around them.

    landmarker: an IMAGE-mode Landmarker (any num_poses; the candidate closest to `landmarks` is
    taken). Returns (landmarks in frame pixels, mask in frame pixels or None) or None when the crop
    shows nobody.
    """
    h, w = frame.shape[:2]
    box = CropBox.around(landmarks)
    # scaled up to the landmarker's input when smaller, never down: a photo's mask keeps its detail
    box = CropBox(box.x0, box.y0, box.side, max(REFINE_SIZE, box.side))
    found = landmarker.detect_with_masks(box.cut(frame))
    if not found:
        return None
    target = box.to_crop(landmarks)[:, :2]
    best, mask = min(found, key=lambda item: float(np.linalg.norm(item[0][:, :2] - target, axis=1).mean()))
    refined = box.to_frame(best)
    if with_masks and mask is not None:
        mask = box.mask_to_frame(mask, w, h)
    return refined, mask


def tiles(width: int, height: int, fractions=TILE_FRACTIONS) -> list[CropBox]:
    """Overlapping square tiles covering a frame: for each fraction f, squares of f x the shorter
    side, half overlapping, the last of each row and column flush with the frame's edge."""
    out = []
    for fraction in fractions:
        side = max(MIN_CROP_SIDE, int(round(min(width, height) * fraction)))
        step = max(1, side // 2)
        xs = _starts(width, side, step)
        ys = _starts(height, side, step)
        out.extend(CropBox(x, y, side) for y in ys for x in xs)
    return out


def _starts(length: int, side: int, step: int) -> list[int]:
    if side >= length:
        return [int(round((length - side) / 2))]
    starts = list(range(0, length - side, step))
    return starts + [length - side]


def search_tiles(landmarker, frame: np.ndarray, *, with_masks: bool = False) -> list:
    """People the landmarker finds in overlapping tiles of the frame, each once: a list of
    (landmarks (33, 3) in frame pixels, mask or None, the CropBox they were found in), for people
    the whole frame misses (small in a wide frame, or beside a more prominent person). Tiles from
    the largest down; the search stops at the first tile size that finds someone. A person cut by
    a tile's inner edge is left to the tile that holds them whole."""
    h, w = frame.shape[:2]
    for fraction in TILE_FRACTIONS:
        people: list = []
        for box in tiles(w, h, (fraction,)):
            for landmarks, mask in landmarker.detect_with_masks(box.cut(frame)):
                landmarks = box.to_frame(landmarks)
                if (_cut_by_tile(landmarks, box, w, h) or not _has_torso(landmarks, w, h)
                        or _torso_length(landmarks) < MIN_TILE_TORSO * box.side):
                    continue
                if with_masks and mask is not None:
                    mask = box.mask_to_frame(mask, w, h)
                people.append((landmarks, mask, box))
        if people:
            return distinct(people)
    return []


def find_people(landmarker, frame: np.ndarray, *, everyone: bool, with_masks: bool = False) -> list:
    """[(landmarks (33, 3), mask or None, CropBox found in)] of the people in a frame: the whole
    frame first; overlapping tiles too when it shows nobody, or always with `everyone` (when one of
    several is to be chosen: MediaPipe's detector often returns only the most prominent person)."""
    h, w = frame.shape[:2]
    whole = CropBox.whole(w, h)
    found = [(landmarks, mask, whole) for landmarks, mask in landmarker.detect_with_masks(frame)]
    if everyone or not found:
        found = distinct(found + search_tiles(landmarker, frame, with_masks=with_masks))
    return found


SHOULDER_LANDMARKS, HIP_LANDMARKS = [11, 12], [23, 24]  # MediaPipe's
TORSO_LANDMARKS = SHOULDER_LANDMARKS + HIP_LANDMARKS
MIN_TORSO_VISIBILITY = 0.5
MIN_TILE_TORSO = 0.1  # a tile's find whose torso is shorter than this share of the tile is a false one


def _torso_length(landmarks: np.ndarray) -> float:
    """Pixels from the shoulders' midpoint to the hips'."""
    shoulders, hips = landmarks[SHOULDER_LANDMARKS, :2].mean(axis=0), landmarks[HIP_LANDMARKS, :2].mean(axis=0)
    return float(np.hypot(*(shoulders - hips)))


def _has_torso(landmarks: np.ndarray, width: int | None = None, height: int | None = None) -> bool:
    """Whether a find shows a torso: shoulders and hips visible on average and, given the frame's
    size, inside it. A tile that sees only a shoe or a head finds "people" whose body is a guess,
    often running out of the picture."""
    torso = landmarks[TORSO_LANDMARKS]
    if float(np.mean(torso[:, 2])) < MIN_TORSO_VISIBILITY:
        return False
    if width is not None and height is not None:
        inside = (torso[:, 0] >= 0) & (torso[:, 0] < width) & (torso[:, 1] >= 0) & (torso[:, 1] < height)
        return bool(inside.all())
    return True


def _cut_by_tile(landmarks: np.ndarray, box: CropBox, width: int, height: int) -> bool:
    """Whether the person's landmarks reach an edge of the tile that is not the frame's edge."""
    near = 0.02 * box.side
    low, high = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    x1, y1 = box.x0 + box.side, box.y0 + box.side
    return bool((box.x0 > 0 and low[0] < box.x0 + near) or (box.y0 > 0 and low[1] < box.y0 + near)
                or (x1 < width and high[0] > x1 - near) or (y1 < height and high[1] > y1 - near))


def distinct(people: list) -> list:
    """Each person once, largest first: of two whose landmark boxes overlap by more than a third
    (intersection over union), or one of which lies more than half inside the other (a tile that
    saw part of a person finds a smaller "person" within them), the larger is kept; beside the
    largest, finds without a visible torso (a shoe or a head seen as a person) are dropped. Items
    are tuples whose first element is (33, 3)."""
    kept: list = []
    for item in sorted(people, key=lambda item: -_extent(item[0])):
        if kept and not _has_torso(item[0]):  # beside someone, a find with no torso is a false one
            continue
        if all(not _same_person(item[0], other[0]) for other in kept):
            kept.append(item)
    return kept


def _same_person(a: np.ndarray, b: np.ndarray) -> bool:
    low = np.maximum(a[:, :2].min(axis=0), b[:, :2].min(axis=0))
    high = np.minimum(a[:, :2].max(axis=0), b[:, :2].max(axis=0))
    inter = float(np.prod(np.clip(high - low, 0, None)))
    area = lambda p: float(np.prod(p[:, :2].max(axis=0) - p[:, :2].min(axis=0)))  # noqa: E731
    union = max(area(a) + area(b) - inter, 1e-6)
    return inter / union > 1 / 3 or inter / max(min(area(a), area(b)), 1e-6) > 0.5


def _extent(landmarks: np.ndarray) -> float:
    xy = landmarks[:, :2]
    return float(np.hypot(*(xy.max(axis=0) - xy.min(axis=0)))) + 1e-6
