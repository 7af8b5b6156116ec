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
from ..sequence import NUM_EXTRAS, PoseSequence
from ..skeleton import L_WRIST, NUM_JOINTS, R_WRIST
from .common import DEFAULT_FPS, is_number, read_json
from .joint_maps import (BODY_25, FOOT_6_NAMES, HAND_21_NAMES, OPENPOSE_BY_COUNT, JointMapping,
                         extras_from_openpose, extras_to_openpose, ilat_to_coco18, map_keypoints)

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
    people, ids, extras = [], [], []
    for label, frame in frames:
        poses, frame_ids, frame_extras = _people(label, frame)
        people.append(poses)
        ids.append(frame_ids)
        extras.append(frame_extras)
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
    chosen = _choose_people(path, people, ids, person_id)  # (frame's person index or None) per frame
    keypoints = np.stack([np.zeros((NUM_JOINTS, 3), np.float32) if k is None else people[t][k]
                          for t, k in enumerate(chosen)])
    chosen_extras = [None if k is None else extras[t][k] for t, k in enumerate(chosen)]
    hands_and_feet = None
    if any(e is not None for e in chosen_extras):
        hands_and_feet = np.stack([np.zeros((NUM_EXTRAS, 3), np.float32) if e is None else e
                                   for e in chosen_extras])
    visible = keypoints[..., 2] > 0
    if visible.any() and np.abs(keypoints[..., :2][visible]).max() <= 1.0:
        # ControlNet-style tools (controlnet_aux) may write coordinates normalized to the canvas.
        logger.info("%s: all coordinates lie in [0, 1]: reading them as normalized to the %dx%d canvas",
                    path, *canvas)
        for points in (keypoints, hands_and_feet):
            if points is not None:
                points[..., 0] *= canvas[0]
                points[..., 1] *= canvas[1]
                points[..., :2] *= (points[..., 2:] > 0)
    return PoseSequence(keypoints, canvas[0], canvas[1], fps or DEFAULT_FPS, source=str(path),
                        extras=hands_and_feet)


def _people(label: str, frame: Any) -> tuple[list[np.ndarray], list[Any], list[np.ndarray | None]]:
    """The people of one OpenPose frame: our (13, 3) poses, their person_id values, and their hand
    and foot points as our extras (10, 3), or None for a person with no hand or foot data."""
    if not isinstance(frame, dict) or not isinstance(frame.get("people"), list):
        raise PoseFileError(f"{label}: expected an object with a 'people' list")
    poses, ids, extras = [], [], []
    for k, person in enumerate(frame["people"]):
        if not isinstance(person, dict):
            raise PoseFileError(f"{label}, person {k}: expected an object with 'pose_keypoints_2d'")
        where = f"{label}, person {k}"
        points = _keypoints(where, person, "pose_keypoints_2d", OPENPOSE_BY_COUNT)
        if points is None:
            continue  # a face- or hand-only detection has no body
        mapping = OPENPOSE_BY_COUNT[len(points)]
        poses.append(map_keypoints(points, mapping))
        pid = person.get("person_id")
        ids.append(pid[0] if isinstance(pid, list) and len(pid) == 1 else pid)
        right = _keypoints(where, person, "hand_right_keypoints_2d", {21: HAND_21})
        left = _keypoints(where, person, "hand_left_keypoints_2d", {21: HAND_21})
        feet = _keypoints(where, person, "foot_keypoints_2d", {6: FOOT_6})
        if feet is None and mapping is BODY_25:
            feet = points[BODY_25_FEET]
        if right is None and left is None and feet is None:
            extras.append(None)
        else:
            extras.append(extras_from_openpose(*(_drop_marked_missing(p) for p in (right, left, feet))))
    return poses, ids, extras


# Names of the keypoints of the hand and foot arrays, for messages; BODY_25's feet are 19..24.
HAND_21 = JointMapping("OpenPose hand", HAND_21_NAMES, (), ())
FOOT_6 = JointMapping("foot_keypoints_2d", FOOT_6_NAMES, (), ())
BODY_25_FEET = [BODY_25.names.index(name) for name in FOOT_6_NAMES]


def _keypoints(where: str, person: dict, field: str, layouts: dict[int, JointMapping]) -> np.ndarray | None:
    """One keypoint array of a person as float32 (K, 3), or None if it is absent, null or empty.

    layouts: the allowed keypoint counts and their names. Confidences above 1 are clipped to 1.
    """
    values = person.get(field)
    if not values:
        return None
    if not isinstance(values, list):
        raise PoseFileError(f"{where}: {field!r} must be a list of numbers, got {type(values).__name__}")
    if all(isinstance(v, list) for v in values):  # some tools nest [[x, y, c], ...]
        values = [v for triple in values for v in triple]
    mapping = layouts.get(len(values) // 3) if len(values) % 3 == 0 else None
    if mapping is None:
        expected = " or ".join(f"{n * 3} ({m.name}: {n} points x 3)" for n, m in layouts.items())
        raise PoseFileError(f"{where}: {field!r} holds {len(values)} numbers; expected {expected}")
    if not all(map(is_number, values)):
        bad = next(i for i, v in enumerate(values) if not is_number(v))
        raise PoseFileError(f"{where}: {field!r} value {bad} ({mapping.names[bad // 3]}) is {values[bad]!r}, "
                            "expected a number")
    points = np.asarray(values, np.float64).reshape(-1, 3)
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        j = int(np.argmax(bad))
        raise PoseFileError(f"{where}: {field!r} keypoint {j} ({mapping.names[j]}) is not finite: "
                            f"{points[j].tolist()}")
    if (points[:, 2] < 0).any():
        j = int(np.argmax(points[:, 2] < 0))
        raise PoseFileError(f"{where}: {field!r} keypoint {j} ({mapping.names[j]}) has negative "
                            f"confidence {points[j, 2]:g} (expected 0..1; 0 = missing)")
    points[:, 2] = np.minimum(points[:, 2], 1.0)  # OpenPose heatmap peaks can exceed 1 slightly
    return points.astype(np.float32)


def _drop_marked_missing(points: np.ndarray | None) -> np.ndarray | None:
    """Hand and foot points left of and above the frame at once are missing: controlnet_aux marks an
    undetected hand point as (-1, -1) in pixels (-1/width, -1/height normalized) with confidence 1."""
    if points is None:
        return None
    out = points.copy()
    out[(out[:, 0] < 0) & (out[:, 1] < 0)] = 0.0
    return out


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
                   person_id: int | None) -> list[int | None]:
    """One person per frame, as an index into that frame's people (None: nobody): the given
    person_id, or the largest person followed by nearness."""
    if person_id is not None:
        chosen = []
        for frame_ids in ids:
            match = [k for k, i in enumerate(frame_ids) if i == person_id]
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
                pick = best
        if pick is None:
            pick = max(range(len(poses)), key=lambda k: _box_area(poses[k]))
        chosen.append(pick)
        last = poses[pick]
    return chosen


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def write_openpose(seq: PoseSequence, path: Path, *, keep_confidence: bool = False) -> None:
    """OpenPose COCO-18 frames: one .json file holding a list, or a folder of one file per frame.

    A sequence with extras also gets OpenPose's 21-point hands (openpose_people, joint_maps)."""
    frames = []
    for t, people in enumerate(openpose_people(seq, keep_confidence=keep_confidence, feet=False)):
        for person in people:
            person["person_id"] = [-1]
        frames.append({"version": 1.3, "people": people, "canvas_width": seq.width, "canvas_height": seq.height})
    if path.suffix.lower() == ".json":
        with atomic_output(path) as tmp:
            tmp.write_text("[\n" + ",\n".join(json.dumps(f) for f in frames) + "\n]\n", encoding="utf-8")
        return
    write_folder(path, {f"{path.name}_{t:012d}_keypoints.json": json.dumps(f) + "\n" for t, f in enumerate(frames)})


def openpose_people(seq: PoseSequence, *, keep_confidence: bool = False, feet: bool = True) -> list[list[dict]]:
    """Per frame, the `people` list of an OpenPose-style frame: [] (no person) or one person with
    COCO-18 `pose_keypoints_2d` in pixels, an empty `face_keypoints_2d`, and the hands (and, with
    feet=True, DWPose's `foot_keypoints_2d`) from the extras when the sequence has them, else empty.

    keep_confidence=False writes 1 for every present point (ControlNet's readers drop points with
    confidence below 1); missing points are 0, 0, 0.
    """
    arrays = {"pose_keypoints_2d": ilat_to_coco18(seq.keypoints)}  # (T, 18, 3)
    if seq.has_extras:
        parts = extras_to_openpose(seq.extras, seq.keypoints[:, [R_WRIST, L_WRIST]])
        arrays["hand_left_keypoints_2d"] = parts["left"]  # (T, 21, 3)
        arrays["hand_right_keypoints_2d"] = parts["right"]
        if feet:
            arrays["foot_keypoints_2d"] = parts["feet"]  # (T, 6, 3)
    rows = {}
    for name, points in arrays.items():  # whole arrays at once: per-frame numpy work is 10x slower
        if not keep_confidence:
            points[..., 2] = (points[..., 2] > 0).astype(np.float32)
        rows[name] = points.reshape(len(seq), points.shape[-2] * 3).tolist()
    out = []
    for t, present in enumerate(seq.has_person.tolist()):
        if not present:
            out.append([])
            continue
        person = {"pose_keypoints_2d": [], "face_keypoints_2d": [], "hand_left_keypoints_2d": [],
                  "hand_right_keypoints_2d": []}
        person.update({name: values[t] for name, values in rows.items()})
        out.append([person])
    return out


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
