"""MediaPipe's PoseLandmarker (BlazePose GHUM, 33 landmarks): finding its model file and running it.

    with Landmarker(find_pose_model(), video=False, num_poses=2) as landmarker:
        people = landmarker.detect(frame)   # [float32 (33, 3) = x, y pixels, visibility, ...]

mediapipe itself is imported only when a Landmarker is made (it is heavy and only pose extraction
needs it).
"""
from __future__ import annotations

import contextlib
import logging
import os
import zipfile
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from ..errors import ModelFileError

logger = logging.getLogger(__name__)

MODEL_ENV = "ILAT_VIDEO_POSE_MODEL"
MODEL_FILENAME = "pose_landmarker_full.task"
MODEL_URL = ("https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
             "pose_landmarker_full/float16/latest/pose_landmarker_full.task")
# The project's own copy, in a source checkout (the package sits in <root>/ilat_video/pose/).
PROJECT_MODEL = Path(__file__).resolve().parents[2] / "models" / "pose" / MODEL_FILENAME


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


class Landmarker:
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

    def __enter__(self) -> Landmarker:
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
