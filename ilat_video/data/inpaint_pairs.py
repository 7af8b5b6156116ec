"""InpaintingPairs: training samples for the background plate (`inpaint.py`) from synthetic videos.

The synthetic renderer knows the background behind the person exactly (`FrameLayers`), so an
inpainting sample is a pair in the transformer's usual format:
- reference: the frame WITH the person (the condition, as at inference: the picture to fill);
- target: the background WITHOUT the person (what the hole must become);
- region: a person-shaped hole: the exact person mask grown as `compose.person_hole` grows it (by
  HOLE_GROWTH x the body's height, jittered), sometimes united with the grown mask of another
  frame of the same clip (a wider, two-pose hole);
- target_pose: EMPTY (all joints confidence 0: "draw nobody"); reference_pose: the person's pose
  in half the samples, empty in the other half (callers may or may not know it).
All cut with `inpaint.InpaintCrop` (the square around the hole with context, mirrored past the
frame), as inference cuts them. Sample: {"reference", "target": float32 (3, S, S) in [-1, 1];
"reference_pose", "target_pose": float32 (13, 3) in crop pixels; "region": bool (S, S)}.
"""
from __future__ import annotations

import numpy as np
import torch

from ..compose import HOLE_GROWTH, person_hole
from ..crop import image_to_tensor
from ..inpaint import CONTEXT, InpaintCrop, empty_pose
from .synth.video import SPLITS, live_videos

STREAM_INPAINT = 7  # this dataset's own stream of crop/hole choices (video.py's streams are 0-2)


def body_height(pose: np.ndarray) -> float:
    """The person's height in pixels from a (13, 3) pose: head to lowest ankle, + 15% (the crown
    above the head joint and the feet below the ankles)."""
    visible = pose[:, 2] > 0
    ys = pose[visible, 1] if visible.any() else pose[:, 1]
    return float(ys.max() - ys.min()) * 1.15


class InpaintingPairs(torch.utils.data.IterableDataset):
    """An endless stream of inpainting samples (module docstring) from freshly rendered videos.

    size: model side S. split: "train" or "test". render_scale: videos are drawn at
    render_scale x S (the crop antialiases them down). growth_jitter: the hole's growth is
    HOLE_GROWTH x U(1 - j, 1 + j). union_share: samples whose hole also covers another frame's
    person. pose_share: samples that carry the person's pose. context: range of the crop's
    context around the hole.
    """

    def __init__(self, size: int, *, split: str = "train", seed: int = 0, rank: int = 0, frames_per_video: int = 16,
                 samples_per_video: int = 2, render_scale: int = 2, growth_jitter: float = 0.5,
                 union_share: float = 0.3, pose_share: float = 0.5,
                 context: tuple[float, float] = (0.6 * CONTEXT, 1.6 * CONTEXT), max_videos: int | None = None):
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.size, self.split, self.seed, self.rank = int(size), split, int(seed), int(rank)
        self.frames_per_video, self.samples_per_video = int(frames_per_video), int(samples_per_video)
        self.render_scale, self.growth_jitter = int(render_scale), float(growth_jitter)
        self.union_share, self.pose_share, self.context = float(union_share), float(pose_share), context
        self.max_videos = max_videos

    def __iter__(self):
        for video, rng in live_videos(self.seed, self.split, self.rank, STREAM_INPAINT, self.size * self.render_scale,
                                      self.frames_per_video, self.max_videos):
            for _ in range(self.samples_per_video):
                yield self.sample(video, rng)

    def sample(self, video, rng: np.random.Generator) -> dict:
        """One sample from one video (see the module docstring)."""
        i = int(rng.integers(video.num_frames))
        layers = video.render_layers(i)
        growth = HOLE_GROWTH * rng.uniform(1 - self.growth_jitter, 1 + self.growth_jitter)
        hole = person_hole(layers.mask.astype(np.float32), body_height(video.poses[i]), growth)
        if rng.random() < self.union_share:
            j = int(rng.integers(video.num_frames))
            hole |= person_hole(video.render_mask(j).astype(np.float32), body_height(video.poses[j]), growth)
        crop = InpaintCrop.around(hole, self.size, context=float(rng.uniform(*self.context)))
        pose = crop.pose(video.poses[i]) if rng.random() < self.pose_share else empty_pose()
        return {
            "reference": image_to_tensor(crop.image(layers.frame)),
            "target": image_to_tensor(crop.image(layers.background)),
            "reference_pose": torch.from_numpy(pose.astype(np.float32)),
            "target_pose": torch.from_numpy(empty_pose()),
            "region": torch.from_numpy(crop.region(hole)),
        }
