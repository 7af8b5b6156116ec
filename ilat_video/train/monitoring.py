"""What a run shows of itself: the JSON-lines log, sample grids, codebook usage, running means of
the metrics and the speed."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..fileio import atomic_output
from .distributed import DistributedContext, sum_over_ranks


class JsonlLog:
    """Append-only JSON-lines log. On resume, records after the resumed step are dropped first, so
    the loss curve continues from the checkpoint without duplicated or orphaned steps."""

    def __init__(self, path: str | os.PathLike, *, resume_step: int | None = None, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled
        if not enabled:
            return
        if resume_step is None:
            self.path.write_text("")
        elif self.path.exists():
            kept = [line for line in self.path.read_text().splitlines() if _record_step(line) <= resume_step]
            with atomic_output(self.path) as tmp:
                tmp.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as fh:
            fh.write(json.dumps(record, allow_nan=True) + "\n")


def _record_step(line: str) -> float:
    try:
        return float(json.loads(line).get("step", math.inf))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return math.inf  # a torn last line from a killed run


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a log.jsonl (for tests, plots and the CLI); ValueError naming the file and
    line for one that is not JSON."""
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {number}: not JSON ({error.msg})") from None
    return records


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) floats in [-1, 1] -> (B, H, W, 3) uint8."""
    arr = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()


def save_image_grid(path: str | os.PathLike, columns: list[torch.Tensor], pad: int = 2) -> Path:
    """Write a PNG grid: one row per sample, one column per tensor in `columns`.

    columns: tensors (B, 3, H, W) in [-1, 1] of the same shape (e.g. input | reconstruction).
    """
    cols = [to_uint8(c) for c in columns]
    rows, h, w, _ = cols[0].shape
    grid = np.full((rows * (h + pad) + pad, len(cols) * (w + pad) + pad, 3), 255, np.uint8)
    for j, col in enumerate(cols):
        for i in range(rows):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[y : y + h, x : x + w] = col[i]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")
    return path


def region_overlay(images: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Images with the region (B, H, W) bool tinted, to show what was masked in a grid."""
    tint = torch.tensor([1.0, -1.0, -1.0], device=images.device).view(1, 3, 1, 1)
    alpha = 0.4 * region[:, None].to(images.dtype)
    return images * (1 - alpha) + tint * alpha


class CodebookUsage:
    """Counts codebook indices between log records: perplexity and dead codes.

    Perplexity = exp(entropy of the index histogram): K when all codes are used equally, 1 when one
    code takes everything. A code is dead when it was not used in the window.
    """

    def __init__(self, codebook_size: int):
        self.codebook_size = codebook_size
        self.counts: torch.Tensor | None = None  # on the indices' device: no GPU sync per step

    def update(self, indices: torch.Tensor) -> None:
        flat = indices.detach().reshape(-1).long()
        if self.counts is None:
            self.counts = torch.zeros(self.codebook_size, dtype=torch.int64, device=flat.device)
        self.counts += torch.bincount(flat, minlength=self.codebook_size)[: self.codebook_size]

    def summary(self, ctx: DistributedContext | None = None, reset: bool = True) -> dict[str, float]:
        counts = self.counts if self.counts is not None else torch.zeros(self.codebook_size, dtype=torch.int64)
        if ctx is not None and ctx.distributed:
            counts = sum_over_ranks(ctx, counts)
        counts = counts.double().cpu()
        total = counts.sum()
        if total > 0:
            p = counts / total
            entropy = -(p[p > 0] * p[p > 0].log()).sum()
            out = {"perplexity": float(entropy.exp()), "dead_codes": int((counts == 0).sum())}
        else:
            out = {"perplexity": float("nan"), "dead_codes": self.codebook_size}
        if reset and self.counts is not None:
            self.counts.zero_()
        return out


class Meter:
    """Running means of scalar metrics between log records. Tensors are summed as tensors and read
    only in `means`, so a GPU run does not wait for every step's values."""

    def __init__(self):
        self.sums: dict[str, float | torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float | torch.Tensor]) -> None:
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self, reset: bool = True) -> dict[str, float]:
        # A metric that exists on some steps only (the GAN terms) is averaged over those steps.
        out = {k: float(v) / self.counts[k] for k, v in self.sums.items()}
        if reset:
            self.sums, self.counts = {}, {}
        return out


class SpeedMeter:
    """Steps/s and images/s over a sliding window of recent steps (ignores the first step's warmup)."""

    def __init__(self, window: int = 20):
        self.window = window
        self.times: list[float] = []

    def tick(self) -> None:
        self.times.append(time.perf_counter())
        if len(self.times) > self.window + 1:
            self.times.pop(0)

    def steps_per_s(self) -> float:
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) / max(1e-9, self.times[-1] - self.times[0])
