"""Pose extraction with MediaPipe's PoseLandmarker (BlazePose GHUM, 33 landmarks) -> 13 joints.

    poses = extract_poses("dance.mp4")          # PoseSequence (T, 13, 3), pixels of the video
    joints = extract_image_pose("me.png")       # (13, 3) for a single photo
    person = extract_image_person("me.png")     # the photo's pose + person mask + hand/foot points

Videos run the landmarker in VIDEO mode (it tracks the person from frame to frame). The first
frame decides how many people to look for: one person there -> 1 (fastest: the detector runs only
when tracking is lost); several -> 2 per frame, and the main person is followed: the largest one
when tracking starts, then in each frame the candidate nearest to the last tracked pose (a
candidate too far from it is not taken; after REACQUIRE_SECONDS without the person the largest
one in view is taken again, with a warning).

Confidence of a joint = MediaPipe's `visibility` of the landmark it comes from: the landmarker's
estimate (a sigmoid, in [0, 1]) that the point is visible in the picture and not occluded or
outside it. Positions of joints with low visibility are still the landmarker's guess, kept as is.
Every joint of a detected person has confidence >= MIN_CONFIDENCE, so a frame with a person never
looks empty; frames where nobody was found keep confidence 0 for all joints (see PoseSequence).
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..errors import ModelFileError, NoPersonError, VideoError
from ..fileio import image_to_rgb, load_image
from . import filters
from .sequence import PoseSequence
from .skeleton import NUM_JOINTS

logger = logging.getLogger(__name__)

__all__ = ["find_pose_model", "extract_poses", "extract_poses_report", "extract_image_pose",
           "extract_image_poses", "extract_image_person", "extract_image_pose_and_mask", "ImagePerson",
           "EXTRA_NAMES", "EXTRA_FLIP_PERMUTATION", "landmarks_to_extras", "landmarks_to_joints", "ExtractionResult", "MODEL_ENV",
           "MODEL_FILENAME", "HEAD_CHOICES", "DEFAULT_HEAD", "DEFAULT_MAX_GAP", "pck", "match_people"]

MODEL_ENV = "ILAT_VIDEO_POSE_MODEL"
MODEL_FILENAME = "pose_landmarker_full.task"
MODEL_URL = ("https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
             "pose_landmarker_full/float16/latest/pose_landmarker_full.task")
# The project's own copy, in a source checkout (the package sits in <root>/ilat_video/pose/).
PROJECT_MODEL = Path(__file__).resolve().parents[2] / "models" / "pose" / MODEL_FILENAME

# MediaPipe's 33 landmarks are anatomical (11 = the person's left shoulder). Ours: Penn Action
# order, right before left (skeleton.JOINT_NAMES). Index 0 (head) is built from the face points.
MP_NOSE, MP_LEFT_EYE, MP_RIGHT_EYE, MP_LEFT_EAR, MP_RIGHT_EAR = 0, 2, 5, 7, 8
BODY_FROM_MEDIAPIPE = (12, 11, 14, 13, 16, 15, 24, 23, 26, 25, 28, 27)  # joints 1..12
HEAD_CHOICES: dict[str, tuple[int, ...]] = {
    "nose": (MP_NOSE,),
    "ears": (MP_LEFT_EAR, MP_RIGHT_EAR),
    "face": (MP_NOSE, MP_LEFT_EYE, MP_RIGHT_EYE, MP_LEFT_EAR, MP_RIGHT_EAR),
}
# Measured against COCO's head (the nose) in benchmarks/results/extract.md.
DEFAULT_HEAD = "nose"
# Hand and foot points beyond the 13 joints, for single images ("extras", (10, 3)): right before
# left, like the joints. "index"/"pinky"/"thumb" are MediaPipe's points on the hand (knuckle of the
# index and little fingers, tip of the thumb); "toe" is its foot_index (the tip of the foot).
EXTRA_NAMES: tuple[str, ...] = ("right_index", "left_index", "right_pinky", "left_pinky",
                                "right_thumb", "left_thumb", "right_heel", "left_heel",
                                "right_toe", "left_toe")
EXTRAS_FROM_MEDIAPIPE = (20, 19, 18, 17, 22, 21, 30, 29, 32, 31)
# The permutation that mirrors extras left <-> right (with x -> width - x), as FLIP_PERMUTATION.
EXTRA_FLIP_PERMUTATION: tuple[int, ...] = (1, 0, 3, 2, 5, 4, 7, 6, 9, 8)

MIN_CONFIDENCE = 1e-3
DEFAULT_MAX_GAP = 3  # frames with no person that are filled in by interpolation
# People the landmarker looks for in each frame when several are in view at the start (so the
# main one can be chosen and kept). With one person in view, 1: VIDEO mode then tracks that person
# from frame to frame without running the detector, about 1.4x faster (benchmarks/results/extract.md).
MULTI_PERSON_NUM_POSES = 2
PROBE_NUM_POSES = 4  # people looked for in the first frame to decide
# A candidate continues the track if its joints lie on average within this many body sizes
# (the diagonal of the last tracked pose's box) of the last tracked joints.
MATCH_GATE = 0.75
# Frames without the tracked person after which the largest person is taken afresh.
REACQUIRE_SECONDS = 1.0

ProgressCallback = Callable[[int, "int | None"], None]


# --- the model file ---------------------------------------------------------------------------

def find_pose_model(path: str | os.PathLike | None = None) -> Path:
    """Locate the PoseLandmarker model (.task): `path`, then $ILAT_VIDEO_POSE_MODEL, then the project's copy.

    Raises ModelFileError naming what was tried and how to get the file.
    """
    if path is not None:
        return _check_model(Path(path), "the given model path")
    env = os.environ.get(MODEL_ENV)
    if env:
        return _check_model(Path(env), f"${MODEL_ENV}")
    tried = [PROJECT_MODEL, Path.cwd() / "models" / "pose" / MODEL_FILENAME]
    for candidate in tried:
        if candidate.is_file():
            return _check_model(candidate, "the project's copy")
    raise ModelFileError(
        "no MediaPipe pose model found (looked in: " + ", ".join(str(p) for p in tried) + "). "
        f"Download {MODEL_FILENAME} from {MODEL_URL} and pass it with --model PATH "
        f"(model_path= in Python) or set {MODEL_ENV}=PATH."
    )


def _check_model(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"{path}: no such pose model file ({what}); expected a MediaPipe "
                             f"PoseLandmarker .task file such as {MODEL_FILENAME}")
    import zipfile

    if not zipfile.is_zipfile(path):  # .task bundles are zip archives of .tflite models
        raise ModelFileError(f"{path}: not a MediaPipe .task model bundle (expected a zip archive)")
    return path


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the C++ log lines LiteRT writes straight to fd 2 while a landmarker is made or closed.

    Kept only when our logger is at DEBUG, so a developer can still see them.
    """
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Landmarker:
    """A PoseLandmarker used as a context manager (mediapipe complains at exit otherwise)."""

    def __init__(self, model_path: Path, *, video: bool, num_poses: int, masks: bool = False):
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=int(num_poses),
            output_segmentation_masks=bool(masks),
        )
        self._masks = bool(masks)
        self._seen_person = False
        try:
            with _quiet_native_stderr():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelFileError(f"{model_path}: cannot load the pose model ({exc})") from exc

    def __enter__(self) -> "_Landmarker":
        return self

    def __exit__(self, *exc) -> None:
        with _quiet_native_stderr():
            self._landmarker.close()

    def detect(self, frame: np.ndarray, timestamp_ms: int | None = None) -> list[np.ndarray]:
        """Landmarks of each person found: a list of float32 (33, 3) = x, y pixels and visibility."""
        return [landmarks for landmarks, _ in self.detect_with_masks(frame, timestamp_ms)]

    def detect_with_masks(self, frame: np.ndarray, timestamp_ms: int | None = None
                          ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """(landmarks (33, 3), mask) of each person found; the mask is float32 (H, W) in [0, 1]
        (MediaPipe's probability that the pixel is this person) when the landmarker was made
        with masks=True, else None. Mask i belongs to the landmarks i."""
        import mediapipe as mp

        # MediaPipe silently finds nobody in a strided (non-contiguous) array
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        # LiteRT logs two one-off warnings straight to stderr: at the first call, and at the
        # first call that finds a person. Keep the user's terminal clean of them.
        quiet = _quiet_native_stderr() if not self._seen_person else contextlib.nullcontext()
        with quiet:
            if timestamp_ms is None:
                result = self._landmarker.detect(image)
            else:
                result = self._landmarker.detect_for_video(image, timestamp_ms)
        self._seen_person = self._seen_person or bool(result.pose_landmarks)
        h, w = frame.shape[:2]
        masks = list(result.segmentation_masks or []) if self._masks else []
        if self._masks and len(masks) != len(result.pose_landmarks):
            raise RuntimeError(f"MediaPipe returned {len(masks)} segmentation masks for "
                               f"{len(result.pose_landmarks)} people")
        people = []
        for i, landmarks in enumerate(result.pose_landmarks):
            arr = np.array([(p.x * w, p.y * h, p.visibility if p.visibility is not None else 0.0)
                            for p in landmarks], dtype=np.float32)
            mask = None
            if self._masks:
                # a copy: the view belongs to MediaPipe's image, which is freed with the result
                mask = np.array(masks[i].numpy_view(), dtype=np.float32).reshape(h, w)
                np.clip(mask, 0.0, 1.0, out=mask)
            people.append((arr, mask))
        return people


# --- 33 landmarks -> 13 joints ----------------------------------------------------------------

def landmarks_to_joints(landmarks: np.ndarray, head: str = DEFAULT_HEAD) -> np.ndarray:
    """Map MediaPipe landmarks (..., 33, 3) [x, y, visibility] to our joints (..., 13, 3).

    head: "nose", "ears" (midpoint of the ears) or "face" (mean of nose, eyes and ears); its
        confidence is the mean visibility of the points used. Confidences are clipped to
        [MIN_CONFIDENCE, 1].
    """
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {sorted(HEAD_CHOICES)}, got {head!r}")
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape[-2:] != (33, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 3), got {landmarks.shape}")
    out = np.empty(landmarks.shape[:-2] + (NUM_JOINTS, 3), np.float32)
    out[..., 0, :] = landmarks[..., list(HEAD_CHOICES[head]), :].mean(axis=-2)
    out[..., 1:, :] = landmarks[..., list(BODY_FROM_MEDIAPIPE), :]
    out[..., 2] = np.clip(out[..., 2], MIN_CONFIDENCE, 1.0)
    return out


def landmarks_to_extras(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe landmarks (..., 33, 3) -> hand and foot points (..., 10, 3) in EXTRA_NAMES order.

    Confidences are the landmarks' visibility, clipped to [MIN_CONFIDENCE, 1] as for the joints.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.shape[-2:] != (33, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 3), got {landmarks.shape}")
    out = landmarks[..., list(EXTRAS_FROM_MEDIAPIPE), :].copy()
    out[..., 2] = np.clip(out[..., 2], MIN_CONFIDENCE, 1.0)
    return out


def _body_size(joints: np.ndarray) -> float:
    """Diagonal of the box around a (13, 3) pose's joints (its confident ones when there are 3+)."""
    sure = joints[:, 2] >= 0.5
    xy = joints[sure, :2] if sure.sum() >= 3 else joints[:, :2]
    extent = xy.max(axis=0) - xy.min(axis=0)
    return float(np.hypot(*extent)) + 1e-6


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean joint distance between two (13, 3) poses, in units of b's body size."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean()) / _body_size(b)


class _MainPersonTracker:
    """Chooses, frame by frame, which detected person is the one being followed."""

    def __init__(self, reacquire_after: int):
        self.reacquire_after = max(1, int(reacquire_after))
        self.last: np.ndarray | None = None
        self.missing = 0
        self.switches = 0

    def choose(self, candidates: Sequence[np.ndarray]) -> np.ndarray | None:
        if not candidates:
            self.missing += 1
            return None
        if self.last is None or self.missing > self.reacquire_after:
            if self.last is not None:
                self.switches += 1
            chosen = max(candidates, key=_body_size)
        else:
            distances = [_pose_distance(c, self.last) for c in candidates]
            best = int(np.argmin(distances))
            if distances[best] > MATCH_GATE:
                self.missing += 1
                return None
            chosen = candidates[best]
        self.last = chosen
        self.missing = 0
        return chosen


# --- videos -----------------------------------------------------------------------------------

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
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    if num_poses is not None and num_poses < 1:
        raise ValueError(f"num_poses must be >= 1, got {num_poses}")
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {sorted(HEAD_CHOICES)}, got {head!r}")
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
        frames = _chain_one(first, frames)
        landmarker = stack.enter_context(_Landmarker(model, video=True, num_poses=num_poses))
        tracker = _MainPersonTracker(reacquire_after=round(REACQUIRE_SECONDS * info.fps))
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
    keypoints = np.stack(rows)
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


def _people_at_start(model: Path, frame: np.ndarray) -> int:
    """num_poses for a video: 1 if at most one person is in its first frame, else several."""
    with _Landmarker(model, video=False, num_poses=PROBE_NUM_POSES) as probe:
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
        from ..video import open_video, prefetch

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


# --- single images ----------------------------------------------------------------------------

def _image_array(image) -> tuple[np.ndarray, str]:
    if isinstance(image, (str, os.PathLike)):
        return load_image(image), str(image)
    array = np.asarray(image)
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 4)) or array.dtype != np.uint8:
        from PIL import Image

        if array.dtype != np.uint8:
            raise VideoError(f"<image>: expected a uint8 image array, got {array.dtype}")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[..., 0]
        array = image_to_rgb(Image.fromarray(array))
    if array.ndim != 3 or array.shape[2] != 3:
        raise VideoError(f"<image>: expected an (H, W, 3) RGB image, got shape {array.shape}")
    return np.ascontiguousarray(array), "<image>"


def extract_image_poses(image, *, model_path: str | os.PathLike | None = None, max_people: int = 5,
                        head: str = DEFAULT_HEAD) -> np.ndarray:
    """Every person the landmarker finds in one image: float32 (P, 13, 3), largest first.

    image: a path (any PIL-readable image; RGBA is composited onto white) or a uint8 array
        (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray. P may be 0.
    """
    array, _ = _image_array(image)
    with _Landmarker(find_pose_model(model_path), video=False, num_poses=max_people) as landmarker:
        people = [landmarks_to_joints(p, head) for p in landmarker.detect(array)]
    people.sort(key=_body_size, reverse=True)
    if not people:
        return np.zeros((0, NUM_JOINTS, 3), np.float32)
    return np.stack(people)


@dataclass(frozen=True)
class ImagePerson:
    """The main person of one image, as extract_image_person finds them.

    pose: float32 (13, 3) = x, y pixels and confidence (as extract_image_pose).
    mask: float32 (H, W) in [0, 1], the image's size: MediaPipe's segmentation of this person
        (the probability that a pixel shows them); `mask >= 0.5` is the person as bool.
    extras: float32 (10, 3) hand and foot points in EXTRA_NAMES order (x, y pixels, confidence).
    """

    pose: np.ndarray
    mask: np.ndarray
    extras: np.ndarray

    @property
    def bool_mask(self) -> np.ndarray:
        """The mask as bool (H, W), True = person."""
        return self.mask >= 0.5


def extract_image_person(image, *, model_path: str | os.PathLike | None = None,
                         head: str = DEFAULT_HEAD) -> ImagePerson:
    """Pose, person mask and hand/foot points of the main (largest) person in one image.

    image: as extract_image_poses. The mask belongs to the same person as the pose (MediaPipe
    gives one mask per detected person). About 0.05 s for a 1080p photo on one CPU core, plus
    loading the model (about 0.1 s).

    Raises NoPersonError naming the image when nobody is found.
    """
    array, name = _image_array(image)
    with _Landmarker(find_pose_model(model_path), video=False, num_poses=2, masks=True) as landmarker:
        found = landmarker.detect_with_masks(array)
    if not found:
        raise NoPersonError(f"{name}: no person found in the image")
    landmarks, mask = max(found, key=lambda item: _body_size(landmarks_to_joints(item[0], head)))
    return ImagePerson(landmarks_to_joints(landmarks, head), mask, landmarks_to_extras(landmarks))


def extract_image_pose_and_mask(image, *, model_path: str | os.PathLike | None = None,
                                head: str = DEFAULT_HEAD) -> tuple[np.ndarray, np.ndarray]:
    """(pose float32 (13, 3), person mask float32 (H, W) in [0, 1]) of the main person in one image.

    Shorthand for extract_image_person (which also gives the hand and foot points).
    """
    person = extract_image_person(image, model_path=model_path, head=head)
    return person.pose, person.mask


def extract_image_pose(image, *, model_path: str | os.PathLike | None = None,
                       head: str = DEFAULT_HEAD) -> np.ndarray:
    """The pose of the main (largest) person in one image: float32 (13, 3) = x, y pixels, confidence.

    Raises NoPersonError naming the image when nobody is found.
    """
    array, name = _image_array(image)
    people = extract_image_poses(array, model_path=model_path, max_people=2, head=head)
    if len(people) == 0:
        raise NoPersonError(f"{name}: no person found in the image")
    return people[0]


# --- evaluation against labels ----------------------------------------------------------------

def pck(pred: np.ndarray, truth: np.ndarray, sides: np.ndarray, alpha: float = 0.2) -> float:
    """Percentage of correct keypoints: the fraction of labelled joints within alpha x side.

    pred: (N, J, >=2) predicted x, y; truth: (N, J, 3) labelled x, y and a flag (> 0 = labelled);
    sides: (N,) the larger side of each person's box. Returns nan when nothing is labelled.
    """
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    sides = np.asarray(sides, np.float64).reshape(-1, 1)
    labelled = truth[..., 2] > 0
    if not labelled.any():
        return float("nan")
    distance = np.linalg.norm(pred[..., :2] - truth[..., :2], axis=-1)
    return float((distance <= alpha * sides)[labelled].mean())


def match_people(pred: Sequence[np.ndarray], truth: np.ndarray, sides: np.ndarray,
                 gate: float = 0.5) -> list[tuple[int, int]]:
    """Pair predicted poses with labelled people one-to-one by distance.

    Cost of a pair = mean distance over the person's labelled joints / the person's box side;
    the assignment minimises the total cost (Hungarian); pairs costing more than `gate` are
    dropped (that labelled person was not found). Returns [(truth_index, pred_index), ...].
    """
    from scipy.optimize import linear_sum_assignment

    if len(pred) == 0 or len(truth) == 0:
        return []
    truth = np.asarray(truth, np.float64)
    cost = np.empty((len(truth), len(pred)))
    for i, person in enumerate(truth):
        labelled = person[:, 2] > 0
        for j, guess in enumerate(pred):
            cost[i, j] = np.linalg.norm(guess[labelled, :2] - person[labelled, :2], axis=1).mean() / sides[i]
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= gate]
