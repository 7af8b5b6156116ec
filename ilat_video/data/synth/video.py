"""One synthetic clip: an identity, a motion, a background and a placement, rendered frame by frame.

`SynthVideo.render` gives a frame; `SynthVideo.render_layers` gives the same frame with its exact
training targets beside it (`FrameLayers`): the person mask, the body part labels (ids in
`draw.PART_NAMES`) and the background without the person. The frame equals the background
exactly wherever the mask is False, with or without supersampling: the mask holds every pixel
any part of the person covers, antialiased edge pixels included.

Randomness: each video's generator is seeded from (seed, split, video index) through
`np.random.SeedSequence`, so the output is deterministic per seed and the train and test splits
draw identities and backgrounds from disjoint streams.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from ...pose import skeleton as sk
from .backgrounds import random_background
from .body import Placement, body_points, fit_placement, project, reach
from .draw import PART_NAMES, draw_parts, draw_person
from .identity import Identity, random_identity
from .motion import Motion, random_motion

SPLITS = {"train": 1, "test": 2}

# Key roots of the seed streams: one per use, so that no two uses can share a stream.
STREAM_FILE = 0  # videos written to disk: (seed, split, STREAM_FILE, index)
STREAM_LIVE = 1  # SyntheticPairs: (seed, split, STREAM_LIVE, rank, worker, counter)
STREAM_PAIRS = 2  # pair choice and crop jitter of a live video: (seed, split, STREAM_PAIRS, rank, worker, counter)


def video_rng(seed: int, split: str, *key: int) -> np.random.Generator:
    """The generator of one video: a stream keyed by (seed, split, *key)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS[split], *map(int, key)]))


@dataclass(frozen=True)
class FrameLayers:
    """One rendered frame with its exact training targets, all (S, S) at the frame's size S.

    frame: uint8 (S, S, 3), the same as `SynthVideo.render` with the same supersampling.
    mask: bool (S, S), True where the person covers the pixel (any of its k x k samples when
        supersampled k x); equal to parts > 0.
    parts: uint8 (S, S), the body part id of each pixel (`draw.PART_NAMES`, 0 = background): the
        part that covers most of the pixel's samples (ties: the lower id).
    background: uint8 (S, S, 3), the clip's static background: the frame without the person.
        The frame equals it exactly wherever mask is False.
    """

    frame: np.ndarray
    mask: np.ndarray
    parts: np.ndarray
    background: np.ndarray


@dataclass
class SynthVideo:
    """One synthetic clip, ready to render frame by frame.

    poses: float32 (T, 13, 3) ground-truth joints in pixels of the size x size frame (all
    visible, confidence 1). bboxes: float32 (T, 4) x0, y0, x1, y1 of the drawn person.
    """

    identity: Identity
    motion: Motion
    background: np.ndarray
    size: int
    placement: Placement
    points: np.ndarray  # (T, K, 3) projected: pixels and depth
    poses: np.ndarray
    bboxes: np.ndarray
    background_seed: int = 0

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def action(self) -> str:
        return self.motion.action

    @property
    def view(self) -> str:
        yaw = abs(self.motion.params["yaw"])
        return "front" if yaw < 35 else "side" if yaw > 60 else "front_side"

    def render(self, index: int, *, supersample: int = 1) -> np.ndarray:
        """Frame `index` as uint8 (size, size, 3) RGB.

        supersample: draw at k x the size and downscale with a box filter (smoother edges,
        about k^2 x the drawing cost).
        """
        if supersample > 1:
            big = Image.fromarray(self.background).resize((self.size * supersample,) * 2, Image.Resampling.NEAREST)
            draw_person(big, self.identity, self._points_at(index, supersample), self.placement.scale * supersample)
            return np.asarray(big.reduce(supersample))
        image = Image.fromarray(self.background)
        draw_person(image, self.identity, self.points[index], self.placement.scale)
        return np.asarray(image)

    def render_parts(self, index: int, *, supersample: int = 1) -> np.ndarray:
        """uint8 (size, size): the body part id of each pixel of frame `index` (see `FrameLayers`)."""
        image = Image.new("L", (self.size * supersample,) * 2, 0)
        draw_parts(image, self.identity, self._points_at(index, supersample), self.placement.scale * supersample)
        labels = np.array(image)
        return labels if supersample == 1 else _majority_part(labels, supersample)

    def render_layers(self, index: int, *, supersample: int = 1) -> FrameLayers:
        """Frame `index` with its person mask, part labels and background (see `FrameLayers`)."""
        parts = self.render_parts(index, supersample=supersample)
        return FrameLayers(frame=self.render(index, supersample=supersample), mask=parts > 0, parts=parts,
                           background=self.background)

    def _points_at(self, index: int, supersample: int) -> np.ndarray:
        """(K, 3) points of frame `index` in the pixels of a supersample x larger drawing."""
        if supersample == 1:
            return self.points[index]
        pts = self.points[index].copy()
        pts[:, :2] = (pts[:, :2] + 0.5) * supersample - 0.5
        return pts

    def render_mask(self, index: int) -> np.ndarray:
        """bool (size, size): the person's silhouette in frame `index` (every pixel `render` paints)."""
        return self.render_parts(index) > 0


def _majority_part(labels: np.ndarray, k: int) -> np.ndarray:
    """(k S, k S) part ids -> (S, S): per k x k block, the part covering most samples (0 if none)."""
    size = labels.shape[0] // k
    blocks = labels.reshape(size, k, size, k).transpose(0, 2, 1, 3).reshape(size * size, k * k)
    num_parts = len(PART_NAMES)
    keys = np.arange(size * size)[:, None] * num_parts + blocks
    counts = np.bincount(keys.ravel(), minlength=size * size * num_parts).reshape(size * size, num_parts)
    counts[:, 0] = 0  # a sample of background never outvotes the person
    return counts.argmax(axis=1).astype(np.uint8).reshape(size, size)


def make_video(rng: np.random.Generator, size: int, num_frames: int, *, action: str | None = None,
               background_rng: np.random.Generator | None = None) -> SynthVideo:
    """Draw one clip: identity, motion, background and placement (nothing is rendered yet).

    The background comes from `background_rng` when given (else from `rng`).
    """
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    identity = random_identity(rng)
    motion = random_motion(rng, num_frames, action)
    body = body_points(identity, motion)
    placement = fit_placement(rng, identity, body, size)
    points = project(body, placement)
    background = random_background(background_rng if background_rng is not None else rng, size)
    poses = np.ones((num_frames, sk.NUM_JOINTS, 3), dtype=np.float32)
    poses[..., :2] = points[:, : sk.NUM_JOINTS, :2]
    margin = reach(identity) * placement.scale
    bboxes = np.stack([points[..., 0].min(1) - margin, points[..., 1].min(1) - margin,
                       points[..., 0].max(1) + margin, points[..., 1].max(1) + margin], axis=1)
    bboxes = np.clip(bboxes, 0, size - 1).astype(np.float32)
    return SynthVideo(identity, motion, background, size, placement, points, poses, bboxes)


def file_video(seed: int, split: str, index: int, size: int, num_frames: int, *,
               action: str | None = None) -> SynthVideo:
    """Video number `index` of the on-disk dataset of (seed, split): same arguments, same video."""
    rng = video_rng(seed, split, STREAM_FILE, index)
    background_rng = video_rng(seed, split, STREAM_FILE, index, 1)
    return make_video(rng, size, num_frames, action=action, background_rng=background_rng)


def live_video(seed: int, split: str, rank: int, worker: int, counter: int, size: int, num_frames: int) -> SynthVideo:
    """Video number `counter` of the stream of (seed, split, rank, worker) used by SyntheticPairs."""
    rng = video_rng(seed, split, STREAM_LIVE, rank, worker, counter)
    background_rng = video_rng(seed, split, STREAM_LIVE, rank, worker, counter, 1)
    return make_video(rng, size, num_frames, background_rng=background_rng)


def live_videos(seed: int, split: str, rank: int, stream: int, size: int, num_frames: int,
                max_videos: int | None = None) -> Iterator[tuple[SynthVideo, np.random.Generator]]:
    """(video, its generator in `stream`) for videos 0, 1, ... (at most `max_videos`) of this
    DataLoader worker's live stream of (seed, split, rank): what the streaming datasets draw from."""
    info = torch.utils.data.get_worker_info()
    worker = info.id if info is not None else 0
    counter = 0
    while max_videos is None or counter < max_videos:
        yield (live_video(seed, split, rank, worker, counter, size, num_frames),
               video_rng(seed, split, stream, rank, worker, counter))
        counter += 1
