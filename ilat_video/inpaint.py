"""Inpainting with iLAT: fill a free-form hole (where a person stood) from the rest of the picture.

    filled = inpaint(image, hole, tokenizer, transformer, seed=0)   # uint8 (H, W, 3)

iLAT's local AR is an inpainting model: Eq. 4 keeps the picture's own clean features outside the
region and the transformer generates only the region's tokens. Here the region is the hole, the
condition is the picture itself (the person included, as in training: "erase them where they
stood") and the target pose is EMPTY: all 13 joints with confidence 0. The PointMLP then gives
its learned "missing" embedding for every joint (`nn/pointmlp.py`) and a pose map adds nothing
(`nn/posemap.py`: a joint or bone that is not visible has feature 0), so "draw nobody" is a pose
the model can read. The person's own pose, when known, may be given (`pose`): pose-map models
draw it onto the condition tokens, which tells them where the person to erase is.

Steps:
1. The crop: a square around the hole's bounding box with `context` x its longer side of
   picture on each side (`hole_box`), moved inside the picture where it fits; where it cannot
   (a hole at the border of a small or narrow picture) the picture is mirrored outwards, hole
   included, so the model never sees a grey band as context (`crop_square`). Resized to the
   model's size S (64 for the demo model) with an antialiased box filter.
2. The region: every model pixel any hole pixel touches; the tokens: max-pooled.
3. `conditioning.model_inputs` (condition = the crop encoded alone; known tokens and clean
   features z = encoded with the region) and `sampling.sample_and_decode` (local AR with the LA
   mask under the empty pose, Eq. 4).
4. Back into the picture: the model's SxS frame scaled to the crop's size, blended into the hole
   only, with weights that ramp from 0 at the hole's edge to 1 `feather` pixels inside it.
   Outside the hole every pixel is the input's, bit for bit.

`InpaintCrop` exposes the crop and its inverse so that training data (`data/inpaint_pairs.py`)
cuts its samples exactly as inference does.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import torch

from .conditioning import model_inputs
from .crop import (
    CropBox,
    box_padding,
    crop_frame,
    image_to_tensor,
    square_crop_box,
    tensor_to_image,
)
from .errors import IlatError
from .pose.skeleton import NUM_JOINTS
from .sampling import sample_and_decode

MAX_HOLE_SHARE = 0.9  # refuse holes larger than this share of the picture: too little to fill from
CONTEXT = 0.25  # picture kept around the hole's box on each side, as a share of its longer side
DECODES = ("tokens", "expected")
CONDITIONS = ("image", "plate")


def empty_pose(batch: int | None = None) -> np.ndarray:
    """float32 (13, 3) (or (B, 13, 3)) zeros: no joint visible, the pose of "nobody here"."""
    shape = (NUM_JOINTS, 3) if batch is None else (batch, NUM_JOINTS, 3)
    return np.zeros(shape, dtype=np.float32)


def hole_box(hole: np.ndarray, *, context: float = CONTEXT) -> CropBox:
    """The square crop around a non-empty bool (H, W) hole: its bounding box's longer side x
    (1 + 2 context), centred on the box, moved inside the picture along each axis where it fits."""
    ys, xs = np.nonzero(hole)
    height, width = hole.shape
    # Pixel-edge box (x0, y0, x1, y1): square_crop_box takes joint-like inclusive coordinates and
    # adds 1 to the far edge for the centre, so pass the last pixel's index.
    box = (float(xs.min()), float(ys.min()), float(xs.max()) + 1.0, float(ys.max()) + 1.0)
    return square_crop_box(box, width, height, margin=context)


def crop_square(image: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """uint8 (H, W, C) -> uint8 (size, size, C): `box` cut out and resized like `crop.crop_frame`,
    the picture mirrored (OpenCV's BORDER_REFLECT_101) where the box reaches past it."""
    image = np.asarray(image)
    squeeze = image.ndim == 2
    if squeeze:
        image = image[..., None]
    height, width = image.shape[:2]
    left, top, right, bottom = box_padding(box, width, height)
    if left or top or right or bottom:
        # A reflection cannot reach further than the picture is wide: repeat it when the box does.
        while left or top or right or bottom:
            l, t = min(left, width - 1), min(top, height - 1)
            r, b = min(right, width - 1), min(bottom, height - 1)
            image = cv2.copyMakeBorder(image, t, b, l, r, cv2.BORDER_REFLECT_101)
            if image.ndim == 2:
                image = image[..., None]
            box = CropBox(box.x0 + l, box.y0 + t, box.side)
            height, width = image.shape[:2]
            left, top, right, bottom = box_padding(box, width, height)
    channels = image.shape[2]
    if channels == 3:
        out = crop_frame(image, box, size)
    else:
        out = np.stack([crop_frame(np.repeat(image[..., c:c + 1], 3, axis=2), box, size)[..., 0]
                        for c in range(channels)], axis=-1)
    return out[..., 0] if squeeze else out


@dataclasses.dataclass(frozen=True)
class InpaintCrop:
    """Where the model works for one hole: the square `box` in picture pixels and the model size S."""

    box: CropBox
    size: int

    @classmethod
    def around(cls, hole: np.ndarray, size: int, *, context: float = CONTEXT) -> InpaintCrop:
        return cls(hole_box(hole, context=context), int(size))

    def image(self, image: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) picture -> uint8 (S, S, 3) crop."""
        return crop_square(image, self.box, self.size)

    def region(self, hole: np.ndarray) -> np.ndarray:
        """bool (H, W) hole -> bool (S, S): every model pixel that any hole pixel touches."""
        coverage = crop_square(hole.astype(np.uint8) * 255, self.box, self.size)
        return coverage > 0

    def pose(self, pose: np.ndarray) -> np.ndarray:
        """(13, 3) x, y in picture pixels + confidence -> in crop pixels."""
        out = np.array(pose, dtype=np.float32, copy=True)
        scale = self.size / self.box.side
        out[..., 0] = (out[..., 0] + 0.5 - self.box.x0) * scale - 0.5
        out[..., 1] = (out[..., 1] + 0.5 - self.box.y0) * scale - 0.5
        return out

    def paste_size(self, crop: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """uint8 (S, S, 3) crop -> float32 (H, W, 3): the crop scaled back onto the picture's pixels
        (bicubic; outside the box: the crop's nearest edge, never used where it matters)."""
        height, width = shape
        scale = self.size / self.box.side
        # Picture pixel x samples crop position (x + 0.5 - x0) * scale - 0.5.
        matrix = np.array([[scale, 0.0, (0.5 - self.box.x0) * scale - 0.5],
                           [0.0, scale, (0.5 - self.box.y0) * scale - 0.5]], dtype=np.float64)
        return cv2.warpAffine(crop.astype(np.float32), matrix, (width, height),
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def hole_weight(hole: np.ndarray, feather: float) -> np.ndarray:
    """float32 (H, W) in [0, 1]: 0 outside the hole; inside, distance to the nearest pixel outside
    / (feather + 1), capped at 1 (feather 0: exactly the hole)."""
    hole = hole.astype(bool)
    if feather <= 0:
        return hole.astype(np.float32)
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)  # >= 1 inside, 0 outside
    return np.clip(distance / (float(feather) + 1.0), 0.0, 1.0).astype(np.float32)


def _check(image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise IlatError(f"inpaint needs a uint8 (H, W, 3) RGB image, got {image.dtype} {image.shape}")
    hole = np.asarray(hole)
    if hole.shape != image.shape[:2]:
        raise IlatError(f"the hole {hole.shape} does not match the image {image.shape[:2]}")
    hole = hole.astype(bool)
    share = float(hole.mean())
    if share > MAX_HOLE_SHARE:
        raise IlatError(f"the hole covers {100 * share:.0f}% of the image (at most {100 * MAX_HOLE_SHARE:.0f}%): "
                        "too little of the picture is left to fill it from")
    return image, hole


@torch.inference_mode()
def inpaint(image: np.ndarray, hole: np.ndarray, tokenizer, transformer, *, seed: int = 0,
            pose: np.ndarray | None = None, context: float = CONTEXT, feather: float | None = None,
            decode: str = "tokens", greedy: bool = True, top_k: int | None = None,
            temperature: float = 1.0, condition: str = "image",
            device: str | torch.device | None = None) -> np.ndarray:
    """`image` (uint8 (H, W, 3)) with `hole` (bool (H, W), True = fill) filled by the model.

    tokenizer, transformer: a TS-VQGAN and an LA transformer that fit (`nn.loading.load_models`).
    seed: the sampler's generator when greedy=False (top_k / temperature); greedy is the paper's
    top-1 and deterministic. pose: the person's pose (13, 3) in the image's pixels, if known (read
    by models with pose maps or reference-pose tokens; None: empty). context: picture kept around
    the hole's box on each side, as a share of its longer side. feather: the blend's ramp inside
    the hole, in picture pixels (None: one model pixel, box side / S). decode: "tokens" (the
    paper: the picked tokens' codes) or "expected" (the mean code under the model's distribution:
    softer, closer in squared error; not in the paper). condition: what the condition tokens
    show: "image", the crop as it is (the person included, as the model was trained), or "plate",
    the crop with the hole pre-filled by OpenCV's Telea (the person gone; not in the paper). The
    known tokens and clean features outside the hole are the same either way (two-stream).

    Returns a new uint8 (H, W, 3): equal to `image` outside the hole. An empty hole gives a copy;
    a hole over more than MAX_HOLE_SHARE of the picture raises IlatError.
    """
    image, hole = _check(image, hole)
    if decode not in DECODES:
        raise IlatError(f"decode must be one of {', '.join(DECODES)}, got {decode!r}")
    if condition not in CONDITIONS:
        raise IlatError(f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")
    if not hole.any():
        return image.copy()
    size = int(tokenizer.config.resolution)
    crop = InpaintCrop.around(hole, size, context=context)
    region = crop.region(hole)
    person = empty_pose() if pose is None else crop.pose(np.asarray(pose, dtype=np.float32).reshape(NUM_JOINTS, 3))
    if device is None:
        device = next(transformer.parameters()).device
    pixels = crop.image(image)
    reference = image_to_tensor(pixels)[None].to(device)
    cond = None
    if condition == "plate":
        prefilled = cv2.inpaint(pixels, region.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        _, cond, _ = tokenizer.encode(image_to_tensor(prefilled)[None].to(device))
    inputs = model_inputs(tokenizer, reference, torch.from_numpy(region)[None].to(device),
                          torch.from_numpy(empty_pose(1)).to(device), torch.from_numpy(person[None]).to(device),
                          needs_reference_pose=transformer.config.needs_reference_pose, condition=cond)
    generator = torch.Generator(device=device).manual_seed(int(seed)) if not greedy else None
    _, frames = sample_and_decode(tokenizer, transformer, inputs, expected=decode == "expected", greedy=greedy,
                                  top_k=top_k, temperature=temperature, generator=generator)
    filled = crop.paste_size(tensor_to_image(frames[0]), hole.shape)
    weight = hole_weight(hole, crop.box.side / size if feather is None else feather)[..., None]
    out = np.rint(filled * weight + image.astype(np.float32) * (1.0 - weight))
    out = np.clip(out, 0, 255).astype(np.uint8)
    out[~hole] = image[~hole]  # bit for bit, whatever the float arithmetic did
    return out
