"""ControlNet's pose JSON: the POSE_KEYPOINT value of ComfyUI's controlnet_aux nodes (DWPose,
OpenPose), as a Python list or as the JSON file their "save pose keypoints" node writes.

    [{"people": [{"pose_keypoints_2d": [x, y, c] x 18 (COCO-18), "face_keypoints_2d": [...],
                  "hand_left_keypoints_2d": [x, y, c] x 21, "hand_right_keypoints_2d": [...],
                  "foot_keypoints_2d": [x, y, c] x 6 (DWPose variants only)}],
      "canvas_width": W, "canvas_height": H}, ...]       # one dict per frame

Reading shares OpenPose's reader (openpose.py: which person, normalized or pixel coordinates, the
hand and foot points). Writing: pixels, a present point with c = 1.0 (those readers drop c < 1),
a missing one as 0, 0, 0; no "version" or "person_id" (which OpenPose itself writes), which is how
detect_format tells this format from OpenPose's. The 13 joints <-> COCO-18 rules and the hand and
foot slots are in joint_maps.py and docs/pose-format.md.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import IlatError, PoseFileError
from ...fileio import atomic_output
from ..sequence import PoseSequence
from .openpose import openpose_people, read_openpose

FORMAT_LABEL = "POSE_KEYPOINT"


def is_controlnet(data: Any) -> bool:
    """True for parsed JSON that looks like POSE_KEYPOINT: a frame object, or a non-empty list of
    them, each with 'people' and a canvas size, and none with OpenPose's 'version' field."""
    frames = data if isinstance(data, list) else [data]
    return bool(frames) and all(
        isinstance(f, dict) and "people" in f and "canvas_width" in f and "canvas_height" in f
        and "version" not in f for f in frames)


def controlnet_frames(seq: PoseSequence) -> list[dict]:
    """The POSE_KEYPOINT value of a sequence: one dict per frame (see the module docstring).

    Frames with no person have an empty `people` list. With extras, hands and `foot_keypoints_2d`
    carry the hand and foot points; without, those lists are empty.
    """
    seq.validate()
    return [{"people": people, "canvas_width": seq.width, "canvas_height": seq.height}
            for people in openpose_people(seq, keep_confidence=False, feet=True)]


def poses_from_controlnet(data: Any, *, source: str = FORMAT_LABEL, person_id: int | None = None,
                          fps: float | None = None, size: tuple[int, int] | None = None) -> PoseSequence:
    """A POSE_KEYPOINT value (a list of frame dicts, or one dict) as a PoseSequence.

    source names it in messages (a file, a node). person_id, fps and size: as load_poses. Raises
    PoseFileError naming the frame, the person and the field that is wrong.
    """
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise PoseFileError(f"{source}: expected a non-empty list of frames (dicts with 'people', "
                            f"'canvas_width', 'canvas_height'), got {_describe(data)}")
    frames = [(f"{source}: frame {i}", frame) for i, frame in enumerate(data)]
    return read_openpose(Path(source), frames, person_id, fps, size)


def write_controlnet(seq: PoseSequence, path: Path) -> None:
    """Write POSE_KEYPOINT JSON (one file, a list of frames) atomically."""
    if path.suffix.lower() != ".json":
        raise IlatError(f"{path}: ControlNet pose JSON is one file; give a path ending in .json")
    frames = controlnet_frames(seq)
    with atomic_output(path) as tmp:
        tmp.write_text("[\n" + ",\n".join(json.dumps(f) for f in frames) + "\n]\n", encoding="utf-8")


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "an empty list"
    return type(value).__name__
