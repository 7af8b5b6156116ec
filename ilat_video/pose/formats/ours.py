"""Our pose JSON (docs/pose-format.md): versioned, one file, lossless for float32."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PoseFileError
from ...fileio import atomic_output
from ..sequence import PoseSequence
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
        _check_frame(path, i, frame)
        keypoints[i] = frame
    return PoseSequence(keypoints, data["width"], data["height"], float(fps), source=str(path))


def _check_frame(path: Path, index: int, frame: Any) -> None:
    """Structure and types of one frame of ours: null or 13 lists of 3 numbers."""
    if not isinstance(frame, list):
        raise PoseFileError(f"{path}: frame {index}: expected a list of {NUM_JOINTS} [x, y, confidence] "
                            f"or null (no person), got {type(frame).__name__}")
    if len(frame) != NUM_JOINTS:
        raise PoseFileError(f"{path}: frame {index}: expected {NUM_JOINTS} joints, got {len(frame)}")
    for j, joint in enumerate(frame):
        if not (isinstance(joint, list) and len(joint) == 3 and all(map(is_number, joint))):
            raise PoseFileError(f"{path}: frame {index}, joint {j} ({JOINT_NAMES[j]}): expected "
                                f"[x, y, confidence] (3 numbers), got {json.dumps(joint)}")


def write_ilat(seq: PoseSequence, path: Path) -> None:
    """Write our JSON atomically (nothing is left at `path` if writing fails)."""
    with atomic_output(path) as tmp:
        tmp.write_text(ilat_json(seq), encoding="utf-8")


def _f32(value: np.float32) -> str:
    """The shortest decimal that reads back as the same float32 (JSON has no NaN; validated before)."""
    return np.format_float_positional(value, unique=True, trim="-")


def ilat_json(seq: PoseSequence) -> str:
    """Our JSON text of a sequence: a header line, one line per frame (null: no person)."""
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "width": seq.width, "height": seq.height,
              "fps": seq.fps, "joints": list(JOINT_NAMES)}
    if seq.source and seq.source != "<memory>":
        header["source"] = seq.source
    lines = [json.dumps(header)[:-1] + ', "frames": [']
    present = seq.has_person
    rows = []
    for t in range(len(seq)):
        if not present[t]:
            rows.append("null")
            continue
        rows.append("[" + ",".join(f"[{_f32(x)},{_f32(y)},{_f32(c)}]" for x, y, c in seq.keypoints[t]) + "]")
    body = ",\n".join(rows)
    return lines[0] + ("\n" + body + "\n" if rows else "") + "]}\n"
