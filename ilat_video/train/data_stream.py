"""Training data: the pairs `--data` names, and a stream of batches that resumes at any step.

`open_batches` is what both training loops call: the pairs of `--data` (or a dataset given in
Python), sharded over the ranks, in batches drawn from the run's seed, starting at the run's step.
"""
from __future__ import annotations

import inspect
import math
import os
import signal
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from ..data.own_videos import VideoFolderPairs
from ..data.penn_action import PennActionPairs
from ..data.synth import SyntheticPairs
from ..errors import DatasetError
from .distributed import DistributedContext, barrier
from .seeding import derive_seed


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
    """Whether `dataset` is indexed (len + getitem) rather than streamed."""
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
        def make(segment: int) -> IterableDataset:
            return SyntheticPairs(
                size, split=split, seed=derive_seed(seed, segment), rank=rank, world_size=world_size
            )

        return None, make
    root = check_data_arg(data)
    if (root / "frames").is_dir() or (root / "labels").is_dir():
        dataset = PennActionPairs(root, size, split=split, seed=seed)
    else:
        dataset = _construct(VideoFolderPairs, root, size, split=split, seed=seed)
    if is_map_style(dataset):
        if len(dataset) == 0:
            raise DatasetError(f"{root}: no training pairs found (split {split!r})")
        return dataset, None
    return None, (lambda segment: dataset)


def open_batches(config, ctx: DistributedContext, size: int, dataset, *, batch_size: int, start_batch: int = 0,
                 split: str = "train", seed_part: int = 3) -> BatchStream:
    """This rank's batches for a training config (its data, seed, num_workers, data_segment_steps),
    from batch `start_batch` on.

    dataset: None for `config.data` (`split` of it, at `size`); else a map-style dataset, an endless
    iterable dataset, or a function segment -> iterable dataset. seed_part: which stream of the
    run's seed the data draws from (`derive_seed(config.seed, seed_part)`).
    """
    kwargs = dict(
        batch_size=batch_size, seed=derive_seed(config.seed, seed_part), rank=ctx.rank,
        world_size=ctx.world_size, num_workers=config.num_workers, start_batch=start_batch,
        segment_batches=config.data_segment_steps, pin_memory=ctx.device.type == "cuda",
    )
    if dataset is None:
        mapped, make = open_pairs_dataset(
            config.data, size, split=split, seed=kwargs["seed"], rank=ctx.rank, world_size=ctx.world_size
        )
        return BatchStream(dataset=mapped, make_iterable=make, **kwargs)
    if callable(dataset) and not isinstance(dataset, (Dataset, IterableDataset)):
        return BatchStream(make_iterable=dataset, **kwargs)
    if is_map_style(dataset):
        return BatchStream(dataset=dataset, **kwargs)
    return BatchStream(make_iterable=lambda segment: dataset, **kwargs)


def first_batch(stream: BatchStream) -> dict[str, torch.Tensor]:
    """The stream's next batch; the stream is closed after it (the sample grids' fixed batch)."""
    try:
        return next(stream)
    finally:
        stream.close()
