"""OpenPose JSON (BODY_25 or COCO-18 body keypoints): read one file, a list of frames, or a folder
of one file per frame; write COCO-18 as ControlNet-style tools read it."""
from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import IlatError, PoseFileError
from ...fileio import atomic_output
from ..sequence import PoseSequence
from ..skeleton import NUM_JOINTS
from .common import DEFAULT_FPS, is_number, read_json
from .joint_maps import BODY_25, COCO_18, OPENPOSE_BY_COUNT, ilat_to_coco18, map_keypoints

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def folder_frames(folder: Path) -> list[tuple[str, Any]]:
    """(label, parsed frame) of each .json file of an OpenPose output folder, in natural name order."""
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
        data = read_json(file)
        if not (isinstance(data, dict) and "people" in data):
            raise PoseFileError(f"{file}: frame {i}: expected an OpenPose object with a 'people' list")
        frames.append((f"{file}: frame {i}", data))
    return frames


def read_openpose(path: Path, frames: list[tuple[str, Any]], person_id: int | None, fps: float | None,
                  size: tuple[int, int] | None) -> PoseSequence:
    """OpenPose frames (label, parsed frame) as one person's sequence.

    person_id: follow that `person_id` (default: the largest person, then the nearest frame to
    frame). size: (width, height), needed when the frames record no canvas size.
    """
    if not frames:
        raise PoseFileError(f"{path}: holds no frames")
    canvas, canvas_label = None, None
    people, ids = [], []
    for label, frame in frames:
        poses, frame_ids = _people(label, frame)
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


def _people(label: str, frame: Any) -> tuple[list[np.ndarray], list[Any]]:
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
        mapping = OPENPOSE_BY_COUNT.get(len(values) // 3) if len(values) % 3 == 0 else None
        if mapping is None:
            raise PoseFileError(
                f"{label}, person {k}: 'pose_keypoints_2d' holds {len(values)} numbers; expected "
                f"{BODY_25.num_keypoints * 3} (BODY_25: 25 joints x 3) or {COCO_18.num_keypoints * 3} "
                "(COCO-18: 18 joints x 3)")
        if not all(map(is_number, values)):
            bad = next(i for i, v in enumerate(values) if not is_number(v))
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
    if not (is_number(w) and is_number(h)) or w <= 0 or h <= 0 or int(w) != w or int(h) != h:
        raise PoseFileError(f"{label}: 'canvas_width' / 'canvas_height' must be positive integers, got {w!r} x {h!r}")
    return int(w), int(h)


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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def write_openpose(seq: PoseSequence, path: Path, *, keep_confidence: bool = False) -> None:
    """OpenPose COCO-18 frames: one .json file holding a list, or a folder of one file per frame."""
    points = ilat_to_coco18(seq.keypoints)  # (T, 18, 3)
    if not keep_confidence:
        points[..., 2] = (points[..., 2] > 0).astype(np.float32)
    rows = points.reshape(len(seq), COCO_18.num_keypoints * 3).tolist()
    frames = [_openpose_frame(seq, row, present) for row, present in zip(rows, seq.has_person.tolist())]
    if path.suffix.lower() == ".json":
        with atomic_output(path) as tmp:
            tmp.write_text("[\n" + ",\n".join(json.dumps(f) for f in frames) + "\n]\n", encoding="utf-8")
        return
    write_folder(path, {f"{path.name}_{t:012d}_keypoints.json": json.dumps(f) + "\n" for t, f in enumerate(frames)})


def write_folder(path: Path, files: dict[str, str]) -> None:
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
