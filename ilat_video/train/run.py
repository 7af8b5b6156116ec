"""A training run: what both training loops do around their own step (`TrainingRun`): the output
folder, starting fresh or resuming, seeding, the log and the progress callback, checkpoints,
stopping on a signal or a time budget.

Output folder of a run (`out/`):

```
out/
  train_config.json          the training config as given (for the record; `--resume` reuses it)
  log.jsonl                  one JSON object per logged step (loss, lr, speed, codebook usage, ...)
  model/                     save_pretrained of the latest weights: always usable as it stands
  samples/step-00000500.png  sample grids
  checkpoints/
    latest                   name of the newest complete checkpoint folder
    step-00000500/           written to a temporary folder, then renamed: complete or absent
      model.safetensors      the model's weights (unwrapped; never the DDP wrapper)
      config.json            the model's config
      <extra>.safetensors    other trained modules (the discriminator)
      state.pt               optimizers, step, schedule, RNG states of every rank, data position
```
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import IlatError
from ..fileio import atomic_output
from ..nn.pretrained import unwrap
from .checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from .distributed import DistributedContext, any_rank, barrier, broadcast_object, mean_over_ranks
from .monitoring import JsonlLog, Meter, SpeedMeter
from .seeding import derive_seed, gather_rng_states, rng_state, seeded_torch, set_rng_state

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Progress:
    """What the loop reports after each step to an optional callback (the CLI's progress bar)."""

    step: int  # steps done
    total_steps: int
    loss: float | None  # the latest logged loss (None before the first log record)
    lr: float
    steps_per_s: float
    images_per_s: float
    metrics: dict[str, float]


@dataclasses.dataclass
class TrainResult:
    """Where a training stopped and why, and its last log record."""

    step: int  # steps done in total (including those before a resume)
    stopped_by: str  # "steps", "signal", "time"
    out: Path
    model_dir: Path | None  # out/model (None on ranks other than 0)
    metrics: dict[str, float]  # the last log record
    signum: int | None = None


def check_positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    """IlatError unless `value` is None or > 0 (>= 0 with allow_zero); `name` is the option's."""
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise IlatError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def write_json(path: Path, values: dict[str, Any]) -> None:
    """Write `values` as indented JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(values, indent=2, default=str) + "\n")


def config_record(config) -> dict[str, Any]:
    """A training config dataclass as JSON-ready values (paths as strings)."""
    out = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        elif not isinstance(value, (str, int, float, bool, list, tuple, dict, type(None))):
            value = repr(value)
        out[field.name] = value
    return out


class StopRequest:
    """Catches SIGTERM / SIGINT during training so the loop can checkpoint and stop cleanly.

    The first signal sets `signum`; the loop finishes its step, writes a checkpoint and returns.
    A second SIGINT raises KeyboardInterrupt at once (the user insists).
    Handlers are only installed in the main thread and are restored on exit.
    """

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        log.warning("received %s: stopping after this step and writing a checkpoint", signal.Signals(signum).name)

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class TrainingRun:
    """Bookkeeping shared by both stages: output folder, resume, RNG, logging, checkpoints,
    stopping. A loop calls, in order:

        run = TrainingRun(...)
        start = run.start(model, modules, optimizers)   # fresh or resumed; RNGs set
        for step in range(start, total):
            ...one optimisation step...
            run.end_step(step + 1, lr, metrics)            # meter, log, callback, checkpoint
            if run.stop_reason(): break
        return run.finish(step)

    All ranks call every method (some hold collectives); only rank 0 writes files.
    """

    def __init__(
        self,
        *,
        out: str | os.PathLike,
        ctx: DistributedContext,
        config,
        kind: str,  # "tokenizer" or "transformer": refuse to resume the other kind's run
        seed: int,
        total_steps: int,
        resume: bool,
        log_every: int,
        checkpoint_every: int,
        sample_every: int,
        max_minutes: float | None,
        images_per_step: int,
        keep_checkpoints: int = 2,
        callback: Callable[[Progress], None] | None = None,
    ):
        for name, value in (("steps", total_steps), ("log_every", log_every), ("checkpoint_every", checkpoint_every),
                            ("keep_checkpoints", keep_checkpoints)):
            check_positive(name, value)
        check_positive("sample_every", sample_every, allow_zero=True)  # 0: no sample grids
        check_positive("max_minutes", max_minutes)
        self.out = Path(out)
        self.ctx, self.config, self.kind, self.seed = ctx, config, kind, seed
        self.total_steps, self.resume = total_steps, resume
        self.log_every, self.checkpoint_every, self.sample_every = log_every, checkpoint_every, sample_every
        self.max_seconds = None if max_minutes is None else 60.0 * max_minutes
        self.images_per_step = images_per_step
        self.keep_checkpoints = keep_checkpoints
        self.callback = callback
        self.numpy_rng = np.random.default_rng(derive_seed(seed, ctx.rank, 1))
        self.meter = Meter()
        self.speed = SpeedMeter()
        self.stop = StopRequest()
        self.last_record: dict[str, Any] = {}
        self.last_checkpoint_step = -1
        self.started_at = time.monotonic()
        self.resumed_from: Path | None = None
        self._modules: tuple | None = None
        self._rng_scope: contextlib.ExitStack | None = None
        self.log: JsonlLog | None = None

    @classmethod
    def for_config(cls, config, ctx: DistributedContext, kind: str,
                   callback: Callable[[Progress], None] | None = None) -> "TrainingRun":
        """The run of a training config (TokenizerTrainConfig or TransformerTrainConfig)."""
        return cls(
            out=config.out, ctx=ctx, config=config, kind=kind, seed=config.seed, total_steps=config.steps,
            resume=config.resume, log_every=config.log_every, checkpoint_every=config.checkpoint_every,
            sample_every=config.sample_every, max_minutes=config.max_minutes, images_per_step=config.batch_size,
            keep_checkpoints=config.keep_checkpoints, callback=callback,
        )

    # -- start ------------------------------------------------------------------------------

    def prepare_out(self) -> Path | None:
        """Check / create the output folder; return the checkpoint to resume from (or None).
        Call before building the data stream (its start depends on the step)."""
        checkpoint = None
        if self.ctx.is_main:
            found = latest_checkpoint(self.out)
            if found is not None and not self.resume:
                raise IlatError(
                    f"{self.out} already holds a training run ({found.name}); pass --resume to continue it "
                    "or choose another --out"
                )
            if self.resume and found is not None:
                checkpoint = found
            elif self.resume:
                log.info("%s: no checkpoint to resume from; starting a new run", self.out)
            self.out.mkdir(parents=True, exist_ok=True)
            record = {"kind": self.kind, **config_record(self.config)}
            if checkpoint is not None:
                self._check_same_run(record)
            write_json(self.out / "train_config.json", record)
        path = broadcast_object(self.ctx, None if checkpoint is None else str(checkpoint))
        self.resumed_from = None if path is None else Path(path)
        return self.resumed_from

    def _check_same_run(self, record: dict[str, Any]) -> None:
        path = self.out / "train_config.json"
        if not path.is_file():
            return
        old = json.loads(path.read_text())
        if old.get("kind") != record["kind"]:
            raise IlatError(f"{self.out} holds a {old.get('kind')} run; cannot resume it as a {record['kind']} run")
        for key in ("preset", "stage", "mask", "reference_pose", "pose_map", "tokenizer"):
            if key in old and key in record and old[key] != record[key]:
                raise IlatError(
                    f"{self.out}: --resume with {key}={record[key]!r}, but the run was started with {old[key]!r}"
                )
        changed = sorted(k for k in record if k in old and old[k] != record[k] and k not in ("resume",))
        if changed:
            log.warning("resuming %s with changed settings: %s", self.out, ", ".join(changed))

    def start(
        self,
        model: torch.nn.Module,
        extra_modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
    ) -> int:
        """Load the checkpoint found by `prepare_out` (if any), set every RNG, open the log.
        Returns the step to start at. Enters torch's RNG scope: `finish` restores the caller's."""
        self._modules = (model, extra_modules, optimizers)
        self._rng_scope = contextlib.ExitStack()
        self._rng_scope.enter_context(seeded_torch(derive_seed(self.seed, self.ctx.rank, 2), self.ctx.device))
        self._rng_scope.enter_context(self.stop)
        step = 0
        if self.resumed_from is not None:
            state = load_checkpoint(
                self.resumed_from, model=model, extra_modules=extra_modules, map_location=self.ctx.device
            )
            for name, opt in optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
            step = int(state["step"])
            rngs = state.get("rng", [])
            if len(rngs) == self.ctx.world_size:
                set_rng_state(rngs[self.ctx.rank], self.numpy_rng, self.ctx.device)
            else:
                log.warning(
                    "the checkpoint was written by %d processes, this run has %d: RNG streams restart from the seed",
                    len(rngs), self.ctx.world_size,
                )
                torch.manual_seed(derive_seed(self.seed, self.ctx.rank, 2, step))
                self.numpy_rng = np.random.default_rng(derive_seed(self.seed, self.ctx.rank, 1, step))
            self.last_checkpoint_step = step
            if self.ctx.is_main:
                log.info("resumed %s at step %d from %s", self.out, step, self.resumed_from)
        self.log = JsonlLog(
            self.out / "log.jsonl", resume_step=step if self.resumed_from is not None else None,
            enabled=self.ctx.is_main,
        )
        self.start_step = step
        return step

    # -- per step ---------------------------------------------------------------------------

    def end_step(self, step: int, lr: float, metrics: dict[str, float | torch.Tensor],
                 extra: Callable[[], dict[str, float]] | None = None) -> None:
        """Account for finished step `step` (1-based count of steps done): meter, log record every
        `log_every` steps (metrics averaged over ranks; `extra()` adds e.g. codebook usage),
        progress callback, periodic checkpoint."""
        self.meter.add(metrics)
        self.speed.tick()
        if step % self.log_every == 0 or step == self.total_steps:
            means = self.meter.means()
            if self.ctx.distributed and means:
                keys = list(means)  # the same order on every rank (same code path)
                reduced = mean_over_ranks(self.ctx, torch.tensor([means[k] for k in keys], dtype=torch.float64))
                means = dict(zip(keys, reduced.tolist()))
            steps_per_s = self.speed.steps_per_s()
            record = {"step": step, "lr": lr, **means}
            if extra is not None:
                record.update(extra())
            record.update(
                steps_per_s=steps_per_s,
                images_per_s=steps_per_s * self.images_per_step * self.ctx.world_size,
                elapsed_s=time.monotonic() - self.started_at,
            )
            self.last_record = record
            self.log.write(record)
        if self.callback is not None and self.ctx.is_main:
            steps_per_s = self.speed.steps_per_s()
            self.callback(Progress(
                step=step, total_steps=self.total_steps, loss=self.last_record.get("loss"), lr=lr,
                steps_per_s=steps_per_s,
                images_per_s=steps_per_s * self.images_per_step * self.ctx.world_size,
                metrics=self.last_record,
            ))
        if step % self.checkpoint_every == 0:
            self.checkpoint(step)

    def stop_reason(self) -> str | None:
        """'signal' or 'time' when every rank should stop now (agreed through a collective)."""
        by_signal = any_rank(self.ctx, self.stop.signum is not None)
        if by_signal:
            return "signal"
        if self.max_seconds is not None:
            out_of_time = time.monotonic() - self.started_at >= self.max_seconds
            if any_rank(self.ctx, out_of_time):
                return "time"
        return None

    def wants_samples(self, step: int) -> bool:
        if not self.ctx.is_main or self.sample_every == 0:
            return False
        return step % self.sample_every == 0 or step == self.total_steps

    def sample_path(self, step: int) -> Path:
        return self.out / "samples" / f"step-{step:08d}.png"

    # -- checkpoints and the end ------------------------------------------------------------

    def checkpoint(self, step: int) -> None:
        """Write checkpoint `step` (rank 0) with every rank's RNG state. A collective."""
        model, extra_modules, optimizers = self._modules
        rngs = gather_rng_states(self.ctx, rng_state(self.numpy_rng, self.ctx.device))
        if self.ctx.is_main:
            state = {
                "step": step,
                "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                "rng": rngs,
                "world_size": self.ctx.world_size,
                "seed": self.seed,
            }
            folder = save_checkpoint(
                self.out, step, model=model, state=state,
                extra_modules={k: unwrap(v) for k, v in extra_modules.items()}, keep=self.keep_checkpoints,
            )
            log.info("checkpoint %s", folder)
        self.last_checkpoint_step = step

    def finish(self, step: int, reason: str) -> TrainResult:
        """Checkpoint the final step if it is not saved yet, restore the caller's RNG and signal
        handlers, and report."""
        try:
            if step != self.last_checkpoint_step and step > 0:
                self.checkpoint(step)
            # Every rank returns only once rank 0's files exist (the next stage may read them).
            barrier(self.ctx)
        finally:
            self.close()
        signum = self.stop.signum if reason == "signal" else None
        return TrainResult(
            step=step, stopped_by=reason, out=self.out,
            model_dir=(self.out / "model") if self.ctx.is_main else None,
            metrics=dict(self.last_record), signum=signum,
        )

    def close(self) -> None:
        if self._rng_scope is not None:
            self._rng_scope.close()
            self._rng_scope = None
