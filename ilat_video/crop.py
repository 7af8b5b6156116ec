"""Square crops around a person, and images <-> tensors: what inference and training both cut.

The crop is one square per video, around the person over the whole clip (so the camera does not
move between frames), resized to the model's size S. Coordinates are pixel-index coordinates:
x = k is the centre of pixel column k, in the source frame and in the crop alike.

Images at the API are uint8 (H, W, 3) RGB; the networks take float (3, S, S) in [-1, 1].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

PAD_VALUE = (128, 128, 128)  # where a crop reaches past the frame: mid-grey, 0 in [-1, 1]


@dataclass(frozen=True)
class CropBox:
    """A square in source-frame pixels: columns x0 .. x0 + side, rows y0 .. y0 + side (pixel edges).

    May reach past the frame; `crop_frame` pads with PAD_VALUE there.
    """

    x0: float
    y0: float
    side: float

    def scale(self, size: int) -> float:
        """Output pixels per source pixel when this box is resized to size x size."""
        return size / self.side


def person_box(poses: np.ndarray, bboxes: np.ndarray | None = None) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) around the person over a whole clip, or None if no joint is visible.

    poses: (T, 13, 3); bboxes: optional (T, 4) per-frame person boxes x0, y0, x1, y1 (Penn's
    `bbox`), used together with the visible joints (a box covers hair, hands and feet that the
    joints miss; the joints guard against a box that is wrong).
    """
    poses = np.asarray(poses, dtype=np.float64)
    visible = poses[..., 2] > 0
    xs, ys = [], []
    if visible.any():
        xs.append(poses[..., 0][visible])
        ys.append(poses[..., 1][visible])
    if bboxes is not None:
        boxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
        ok = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        if ok.any():
            xs.append(boxes[ok][:, [0, 2]].ravel())
            ys.append(boxes[ok][:, [1, 3]].ravel())
    if not xs:
        return None
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def square_crop_box(box: tuple[float, float, float, float], width: int, height: int, *,
                    margin: float = 0.12, rng: np.random.Generator | None = None,
                    scale_jitter: float = 0.0, shift_jitter: float = 0.0) -> CropBox:
    """The square crop around a person box (x0, y0, x1, y1) in a width x height frame.

    side = longest box side x (1 + 2 margin). With `rng`, the side is multiplied by
    exp(U(-scale_jitter, scale_jitter)) and the centre moved by U(-shift_jitter, shift_jitter) x side
    on each axis (augmentation). Along an axis where the square fits in the frame it is moved
    inside the frame (less padding); this never cuts the person box when there is no jitter.
    """
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1 + 1) / 2.0, (y0 + y1 + 1) / 2.0  # pixel-edge coordinates of the box centre
    if rng is not None:
        side *= math.exp(rng.uniform(-scale_jitter, scale_jitter)) if scale_jitter > 0 else 1.0
        if shift_jitter > 0:
            cx += rng.uniform(-shift_jitter, shift_jitter) * side
            cy += rng.uniform(-shift_jitter, shift_jitter) * side
    left, top = cx - side / 2.0, cy - side / 2.0
    if side <= width:
        left = min(max(left, 0.0), width - side)
    if side <= height:
        top = min(max(top, 0.0), height - side)
    return CropBox(float(left), float(top), float(side))


def box_padding(box: CropBox, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom): whole pixels `box` reaches past a width x height frame."""
    return (max(0, int(math.ceil(-box.x0))), max(0, int(math.ceil(-box.y0))),
            max(0, int(math.ceil(box.x0 + box.side - width))), max(0, int(math.ceil(box.y0 + box.side - height))))


def crop_frame(frame: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Cut `box` out of a uint8 (H, W, 3) frame and resize it to uint8 (size, size, 3).

    Antialiased (Pillow's resize with a box filter support), sub-pixel exact: output pixel i
    samples source position x0 + (i + 0.5) side / size in pixel-edge coordinates. Outside the
    frame is PAD_VALUE.
    """
    frame = np.asarray(frame)
    height, width = frame.shape[:2]
    # Pad so the box lies inside the (padded) image: Pillow's resize box must not leave it.
    pad_left, pad_top, pad_right, pad_bottom = box_padding(box, width, height)
    image = Image.fromarray(frame)
    if pad_left or pad_top or pad_right or pad_bottom:
        padded = Image.new("RGB", (width + pad_left + pad_right, height + pad_top + pad_bottom), PAD_VALUE)
        padded.paste(image, (pad_left, pad_top))
        image = padded
    x0, y0 = box.x0 + pad_left, box.y0 + pad_top
    out = image.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + box.side, y0 + box.side))
    return np.asarray(out)


def crop_pose(pose: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Map poses (..., 13, 3) from source pixels into the size x size crop (confidence unchanged).

    Pixel-index convention on both sides: x' = (x + 0.5 - x0) * size / side - 0.5.
    """
    out = np.array(pose, dtype=np.float32, copy=True)
    scale = size / box.side
    out[..., 0] = (out[..., 0] + 0.5 - box.x0) * scale - 0.5
    out[..., 1] = (out[..., 1] + 0.5 - box.y0) * scale - 0.5
    return out


def image_to_tensor(image: np.ndarray):
    """uint8 (S, S, 3) RGB -> float32 torch tensor (3, S, S) in [-1, 1]."""
    # In numpy: torch's element-wise ops on small tensors pay thread start-up costs that
    # dominate at this size when the cores are busy (measured 6 ms vs 0.1 ms at 128x128).
    array = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32)
    array *= 1.0 / 127.5
    array -= 1.0
    return torch.from_numpy(np.ascontiguousarray(array))


def tensor_to_image(tensor) -> np.ndarray:
    """float tensor (3, S, S) in [-1, 1] -> uint8 (S, S, 3) RGB (rounded, clipped)."""
    array = tensor.detach().cpu().float().numpy().transpose(1, 2, 0)
    return np.clip(np.rint((array + 1.0) * 127.5), 0, 255).astype(np.uint8)
