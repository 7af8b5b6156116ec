"""Picture strips: reference | target pose | each method's result | ground truth, one row per pair."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..crop import tensor_to_image
from ..fileio import atomic_output
from ..pose.draw import draw_pose


def comparison_strip(pairs: Sequence[dict], columns: Mapping[str, Sequence[np.ndarray]], *, scale: int = 2,
                     labels: bool = True) -> np.ndarray:
    """A picture grid, one row per pair: reference | target pose (skeleton on black) | each
    column's image | ground truth. columns: {title: uint8 (S, S, 3) images, one per pair (at
    least as many as pairs)}. scale: nearest-neighbour enlargement. Returns uint8 (H, W, 3)."""
    if not pairs:
        raise ValueError("no pairs to draw")
    for title, images in columns.items():
        if len(images) < len(pairs):
            raise ValueError(f"column {title!r} has {len(images)} images for {len(pairs)} pairs")
    rows = []
    for i, pair in enumerate(pairs):
        reference = tensor_to_image(torch.as_tensor(pair["reference"]))
        truth = tensor_to_image(torch.as_tensor(pair["target"]))
        skeleton = draw_pose(np.zeros_like(reference), np.asarray(pair["target_pose"], np.float32))
        cells = [reference, skeleton, *[np.asarray(images[i]) for images in columns.values()], truth]
        rows.append(np.concatenate(cells, axis=1))
    grid = np.concatenate(rows, axis=0)
    if scale > 1:
        grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    if not labels:
        return grid
    titles = ["reference", "target pose", *columns, "ground truth"]
    cell = grid.shape[1] // len(titles)
    band = Image.new("RGB", (grid.shape[1], 14), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    for k, title in enumerate(titles):
        draw.text((k * cell + 2, 1), title[: max(1, cell // 6)], fill=(0, 0, 0))
    return np.concatenate([np.asarray(band), grid], axis=0)


def save_strip(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, 3) picture as PNG atomically."""
    with atomic_output(path) as tmp:
        Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format="PNG")
    return Path(path)
