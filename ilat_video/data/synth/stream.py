"""SyntheticPairs: an endless stream of pair samples from freshly rendered synthetic videos."""
from __future__ import annotations

import torch

from ...crop import person_box, square_crop_box
from ..pairs import make_pair_sample, sample_pair_indices
from .video import SPLITS, STREAM_PAIRS, live_videos


class SyntheticPairs(torch.utils.data.IterableDataset):
    """An endless stream of pair samples (see `pairs.py`) from freshly rendered synthetic videos.

    Every video is new: its generator is keyed by (seed, split, rank, DataLoader worker, counter),
    so ranks and workers never repeat each other and no clip comes twice. Videos are rendered at
    render_scale x size and cropped to size by the same code as the other datasets (the square
    around the person over the whole clip), which also antialiases them.

    size: output side S. split: "train" or "test" (disjoint identity and background streams).
    frames_per_video: clip length T the pair is drawn from. pairs_per_video: samples per clip.
    max_videos: stop after that many videos per worker (None = endless).
    Sample: {"reference", "target": float32 (3, S, S) in [-1, 1]; "reference_pose", "target_pose":
    float32 (13, 3) in crop pixels; "region": bool (S, S)}.
    """

    def __init__(self, size: int, *, split: str = "train", seed: int = 0, rank: int = 0, world_size: int = 1,
                 frames_per_video: int = 32, pairs_per_video: int = 1, render_scale: int = 2,
                 margin: float = 0.12, scale_jitter: float = 0.08, shift_jitter: float = 0.04,
                 max_videos: int | None = None) -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank {rank} of {world_size}")
        if frames_per_video < 2 or pairs_per_video < 1 or size < 16 or render_scale < 1:
            raise ValueError("need size >= 16, frames_per_video >= 2, pairs_per_video >= 1, render_scale >= 1")
        self.size = int(size)
        self.split = split
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.frames_per_video = int(frames_per_video)
        self.pairs_per_video = int(pairs_per_video)
        self.render_scale = int(render_scale)
        self.margin = float(margin)
        self.scale_jitter = float(scale_jitter)
        self.shift_jitter = float(shift_jitter)
        self.max_videos = max_videos

    def __iter__(self):
        render_size = self.size * self.render_scale
        for video, rng in live_videos(self.seed, self.split, self.rank, STREAM_PAIRS, render_size,
                                      self.frames_per_video, self.max_videos):
            box = square_crop_box(person_box(video.poses, video.bboxes), render_size, render_size,
                                  margin=self.margin, rng=rng, scale_jitter=self.scale_jitter,
                                  shift_jitter=self.shift_jitter)
            for _ in range(self.pairs_per_video):
                i, j = sample_pair_indices(rng, video.num_frames)
                yield make_pair_sample(video.render(i), video.render(j), video.poses[i], video.poses[j], box, self.size)
