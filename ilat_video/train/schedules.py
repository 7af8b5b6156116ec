"""Learning-rate schedules: pure functions of the step, so resuming needs only the step counter."""
from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class StepDecay:
    """The paper's tokenizer schedule: `base_lr * factor ** (step // every)` (0.5 every 50k)."""

    base_lr: float
    every: int
    factor: float = 0.5

    def __call__(self, step: int) -> float:
        return self.base_lr * self.factor ** (step // max(1, self.every))


@dataclasses.dataclass(frozen=True)
class WarmupLinearDecay:
    """The paper's transformer schedule: linear warmup over `warmup` steps to `base_lr`, then
    linear decay to 0 at `total` steps (10k warmup, 300k total in the paper).

    Step s (0-based) uses `base_lr * (s + 1) / warmup` while warming up, so the first step does
    not waste itself at lr 0.
    """

    base_lr: float
    warmup: int
    total: int

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.base_lr * (step + 1) / self.warmup
        span = max(1, self.total - self.warmup)
        return self.base_lr * max(0.0, (self.total - step) / span)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in optimizer.param_groups:
        group["lr"] = lr
