"""COCO keypoints JSON: person annotations (17 keypoints with visibility flags) on images."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import PoseFileError
from ..sequence import PoseSequence
from .common import DEFAULT_FPS, is_number, read_json
from .joint_maps import COCO_17, map_keypoints


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
    return coco_people(path, read_json(path))


def coco_people(path: Path, data: Any) -> list[CocoPerson]:
    """The person annotations of a parsed COCO file, validated, in file order."""
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
        out.append(_person(path, k, ann, images))
    return out


def _person(path: Path, k: int, ann: dict, images: dict) -> CocoPerson:
    """Annotation number k (which has 'keypoints') as a CocoPerson."""
    where = f"{path}: annotation id {ann.get('id', f'#{k}')}"
    if ann.get("image_id") not in images:
        raise PoseFileError(f"{where}: 'image_id' {ann.get('image_id')!r} is not in 'images'")
    values = ann["keypoints"]
    if not isinstance(values, list) or len(values) != COCO_17.num_keypoints * 3:
        count = len(values) if isinstance(values, list) else type(values).__name__
        raise PoseFileError(f"{where}: 'keypoints' holds {count} values, expected "
                            f"{COCO_17.num_keypoints * 3} (17 joints x [x, y, v])")
    if not all(map(is_number, values)):
        bad = next(i for i, v in enumerate(values) if not is_number(v))
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
    if isinstance(bbox, list) and len(bbox) == 4 and all(map(is_number, bbox)):
        box = tuple(float(v) for v in bbox)
    else:
        xy = raw[conf > 0, :2]
        box = ((float(xy[:, 0].min()), float(xy[:, 1].min()), float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])))
               if len(xy) else (0.0, 0.0, 0.0, 0.0))
    image = images[ann["image_id"]]
    return CocoPerson(
        annotation_id=ann.get("id", k), image_id=ann["image_id"], file_name=str(image.get("file_name", "")),
        width=image["width"], height=image["height"], joints=map_keypoints(raw, COCO_17),
        keypoints=np.concatenate([points[:, :2], flags[:, None]], axis=1).astype(np.float32),
        bbox=box, iscrowd=bool(ann.get("iscrowd", 0)))


def read_coco(path: Path, data: dict, person_id: int | None, fps: float | None) -> PoseSequence:
    """One annotation (person_id) as a one-frame sequence, else one frame per image: its largest
    labelled person (by box area), in file order."""
    people = coco_people(path, data)
    if person_id is not None:
        match = [p for p in people if p.annotation_id == person_id]
        if not match:
            ids = ", ".join(str(p.annotation_id) for p in people[:20])
            raise PoseFileError(f"{path}: no person annotation has id {person_id} (ids: {ids or 'none'})")
        p = match[0]
        return PoseSequence(p.joints, p.width, p.height, fps or DEFAULT_FPS,
                            source=f"{path} (annotation {p.annotation_id})")
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
