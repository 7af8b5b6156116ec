"""Repair of a warped frame with iLAT, tile by tile at a fixed scale of the body.

    frame = repair(frame, region, pose, tokenizer, transformer, body_height=h)   # uint8 (H, W, 3)

The photo path warps the reference's pixels to each pose (`warp/`, `compose.Stage`); what the warp
cannot show well (`compose.repair_region`: holes inside the warped person, the target body it left
uncovered, seams and strongly rotated parts it trusts little) is regenerated here. One crop around
the whole region would shrink a full-resolution person into the model's S x S pixels (64 for the
demo model) and blur everything it repairs; instead the region is cut into square *tiles* whose
core side is TILE_SHARE x the body's height, each cropped with TILE_CONTEXT of its side around it
(the picture mirrored past the frame, `inpaint.crop_square`) and resized to S. Every tile is one
sample of a batch: the condition is the warped frame itself, the region the tile core's share of
the repair region, both poses the target pose in the tile's pixels (the warped frame already shows
it); local AR with the LA mask and Eq. 4 (`sampling.sample_and_decode`). Each tile's pixels are
pasted back into its core only, blended into the region with a ramp of one model pixel; outside
the region every pixel is the input's, bit for bit.

Training samples are cut by `tile_crop` too (`data/repair_pairs.py`), so the model sees at training
what it sees here.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from .conditioning import model_inputs
from .crop import CropBox, image_to_tensor, tensor_to_image
from .errors import IlatError
from .inpaint import InpaintCrop, hole_weight
from .pose.skeleton import NUM_JOINTS
from .sampling import sample_and_decode

TILE_SHARE = 0.5  # a tile's core side as a share of the body's height
TILE_CONTEXT = 0.25  # picture kept around a tile's core on each side, as a share of the core's side
MIN_TILE = 8  # pixels: the smallest core side


def tile_side(body_height: float, share: float = TILE_SHARE) -> int:
    """A tile core's side in pixels for a body `body_height` pixels tall."""
    return max(MIN_TILE, int(round(share * body_height)))


def tile_crop(x0: float, y0: float, side: float, size: int, context: float = TILE_CONTEXT) -> InpaintCrop:
    """The model's crop for the core square (x0, y0, side) (pixel edges): the core with `context` x
    side around it on each side, resized to size x size."""
    margin = context * side
    return InpaintCrop(CropBox(float(x0) - margin, float(y0) - margin, float(side) + 2 * margin), int(size))


def tile_region(crop: InpaintCrop, region: np.ndarray, x0: float, y0: float, side: float) -> np.ndarray:
    """bool (S, S): the model pixels of `crop` that the repair region (bool (H, W)) inside the core
    square (x0, y0, side) touches; never in the context band (the crop mirrors the picture past
    its edges, the region's mirror image is not to be generated)."""
    height, width = region.shape
    core = np.zeros_like(region)
    core[max(0, int(np.floor(y0))):max(0, min(height, int(np.ceil(y0 + side)))),
         max(0, int(np.floor(x0))):max(0, min(width, int(np.ceil(x0 + side))))] = True
    out = crop.region(region & core)
    scale = crop.size / crop.box.side
    lo_x, hi_x = (x0 - crop.box.x0) * scale, (x0 + side - crop.box.x0) * scale
    lo_y, hi_y = (y0 - crop.box.y0) * scale, (y0 + side - crop.box.y0) * scale
    inside = np.zeros_like(out)
    inside[max(0, int(np.floor(lo_y))):int(np.ceil(hi_y)), max(0, int(np.floor(lo_x))):int(np.ceil(hi_x))] = True
    return out & inside


def tile_cores(region: np.ndarray, side: int) -> list[tuple[int, int]]:
    """(x0, y0) of the side x side cores, on a grid anchored at the region's box, that hold any of
    the region (bool (H, W)). Cores do not overlap and together cover the whole region."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if not len(rows):
        return []
    cores = []
    for y0 in range(int(rows[0]), int(rows[-1]) + 1, side):
        for x0 in range(int(cols[0]), int(cols[-1]) + 1, side):
            if region[y0:y0 + side, x0:x0 + side].any():
                cores.append((x0, y0))
    return cores


def paste_core(crop: InpaintCrop, pixels: np.ndarray, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """The model's uint8 (S, S, 3) frame for `crop`, resampled onto the picture's pixels of the
    rectangle (x0, y0, width, height): float32 (height, width, 3), bicubic."""
    scale = crop.size / crop.box.side
    # Picture pixel x (local u = x - x0) samples crop position (x + 0.5 - box.x0) * scale - 0.5.
    matrix = np.array([[scale, 0.0, (x0 + 0.5 - crop.box.x0) * scale - 0.5],
                       [0.0, scale, (y0 + 0.5 - crop.box.y0) * scale - 0.5]], dtype=np.float64)
    return cv2.warpAffine(pixels.astype(np.float32), matrix, (width, height),
                          flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


@torch.inference_mode()
def repair(image: np.ndarray, region: np.ndarray, pose: np.ndarray, tokenizer, transformer, *,
           body_height: float, share: float = TILE_SHARE, context: float = TILE_CONTEXT, batch_size: int = 16,
           decode: str = "tokens") -> np.ndarray:
    """`image` (uint8 (H, W, 3), the warped frame) with `region` (bool (H, W)) regenerated by the
    model under the target `pose` (13, 3) in the image's pixels, tile by tile (module docstring).
    decode: "tokens" (the picked codes, the paper) or "expected" (the mean code; softer).
    Returns a new uint8 (H, W, 3), equal to `image` outside the region."""
    image = np.asarray(image)
    region = np.asarray(region, dtype=bool)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise IlatError(f"repair needs a uint8 (H, W, 3) RGB image, got {image.dtype} {image.shape}")
    if region.shape != image.shape[:2]:
        raise IlatError(f"the repair region {region.shape} does not match the image {image.shape[:2]}")
    if decode not in ("tokens", "expected"):
        raise IlatError(f"decode must be 'tokens' or 'expected', got {decode!r}")
    out = image.copy()
    if not region.any():
        return out
    height, width = region.shape
    size = int(tokenizer.config.resolution)
    side = tile_side(body_height, share)
    pose = np.asarray(pose, dtype=np.float32).reshape(NUM_JOINTS, 3)
    device = next(transformer.parameters()).device
    weight = hole_weight(region, side * (1 + 2 * context) / size)
    cores = tile_cores(region, side)
    for start in range(0, len(cores), batch_size):
        chunk = cores[start:start + batch_size]
        crops, regions = [], []
        for x0, y0 in chunk:
            crops.append(tile_crop(x0, y0, side, size, context))
            regions.append(tile_region(crops[-1], region, x0, y0, side))
        references = torch.stack([image_to_tensor(c.image(image)) for c in crops]).to(device)
        poses = torch.from_numpy(np.stack([c.pose(pose) for c in crops])).to(device)
        inputs = model_inputs(tokenizer, references, torch.from_numpy(np.stack(regions)).to(device), poses, poses,
                              needs_reference_pose=transformer.config.needs_reference_pose)
        _, frames = sample_and_decode(tokenizer, transformer, inputs, expected=decode == "expected", greedy=True)
        for (x0, y0), crop, frame in zip(chunk, crops, frames):
            x1, y1 = min(width, x0 + side), min(height, y0 + side)
            filled = paste_core(crop, tensor_to_image(frame), x0, y0, x1 - x0, y1 - y0)
            w = weight[y0:y1, x0:x1, None]
            blended = np.rint(filled * w + image[y0:y1, x0:x1].astype(np.float32) * (1.0 - w))
            out[y0:y1, x0:x1] = np.clip(blended, 0, 255).astype(np.uint8)
    out[~region] = image[~region]  # bit for bit, whatever the float arithmetic did
    return out
