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
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..errors import NoPersonError, VideoError
from ..video import every, open_video, prefetch
from . import filters
from .landmarker import Landmarker, find_pose_model
from .mapping import DEFAULT_HEAD, EXTRA_NAMES, HEAD_CHOICES, landmarks_to_extras, landmarks_to_joints
from .refine import CROP_MARGIN, REFINE_SIZE, CropBox, distinct, search_tiles
from .sequence import PoseSequence
from .skeleton import NUM_JOINTS
from .tracking import MATCH_GATE, MainPersonTracker, PersonChoice, pose_distance

logger = logging.getLogger(__name__)

DEFAULT_MAX_GAP = 3  # frames with no person that are filled in by interpolation
# People the landmarker looks for in each frame when several are in view at the start (so the
# main one can be chosen and kept). With one person in view, 1: VIDEO mode then tracks that person
# from frame to frame without running the detector, about 1.4x faster (benchmarks/results/extract.md).
MULTI_PERSON_NUM_POSES = 2
PROBE_NUM_POSES = 4  # people looked for in the first frame to decide
# Frames without the tracked person after which the chosen person (by --person) is taken afresh.
REACQUIRE_SECONDS = 1.0
# While nobody is found in the whole frame, the tile search for small people runs at most this
# often (it costs several landmarker runs). taichi_forest.mp4 (300 frames): person found in 255
# frames at 0.5 s, 271 at 0.2 s, for 7% more time.
SEARCH_SECONDS = 0.2
# Space around the person in the crop that follows them (refine.CropBox.around). On
# taichi_forest.mp4 (340x256, a small person) it finds them in 255 of 300 frames at 0.25, 210 at
# 0.5 and 0.75 (and 0 without crops).
FOLLOW_MARGIN = CROP_MARGIN
# While a crop around the person would be at least this share of the frame's shorter side (the
# person about 2/3 of it or more), the landmarker runs on the whole frame instead (until the crop
# would be under WHOLE_FRAME_KEEP x that): a crop gains nothing there, and moving it to follow
# the person disturbs the landmarker's own tracking (benchmarks/results/extract.md).
WHOLE_FRAME_SHARE = 0.8
WHOLE_FRAME_KEEP = 0.85
# When the person is found after frames without them (the video's start included), they are
# followed back through at most this many seconds of those frames (kept in memory meanwhile).
BACKFILL_SECONDS = 1.0

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
                  min_cutoff: float | None = None, beta: float | None = None,
                  max_gap: int = DEFAULT_MAX_GAP, num_poses: int | None = None,
                  max_side: int | None = None, head: str = DEFAULT_HEAD, refine: bool = True,
                  person: PersonChoice | str | None = None, max_frames: int | None = None, stride: int = 1,
                  progress: ProgressCallback | None = None) -> PoseSequence:
    """The main person's 13 joints in every frame of a video: PoseSequence (T, 13, 3).

    See extract_poses_report for the arguments; this returns only its `poses`.
    """
    return extract_poses_report(
        video_or_frames, model_path=model_path, fps=fps, smooth=smooth, min_cutoff=min_cutoff,
        beta=beta, max_gap=max_gap, num_poses=num_poses, max_side=max_side, head=head, refine=refine,
        person=person, max_frames=max_frames, stride=stride, progress=progress,
    ).poses


def extract_poses_report(video_or_frames, *, model_path: str | os.PathLike | None = None,
                         fps: float | None = None, smooth: bool = True,
                         min_cutoff: float | None = None,
                         beta: float | None = None, max_gap: int = DEFAULT_MAX_GAP,
                         num_poses: int | None = None, max_side: int | None = None,
                         head: str = DEFAULT_HEAD, refine: bool = True,
                         person: PersonChoice | str | None = None, max_frames: int | None = None,
                         stride: int = 1, progress: ProgressCallback | None = None) -> ExtractionResult:
    """Extract the main person's poses from a video file or a sequence of frames.

    video_or_frames: a video path, a uint8 array (T, H, W, 3) RGB, or an iterable of uint8
        (H, W, 3) RGB frames (all the same size; consumed one at a time).
    model_path: the .task model (default: see find_pose_model).
    fps: frame rate of raw frames (default 30); a video's own rate is used for files.
    smooth: smooth the joint positions over time (`filters.smooth_poses`): the two-sided
        smoother (a constant-velocity Kalman smoother per joint, over the whole sequence forwards
        and back) by default; min_cutoff (Hz) or beta given: the One-Euro filter with them (the
        other at its default).
    max_gap: runs of at most this many frames with nobody found, between two frames with the
        person, are interpolated (and reported); 0 turns this off.
    refine: crop and refine (refine.py): the landmarker runs on a square crop around the person,
        which follows them from frame to frame (on the whole frame while they fill it,
        WHOLE_FRAME_SHARE); the whole frame is searched (and, when it shows nobody, overlapping
        tiles of it) only when they are lost, and once found again they are followed back through
        the frames missed (BACKFILL_SECONDS). Finds and places people who are small in the frame
        (benchmarks/results/extract.md). False: the landmarker on whole frames.
    person: who to follow when several people are in view (PersonChoice or its text:
        "largest" (default), "left", "right", "N" (the N-th from the left), "X,Y" (nearest to that
        pixel of the source)); the choice among several is logged as a warning.
    num_poses: refine=False only: how many people the landmarker looks for per frame. None
        (default): decided on the first frame: 1 when at most one person is found there (fastest;
        the landmarker then tracks that person), else MULTI_PERSON_NUM_POSES so that the chosen
        one can be followed. 1 forces the fast path (whoever the detector finds first is followed).
    max_side: if given, frames are scaled so their larger side is at most this before the
        landmarker (faster decoding and conversion); coordinates are mapped back to full size.
    head: which face points make joint 0 (see landmarks_to_joints).
    max_frames, stride: use every stride-th frame (the result's fps is divided by stride), at
        most max_frames of them.
    progress: called as progress(frames_done, total_or_None) after each frame.

    Raises VideoError for unreadable input, ModelFileError for the model, NoPersonError when no
    frame has a person (or the chosen one is not there). Frames with no person are logged and stay
    empty in the result.
    """
    _check_options(max_gap, num_poses, head, max_frames, stride)
    choice = PersonChoice.parse(person)
    model = find_pose_model(model_path)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        frames, info = _open_source(video_or_frames, fps, max_side, stack)
        frames = _taken(frames, info, max_frames, stride)
        first = next(frames, None)
        if first is None:
            raise VideoError(f"{info.name}: no frames to extract poses from")
        # a point given by the user is in the source's pixels, the landmarks in the frames'
        choice.check_inside(info.name, _picture_size(info, first, scaled=False))
        tracker = MainPersonTracker(reacquire_after=round(REACQUIRE_SECONDS * info.fps),
                                    choice=choice.scaled(info.scale), name=info.name)
        if refine:
            follower = _CropFollower(model, info, tracker, head, stack)
            landmarks = _follow(_chain_one(first, frames), info, follower.step, progress, follower.recovered)
        else:
            if num_poses is None:
                num_poses = _people_at_start(model, first)
            landmarker = stack.enter_context(Landmarker(model, video=True, num_poses=num_poses))
            landmarks = _follow(_chain_one(first, frames), info,
                                lambda frame, ts: _whole_frame_step(landmarker, tracker, head, frame, ts), progress)
    # the 13 joints and the 10 hand and foot points (mapping.EXTRA_NAMES) of every frame; all
    # zero (confidence 0) where nobody was found
    keypoints = np.zeros((len(landmarks), NUM_JOINTS, 3), np.float32)
    extras = np.zeros((len(landmarks), len(EXTRA_NAMES), 3), np.float32)
    found_rows = [i for i, row in enumerate(landmarks) if row is not None]
    if found_rows:
        found_landmarks = np.stack([landmarks[i] for i in found_rows])
        keypoints[found_rows] = landmarks_to_joints(found_landmarks, head)
        extras[found_rows] = landmarks_to_extras(found_landmarks)
    poses = PoseSequence(keypoints, info.full_width, info.full_height, info.fps, source=info.name, extras=extras)
    found = poses.has_person
    if not found.any():
        raise NoPersonError(f"{info.name}: no person found in any of its {len(poses)} frames")
    if tracker.switches:
        logger.warning("%s: lost the person followed for over %.1f s %d time(s) and took the one in view "
                       "by the same rule (%s) afterwards; check that it is still the same person",
                       info.name, REACQUIRE_SECONDS, tracker.switches, choice)
    poses, interpolated = filters.fill_gaps(poses, max_gap)
    if smooth:
        one_euro = min_cutoff is not None or beta is not None
        poses = filters.smooth_poses(
            poses, method="one_euro" if one_euro else "two_sided",
            min_cutoff=filters.DEFAULT_MIN_CUTOFF if min_cutoff is None else min_cutoff,
            beta=filters.DEFAULT_BETA if beta is None else beta)
    missing = np.flatnonzero(~poses.has_person)
    if len(missing):
        logger.warning("%s: no person in %d of %d frames: %s", info.name, len(missing), len(poses),
                       filters._ranges(missing))
    seconds = time.perf_counter() - start
    logger.info("%s: extracted %d frames in %.1f s (%.1f frames/s)", info.name, len(poses), seconds,
                len(poses) / seconds)
    return ExtractionResult(poses, missing, np.flatnonzero(interpolated), seconds)


def _check_options(max_gap: int, num_poses: int | None, head: str, max_frames: int | None = None,
                   stride: int = 1) -> None:
    """ValueError for an option out of range, before the model is loaded."""
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    if num_poses is not None and num_poses < 1:
        raise ValueError(f"num_poses must be >= 1, got {num_poses}")
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {sorted(HEAD_CHOICES)}, got {head!r}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")


def _taken(frames: Iterable[np.ndarray], info: _SourceInfo, max_frames: int | None,
           stride: int) -> Iterator[np.ndarray]:
    """Every stride-th frame, at most max_frames; info's fps and total follow."""
    if stride > 1:
        info.fps /= stride
    if info.total is not None:
        info.total = -(-info.total // stride)
        if max_frames is not None:
            info.total = min(info.total, max_frames)
    yield from every(frames, stride, max_frames)


def _picture_size(info: _SourceInfo, first: np.ndarray, scaled: bool) -> tuple[int, int]:
    """(width, height) of the source, or of its frames as the landmarker sees them (scaled)."""
    if scaled or info.full_width is None:
        return first.shape[1], first.shape[0]
    return info.full_width, info.full_height


StepFunction = Callable[[np.ndarray, int], "np.ndarray | None"]
Recovered = Callable[[], "list[tuple[int, np.ndarray]]"]


def _follow(frames: Iterable[np.ndarray], info: _SourceInfo, step: StepFunction,
            progress: ProgressCallback | None, recovered: Recovered | None = None) -> list[np.ndarray | None]:
    """The followed person's 33 landmarks (float32 (33, 3), source pixels) in each frame, or None.

    recovered: called after each step; (frame index, landmarks) of earlier frames where the person
    was found only afterwards (followed back from where they were found again) fill those rows.
    """
    rows: list[np.ndarray | None] = []
    last_ms = -1
    for index, frame in enumerate(frames):
        timestamp = max(int(round(index * 1000.0 / info.fps)), last_ms + 1)
        last_ms = timestamp
        rows.append(_in_source_pixels(step(frame, timestamp), info))
        for earlier, landmarks in recovered() if recovered is not None else ():
            if rows[earlier] is None:
                rows[earlier] = _in_source_pixels(landmarks, info)
        if progress is not None:
            progress(index + 1, info.total)
    return rows


def _in_source_pixels(landmarks: np.ndarray | None, info: _SourceInfo) -> np.ndarray | None:
    if landmarks is not None and info.scale != 1.0:
        landmarks = landmarks.copy()
        landmarks[:, :2] /= info.scale
    return landmarks


def _whole_frame_step(landmarker: Landmarker, tracker: MainPersonTracker, head: str, frame: np.ndarray,
                      timestamp: int) -> np.ndarray | None:
    """refine=False: the landmarker (VIDEO mode) on the whole frame, the tracker picks."""
    people = landmarker.detect(frame, timestamp)
    candidates = [landmarks_to_joints(p, head) for p in people]
    chosen = tracker.choose(candidates)
    if chosen is None:
        return None
    return people[next(i for i, c in enumerate(candidates) if c is chosen)]


class _VideoLandmarker:
    """A VIDEO-mode landmarker (one person) with its own clock, made when first used."""

    def __init__(self, model: Path, stack: contextlib.ExitStack, frame_ms: int):
        self.model, self.stack, self.frame_ms = model, stack, max(1, frame_ms)
        self.landmarker: Landmarker | None = None
        self.clock = -1  # the last timestamp given to it (they must increase)
        self.shape = (REFINE_SIZE, REFINE_SIZE, 3)  # the last picture's

    def detect(self, picture: np.ndarray, timestamp: int | None = None) -> np.ndarray | None:
        """The person's landmarks in `picture` (its pixels), or None."""
        if self.landmarker is None:
            self.landmarker = self.stack.enter_context(Landmarker(self.model, video=True, num_poses=1))
        self.clock = max(self.clock + self.frame_ms if timestamp is None else timestamp, self.clock + 1)
        self.shape = picture.shape
        found = self.landmarker.detect(picture, self.clock)
        return found[0] if found else None

    def forget(self) -> None:
        """Drop the person it tracks (a blank picture): the next picture is searched afresh, not
        read where the last one had them."""
        if self.landmarker is not None:
            self.clock += 1000
            self.landmarker.detect(np.zeros(self.shape, np.uint8), self.clock)


class _CropFollower:
    """Crop and refine through a video. The landmarker (VIDEO mode, one person) runs on a square
    crop that follows the person's landmarks from frame to frame, moving a little each frame
    (CropBox.toward) so that its own tracking carries over; while the person fills the frame
    (WHOLE_FRAME_SHARE) it runs on the whole frame instead. When they are lost (nobody, or someone
    too far from the person: the tracker's gate), the whole frame is searched (IMAGE mode, several
    people; tiles when it shows nobody, at most every SEARCH_SECONDS), the tracker picks, and the
    crop starts again from where that person was found; from there they are also followed back
    through the frames just missed (at most BACKFILL_SECONDS, the video's start included)."""

    def __init__(self, model: Path, info: _SourceInfo, tracker: MainPersonTracker, head: str,
                 stack: contextlib.ExitStack):
        frame_ms = int(round(1000 / info.fps))
        self.crops = _VideoLandmarker(model, stack, frame_ms)
        self.whole = _VideoLandmarker(model, stack, frame_ms)  # while the person fills the frame
        self.back = _VideoLandmarker(model, stack, frame_ms)  # following them back through missed frames
        self.finder = stack.enter_context(Landmarker(model, video=False, num_poses=PROBE_NUM_POSES))
        self.tracker = tracker
        self.head = head
        self.box: CropBox | None = None
        self.on_whole = False  # whether the last frame's person came from the whole frame
        self.whole_again_at = 0  # the first frame the whole frame is tried again after it failed
        self.search_every = max(1, round(SEARCH_SECONDS * info.fps))
        self.frames_since_search = self.search_every
        self.index = -1
        self.last: np.ndarray | None = None  # the person's landmarks where last found
        self.seen_in: CropBox | None = None  # the picture the crops' landmarker last found someone in
        self.missed: deque = deque(maxlen=max(0, round(BACKFILL_SECONDS * info.fps)))  # (index, frame)
        self.found_back: list[tuple[int, np.ndarray]] = []

    def recovered(self) -> list[tuple[int, np.ndarray]]:
        """(frame index, landmarks) found by following the person back since the last call."""
        found, self.found_back = self.found_back, []
        return found

    def _track(self, frame: np.ndarray, box: CropBox, timestamp: int | None = None,
               landmarker: _VideoLandmarker | None = None) -> np.ndarray | None:
        found = (landmarker or self.crops).detect(box.cut(frame), timestamp)
        if found is None:
            return None
        if landmarker is None:
            self.seen_in = box
        return box.to_frame(found)

    def _fills_frame(self, landmarks: np.ndarray, frame: np.ndarray) -> bool:
        """Whether a crop around the person would be at least WHOLE_FRAME_SHARE of the frame's
        shorter side (a little less while the whole frame is in use, so that it does not flicker)."""
        share = WHOLE_FRAME_SHARE * (WHOLE_FRAME_KEEP if self.on_whole else 1.0)
        return CropBox.around(landmarks, FOLLOW_MARGIN).side >= share * min(frame.shape[:2])

    def _on_whole_frame(self, frame: np.ndarray, timestamp: int) -> np.ndarray | None:
        """The person from the whole frame's landmarker when it finds them (within the gate)."""
        landmarks = self.whole.detect(frame, timestamp)
        if landmarks is None or not self.tracker.continues(landmarks_to_joints(landmarks, self.head)):
            return None
        if not self.on_whole:
            self.crops.forget()  # when the crop takes over again, it starts afresh
        self.on_whole = True
        self.seen_in = CropBox.whole(frame.shape[1], frame.shape[0])
        self.box = CropBox.around(landmarks, FOLLOW_MARGIN)
        return landmarks

    def step(self, frame: np.ndarray, timestamp: int) -> np.ndarray | None:
        self.index += 1
        landmarks = self._follow_person(frame, timestamp) if self.box is not None else None
        if landmarks is None:
            landmarks = self._search(frame, timestamp)
        if landmarks is None:
            self.missed.append((self.index, frame))
            return None
        if self.missed:
            self._follow_back(frame, landmarks)
        self.last = landmarks
        return landmarks

    def _follow_person(self, frame: np.ndarray, timestamp: int) -> np.ndarray | None:
        if self.on_whole or (self.index >= self.whole_again_at and self._fills_frame(self.last, frame)):
            landmarks = self._on_whole_frame(frame, timestamp)
            if landmarks is not None:
                self.tracker.choose([landmarks_to_joints(landmarks, self.head)])
                return landmarks
            # nobody there, or someone else (its landmarker follows one person, not always ours):
            # the crop for a while rather than two landmarker runs a frame
            self.whole_again_at = self.index + self.search_every
        self.on_whole = False
        landmarks = self._track(frame, self.box, timestamp)
        if landmarks is not None:
            joints = landmarks_to_joints(landmarks, self.head)
            if self.tracker.continues(joints):
                self.tracker.choose([joints])
                self.box = self.box.toward(CropBox.around(landmarks, FOLLOW_MARGIN))
                return landmarks
        self.frames_since_search = self.search_every  # just lost: search everything now
        return None

    def _search(self, frame: np.ndarray, timestamp: int) -> np.ndarray | None:
        h, w = frame.shape[:2]
        self.frames_since_search += 1
        people = [(p, None, CropBox.whole(w, h)) for p in self.finder.detect(frame)]
        # tiles: when the whole frame shows nobody (at most every SEARCH_SECONDS), and when the
        # person is about to be chosen (MediaPipe's detector often returns only the most prominent)
        choosing = self.tracker.last is None or self.tracker.missing >= self.tracker.reacquire_after
        if (people and choosing) or (not people and self.frames_since_search >= self.search_every):
            self.frames_since_search = 0
            people = distinct(people + search_tiles(self.finder, frame))
        candidates = [landmarks_to_joints(p, self.head) for p, _, _ in people]
        chosen = self.tracker.choose(candidates)
        if chosen is None:
            # the crop stays where they were last seen for a while: the landmarker's detector
            # may find them there again when the whole frame does not
            if self.tracker.missing > self.tracker.reacquire_after:
                self.box = None
            return None
        landmarks, _, found_in = people[next(i for i, c in enumerate(candidates) if c is chosen)]
        if self._fills_frame(landmarks, frame):
            again = self._on_whole_frame(frame, timestamp)
            if again is not None:
                return again
        self.on_whole = False
        # Start the crop's tracking: on a crop around them if the landmarker finds them there,
        # else on the picture they were found in (the same picture finds them again).
        for box in (CropBox.around(landmarks, FOLLOW_MARGIN), found_in):
            again = self._track(frame, box, timestamp)
            if again is not None and self.tracker.continues(landmarks_to_joints(again, self.head)):
                self.box = box.toward(CropBox.around(again, FOLLOW_MARGIN))
                return again
        self.box = CropBox.around(landmarks, FOLLOW_MARGIN)
        self.seen_in = found_in
        return landmarks

    def _follow_back(self, frame: np.ndarray, landmarks: np.ndarray) -> None:
        """The frames just missed (self.missed, up to this one), from the newest back: the person
        followed in a crop by a landmarker of its own (VIDEO mode, started on this frame where they
        are known), as far as it keeps finding them within the tracker's gate of the frame after.
        Its tracking reads each frame where the last one had them, so it holds where the detector
        alone (what the search relies on) misses a small person."""
        missed = list(self.missed)  # the frames just before this one
        self.missed.clear()
        self.back.forget()
        # started where the person was found in this frame (the detector that found them there may
        # miss them in a crop), else in a crop around them
        for box in (self.seen_in, CropBox.around(landmarks, FOLLOW_MARGIN)):
            last = self._track(frame, box, landmarker=self.back) if box is not None else None
            if last is not None:
                break
        else:
            return
        for index, earlier in reversed(missed):
            box = box.toward(CropBox.around(last, FOLLOW_MARGIN))
            found = self._track(earlier, box, landmarker=self.back)
            if found is None or (pose_distance(landmarks_to_joints(found, self.head),
                                               landmarks_to_joints(last, self.head)) > MATCH_GATE):
                break
            self.found_back.append((index, found))
            last = found


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
