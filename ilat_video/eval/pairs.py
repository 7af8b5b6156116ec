"""Fixed test pairs with ground truth: the same pairs for every method and every run."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import torch

from ..data.penn_action import PennActionPairs
from ..data.synth import SyntheticPairs
from ..errors import DatasetError, IlatError


def pair_subsets(data: str | os.PathLike, size: int, *, count: int, seeds: Sequence[int] = (0, 1, 2)
                 ) -> dict[int, list[dict]]:
    """Fixed test pairs: {seed: `count` pair samples} (deterministic for the same arguments).

    data: "synthetic" (SyntheticPairs of the test split: identities and backgrounds never used in
    training; each seed its own videos, one pair per video), or a Penn Action layout folder (its
    test split; pairs spread over the videos round-robin, frames and crops picked by the seed).
    """
    if count < 1:
        raise IlatError(f"--pairs must be at least 1, got {count}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise IlatError(f"seeds must be distinct and at least one, got {list(seeds)}")
    out = {}
    if str(data) == "synthetic":
        for seed in seeds:
            stream = SyntheticPairs(size, split="test", seed=int(seed), max_videos=count)
            out[int(seed)] = list(stream)
        return out
    root = Path(data)
    if not root.is_dir():
        raise DatasetError(f"{root}: --data must be 'synthetic' or a dataset folder in the Penn Action layout")
    for seed in seeds:
        probe = PennActionPairs(root, size, split="test", seed=int(seed))
        videos = len(probe.videos)
        if videos == 0:
            raise DatasetError(f"{root}: no test-split videos (labels with train = -1)")
        per_video = -(-count // videos)
        dataset = PennActionPairs(root, size, split="test", seed=int(seed), pairs_per_video=per_video)
        # Item k of video v is index v * per_video + k: go round the videos first.
        indices = [(i % videos) * per_video + i // videos for i in range(count)]
        out[int(seed)] = [dataset[i] for i in indices]
    return out


def resolve_subsets(pairs, seeds, count, size) -> dict[int, list[dict]]:
    if isinstance(pairs, Mapping):
        subsets = {int(k): list(v) for k, v in pairs.items()}
        if seeds is not None:
            missing = [s for s in seeds if int(s) not in subsets]
            if missing:
                raise IlatError(f"no pairs for seeds {missing}")
            subsets = {int(s): subsets[int(s)] for s in seeds}
        return subsets
    seeds = tuple(seeds) if seeds is not None else (0, 1, 2)
    if isinstance(pairs, (str, os.PathLike)):
        if size is None:
            raise IlatError("pairs from a data source need a model to know the image size")
        return pair_subsets(pairs, size, count=count, seeds=seeds)
    pairs = list(pairs)
    return {int(s): pairs for s in seeds}


def stack_pairs(pairs: Sequence[dict], device) -> dict[str, torch.Tensor]:
    keys = ("reference", "target", "reference_pose", "target_pose", "region")
    return {k: torch.stack([torch.as_tensor(p[k]) for p in pairs]).to(device) for k in keys}
