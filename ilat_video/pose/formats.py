"""Pose files in and out: our JSON, OpenPose JSON, COCO keypoints JSON and Penn Action .mat.

    seq = load_poses("poses.json")                    # any supported format, detected from content
    seq = load_poses("openpose_out/", size=(1920, 1080), fps=25)
    save_poses(seq, "poses.json")                     # ours (docs/pose-format.md)
    save_poses(seq, "controlnet_poses.json", format="openpose")

Every reader returns a validated PoseSequence (T, 13, 3) in the pixels of its frames and raises
PoseFileError naming the file, the frame (and person / joint) and the field that is wrong.

Head (joint 0) from sources with face points (OpenPose, COCO-17): the nose when it is present
(confidence > 0), otherwise the mean position of the eyes and ears that are present (confidence:
their mean), otherwise missing. The body joints map one to one (tables below, tested by name).
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IlatError, PoseFileError
from ..fileio import atomic_output
from .sequence import PoseSequence
from .skeleton import JOINT_NAMES, L_SHOULDER, NUM_JOINTS, R_SHOULDER

logger = logging.getLogger(__name__)

__all__ = ["load_poses", "save_poses", "detect_format", "read_coco_people", "CocoPerson", "JointMapping",
           "map_keypoints", "BODY_25", "COCO_18", "COCO_17", "ILAT_TO_COCO_18", "FORMAT_NAME",
           "FORMAT_VERSION", "DEFAULT_FPS", "FORMATS"]

FORMAT_NAME = "ilat-poses"
FORMAT_VERSION = 1
DEFAULT_FPS = 30.0  # for files that record no frame rate (OpenPose, COCO, Penn Action)
FORMATS = ("ilat", "openpose", "coco", "penn")


# --------------------------------------------------------------------------------------------
# Joint mapping tables
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JointMapping:
    """How the keypoints of another skeleton become our 13 joints.

    names: the source's keypoint names in its index order (anatomical left/right).
    to_ilat: for each of our 13 joints, the source index it is read from (joint 0: the nose).
    head_fallback: source indices (eyes, ears) whose mean is the head when the nose is missing.
    """

    name: str
    names: tuple[str, ...]
    to_ilat: tuple[int, ...]
    head_fallback: tuple[int, ...]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)


BODY_25 = JointMapping(
    "OpenPose BODY_25",
    names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
           "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
           "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"),
    to_ilat=(0, 2, 5, 3, 6, 4, 7, 9, 12, 10, 13, 11, 14),
    head_fallback=(15, 16, 17, 18),
)

COCO_18 = JointMapping(
    "OpenPose COCO-18",
    names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
           "right_eye", "left_eye", "right_ear", "left_ear"),
    to_ilat=(0, 2, 5, 3, 6, 4, 7, 8, 11, 9, 12, 10, 13),
    head_fallback=(14, 15, 16, 17),
)

COCO_17 = JointMapping(
    "COCO-17",
    names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
           "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
           "right_knee", "left_ankle", "right_ankle"),
    to_ilat=(0, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
    head_fallback=(1, 2, 3, 4),
)

# Our 13 joints -> the 18 OpenPose COCO-18 slots we write (ControlNet's layout). None: no joint of
# ours (eyes, ears: written as missing); "neck": the midpoint of the two shoulders when both exist.
ILAT_TO_COCO_18: tuple[int | str | None, ...] = (
    0, "neck", 1, 3, 5, 2, 4, 6, 7, 9, 11, 8, 10, 12, None, None, None, None)

_OPENPOSE_BY_COUNT = {BODY_25.num_keypoints: BODY_25, COCO_18.num_keypoints: COCO_18}


def map_keypoints(points: np.ndarray, mapping: JointMapping) -> np.ndarray:
    """Map source keypoints (..., K, 3) [x, y, confidence] to our joints (..., 13, 3).

    Confidence 0 marks a missing keypoint. The head is the nose, or else the mean of the present
    eyes / ears (confidence: their mean confidence), or else missing (all zeros).
    """
    points = np.asarray(points, dtype=np.float32)
    if points.shape[-2:] != (mapping.num_keypoints, 3):
        raise ValueError(f"{mapping.name}: expected (..., {mapping.num_keypoints}, 3), got {points.shape}")
    out = points[..., list(mapping.to_ilat), :].copy()
    face = points[..., list(mapping.head_fallback), :]
    present = (face[..., 2] > 0).astype(np.float32)  # (..., F)
    count = present.sum(axis=-1)  # (...,)
    safe = np.maximum(count, 1.0)[..., None]
    face_xy = (face[..., :2] * present[..., None]).sum(axis=-2) / safe
    face_conf = (face[..., 2] * present).sum(axis=-1) / safe[..., 0]
    fallback = np.concatenate([face_xy, face_conf[..., None]], axis=-1)  # (..., 3)
    fallback = np.where((count > 0)[..., None], fallback, 0.0)
    nose_missing = out[..., 0, 2] <= 0
    out[..., 0, :] = np.where(nose_missing[..., None], fallback, out[..., 0, :])
    return out.astype(np.float32)


def _ilat_to_coco18(poses: np.ndarray) -> np.ndarray:
    """Our poses (..., 13, 3) -> OpenPose COCO-18 keypoints (..., 18, 3); missing joints are zeros."""
    poses = np.asarray(poses, np.float32)
    out = np.zeros(poses.shape[:-2] + (COCO_18.num_keypoints, 3), np.float32)
    for slot, src in enumerate(ILAT_TO_COCO_18):
        if src == "neck":
            a, b = poses[..., R_SHOULDER, :], poses[..., L_SHOULDER, :]
            both = (a[..., 2] > 0) & (b[..., 2] > 0)
            neck = np.concatenate([(a[..., :2] + b[..., :2]) / 2, np.minimum(a[..., 2:], b[..., 2:])], axis=-1)
            out[..., slot, :] = np.where(both[..., None], neck, 0.0)
        elif src is not None:
            present = poses[..., src, 2] > 0
            out[..., slot, :] = np.where(present[..., None], poses[..., src, :], 0.0)
    return out


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def load_poses(path: str | os.PathLike, *, person_id: int | None = None, fps: float | None = None,
               size: tuple[int, int] | None = None) -> PoseSequence:
    """Read a pose file of any supported format as a PoseSequence (T, 13, 3) in pixels.

    path: our JSON; OpenPose JSON (BODY_25 or COCO-18) as one file (one frame, or a list of frames)
        or a folder of one file per frame; a COCO keypoints JSON; a Penn Action .mat.
    person_id: OpenPose: the `person_id` to follow (default: the largest person, then the nearest
        one frame to frame). COCO: the annotation id (default: the largest labelled person of each
        image). Ignored (with a warning) by formats that hold one person.
    fps: the frame rate to give the sequence, for formats that record none (default 30); for ours
        it overrides the file's value (no resampling).
    size: (width, height) of the frames, needed for OpenPose files that record no canvas size.
    """
    path = Path(path)
    if path.is_dir():
        return _load_openpose(path, _openpose_folder_frames(path), person_id, fps, size)
    if not path.exists():
        raise PoseFileError(f"{path}: no such pose file or folder")
    if path.suffix.lower() == ".mat":
        seq = _load_penn(path)
        _ignored(path, "person_id", person_id)
    else:
        data = _read_json(path)
        kind = _json_kind(path, data)
        if kind == "ilat":
            _ignored(path, "person_id", person_id)
            seq = _load_ilat(path, data)
        elif kind == "coco":
            seq = _load_coco(path, data, person_id, fps)
        else:
            frames = data if isinstance(data, list) else [data]
            labels = [f"{path}: frame {i}" for i in range(len(frames))] if isinstance(data, list) else [str(path)]
            return _load_openpose(path, list(zip(labels, frames)), person_id, fps, size)
    if size is not None and (seq.width, seq.height) != tuple(size):
        raise PoseFileError(f"{path}: the file says its frames are {seq.width}x{seq.height}, but size="
                            f"{size[0]}x{size[1]} was given; drop size or rescale the poses instead")
    return seq.replace(fps=fps) if fps is not None else seq


def detect_format(path: str | os.PathLike) -> str:
    """The format of a pose file or folder: one of FORMATS ('ilat', 'openpose', 'coco', 'penn')."""
    path = Path(path)
    if path.is_dir():
        return "openpose"
    if not path.exists():
        raise PoseFileError(f"{path}: no such pose file or folder")
    if path.suffix.lower() == ".mat":
        return "penn"
    return _json_kind(path, _read_json(path))


def _ignored(path: Path, name: str, value: Any) -> None:
    if value is not None:
        logger.warning("%s: %s=%r ignored: this format holds one person", path, name, value)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PoseFileError(f"{path}: not a text (UTF-8 JSON) file; pose files are JSON or Penn Action .mat") from exc
    except OSError as exc:
        raise PoseFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not text.strip():
        raise PoseFileError(f"{path}: the file is empty (expected JSON pose data)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PoseFileError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


def _json_kind(path: Path, data: Any) -> str:
    if isinstance(data, dict):
        if "format" in data or ("frames" in data and "version" in data):
            if data.get("format") != FORMAT_NAME:
                raise PoseFileError(f"{path}: field 'format' is {data.get('format')!r}, expected {FORMAT_NAME!r}")
            return "ilat"
        if "annotations" in data and "images" in data:
            return "coco"
        if "people" in data:
            return "openpose"
    elif isinstance(data, list) and data and all(isinstance(f, dict) and "people" in f for f in data):
        return "openpose"
    raise PoseFileError(
        f"{path}: not a pose file this tool knows: expected our JSON (\"format\": \"{FORMAT_NAME}\"), "
        "OpenPose JSON (an object with \"people\", or a list of them), or COCO keypoints JSON "
        "(\"images\" and \"annotations\")")


def _number(value: Any) -> bool:
    return type(value) is float or type(value) is int


# --- ours --------------------------------------------------------------------------------------
def _load_ilat(path: Path, data: dict) -> PoseSequence:
    version = data.get("version")
    if version is None:
        raise PoseFileError(f"{path}: field 'version' is missing (expected {FORMAT_VERSION})")
    if version != FORMAT_VERSION:
        newer = _number(version) and version > FORMAT_VERSION
        raise PoseFileError(f"{path}: field 'version' is {version!r}; this ilat-video reads version "
                            f"{FORMAT_VERSION}" + (" (the file was written by a newer ilat-video)" if newer else ""))
    for key in ("width", "height"):
        value = data.get(key)
        if type(value) is not int or value <= 0:
            raise PoseFileError(f"{path}: field {key!r} must be a positive integer (pixels), got {value!r}")
    fps = data.get("fps")
    if not _number(fps) or not math.isfinite(fps) or fps <= 0:
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
        if not (isinstance(joint, list) and len(joint) == 3 and all(map(_number, joint))):
            raise PoseFileError(f"{path}: frame {index}, joint {j} ({JOINT_NAMES[j]}): expected "
                                f"[x, y, confidence] (3 numbers), got {json.dumps(joint)}")


# --- Penn Action -------------------------------------------------------------------------------
def _load_penn(path: Path) -> PoseSequence:
    import scipy.io

    if path.stat().st_size == 0:
        raise PoseFileError(f"{path}: the file is empty (expected Penn Action labels)")
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise PoseFileError(f"{path}: not a readable MATLAB .mat file ({exc})") from exc
    fields = {}
    for key in ("x", "y", "visibility"):
        if key not in mat:
            raise PoseFileError(f"{path}: field {key!r} is missing (Penn Action labels have x, y, visibility, "
                                "dimensions)")
        value = np.asarray(mat[key])
        if value.dtype.kind not in "biuf":
            raise PoseFileError(f"{path}: field {key!r} must be numeric, got {value.dtype}")
        value = value.astype(np.float64)
        if value.ndim == 1:
            value = value[None]
        if value.ndim != 2 or value.shape[1] != NUM_JOINTS:
            raise PoseFileError(f"{path}: field {key!r} must be frames x {NUM_JOINTS} joints, got shape {value.shape}")
        fields[key] = value
    if not fields["x"].shape == fields["y"].shape == fields["visibility"].shape:
        raise PoseFileError(f"{path}: fields x, y and visibility differ in shape: "
                            f"{fields['x'].shape}, {fields['y'].shape}, {fields['visibility'].shape}")
    if "dimensions" not in mat:
        raise PoseFileError(f"{path}: field 'dimensions' ([height width frames]) is missing")
    dims = np.asarray(mat["dimensions"]).ravel()
    if dims.size < 2 or not np.all(np.isfinite(dims[:2])) or np.any(dims[:2] <= 0):
        raise PoseFileError(f"{path}: field 'dimensions' must be [height width frames], got {dims.tolist()}")
    height, width = int(dims[0]), int(dims[1])
    num_frames = fields["x"].shape[0]
    if dims.size >= 3 and int(dims[2]) != num_frames:
        raise PoseFileError(f"{path}: field 'dimensions' says {int(dims[2])} frames but x, y hold {num_frames}")
    for key, value in fields.items():
        bad = ~np.isfinite(value)
        if bad.any():
            frame, joint = (int(v) for v in np.argwhere(bad)[0])
            raise PoseFileError(f"{path}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): field {key!r} "
                                f"is {value[frame, joint]} (expected a finite number)")
    vis = fields["visibility"]
    bad = (vis < 0) | (vis > 1)
    if bad.any():
        frame, joint = (int(v) for v in np.argwhere(bad)[0])
        raise PoseFileError(f"{path}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): field 'visibility' "
                            f"must be 0 or 1, got {vis[frame, joint]:g}")
    keypoints = np.stack([fields["x"], fields["y"], vis], axis=-1).astype(np.float32)
    return PoseSequence(keypoints, width, height, DEFAULT_FPS, source=str(path))


# --- OpenPose ----------------------------------------------------------------------------------
def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _openpose_folder_frames(folder: Path) -> list[tuple[str, Any]]:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() == ".json" and not p.name.startswith(".")
                    and p.is_file()), key=lambda p: _natural_key(p.name))
    if not files:
        raise PoseFileError(f"{folder}: the folder holds no .json files (expected OpenPose output, one file per frame)")
    numbers = [re.findall(r"\d+", p.name) for p in files]
    if all(numbers):
        last = [int(n[-1]) for n in numbers]
        gaps = [(a, b) for a, b in zip(last, last[1:]) if b != a + 1]
        if gaps:
            logger.warning("%s: frame numbers in the file names jump (e.g. %d -> %d); the files are read as "
                           "consecutive frames", folder, *gaps[0])
    frames = []
    for i, file in enumerate(files):
        data = _read_json(file)
        if not (isinstance(data, dict) and "people" in data):
            raise PoseFileError(f"{file}: frame {i}: expected an OpenPose object with a 'people' list")
        frames.append((f"{file}: frame {i}", data))
    return frames


def _openpose_people(label: str, frame: Any) -> tuple[list[np.ndarray], list[Any]]:
    """The people of one OpenPose frame as our (13, 3) poses, and their person_id values."""
    if not isinstance(frame, dict) or not isinstance(frame.get("people"), list):
        raise PoseFileError(f"{label}: expected an object with a 'people' list")
    poses, ids = [], []
    for k, person in enumerate(frame["people"]):
        if not isinstance(person, dict):
            raise PoseFileError(f"{label}, person {k}: expected an object with 'pose_keypoints_2d'")
        values = person.get("pose_keypoints_2d")
        if not values:
            continue  # a face- or hand-only detection has no body
        if not isinstance(values, list):
            raise PoseFileError(f"{label}, person {k}: 'pose_keypoints_2d' must be a list of numbers")
        if all(isinstance(v, list) for v in values):  # some tools nest [[x, y, c], ...]
            values = [v for triple in values for v in triple]
        mapping = _OPENPOSE_BY_COUNT.get(len(values) // 3) if len(values) % 3 == 0 else None
        if mapping is None:
            raise PoseFileError(
                f"{label}, person {k}: 'pose_keypoints_2d' holds {len(values)} numbers; expected "
                f"{BODY_25.num_keypoints * 3} (BODY_25: 25 joints x 3) or {COCO_18.num_keypoints * 3} "
                "(COCO-18: 18 joints x 3)")
        if not all(map(_number, values)):
            bad = next(i for i, v in enumerate(values) if not _number(v))
            raise PoseFileError(f"{label}, person {k}: 'pose_keypoints_2d' value {bad} "
                                f"({mapping.names[bad // 3]}) is {values[bad]!r}, expected a number")
        points = np.asarray(values, np.float64).reshape(-1, 3)
        bad = ~np.isfinite(points).all(axis=1)
        if bad.any():
            j = int(np.argmax(bad))
            raise PoseFileError(f"{label}, person {k}: keypoint {j} ({mapping.names[j]}) is not finite: "
                                f"{points[j].tolist()}")
        if (points[:, 2] < 0).any():
            j = int(np.argmax(points[:, 2] < 0))
            raise PoseFileError(f"{label}, person {k}: keypoint {j} ({mapping.names[j]}) has negative "
                                f"confidence {points[j, 2]:g} (expected 0..1; 0 = missing)")
        points[:, 2] = np.minimum(points[:, 2], 1.0)  # OpenPose heatmap peaks can exceed 1 slightly
        poses.append(map_keypoints(points.astype(np.float32), mapping))
        pid = person.get("person_id")
        ids.append(pid[0] if isinstance(pid, list) and len(pid) == 1 else pid)
    return poses, ids


def _canvas_size(label: str, frame: dict) -> tuple[int, int] | None:
    w, h = frame.get("canvas_width"), frame.get("canvas_height")
    if w is None and h is None:
        return None
    if not (_number(w) and _number(h)) or w <= 0 or h <= 0 or int(w) != w or int(h) != h:
        raise PoseFileError(f"{label}: 'canvas_width' / 'canvas_height' must be positive integers, got {w!r} x {h!r}")
    return int(w), int(h)


def _load_openpose(path: Path, frames: list[tuple[str, Any]], person_id: int | None, fps: float | None,
                   size: tuple[int, int] | None) -> PoseSequence:
    if not frames:
        raise PoseFileError(f"{path}: holds no frames")
    canvas, canvas_label = None, None
    people, ids = [], []
    for label, frame in frames:
        poses, frame_ids = _openpose_people(label, frame)
        people.append(poses)
        ids.append(frame_ids)
        this = _canvas_size(label, frame)
        if this is not None:
            if canvas is not None and this != canvas:
                raise PoseFileError(f"{label}: canvas is {this[0]}x{this[1]} but {canvas_label} is "
                                    f"{canvas[0]}x{canvas[1]}; all frames of a sequence must have one size")
            canvas, canvas_label = this, label
    if canvas is not None and size is not None and tuple(size) != canvas:
        raise PoseFileError(f"{path}: the file says its canvas is {canvas[0]}x{canvas[1]}, but size="
                            f"{size[0]}x{size[1]} was given")
    if canvas is None:
        if size is None:
            raise PoseFileError(f"{path}: OpenPose file with no canvas size ('canvas_width', 'canvas_height'); "
                                "give the frame size: size=(width, height) in Python, --size WIDTHxHEIGHT "
                                "on the command line")
        canvas = (int(size[0]), int(size[1]))
    chosen = _choose_people(path, people, ids, person_id)
    keypoints = np.stack([np.zeros((NUM_JOINTS, 3), np.float32) if p is None else p for p in chosen])
    visible = keypoints[..., 2] > 0
    if visible.any() and np.abs(keypoints[..., :2][visible]).max() <= 1.0:
        # ControlNet-style tools (controlnet_aux) may write coordinates normalized to the canvas.
        logger.info("%s: all coordinates lie in [0, 1]: reading them as normalized to the %dx%d canvas",
                    path, *canvas)
        keypoints[..., 0] *= canvas[0]
        keypoints[..., 1] *= canvas[1]
        keypoints[..., :2] *= visible[..., None]
    return PoseSequence(keypoints, canvas[0], canvas[1], fps or DEFAULT_FPS, source=str(path))


def _box_area(pose: np.ndarray) -> float:
    xy = pose[pose[:, 2] > 0, :2]
    if len(xy) < 2:
        return 0.0
    extent = xy.max(axis=0) - xy.min(axis=0)
    return float(extent[0] * extent[1]) + float(extent.sum()) * 1e-6  # ties broken by the span


def _pose_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of the joints both poses see, in units of b's box diagonal (inf if none shared)."""
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    if not both.any():
        return math.inf
    xy = b[b[:, 2] > 0, :2]
    diag = float(np.hypot(*(xy.max(axis=0) - xy.min(axis=0)))) + 1.0
    return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean()) / diag


def _choose_people(path: Path, people: list[list[np.ndarray]], ids: list[list[Any]],
                   person_id: int | None) -> list[np.ndarray | None]:
    """One pose (or None) per frame: the given person_id, or the largest person followed by nearness."""
    if person_id is not None:
        chosen = []
        for poses, frame_ids in zip(people, ids):
            match = [p for p, i in zip(poses, frame_ids) if i == person_id]
            chosen.append(match[0] if match else None)
        if all(c is None for c in chosen):
            seen = sorted({str(i) for frame_ids in ids for i in frame_ids})
            raise PoseFileError(f"{path}: no person has person_id {person_id} in any frame "
                                f"(person_id values present: {', '.join(seen) or 'none'})")
        return chosen
    chosen, last = [], None
    for poses in people:
        if not poses:
            chosen.append(None)
            continue
        pick = None
        if last is not None:
            gaps = [_pose_gap(p, last) for p in poses]
            best = int(np.argmin(gaps))
            if gaps[best] < 0.5:  # within half a body of where the followed person was
                pick = poses[best]
        if pick is None:
            pick = max(poses, key=_box_area)
        chosen.append(pick)
        last = pick
    return chosen


# --- COCO --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CocoPerson:
    """One person annotation of a COCO keypoints file.

    joints: float32 (13, 3) ours, in pixels of the image. Confidence: 1 where COCO's flag v = 2
        (labelled, visible), 0.5 where v = 1 (labelled, occluded), 0 where v = 0 (not labelled).
    keypoints: float32 (17, 3) the raw COCO keypoints [x, y, v].
    bbox: (x, y, w, h) COCO's box (from the labelled keypoints when the file has none).
    """

    annotation_id: int
    image_id: int
    file_name: str
    width: int
    height: int
    joints: np.ndarray
    keypoints: np.ndarray
    bbox: tuple[float, float, float, float]
    iscrowd: bool

    @property
    def num_labelled(self) -> int:
        return int((self.keypoints[:, 2] > 0).sum())


def read_coco_people(path: str | os.PathLike) -> list[CocoPerson]:
    """Every person annotation with keypoints in a COCO keypoints JSON, in file order."""
    path = Path(path)
    if not path.exists():
        raise PoseFileError(f"{path}: no such pose file")
    return _coco_people(path, _read_json(path))


def _coco_people(path: Path, data: Any) -> list[CocoPerson]:
    if not (isinstance(data, dict) and isinstance(data.get("images"), list)
            and isinstance(data.get("annotations"), list)):
        raise PoseFileError(f"{path}: expected a COCO keypoints file: an object with 'images' and 'annotations' lists")
    images = {}
    for k, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image:
            raise PoseFileError(f"{path}: images[{k}]: expected an object with 'id', 'width', 'height'")
        w, h = image.get("width"), image.get("height")
        if type(w) is not int or type(h) is not int or w <= 0 or h <= 0:
            raise PoseFileError(f"{path}: image id {image['id']}: 'width' and 'height' must be positive "
                                f"integers, got {w!r} x {h!r}")
        images[image["id"]] = image
    out = []
    for k, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            raise PoseFileError(f"{path}: annotations[{k}]: expected an object")
        if "keypoints" not in ann:
            continue  # not a person-keypoints annotation
        where = f"{path}: annotation id {ann.get('id', f'#{k}')}"
        if ann.get("image_id") not in images:
            raise PoseFileError(f"{where}: 'image_id' {ann.get('image_id')!r} is not in 'images'")
        values = ann["keypoints"]
        if not isinstance(values, list) or len(values) != COCO_17.num_keypoints * 3:
            count = len(values) if isinstance(values, list) else type(values).__name__
            raise PoseFileError(f"{where}: 'keypoints' holds {count} values, expected "
                                f"{COCO_17.num_keypoints * 3} (17 joints x [x, y, v])")
        if not all(map(_number, values)):
            bad = next(i for i, v in enumerate(values) if not _number(v))
            raise PoseFileError(f"{where}: 'keypoints' value {bad} ({COCO_17.names[bad // 3]}) is {values[bad]!r}, "
                                "expected a number")
        points = np.asarray(values, np.float64).reshape(17, 3)
        bad = ~np.isfinite(points).all(axis=1)
        if bad.any():
            j = int(np.argmax(bad))
            raise PoseFileError(f"{where}: keypoint {j} ({COCO_17.names[j]}) is not finite: {points[j].tolist()}")
        flags = points[:, 2]
        bad = ~np.isin(flags, (0, 1, 2))
        if bad.any():
            j = int(np.argmax(bad))
            raise PoseFileError(f"{where}: keypoint {j} ({COCO_17.names[j]}): visibility flag must be 0, 1 or 2, "
                                f"got {flags[j]:g}")
        conf = np.where(flags == 2, 1.0, np.where(flags == 1, 0.5, 0.0))
        raw = np.concatenate([points[:, :2], conf[:, None]], axis=1).astype(np.float32)
        raw[conf == 0, :2] = 0.0
        bbox = ann.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4 and all(map(_number, bbox)):
            box = tuple(float(v) for v in bbox)
        else:
            xy = raw[conf > 0, :2]
            box = ((float(xy[:, 0].min()), float(xy[:, 1].min()), float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])))
                   if len(xy) else (0.0, 0.0, 0.0, 0.0))
        image = images[ann["image_id"]]
        out.append(CocoPerson(
            annotation_id=ann.get("id", k), image_id=ann["image_id"], file_name=str(image.get("file_name", "")),
            width=image["width"], height=image["height"], joints=map_keypoints(raw, COCO_17),
            keypoints=np.concatenate([points[:, :2], flags[:, None]], axis=1).astype(np.float32),
            bbox=box, iscrowd=bool(ann.get("iscrowd", 0))))
    return out


def _load_coco(path: Path, data: dict, person_id: int | None, fps: float | None) -> PoseSequence:
    people = _coco_people(path, data)
    if person_id is not None:
        match = [p for p in people if p.annotation_id == person_id]
        if not match:
            ids = ", ".join(str(p.annotation_id) for p in people[:20])
            raise PoseFileError(f"{path}: no person annotation has id {person_id} (ids: {ids or 'none'})")
        p = match[0]
        return PoseSequence(p.joints, p.width, p.height, fps or DEFAULT_FPS, source=f"{path} (annotation {p.annotation_id})")
    # One frame per image, in file order: the largest labelled person (by box area) of each.
    frames, size, first = [], None, None
    for image in data["images"]:
        candidates = [p for p in people if p.image_id == image["id"] and not p.iscrowd and p.num_labelled > 0]
        if size is None:
            size, first = (image["width"], image["height"]), image["id"]
        elif (image["width"], image["height"]) != size:
            raise PoseFileError(
                f"{path}: frame {len(frames)} (image id {image['id']}) is {image['width']}x{image['height']} but "
                f"frame 0 (image id {first}) is {size[0]}x{size[1]}: images of different sizes cannot form one "
                "sequence; pass person_id (an annotation id) to read one person")
        best = max(candidates, key=lambda p: p.bbox[2] * p.bbox[3], default=None)
        frames.append(None if best is None else best.joints)
    if not frames:
        raise PoseFileError(f"{path}: the COCO file lists no images")
    return PoseSequence.from_frames(frames, size[0], size[1], fps or DEFAULT_FPS, source=str(path))


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def save_poses(seq: PoseSequence, path: str | os.PathLike, format: str = "ilat", *,
               keep_confidence: bool = False) -> Path:
    """Write a sequence atomically (nothing is left at `path` if writing fails). Returns the path.

    format "ilat": our JSON (docs/pose-format.md), one file, lossless for float32.
    format "openpose": OpenPose COCO-18 body keypoints in pixels with 'canvas_width' /
        'canvas_height', the layout ControlNet-style tools read. A path ending in .json gets one
        file holding a list of frames; any other path is a folder (new or empty) of one file per
        frame, named like OpenPose's `<name>_000000000000_keypoints.json`. The frame rate is not
        stored. keep_confidence=False writes 1 for every present joint, because ControlNet's
        reader drops keypoints with confidence below 1; True keeps our confidences.
    """
    seq.validate()
    path = Path(path)
    if format == "ilat":
        with atomic_output(path) as tmp:
            tmp.write_text(_ilat_json(seq), encoding="utf-8")
        return path
    if format != "openpose":
        raise IlatError(f"{path}: unknown pose format {format!r}; expected 'ilat' or 'openpose'")
    points = _ilat_to_coco18(seq.keypoints)  # (T, 18, 3)
    if not keep_confidence:
        points[..., 2] = (points[..., 2] > 0).astype(np.float32)
    rows = points.reshape(len(seq), COCO_18.num_keypoints * 3).tolist()
    frames = [_openpose_frame(seq, row, present) for row, present in zip(rows, seq.has_person.tolist())]
    if path.suffix.lower() == ".json":
        with atomic_output(path) as tmp:
            tmp.write_text("[\n" + ",\n".join(json.dumps(f) for f in frames) + "\n]\n", encoding="utf-8")
        return path
    _write_folder(path, {f"{path.name}_{t:012d}_keypoints.json": json.dumps(f) + "\n" for t, f in enumerate(frames)})
    return path


def _write_folder(path: Path, files: dict[str, str]) -> None:
    """Write files into a new folder beside `path`, then move it into place (path: absent or empty)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise IlatError(f"{path}: the output folder {parent} does not exist")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise IlatError(f"{path}: already exists and is not an empty folder; choose a new folder "
                        "(or a .json path for one file)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        if path.exists():
            path.rmdir()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _openpose_frame(seq: PoseSequence, values: list[float], present: bool) -> dict:
    people = []
    if present:
        people.append({"person_id": [-1], "pose_keypoints_2d": values, "face_keypoints_2d": [],
                       "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": []})
    return {"version": 1.3, "people": people, "canvas_width": seq.width, "canvas_height": seq.height}


def _f32(value: np.float32) -> str:
    """The shortest decimal that reads back as the same float32 (JSON has no NaN; validated before)."""
    return np.format_float_positional(value, unique=True, trim="-")


def _ilat_json(seq: PoseSequence) -> str:
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
