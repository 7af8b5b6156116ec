"""bf16 autocast for the training steps: on CUDA by default, on the CPU when asked (`--cpu-bf16`)."""
from __future__ import annotations

import contextlib
import logging

import torch

log = logging.getLogger(__name__)


def autocast(device: torch.device, enabled: bool, *, cpu: bool = False):
    """bf16 autocast: on CUDA when `enabled`, on the CPU when `cpu`; a no-op context otherwise.

    On the CPU it pays only where the CPU computes in bf16 natively (AVX512-BF16 or AMX: 1.5-1.8x
    per training step here, benchmarks/results/cpu_bf16.md); elsewhere torch
    emulates it, so it is opt-in (`--cpu-bf16`) and `warn_if_cpu_bf16_is_emulated` says so."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu and device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products in hardware (AVX512-BF16 or AMX tiles)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def warn_if_cpu_bf16_is_emulated(device: torch.device, cpu_bf16: bool) -> None:
    """Log a warning when `--cpu-bf16` runs on a CPU that only emulates bf16."""
    if cpu_bf16 and device.type == "cpu" and not cpu_has_native_bf16():
        log.warning("--cpu-bf16: this CPU has no native bf16 (AVX512-BF16 or AMX); torch emulates it, "
                    "which is usually slower than fp32")
