"""Our pose JSON (docs/pose-format.md): versioned, one file, lossless for float32."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PoseFileError
from ...fileio import atomic_output
from ..mapping import EXTRA_NAMES
from ..sequence import NUM_EXTRAS, PoseSequence
from ..skeleton import JOINT_NAMES, NUM_JOINTS
from .common import is_number

FORMAT_NAME = "ilat-poses"
FORMAT_VERSION = 1


def read_ilat(path: Path, data: dict) -> PoseSequence:
    """Our JSON, already parsed, as a validated PoseSequence."""
    version = data.get("version")
    if version is None:
        raise PoseFileError(f"{path}: field 'version' is missing (expected {FORMAT_VERSION})")
    if version != FORMAT_VERSION:
        newer = is_number(version) and version > FORMAT_VERSION
        raise PoseFileError(f"{path}: field 'version' is {version!r}; this ilat-video reads version "
                            f"{FORMAT_VERSION}" + (" (the file was written by a newer ilat-video)" if newer else ""))
    for key in ("width", "height"):
        value = data.get(key)
        if type(value) is not int or value <= 0:
            raise PoseFileError(f"{path}: field {key!r} must be a positive integer (pixels), got {value!r}")
    fps = data.get("fps")
    if not is_number(fps) or not math.isfinite(fps) or fps <= 0:
        raise PoseFileError(f"{path}: field 'fps' must be a positive number, got {fps!r}")
    joints = data.get("joints")
    if joints is not None and list(joints) != list(JOINT_NAMES):
        raise PoseFileError(f"{path}: field 'joints' lists {len(joints)} joints {joints!r}; version "
                            f"{FORMAT_VERSION} has exactly these {NUM_JOINTS}: {list(JOINT_NAMES)}")
    frames = data.get("frames")
    if not isinstance(frames, list):
        raise PoseFileError(f"{path}: field 'frames' must be a list (one entry per frame), got {type(frames).__name__}")
    keypoints = np.zeros((len(frames), NUM_JOINTS, 3), np.float32)
    for i, frame in enumerate(frames):
        if frame is None:
            continue
        _check_frame(path, i, frame, JOINT_NAMES, "frames", "joint")
        keypoints[i] = frame
    return PoseSequence(keypoints, data["width"], data["height"], float(fps), source=str(path),
                        extras=_read_extras(path, data, len(frames)))


def _read_extras(path: Path, data: dict, num_frames: int) -> np.ndarray | None:
    """The optional hand and foot points: 'extra_frames' (with 'extras' naming them), or None."""
    if "extra_frames" not in data:
        if "extras" in data:
            raise PoseFileError(f"{path}: field 'extras' is given but 'extra_frames' is missing")
        return None
    names = data.get("extras")
    if names is None or list(names) != list(EXTRA_NAMES):
        raise PoseFileError(f"{path}: field 'extras' must list exactly these {NUM_EXTRAS} points, in this "
                            f"order: {list(EXTRA_NAMES)}; got {names!r}")
    rows = data["extra_frames"]
    if not isinstance(rows, list) or len(rows) != num_frames:
        got = f"{len(rows)} entries" if isinstance(rows, list) else type(rows).__name__
        raise PoseFileError(f"{path}: field 'extra_frames' must be a list with one entry per frame "
                            f"({num_frames}), got {got}")
    extras = np.zeros((num_frames, NUM_EXTRAS, 3), np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            _check_frame(path, i, row, EXTRA_NAMES, "extra_frames", "extra point")
            extras[i] = row
    return extras


def _check_frame(path: Path, index: int, frame: Any, names: tuple[str, ...], field: str, what: str) -> None:
    """Structure and types of one entry of 'frames' (13 joints) or 'extra_frames' (10 points):
    a list of [x, y, confidence] lists of numbers (null was handled by the caller)."""
    where = f"{path}: frame {index}" + ("" if field == "frames" else f" of '{field}'")
    if not isinstance(frame, list):
        raise PoseFileError(f"{where}: expected a list of {len(names)} [x, y, confidence] "
                            f"or null ({'no person' if field == 'frames' else 'none seen'}), got {type(frame).__name__}")
    if len(frame) != len(names):
        raise PoseFileError(f"{where}: expected {len(names)} {what}s, got {len(frame)}")
    for j, point in enumerate(frame):
        if not (isinstance(point, list) and len(point) == 3 and all(map(is_number, point))):
            raise PoseFileError(f"{where}, {what} {j} ({names[j]}): expected "
                                f"[x, y, confidence] (3 numbers), got {json.dumps(point)}")


def write_ilat(seq: PoseSequence, path: Path) -> None:
    """Write our JSON atomically (nothing is left at `path` if writing fails)."""
    with atomic_output(path) as tmp:
        tmp.write_text(ilat_json(seq), encoding="utf-8")


def _f32(value: np.float32) -> str:
    """The shortest decimal that reads back as the same float32 (JSON has no NaN; validated before)."""
    return np.format_float_positional(value, unique=True, trim="-")


def ilat_json(seq: PoseSequence) -> str:
    """Our JSON text of a sequence: a header line, one line per frame (null: no person), then, when
    the sequence has extras, one line per frame of hand and foot points (null: none seen)."""
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "width": seq.width, "height": seq.height,
              "fps": seq.fps, "joints": list(JOINT_NAMES)}
    if seq.has_extras:
        header["extras"] = list(EXTRA_NAMES)
    if seq.source and seq.source != "<memory>":
        header["source"] = seq.source
    text = json.dumps(header)[:-1] + ', "frames": [' + _rows(seq.keypoints) + "]"
    if seq.has_extras:
        text += ',\n"extra_frames": [' + _rows(seq.extras) + "]"
    return text + "}\n"


def _rows(points: np.ndarray) -> str:
    """(T, P, 3) as one JSON line per frame between newlines; a frame with nothing seen is null."""
    rows = []
    for frame in points:
        if not (frame[:, 2] > 0).any():
            rows.append("null")
            continue
        rows.append("[" + ",".join(f"[{_f32(x)},{_f32(y)},{_f32(c)}]" for x, y, c in frame) + "]")
    return ("\n" + ",\n".join(rows) + "\n") if rows else ""
