"""Pose files in and out: our JSON, OpenPose JSON, ControlNet's pose JSON (ComfyUI's POSE_KEYPOINT),
COCO keypoints JSON and Penn Action .mat.

    seq = load_poses("poses.json")                    # any supported format, detected from content
    seq = load_poses("openpose_out/", size=(1920, 1080), fps=25)
    save_poses(seq, "poses.json")                     # ours (docs/pose-format.md)
    save_poses(seq, "controlnet_poses.json", format="controlnet")

Every reader returns a validated PoseSequence (T, 13, 3) in the pixels of its frames, with the
hand and foot points (extras) where the format has them, and raises PoseFileError naming the file,
the frame (and person / joint) and the field that is wrong.

    joint_maps.py  other skeletons -> our 13 joints and back (BODY_25, COCO_18, COCO_17, the head
                   rule); our hand/foot points <-> OpenPose's 21-point hands and 6 foot points
    ours.py        our versioned JSON        openpose.py  OpenPose JSON (files, lists, folders)
    controlnet.py  POSE_KEYPOINT (ComfyUI)   coco.py      COCO keypoints JSON
    penn.py        Penn Action .mat
    common.py      JSON reading with exact errors, DEFAULT_FPS
This module detects the format and dispatches.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import IlatError, PoseFileError
from ..sequence import PoseSequence
from .coco import CocoPerson, read_coco, read_coco_people
from .common import DEFAULT_FPS, read_json, warn_ignored
from .controlnet import controlnet_frames, is_controlnet, poses_from_controlnet, write_controlnet
from .joint_maps import BODY_25, COCO_17, COCO_18, ILAT_TO_COCO_18, JointMapping, map_keypoints
from .openpose import folder_frames, read_openpose, write_openpose
from .ours import FORMAT_NAME, FORMAT_VERSION, read_ilat, write_ilat
from .penn import read_penn

__all__ = ["load_poses", "save_poses", "detect_format", "read_coco_people", "CocoPerson", "JointMapping",
           "map_keypoints", "BODY_25", "COCO_18", "COCO_17", "ILAT_TO_COCO_18", "FORMAT_NAME",
           "FORMAT_VERSION", "DEFAULT_FPS", "FORMATS", "WRITE_FORMATS", "controlnet_frames",
           "poses_from_controlnet"]

FORMATS = ("ilat", "openpose", "controlnet", "coco", "penn")
WRITE_FORMATS = ("ilat", "openpose", "controlnet")


def load_poses(path: str | os.PathLike, *, person_id: int | None = None, fps: float | None = None,
               size: tuple[int, int] | None = None) -> PoseSequence:
    """Read a pose file of any supported format as a PoseSequence (T, 13, 3) in pixels.

    path: our JSON; OpenPose JSON (BODY_25 or COCO-18) as one file (one frame, or a list of frames)
        or a folder of one file per frame; ControlNet's pose JSON (POSE_KEYPOINT); a COCO keypoints
        JSON; a Penn Action .mat.
    person_id: OpenPose: the `person_id` to follow (default: the largest person, then the nearest
        one frame to frame). COCO: the annotation id (default: the largest labelled person of each
        image). Ignored (with a warning) by formats that hold one person.
    fps: the frame rate to give the sequence, for formats that record none (default 30); for ours
        it overrides the file's value (no resampling).
    size: (width, height) of the frames, needed for OpenPose files that record no canvas size.
    """
    path = Path(path)
    if path.is_dir():
        return read_openpose(path, folder_frames(path), person_id, fps, size)
    if not path.exists():
        raise PoseFileError(f"{path}: no such pose file or folder")
    if path.suffix.lower() == ".mat":
        seq = read_penn(path)
        warn_ignored(path, "person_id", person_id)
    else:
        data = read_json(path)
        kind = _json_kind(path, data)
        if kind == "ilat":
            warn_ignored(path, "person_id", person_id)
            seq = read_ilat(path, data)
        elif kind == "coco":
            seq = read_coco(path, data, person_id, fps)
        else:  # openpose and controlnet share one reader
            frames = data if isinstance(data, list) else [data]
            labels = [f"{path}: frame {i}" for i in range(len(frames))] if isinstance(data, list) else [str(path)]
            return read_openpose(path, list(zip(labels, frames)), person_id, fps, size)
    if size is not None and (seq.width, seq.height) != tuple(size):
        raise PoseFileError(f"{path}: the file says its frames are {seq.width}x{seq.height}, but size="
                            f"{size[0]}x{size[1]} was given; drop size or rescale the poses instead")
    return seq.replace(fps=fps) if fps is not None else seq


def detect_format(path: str | os.PathLike) -> str:
    """The format of a pose file or folder: one of FORMATS ('ilat', 'openpose', 'controlnet', 'coco',
    'penn'). ControlNet's pose JSON is OpenPose-like frames that all carry a canvas size and none
    OpenPose's 'version' field."""
    path = Path(path)
    if path.is_dir():
        return "openpose"
    if not path.exists():
        raise PoseFileError(f"{path}: no such pose file or folder")
    if path.suffix.lower() == ".mat":
        return "penn"
    return _json_kind(path, read_json(path))


def _json_kind(path: Path, data: Any) -> str:
    if isinstance(data, dict):
        if "format" in data or ("frames" in data and "version" in data):
            if data.get("format") != FORMAT_NAME:
                raise PoseFileError(f"{path}: field 'format' is {data.get('format')!r}, expected {FORMAT_NAME!r}")
            return "ilat"
        if "annotations" in data and "images" in data:
            return "coco"
        if "people" in data:
            return "controlnet" if is_controlnet(data) else "openpose"
    elif isinstance(data, list) and data and all(isinstance(f, dict) and "people" in f for f in data):
        return "controlnet" if is_controlnet(data) else "openpose"
    raise PoseFileError(
        f"{path}: not a pose file this tool knows: expected our JSON (\"format\": \"{FORMAT_NAME}\"), "
        "OpenPose or ControlNet pose JSON (an object with \"people\", or a list of them), or COCO keypoints JSON "
        "(\"images\" and \"annotations\")")


def save_poses(seq: PoseSequence, path: str | os.PathLike, format: str = "ilat", *,
               keep_confidence: bool = False) -> Path:
    """Write a sequence atomically (nothing is left at `path` if writing fails). Returns the path.

    format "ilat": our JSON (docs/pose-format.md), one file, lossless for float32.
    format "openpose": OpenPose COCO-18 body keypoints in pixels with 'canvas_width' /
        'canvas_height', the layout ControlNet-style tools read. A path ending in .json gets one
        file holding a list of frames; any other path is a folder (new or empty) of one file per
        frame, named like OpenPose's `<name>_000000000000_keypoints.json`. The frame rate is not
        stored. keep_confidence=False writes 1 for every present joint, because ControlNet's
        reader drops keypoints with confidence below 1; True keeps our confidences. Extras go to
        the 21-point hands.
    format "controlnet": ControlNet's pose JSON (POSE_KEYPOINT; controlnet.py): one .json file,
        a list of frames, pixels, confidence 1 for present points; extras go to the hands and
        DWPose's foot_keypoints_2d.
    """
    seq.validate()
    path = Path(path)
    if format == "ilat":
        write_ilat(seq, path)
    elif format == "openpose":
        write_openpose(seq, path, keep_confidence=keep_confidence)
    elif format == "controlnet":
        write_controlnet(seq, path)
    else:
        raise IlatError(f"{path}: unknown pose format {format!r}; expected one of: {', '.join(WRITE_FORMATS)}")
    return path
