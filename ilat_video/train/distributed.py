"""Distributed training under torchrun: process-group setup and teardown, and small collectives.

`torchrun --nproc_per_node N ...` sets RANK, WORLD_SIZE and LOCAL_RANK in each process's
environment. Without them (a plain `python` or `ilat-video` run) everything here is a no-op and
the run is a single process. NCCL is used when each rank has a CUDA device, gloo otherwise (CPU,
and the tests).
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the run. `rank == 0` does the logging and the checkpointing."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def setup_distributed(device: str | torch.device | None = None) -> DistributedContext:
    """Join the torchrun process group if there is one; pick this rank's device.

    `device` None means: CUDA (this rank's local GPU) when available, else CPU. A process group
    that already exists is used as it is and left alive by `teardown_distributed`: a program that
    runs several trainings in one process under torchrun should create the group once itself
    (destroying and re-creating the default group reuses its key names on torchrun's store).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if device is None:
        device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    else:
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", local_rank if world_size > 1 else 0)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    initialized_here = False
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if backend == "nccl" else {}
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30), **kwargs)
        initialized_here = True
        log.info("rank %d/%d joined the %s process group on %s", rank, world_size, backend, device)
    return DistributedContext(rank, world_size, local_rank, device, initialized_here)


def teardown_distributed(ctx: DistributedContext, *, clean: bool = True) -> None:
    """Leave the process group if `setup_distributed` created it.

    clean: the run ended normally on this rank, so every rank is here too: wait for all of them
    before any closes its connections (a rank shutting gloo down while a peer still talks to it can
    abort the peer). After an error the other ranks may never arrive, so nobody waits.
    """
    if ctx.initialized_here and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()


def wrap_ddp(module: nn.Module, ctx: DistributedContext, **kwargs) -> nn.Module:
    """`module` under DistributedDataParallel when the run has several ranks (on this rank's GPU
    under CUDA), else `module` itself. kwargs go to DistributedDataParallel."""
    if not ctx.distributed:
        return module
    device_ids = [ctx.device] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, **kwargs)


def _reduce_device(ctx: DistributedContext) -> torch.device:
    # NCCL reduces CUDA tensors only; gloo reduces CPU tensors.
    return ctx.device if ctx.device.type == "cuda" else torch.device("cpu")


def any_rank(ctx: DistributedContext, flag: bool) -> bool:
    """True on every rank when `flag` is true on at least one (so all ranks stop at the same step)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=_reduce_device(ctx))
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def mean_over_ranks(ctx: DistributedContext, values: torch.Tensor) -> torch.Tensor:
    """The mean of a float tensor over all ranks (the tensor itself on a single process)."""
    if not ctx.distributed:
        return values
    out = values.detach().to(_reduce_device(ctx), torch.float32).clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return (out / ctx.world_size).to(values.device)


def sum_over_ranks(ctx: DistributedContext, values: torch.Tensor) -> torch.Tensor:
    """The sum of a tensor over all ranks (used for codebook-usage histograms)."""
    if not ctx.distributed:
        return values
    out = values.detach().to(_reduce_device(ctx)).clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(values.device)


def barrier(ctx: DistributedContext) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_object(ctx: DistributedContext, obj):
    """Rank 0's `obj` on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
