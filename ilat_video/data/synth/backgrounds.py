"""Static backgrounds for synthetic clips: gradients, walls and floors, textures, tiles, shapes."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .identity import hsv_colour


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return np.array(hsv_colour(rng.uniform(), rng.uniform(0.0, 0.7), rng.uniform(0.2, 0.95)), dtype=np.float32)


def _u8(array: np.ndarray) -> np.ndarray:
    return np.clip(array, 0, 255).astype(np.uint8)


def random_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static background, uint8 (size, size, 3): gradients, walls and floors, textures, shapes.

    Smooth parts are computed on a coarse grid and resized by Pillow, sharp ones from 1-D
    profiles, so a background costs about a millisecond at 256x256.
    """
    kind = rng.choice(["gradient", "room", "noise", "tiles"], p=[0.3, 0.35, 0.2, 0.15])
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres in [0, 1]
    base = {"gradient": _gradient, "room": _room, "noise": _noise, "tiles": _tiles}[str(kind)]
    pil = Image.fromarray(base(rng, size, axis))
    _add_shapes(rng, pil, size)
    return np.asarray(pil)


def _gradient(rng: np.random.Generator, size: int, axis: np.ndarray) -> np.ndarray:
    coarse = 16
    yy, xx = np.mgrid[0:coarse, 0:coarse].astype(np.float32) / (coarse - 1)
    angle = rng.uniform(0, 2 * math.pi)
    t = np.clip(0.5 + (xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle), 0, 1)[..., None]
    small = _random_colour(rng) * (1 - t) + _random_colour(rng) * t
    return np.asarray(Image.fromarray(_u8(small)).resize((size, size), Image.Resampling.BILINEAR))


def _room(rng: np.random.Generator, size: int, axis: np.ndarray) -> np.ndarray:
    """A wall with a vertical gradient above a floor: a function of y only."""
    horizon = rng.uniform(0.55, 0.85)
    wall_top, wall_bottom = _random_colour(rng), _random_colour(rng)
    floor = _random_colour(rng) * rng.uniform(0.5, 1.0)
    y = axis[:, None]
    t = y / horizon
    column = np.where(y < horizon, wall_top * (1 - t) + wall_bottom * t, floor * (0.8 + 0.4 * (y - horizon)))
    return np.ascontiguousarray(np.broadcast_to(_u8(column)[:, None, :], (size, size, 3)))


def _noise(rng: np.random.Generator, size: int, axis: np.ndarray) -> np.ndarray:
    cells = int(rng.integers(3, 12))
    small = rng.integers(0, 256, (cells, cells), dtype=np.uint8)
    mask = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    a, b = (Image.new("RGB", (size, size), tuple(int(v) for v in _random_colour(rng))) for _ in range(2))
    return np.asarray(Image.composite(b, a, mask))


def _tiles(rng: np.random.Generator, size: int, axis: np.ndarray) -> np.ndarray:
    """Checks, vertical or horizontal stripes of two close colours."""
    period = rng.uniform(0.06, 0.25)
    a, b = _random_colour(rng), _random_colour(rng)
    b = a * 0.75 + b * 0.25
    band = np.floor(axis / period).astype(np.int64)
    if rng.uniform() < 0.5:
        t = (band[:, None] + band[None, :]) % 2
    elif rng.uniform() < 0.5:
        t = np.broadcast_to(band[None, :] % 2, (size, size))
    else:
        t = np.broadcast_to(band[:, None] % 2, (size, size))
    return np.where(t[..., None] > 0, _u8(b), _u8(a))


def _add_shapes(rng: np.random.Generator, image: Image.Image, size: int) -> None:
    """Up to six rectangles, ellipses or polygons of random colours, in place."""
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 7))):
        colour = tuple(int(v) for v in _random_colour(rng))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.05, 0.45, 2) * size
        shape = rng.choice(["rect", "ellipse", "poly"])
        if shape == "rect":
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == "ellipse":
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            n = int(rng.integers(3, 6))
            angles = np.sort(rng.uniform(0, 2 * math.pi, n))
            draw.polygon([(x0 + w * (1 + math.cos(t)) / 2, y0 + h * (1 + math.sin(t)) / 2) for t in angles],
                         fill=colour)
