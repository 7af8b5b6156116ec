"""The main person's poses in every frame of a video (extract_poses, extract_poses_report).

The landmarker runs in VIDEO mode; the first frame decides how many people it looks for, the
tracker (tracking.py) follows the main one, short gaps are interpolated and the joints smoothed
(filters.py). The whole story: the docstring of ilat_video/pose/extract.py.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..errors import NoPersonError, VideoError
from ..video import open_video, prefetch
from . import filters
from .landmarker import Landmarker, find_pose_model
from .mapping import DEFAULT_HEAD, HEAD_CHOICES, landmarks_to_joints
from .sequence import PoseSequence
from .skeleton import NUM_JOINTS
from .tracking import MainPersonTracker

logger = logging.getLogger(__name__)

DEFAULT_MAX_GAP = 3  # frames with no person that are filled in by interpolation
# People the landmarker looks for in each frame when several are in view at the start (so the
# main one can be chosen and kept). With one person in view, 1: VIDEO mode then tracks that person
# from frame to frame without running the detector, about 1.4x faster (benchmarks/results/extract.md).
MULTI_PERSON_NUM_POSES = 2
PROBE_NUM_POSES = 4  # people looked for in the first frame to decide
# Frames without the tracked person after which the largest person is taken afresh.
REACQUIRE_SECONDS = 1.0

ProgressCallback = Callable[[int, "int | None"], None]


@dataclass
class ExtractionResult:
    """What extract_poses_report found.

    poses: the PoseSequence (T, 13, 3) in the source's pixels.
    no_person_frames: indices of frames left with no person (nobody found, gap too long to fill).
    interpolated_frames: indices of frames where nobody was found and the pose was interpolated
        from the neighbours (confidence lowered, see filters.GAP_CONFIDENCE).
    seconds: wall time of the whole extraction (decoding included).
    """

    poses: PoseSequence
    no_person_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    interpolated_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    seconds: float = 0.0

    @property
    def num_frames(self) -> int:
        return len(self.poses)

    @property
    def frames_per_second(self) -> float:
        """Processing speed (frames / wall second)."""
        return self.num_frames / self.seconds if self.seconds > 0 else float("inf")


def extract_poses(video_or_frames, *, model_path: str | os.PathLike | None = None,
                  fps: float | None = None, smooth: bool = True,
                  min_cutoff: float = filters.DEFAULT_MIN_CUTOFF, beta: float = filters.DEFAULT_BETA,
                  max_gap: int = DEFAULT_MAX_GAP, num_poses: int | None = None,
                  max_side: int | None = None, head: str = DEFAULT_HEAD,
                  progress: ProgressCallback | None = None) -> PoseSequence:
    """The main person's 13 joints in every frame of a video: PoseSequence (T, 13, 3).

    See extract_poses_report for the arguments; this returns only its `poses`.
    """
    return extract_poses_report(
        video_or_frames, model_path=model_path, fps=fps, smooth=smooth, min_cutoff=min_cutoff,
        beta=beta, max_gap=max_gap, num_poses=num_poses, max_side=max_side, head=head,
        progress=progress,
    ).poses


def extract_poses_report(video_or_frames, *, model_path: str | os.PathLike | None = None,
                         fps: float | None = None, smooth: bool = True,
                         min_cutoff: float = filters.DEFAULT_MIN_CUTOFF,
                         beta: float = filters.DEFAULT_BETA, max_gap: int = DEFAULT_MAX_GAP,
                         num_poses: int | None = None, max_side: int | None = None,
                         head: str = DEFAULT_HEAD,
                         progress: ProgressCallback | None = None) -> ExtractionResult:
    """Extract the main person's poses from a video file or a sequence of frames.

    video_or_frames: a video path, a uint8 array (T, H, W, 3) RGB, or an iterable of uint8
        (H, W, 3) RGB frames (all the same size; consumed one at a time).
    model_path: the .task model (default: see find_pose_model).
    fps: frame rate of raw frames (default 30); a video's own rate is used for files.
    smooth: One-Euro filter the joint positions (min_cutoff in Hz, beta; see filters).
    max_gap: runs of at most this many frames with nobody found, between two frames with the
        person, are interpolated (and reported); 0 turns this off.
    num_poses: how many people the landmarker looks for per frame. None (default): decided on
        the first frame: 1 when at most one person is found there (fastest; the landmarker then
        tracks that person), else MULTI_PERSON_NUM_POSES so that the largest can be chosen and
        followed. 1 forces the fast path (whoever the detector finds first is followed).
    max_side: if given, frames are scaled so their larger side is at most this before the
        landmarker (faster decoding and conversion); coordinates are mapped back to full size.
    head: which face points make joint 0 (see landmarks_to_joints).
    progress: called as progress(frames_done, total_or_None) after each frame.

    Raises VideoError for unreadable input, ModelFileError for the model, NoPersonError when no
    frame has a person. Frames with no person are logged and stay empty in the result.
    """
    _check_options(max_gap, num_poses, head)
    model = find_pose_model(model_path)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        frames, info = _open_source(video_or_frames, fps, max_side, stack)
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            raise VideoError(f"{info.name}: no frames to extract poses from")
        if num_poses is None:
            num_poses = _people_at_start(model, first)
        landmarker = stack.enter_context(Landmarker(model, video=True, num_poses=num_poses))
        tracker = MainPersonTracker(reacquire_after=round(REACQUIRE_SECONDS * info.fps))
        keypoints = _follow_main_person(_chain_one(first, frames), info, landmarker, tracker, head,
                                        progress)
    poses = PoseSequence(keypoints, info.full_width, info.full_height, info.fps, source=info.name)
    found = poses.has_person
    if not found.any():
        raise NoPersonError(f"{info.name}: no person found in any of its {len(poses)} frames")
    if tracker.switches:
        logger.warning("%s: lost the main person for over %.1f s %d time(s) and took the largest "
                       "person in view afterwards; check that it is still the same person",
                       info.name, REACQUIRE_SECONDS, tracker.switches)
    poses, interpolated = filters.fill_gaps(poses, max_gap)
    if smooth:
        poses = filters.smooth_poses(poses, min_cutoff=min_cutoff, beta=beta)
    missing = np.flatnonzero(~poses.has_person)
    if len(missing):
        logger.warning("%s: no person in %d of %d frames: %s", info.name, len(missing), len(poses),
                       filters._ranges(missing))
    seconds = time.perf_counter() - start
    logger.info("%s: extracted %d frames in %.1f s (%.1f frames/s)", info.name, len(poses), seconds,
                len(poses) / seconds)
    return ExtractionResult(poses, missing, np.flatnonzero(interpolated), seconds)


def _check_options(max_gap: int, num_poses: int | None, head: str) -> None:
    """ValueError for an option out of range, before the model is loaded."""
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    if num_poses is not None and num_poses < 1:
        raise ValueError(f"num_poses must be >= 1, got {num_poses}")
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {sorted(HEAD_CHOICES)}, got {head!r}")


def _follow_main_person(frames: Iterable[np.ndarray], info: _SourceInfo, landmarker: Landmarker,
                        tracker: MainPersonTracker, head: str,
                        progress: ProgressCallback | None) -> np.ndarray:
    """float32 (T, 13, 3): the tracked person's joints in each frame, in the source's pixels
    (all zero where they were not found)."""
    rows: list[np.ndarray] = []
    last_ms = -1
    for index, frame in enumerate(frames):
        timestamp = max(int(round(index * 1000.0 / info.fps)), last_ms + 1)
        last_ms = timestamp
        people = landmarker.detect(frame, timestamp)
        candidates = [landmarks_to_joints(p, head) for p in people]
        chosen = tracker.choose(candidates)
        if chosen is None:
            rows.append(np.zeros((NUM_JOINTS, 3), np.float32))
        else:
            joints = chosen.copy()
            if info.scale != 1.0:
                joints[:, :2] /= info.scale
            rows.append(joints)
        if progress is not None:
            progress(index + 1, info.total)
    return np.stack(rows)


def _people_at_start(model: Path, frame: np.ndarray) -> int:
    """num_poses for a video: 1 if at most one person is in its first frame, else several."""
    with Landmarker(model, video=False, num_poses=PROBE_NUM_POSES) as probe:
        found = len(probe.detect(frame))
    num_poses = 1 if found <= 1 else MULTI_PERSON_NUM_POSES
    logger.info("%d person(s) in the first frame: looking for %d per frame", found, num_poses)
    return num_poses


def _chain_one(first, rest):
    yield first
    yield from rest


@dataclass
class _SourceInfo:
    name: str
    fps: float
    total: int | None
    full_width: int | None = None
    full_height: int | None = None
    scale: float = 1.0  # landmarker pixels per source pixel


def _open_source(source, fps: float | None, max_side: int | None,
                 stack: contextlib.ExitStack) -> tuple[Iterator[np.ndarray], _SourceInfo]:
    if max_side is not None and max_side < 16:
        raise ValueError(f"max_side must be >= 16, got {max_side}")
    if isinstance(source, (str, os.PathLike)):
        video = stack.enter_context(open_video(source))
        info = _SourceInfo(str(source), video.fps, video.num_frames, video.width, video.height)
        size = None
        if max_side is not None and max(video.width, video.height) > max_side:
            info.scale = max_side / max(video.width, video.height)
            size = (max(2, round(video.width * info.scale)), max(2, round(video.height * info.scale)))
        frames = prefetch(video.frames(size=size), depth=4)
        stack.callback(frames.close)
        return frames, info
    if fps is None:
        fps = 30.0
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if isinstance(source, np.ndarray):
        if source.ndim != 4:
            raise VideoError(f"<frames>: expected a (T, H, W, 3) uint8 array, got shape {source.shape}")
        total = len(source)
    else:
        total = len(source) if hasattr(source, "__len__") else None
    info = _SourceInfo("<frames>", float(fps), total)
    return _checked_frames(source, info, max_side), info


def _checked_frames(frames: Iterable[np.ndarray], info: _SourceInfo,
                    max_side: int | None) -> Iterator[np.ndarray]:
    from PIL import Image

    for index, frame in enumerate(frames):
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(f"{info.name}: frame {index}: expected uint8 (H, W, 3) RGB, "
                             f"got {frame.dtype} {tuple(frame.shape)}")
        h, w = frame.shape[:2]
        if index == 0:
            info.full_width, info.full_height = w, h
            if max_side is not None and max(w, h) > max_side:
                info.scale = max_side / max(w, h)
        elif (w, h) != (info.full_width, info.full_height):
            raise VideoError(f"{info.name}: frame {index}: size {w}x{h} differs from the first "
                             f"frame's {info.full_width}x{info.full_height}")
        if info.scale != 1.0:
            size = (max(2, round(w * info.scale)), max(2, round(h * info.scale)))
            frame = np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR, reducing_gap=2.0))
        yield np.ascontiguousarray(frame)
