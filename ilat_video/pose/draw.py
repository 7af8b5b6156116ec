"""Drawing skeletons: bones coloured by skeleton.BONE_COLORS over a frame or a blank canvas.

    overlay = draw_pose(frame, seq[10])             # new uint8 (H, W, 3) image
    for image in render_poses(seq):                 # one uint8 frame per pose, black canvas
        ...
    save_pose_image("pose.png", seq, frame=10)

Pure numpy + PIL. Joints with confidence <= min_confidence are skipped, and so is every bone that
touches one. Line width follows the body's size (its torso length), so a skeleton looks the same
at any resolution.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import IlatError
from ..fileio import atomic_output
from .sequence import PoseSequence
from .skeleton import BONE_COLORS, BONES, L_HIP, L_SHOULDER, NUM_JOINTS, R_HIP, R_SHOULDER

logger = logging.getLogger(__name__)

__all__ = ["draw_pose", "render_poses", "save_pose_image", "bone_thickness", "JOINT_COLORS"]

THICKNESS_PER_TORSO = 0.08  # bone width / torso length
MIN_THICKNESS = 2

# A joint's disc takes the colour of the first bone that touches it.
JOINT_COLORS: tuple[tuple[int, int, int], ...] = tuple(
    next(BONE_COLORS[b] for b, bone in enumerate(BONES) if j in bone) for j in range(NUM_JOINTS))


def bone_thickness(pose: np.ndarray, min_confidence: float = 0.0) -> int:
    """Bone line width in pixels for a (13, 3) pose: THICKNESS_PER_TORSO x its torso length.

    Torso length: shoulders' midpoint to hips' midpoint (the visible ones), or else 0.4 x the
    larger side of the visible joints' box; at least MIN_THICKNESS.
    """
    pose = np.asarray(pose, np.float64)
    visible = pose[:, 2] > min_confidence
    xy = pose[:, :2]
    shoulders = [j for j in (R_SHOULDER, L_SHOULDER) if visible[j]]
    hips = [j for j in (R_HIP, L_HIP) if visible[j]]
    length = 0.0
    if shoulders and hips:
        length = float(np.hypot(*(xy[shoulders].mean(axis=0) - xy[hips].mean(axis=0))))
    if length < 1e-3 and visible.sum() >= 2:
        length = 0.4 * float(np.ptp(xy[visible], axis=0).max())
    return max(MIN_THICKNESS, int(round(THICKNESS_PER_TORSO * length)))


def draw_pose(image: np.ndarray, pose: np.ndarray, *, thickness: int | None = None,
              min_confidence: float = 0.0) -> np.ndarray:
    """Draw one skeleton on a copy of `image`.

    image: uint8 (H, W, 3) RGB (left unchanged). pose: (13, 3) x, y in this image's pixels and a
    confidence. thickness: bone width in pixels (default: bone_thickness(pose)). Joints are discs
    of the bone width. Returns a new uint8 (H, W, 3) image.
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3) RGB, got {image.dtype} {image.shape}")
    pose = np.asarray(pose, np.float64)
    if pose.shape != (NUM_JOINTS, 3):
        raise ValueError(f"pose must have shape ({NUM_JOINTS}, 3), got {pose.shape}")
    out = image.copy()  # the caller's array is never drawn on
    visible = (pose[:, 2] > min_confidence) & np.isfinite(pose).all(axis=1)
    if not visible.any():
        return out
    width = max(1, int(thickness) if thickness is not None else bone_thickness(pose, min_confidence))
    radius = width / 2
    # Draw only inside the box around the visible joints (plus the line width), where every stroke
    # lies: 3-10x faster on a 1080x1920 frame (benchmarks/results/pose_io.md). PIL's rasterizer is
    # not exactly shift-invariant, so rarely a stroke edge pixel differs from full-image drawing.
    margin = int(np.ceil(radius)) + 2
    xy = pose[visible, :2]
    x0 = int(np.clip(np.floor(xy[:, 0].min()) - margin, 0, out.shape[1]))
    y0 = int(np.clip(np.floor(xy[:, 1].min()) - margin, 0, out.shape[0]))
    x1 = int(np.clip(np.ceil(xy[:, 0].max()) + margin + 1, 0, out.shape[1]))
    y1 = int(np.clip(np.ceil(xy[:, 1].max()) + margin + 1, 0, out.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return out  # the whole skeleton lies outside the image
    crop = Image.fromarray(np.ascontiguousarray(out[y0:y1, x0:x1]))
    _paint(crop, pose[:, :2] - (x0, y0), visible, width)
    out[y0:y1, x0:x1] = np.asarray(crop)
    return out


def _paint(canvas, points: np.ndarray, visible: np.ndarray, width: int) -> None:
    """Draw bones and joint discs on a PIL image, in place. points: (13, 2) in its pixels."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    radius = width / 2

    def disc(j, color):
        x, y = points[j]
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=color)

    for (a, b), color in zip(BONES, BONE_COLORS):
        if visible[a] and visible[b]:
            draw.line([tuple(points[a]), tuple(points[b])], fill=color, width=width)
            disc(a, color)  # round caps, so thick bones meet without notches
            disc(b, color)
    for j in np.flatnonzero(visible):
        disc(j, JOINT_COLORS[j])


def render_poses(seq: PoseSequence, background: Iterable[np.ndarray] | np.ndarray | None = None, *,
                 thickness: int | None = None, min_confidence: float = 0.0,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Yield one uint8 (H, W, 3) frame per pose of `seq`, skeleton drawn.

    background: None (a black canvas of the sequence's size), one uint8 (H, W, 3) image used for
    every frame, or an iterable of frames (e.g. the driving video). Frames of another size than
    the sequence get the poses rescaled to them. If the frames run out first, rendering stops there
    (with a warning). thickness: fixed bone width (default: from each pose's body size).
    progress(done, total) is called after each frame.
    """
    total = len(seq)
    if background is None:
        blank = np.zeros((seq.height, seq.width, 3), np.uint8)
        frames: Iterable[np.ndarray] = (blank for _ in range(total))
    elif isinstance(background, np.ndarray) and background.ndim == 3:
        frames = (background for _ in range(total))
    else:
        frames = background
    frames = iter(frames)
    scaled: dict[tuple[int, int], PoseSequence] = {(seq.width, seq.height): seq}
    for t in range(total):
        try:
            frame = next(frames)
        except StopIteration:
            logger.warning("%s: the background ran out after %d of %d frames; stopping there", seq.source, t, total)
            return
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise IlatError(f"background frame {t}: expected uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
        key = (frame.shape[1], frame.shape[0])
        if key not in scaled:
            logger.info("%s: poses are %dx%d, background frames %dx%d: rescaling the poses",
                        seq.source, seq.width, seq.height, *key)
            scaled[key] = seq.rescaled(*key)
        yield draw_pose(frame, scaled[key].keypoints[t], thickness=thickness, min_confidence=min_confidence)
        if progress is not None:
            progress(t + 1, total)


def save_pose_image(path: str | os.PathLike, pose: PoseSequence | np.ndarray, *, frame: int = 0,
                    size: tuple[int, int] | None = None, background: np.ndarray | None = None,
                    thickness: int | None = None, min_confidence: float = 0.0) -> Path:
    """Draw one pose and write it as PNG (atomically). Returns the path.

    pose: a PoseSequence (frame `frame` is drawn, on a canvas of its size) or a (13, 3) array
    (give `size` = (width, height) or a `background`). background: uint8 (H, W, 3) image to draw
    on (default black); the pose is rescaled to it when its size differs from the sequence's.
    """
    from PIL import Image

    if isinstance(pose, PoseSequence):
        if not -len(pose) <= frame < len(pose):
            raise IlatError(f"{pose.source}: frame {frame} does not exist (the sequence has {len(pose)} frames)")
        if background is not None and (background.shape[1], background.shape[0]) != (pose.width, pose.height):
            pose = pose.rescaled(background.shape[1], background.shape[0])
        joints, canvas_size = pose.keypoints[frame], (pose.width, pose.height)
    else:
        joints = np.asarray(pose, np.float32)
        if background is not None:
            canvas_size = (background.shape[1], background.shape[0])
        elif size is not None:
            canvas_size = (int(size[0]), int(size[1]))
        else:
            raise ValueError("a (13, 3) pose needs size=(width, height) or a background image")
    if background is None:
        background = np.zeros((canvas_size[1], canvas_size[0], 3), np.uint8)
    image = draw_pose(background, joints, thickness=thickness, min_confidence=min_confidence)
    path = Path(path)
    with atomic_output(path, suffix=".png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return path
