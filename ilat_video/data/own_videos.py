"""Your own footage as pair samples: a folder of videos, poses extracted once and cached.

For every video `clip.mp4` the poses are extracted with `ilat_video.pose.extract.extract_poses`
and saved beside it as `clip.mp4.poses.json` (our pose JSON, `ilat_video.pose.formats`), with a
small key file `clip.mp4.poses-key.json` recording the video's byte size, modification time and
SHA-256 and the extraction settings. A later run reuses the poses when the size matches and the
modification time or (if only the time changed, e.g. after a copy) the hash matches, and the
settings are the same; otherwise it extracts again. Pairing and cropping are those of every
dataset (`ilat_video.data.pairs`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..crop import person_box, square_crop_box
from ..errors import DatasetError, IlatError
from ..fileio import atomic_output
from ..pose import extract, formats
from ..video import read_frames
from .pairs import make_pair_sample, sample_pair_indices

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
SPLITS = ("all", "train", "test")
POSES_SUFFIX = ".poses.json"
KEY_SUFFIX = ".poses-key.json"
KEY_VERSION = 1


def cache_paths(video: Path) -> tuple[Path, Path]:
    """(poses file, key file) beside a video."""
    return video.with_name(video.name + POSES_SUFFIX), video.with_name(video.name + KEY_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(model_path, smooth: bool) -> dict:
    return {"model": None if model_path is None else Path(model_path).name, "smooth": bool(smooth)}


def cached_poses(video: str | os.PathLike, *, model_path=None, smooth: bool = True,
                 progress: Callable[[int, int | None], None] | None = None):
    """The poses of one video: from the cache beside it when still valid, else extracted and cached.

    Returns (PoseSequence (T, 13, 3) in the video's pixels, extracted: bool).
    """
    video = Path(video)
    poses_file, key_file = cache_paths(video)
    stat = video.stat()
    settings = _settings(model_path, smooth)
    key = None
    if poses_file.is_file() and key_file.is_file():
        try:
            key = json.loads(key_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            key = None
    if isinstance(key, dict) and key.get("version") == KEY_VERSION and key.get("size") == stat.st_size \
            and key.get("settings") == settings:
        same = key.get("mtime_ns") == stat.st_mtime_ns
        if not same and key.get("sha256") == _sha256(video):
            same = True  # touched or copied, same bytes: refresh the time in the key
            key["mtime_ns"] = stat.st_mtime_ns
            with atomic_output(key_file) as tmp:
                tmp.write_text(json.dumps(key), encoding="utf-8")
        if same:
            try:
                poses = formats.load_poses(poses_file)
                log.debug("%s: poses from the cache %s", video, poses_file)
                return poses, False
            except IlatError as exc:  # a damaged cache is extracted again, not fatal
                log.warning("%s: ignoring the pose cache (%s)", video, exc)
    log.info("%s: extracting poses", video)
    poses = extract.extract_poses(video, model_path=model_path, smooth=smooth, progress=progress)
    # Write the poses first and the key last: a key never vouches for poses it did not see.
    key_file.unlink(missing_ok=True)
    formats.save_poses(poses, poses_file)
    key = {"version": KEY_VERSION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(video),
           "settings": settings}
    with atomic_output(key_file) as tmp:
        tmp.write_text(json.dumps(key), encoding="utf-8")
    return poses, True


def _name_hash(path: Path) -> float:
    """A number in [0, 1) fixed by the file name alone."""
    return int(hashlib.sha1(path.name.encode("utf-8")).hexdigest()[:12], 16) / float(1 << 48)


def split_videos(paths: list[Path], split: str, test_fraction: float = 0.1) -> list[Path]:
    """The videos of one split, chosen by file name, so a video keeps its split when it is
    re-encoded or touched and when other videos are added.

    A video is in the test split when the hash of its name (a number in [0, 1)) is below
    test_fraction. If that leaves the test split empty and there are at least 2 videos, the one
    with the smallest hash is the test split (this one case can change as videos are added).
    A single video is in the train split.
    """
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "all":
        return list(paths)
    test = {p for p in paths if _name_hash(p) < test_fraction}
    if not test and len(paths) >= 2:
        test = {min(paths, key=_name_hash)}
    return [p for p in paths if (p in test) == (split == "test")]


@dataclass
class OwnVideo:
    """One video of the folder and its poses, float32 (T, 13, 3) in the video's pixels."""

    path: Path
    poses: np.ndarray
    width: int
    height: int
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])


def read_frame_pair(path: Path, i: int, j: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames i and j of a video (decoding from the start up to the later one)."""
    wanted = {i, j}
    found = {}
    last = max(wanted)
    count = 0
    for index, frame in enumerate(read_frames(path, max_frames=last + 1)):
        if index in wanted:
            found[index] = frame
        count = index + 1
    if len(found) < len(wanted):
        raise DatasetError(f"{path}: the video has {count} frames but its poses ({path.name}{POSES_SUFFIX}) have "
                           f"{num_frames}; frame {last} is missing (delete the pose cache to extract again)")
    return found[i], found[j]


class VideoFolderPairs(torch.utils.data.Dataset):
    """(reference, target) frame pairs from a folder of your own videos.

    root: a folder of videos (VIDEO_SUFFIXES, not searched recursively). split: "all", or
    "train" / "test" by file name (`split_videos`: about test_fraction of the videos, at least
    one, are the test split; a folder of one video has no test split). Poses come from
    `cached_poses` (extracted on first use, with `model_path` and `smooth`). Videos in which no
    frame has a person are skipped with a warning. size, seed, pairs_per_video, min_gap,
    scale_jitter, shift_jitter, flip, set_epoch: as PennActionPairs. The crop is the square
    around the person's joints over the whole clip widened by `margin` on each side (joints do
    not reach the top of the head, the hands or the feet, hence a wider margin than Penn's
    boxes need). progress(done_videos, total_videos) is called while poses are prepared.
    Sample: see `ilat_video.data.pairs`.
    """

    def __init__(self, root: str | os.PathLike, size: int, *, split: str = "all", test_fraction: float = 0.1,
                 seed: int = 0, pairs_per_video: int = 1,
                 min_gap: int = 1, margin: float = 0.2, scale_jitter: float = 0.0, shift_jitter: float = 0.0,
                 flip: float = 0.0, model_path: str | os.PathLike | None = None, smooth: bool = True,
                 progress: Callable[[int, int], None] | None = None) -> None:
        if size < 8 or pairs_per_video < 1:
            raise ValueError("size must be >= 8 and pairs_per_video >= 1")
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: no such folder of videos")
        paths = sorted(p for p in root.iterdir()
                       if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."))
        if not paths:
            raise DatasetError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)}) in this folder")
        total = len(paths)
        paths = split_videos(paths, split, test_fraction)
        if not paths:
            raise DatasetError(f"{root}: no videos in the {split} split ({total} video{'s' if total != 1 else ''} "
                               "in the folder; the test split needs at least 2)")
        self.videos: list[OwnVideo] = []
        self.person_boxes = []
        self.extracted = 0  # how many videos needed extraction this time (the rest came from the cache)
        for done, path in enumerate(paths):
            poses, extracted = cached_poses(path, model_path=model_path, smooth=smooth)
            self.extracted += int(extracted)
            box = person_box(poses.keypoints)
            if box is None:
                log.warning("%s: no person found in any frame; skipped", path)
            else:
                self.videos.append(OwnVideo(path, poses.keypoints, poses.width, poses.height, poses.fps))
                self.person_boxes.append(box)
            if progress is not None:
                progress(done + 1, len(paths))
        if not self.videos:
            raise DatasetError(f"{root}: no person was found in any of its {len(paths)} videos")
        self.root = root
        self.split = split
        self.size = int(size)
        self.seed = int(seed)
        self.epoch = 0
        self.pairs_per_video = int(pairs_per_video)
        self.min_gap = int(min_gap)
        self.margin = float(margin)
        self.scale_jitter = float(scale_jitter)
        self.shift_jitter = float(shift_jitter)
        self.flip = float(flip)

    def __len__(self) -> int:
        return len(self.videos) * self.pairs_per_video

    def set_epoch(self, epoch: int) -> None:
        """Choose the pairs of another epoch."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        video_index = index // self.pairs_per_video
        video = self.videos[video_index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        usable = (video.poses[..., 2] > 0).any(axis=1)
        i, j = sample_pair_indices(rng, video.num_frames, usable=usable, min_gap=self.min_gap)
        box = square_crop_box(self.person_boxes[video_index], video.width, video.height, margin=self.margin,
                              rng=rng, scale_jitter=self.scale_jitter, shift_jitter=self.shift_jitter)
        flip = self.flip > 0 and rng.uniform() < self.flip
        reference, target = read_frame_pair(video.path, i, j, video.num_frames)
        for frame, k in ((reference, i), (target, j)):
            if frame.shape[:2] != (video.height, video.width):
                raise DatasetError(f"{video.path}: frame {k} is {frame.shape[1]}x{frame.shape[0]} but its poses are "
                                   f"for {video.width}x{video.height} (delete the pose cache to extract again)")
        return make_pair_sample(reference, target, video.poses[i], video.poses[j], box, self.size, flip=flip)
