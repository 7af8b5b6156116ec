"""What both training stages share: LR schedules, checkpoints, the JSON-lines log, sample grids,
codebook-usage statistics, the resumable data stream, stop signals and the run's output folder.

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

`state.pt` is our own dict of tensors and plain values, written by `torch.save` and read back with
`weights_only=True`: loading it never runs pickled code.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from ..errors import DatasetError, IlatError, ModelFileError
from ..fileio import atomic_output
from ..nn.pretrained import CONFIG_NAME, WEIGHTS_NAME, load_weights, save_config, save_weights, unwrap
from .distributed import DistributedContext

log = logging.getLogger(__name__)

STATE_NAME = "state.pt"
LATEST_NAME = "latest"


# --------------------------------------------------------------------------------------------
# Learning-rate schedules. A pure function of the step, so resuming only needs the step counter.
# --------------------------------------------------------------------------------------------


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
    for group in optimizer.param_groups:
        group["lr"] = lr


# --------------------------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------------------------


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
    state = {"torch": torch.get_rng_state(), "numpy": numpy_rng.bit_generator.state}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], numpy_rng: np.random.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    numpy_rng.bit_generator.state = state["numpy"]
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# --------------------------------------------------------------------------------------------
# Data: a stream of batches that can resume at any step
# --------------------------------------------------------------------------------------------


class ShardedInfiniteSampler(Sampler[int]):
    """Endless indices for a map-style dataset: a fresh permutation every epoch (seeded by seed and
    epoch), this rank's share of it (every world_size-th index), starting after `start` indices.

    Plays the part of DistributedSampler, plus the offset that makes an exact resume cheap.
    """

    def __init__(self, length: int, *, seed: int, rank: int = 0, world_size: int = 1, start: int = 0):
        if length <= 0:
            raise DatasetError("the dataset has no samples")
        self.length, self.seed, self.rank, self.world_size, self.start = length, seed, rank, world_size, start

    def per_rank(self) -> int:
        # Pad each epoch so every rank gets the same count (DistributedSampler's rule).
        return math.ceil(self.length / self.world_size)

    def __iter__(self) -> Iterator[int]:
        for _, index in self.with_epochs():
            yield index

    def with_epochs(self) -> Iterator[tuple[int, int]]:
        """(epoch, index) pairs: what `EpochIndexed` needs to give datasets their epoch."""
        per_rank = self.per_rank()
        epoch, offset = divmod(self.start, per_rank)
        while True:
            gen = torch.Generator().manual_seed(derive_seed(self.seed, epoch))
            order = torch.randperm(self.length, generator=gen).tolist()
            order += order[: per_rank * self.world_size - len(order)]
            mine = order[self.rank :: self.world_size]
            for index in mine[offset:]:
                yield epoch, index
            epoch, offset = epoch + 1, 0


class _EpochSampler(Sampler):
    def __init__(self, sampler: ShardedInfiniteSampler):
        self.sampler = sampler

    def __iter__(self):
        return self.sampler.with_epochs()


class EpochIndexed(Dataset):
    """Indexed by (epoch, index): calls the wrapped dataset's `set_epoch(epoch)` before reading, so
    a dataset that draws its pairs per epoch (Penn Action) gets fresh pairs every epoch, the same
    in every DataLoader worker and after a resume."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.epoch: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        if epoch != self.epoch:
            self.dataset.set_epoch(epoch)
            self.epoch = epoch
        return self.dataset[index]


class BatchStream:
    """Batches for training, resumable at any step.

    * Map-style dataset (`__len__` + `__getitem__`): indices from `ShardedInfiniteSampler`;
      resuming at batch b starts the sampler at b * batch_size, no data is re-read.
    * Iterable dataset: `make_iterable(segment)` builds a fresh stream for every segment of
      `segment_batches` batches (a new seed per segment). Resuming at batch b rebuilds segment
      b // segment_batches and discards the b % segment_batches batches already used, so a
      resumed run sees exactly the data an uninterrupted run would.
    """

    def __init__(
        self,
        *,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        dataset: Dataset | None = None,
        make_iterable: Callable[[int], IterableDataset] | None = None,
        segment_batches: int = 1000,
        start_batch: int = 0,
        pin_memory: bool = False,
    ):
        if (dataset is None) == (make_iterable is None):
            raise ValueError("give exactly one of dataset and make_iterable")
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.dataset, self.make_iterable = dataset, make_iterable
        self.segment_batches = max(1, segment_batches)
        self.batch = start_batch  # batches handed out so far (== the training step)
        self._iter: Iterator | None = None
        self._loader: DataLoader | None = None

    def _loader_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(
            batch_size=self.batch_size, num_workers=self.num_workers, pin_memory=self.pin_memory, drop_last=True
        )
        if self.num_workers > 0:
            kwargs["prefetch_factor"] = 2
        # The loader draws its workers' base seed from this generator; without one it would draw
        # from torch's global RNG and shift dropout's random stream every time a loader opens.
        kwargs["generator"] = torch.Generator().manual_seed(derive_seed(self.seed, self.rank, self.batch, 7))
        if self.num_workers > 0:
            kwargs["worker_init_fn"] = _ignore_stop_signals
        return kwargs

    def _open(self) -> None:
        if self.dataset is not None:
            sampler = ShardedInfiniteSampler(
                len(self.dataset), seed=self.seed, rank=self.rank, world_size=self.world_size,
                start=self.batch * self.batch_size,
            )
            if hasattr(self.dataset, "set_epoch"):
                self._loader = DataLoader(EpochIndexed(self.dataset), sampler=_EpochSampler(sampler),
                                          **self._loader_kwargs())
            else:
                self._loader = DataLoader(self.dataset, sampler=sampler, **self._loader_kwargs())
            self._iter = iter(self._loader)
            self._segment_end = None
        else:
            segment, skip = divmod(self.batch, self.segment_batches)
            self._loader = DataLoader(self.make_iterable(segment), **self._loader_kwargs())
            self._iter = iter(self._loader)
            self._segment_end = (segment + 1) * self.segment_batches
            for _ in range(skip):
                self._next_from_loader()

    def _next_from_loader(self):
        try:
            return next(self._iter)
        except StopIteration:
            raise DatasetError(
                "the data stream ended before the run did: an iterable dataset must be endless"
            ) from None

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self._iter is None or (self._segment_end is not None and self.batch >= self._segment_end):
            self.close()
            self._open()
        batch = self._next_from_loader()
        self.batch += 1
        return batch

    def close(self) -> None:
        # Dropping the iterator shuts its worker processes down.
        self._iter = None
        self._loader = None


def prepare_data_once(ctx: DistributedContext, data: str | os.PathLike, size: int, seed: int) -> None:
    """Under DDP, let rank 0 open a folder dataset first while the others wait: opening a folder of
    videos extracts and caches their poses, which every rank would otherwise do at once, writing
    the same cache files."""
    if not ctx.distributed or str(data) == "synthetic":
        return
    from .distributed import barrier

    if ctx.is_main:
        open_pairs_dataset(data, size, split="train", seed=seed, rank=0, world_size=1)
    barrier(ctx)


def check_data_arg(data: str | os.PathLike) -> Path:
    """Fail early and clearly on a `--data` that cannot be a dataset: missing, not a folder, empty.
    (The dataset classes check the layout and the labels.)"""
    root = Path(data)
    expected = "give 'synthetic', a Penn Action folder (frames/ + labels/) or a folder of videos"
    if not root.exists():
        raise DatasetError(f"{root}: no such data folder ({expected})")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder ({expected})")
    if not any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise DatasetError(f"{root}: the data folder is empty ({expected})")
    return root


def _construct(cls, *args, **kwargs):
    """cls(*args, **kwargs) passing only the keyword arguments its constructor accepts."""
    import inspect

    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return cls(*args, **kwargs)


def _ignore_stop_signals(worker_id: int) -> None:
    # Ctrl-C in a terminal (and a scheduler's SIGTERM) reaches every process of the group. The main
    # process must finish its step and checkpoint, so its loader workers must not die first; they
    # are shut down by the main process when the loader closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def is_map_style(dataset) -> bool:
    return not isinstance(dataset, IterableDataset) and hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")


def open_pairs_dataset(
    data: str | os.PathLike, size: int, *, split: str, seed: int, rank: int, world_size: int
) -> tuple[Dataset | None, Callable[[int], IterableDataset] | None]:
    """The training pairs named by `--data`: 'synthetic', a Penn Action folder or a video folder.

    Returns (map-style dataset, None) or (None, factory of an iterable stream per segment).
    Dataset classes raise DatasetError for empty folders or wrong layouts; this adds the case of a
    path that does not exist.
    """
    if str(data) == "synthetic":  # a folder literally named so must be given as ./synthetic
        from ..data.synth import SyntheticPairs

        def make(segment: int) -> IterableDataset:
            return SyntheticPairs(
                size, split=split, seed=derive_seed(seed, segment), rank=rank, world_size=world_size
            )

        return None, make
    root = check_data_arg(data)
    if (root / "frames").is_dir() or (root / "labels").is_dir():
        from ..data.penn_action import PennActionPairs

        dataset = PennActionPairs(root, size, split=split, seed=seed)
    else:
        from ..data.own_videos import VideoFolderPairs

        dataset = _construct(VideoFolderPairs, root, size, split=split, seed=seed)
    if is_map_style(dataset):
        if len(dataset) == 0:
            raise DatasetError(f"{root}: no training pairs found (split {split!r})")
        return dataset, None
    return None, (lambda segment: dataset)


# --------------------------------------------------------------------------------------------
# Logging, samples, codebook usage
# --------------------------------------------------------------------------------------------


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
    from PIL import Image

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
            from .distributed import sum_over_ranks

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


# --------------------------------------------------------------------------------------------
# Stopping: signals and wall-clock budget
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


def checkpoint_dir(out: str | os.PathLike) -> Path:
    return Path(out) / "checkpoints"


def latest_checkpoint(out: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint folder of a run, or None.

    Reads `checkpoints/latest`; if it is missing or names a folder that is gone, falls back to the
    highest-numbered folder holding a state file (folders appear only when complete).
    """
    root = checkpoint_dir(out)
    pointer = root / LATEST_NAME
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / STATE_NAME).is_file():
            return candidate
    found = sorted(p for p in root.glob("step-*") if (p / STATE_NAME).is_file()) if root.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(
    out: str | os.PathLike,
    step: int,
    *,
    model: torch.nn.Module,
    state: dict[str, Any],
    extra_modules: dict[str, torch.nn.Module] | None = None,
    keep: int = 2,
) -> Path:
    """Write checkpoint `step` atomically (temp folder + rename), point `latest` at it, refresh
    `out/model/`, and delete all but the newest `keep` checkpoints. Returns the folder."""
    root = checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-step-{step:08d}-", dir=root))
    try:
        inner = unwrap(model)
        save_config(inner.config, tmp / CONFIG_NAME)
        save_weights(inner, tmp / WEIGHTS_NAME)
        for name, module in (extra_modules or {}).items():
            save_weights(module, tmp / f"{name}.safetensors")
        with atomic_output(tmp / STATE_NAME) as part:
            torch.save(state, part)
        if final.exists():  # the same step saved twice (e.g. a signal right after a periodic save)
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with atomic_output(root / LATEST_NAME) as part:
        part.write_text(final.name + "\n")
    publish_model(out, final)
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and p != final)
    for stale in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def publish_model(out: str | os.PathLike, checkpoint: Path) -> Path:
    """Copy a checkpoint's config + weights to `out/model/`, replacing the folder in one rename
    (there is a moment with no `model/`, never one with mixed files)."""
    out = Path(out)
    target = out / "model"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-model-", dir=out))
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copy2(checkpoint / name, tmp / name)
    old = out / ".model-old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    extra_modules: dict[str, torch.nn.Module] | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint's weights into the (unwrapped) modules, strictly; return its state dict."""
    load_weights(unwrap(model), folder / WEIGHTS_NAME)
    for name, module in (extra_modules or {}).items():
        load_weights(unwrap(module), folder / f"{name}.safetensors")
    try:
        return torch.load(folder / STATE_NAME, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ModelFileError(f"{folder / STATE_NAME}: not a readable training state ({exc})") from exc


def gather_rng_states(ctx: DistributedContext, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rank's RNG state, in rank order, on every rank (so rank 0 can save them all)."""
    if not ctx.distributed:
        return [state]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, state)
    return out


# --------------------------------------------------------------------------------------------
# Progress reporting (the CLI draws the bar; the library only calls back)
# --------------------------------------------------------------------------------------------


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
    step: int  # steps done in total (including those before a resume)
    stopped_by: str  # "steps", "signal", "time"
    out: Path
    model_dir: Path | None  # out/model (None on ranks other than 0)
    metrics: dict[str, float]  # the last log record
    signum: int | None = None


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


def check_positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise IlatError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def write_json(path: Path, values: dict[str, Any]) -> None:
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
    import torch.cpu

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def warn_if_cpu_bf16_is_emulated(device: torch.device, cpu_bf16: bool) -> None:
    if cpu_bf16 and device.type == "cpu" and not cpu_has_native_bf16():
        log.warning("--cpu-bf16: this CPU has no native bf16 (AVX512-BF16 or AMX); torch emulates it, "
                    "which is usually slower than fp32")




# --------------------------------------------------------------------------------------------
# The run: what every training loop does around its own step
# --------------------------------------------------------------------------------------------


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
        from .distributed import broadcast_object

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
                from .distributed import mean_over_ranks

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
        from .distributed import any_rank

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
            from .distributed import barrier

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
