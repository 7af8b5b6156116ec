"""Randomness: seeds derived from the run's seed, torch's global RNG seeded for a block, and the
RNG states a checkpoint keeps (every rank's) so that a resumed run draws what an uninterrupted one
would."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist

from .distributed import DistributedContext


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from several integers (seed, rank, segment, ...), stable across runs."""
    seq = np.random.SeedSequence([int(p) & 0xFFFFFFFFFFFFFFFF for p in parts])
    return int(seq.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


@contextlib.contextmanager
def seeded_torch(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG afterwards.

    Module constructors and dropout draw from the global RNG; this keeps them reproducible
    without leaving the process's global state changed.
    """
    devices = [device] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def rng_state(numpy_rng: np.random.Generator, device: torch.device) -> dict[str, Any]:
    """This process's torch, numpy and (on CUDA) device RNG states."""
    state = {"torch": torch.get_rng_state(), "numpy": numpy_rng.bit_generator.state}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], numpy_rng: np.random.Generator, device: torch.device) -> None:
    """Restore what `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    numpy_rng.bit_generator.state = state["numpy"]
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def gather_rng_states(ctx: DistributedContext, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rank's RNG state, in rank order, on every rank (so rank 0 can save them all)."""
    if not ctx.distributed:
        return [state]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, state)
    return out
