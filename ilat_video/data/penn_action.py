"""Penn Action (the paper's training data) as pair samples.

Layout (Zhang et al., ICCV 2013; also what `ilat-video synth` writes):

    ROOT/frames/NNNN/000001.jpg ...   one folder of frames per video
    ROOT/labels/NNNN.mat              x, y: (nframes, 13) pixels; visibility: (nframes, 13) 0/1;
                                      bbox: (nframes, 4) x0 y0 x1 y1; dimensions: [height width
                                      nframes]; nframes; action; pose (view); train: 1 or -1

Joint order: index 1, 3, ... are the person's anatomical right joints (data/README.md explains
why the Penn README's names are swapped); our skeleton uses the same order, so no remapping.
A joint with visibility 0 still has a labelled (estimated) position: it gets confidence
`occluded_confidence` if that position is inside the frame, else 0.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..crop import CropBox, person_box, square_crop_box
from ..errors import DatasetError, IlatError
from ..fileio import load_image
from ..pose.skeleton import NUM_JOINTS
from .pairs import make_pair_sample, sample_pair_indices

log = logging.getLogger(__name__)

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test", "all")
LAYOUT = "ROOT/frames/NNNN/000001.jpg ... and ROOT/labels/NNNN.mat"


@dataclass
class PennVideo:
    """One labelled video. poses: float32 (T, 13, 3) in frame pixels; bboxes: (T, 4) or None."""

    video_id: str
    frame_files: list[Path]
    poses: np.ndarray
    bboxes: np.ndarray | None
    width: int
    height: int
    action: str
    view: str
    train: bool
    label_file: Path

    @property
    def num_frames(self) -> int:
        return len(self.frame_files)


def _scalar(labels: dict, name: str, path: Path):
    value = np.asarray(labels[name]).ravel()
    if value.size != 1:
        raise DatasetError(f"{path}: field '{name}' must hold one value, got shape {np.shape(labels[name])}")
    return value[0]


def _text(labels: dict, name: str) -> str:
    if name not in labels:
        return ""
    value = np.asarray(labels[name]).ravel()
    return str(value[0]).strip() if value.size else ""


def read_labels(path: str | os.PathLike, *, occluded_confidence: float = 0.5) -> dict:
    """Read and check one Penn Action label file.

    Returns dict(poses (T, 13, 3) float32, bboxes (T, 4) float32 or None, width, height,
    nframes, action, view, train (bool or None when the field is absent)). Raises DatasetError
    naming the file and field when anything is missing or inconsistent.
    """
    import scipy.io

    path = Path(path)
    try:
        labels = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError... for broken files
        raise DatasetError(f"{path}: not a readable MATLAB label file ({exc})") from exc
    for name in ("x", "y", "visibility", "nframes", "dimensions"):
        if name not in labels:
            raise DatasetError(f"{path}: field '{name}' is missing (a Penn Action label needs x, y, "
                               "visibility, nframes, dimensions)")
    nframes = int(_scalar(labels, "nframes", path))
    if nframes < 1:
        raise DatasetError(f"{path}: field 'nframes' is {nframes}; expected at least 1")
    arrays = {}
    for name in ("x", "y", "visibility"):
        value = np.asarray(labels[name], dtype=np.float64)
        if value.shape != (nframes, NUM_JOINTS):
            raise DatasetError(f"{path}: field '{name}' has shape {value.shape}; expected "
                               f"(nframes, {NUM_JOINTS}) = ({nframes}, {NUM_JOINTS})")
        arrays[name] = value
    bad = ~np.isfinite(arrays["x"]) | ~np.isfinite(arrays["y"])
    if bad.any():
        frame, joint = np.argwhere(bad)[0]
        raise DatasetError(f"{path}: frame {frame}, joint {joint}: x or y is not a finite number")
    dims = np.asarray(labels["dimensions"]).ravel()
    if dims.size < 2 or dims[0] <= 0 or dims[1] <= 0:
        raise DatasetError(f"{path}: field 'dimensions' must be [height width nframes], got {dims.tolist()}")
    height, width = int(dims[0]), int(dims[1])
    if dims.size >= 3 and int(dims[2]) != nframes:
        raise DatasetError(f"{path}: 'dimensions' says {int(dims[2])} frames but 'nframes' says {nframes}")
    visible = arrays["visibility"] > 0
    x, y = arrays["x"], arrays["y"]
    inside = (x >= 0) & (y >= 0) & (x <= width - 1) & (y <= height - 1)
    confidence = np.where(visible, 1.0, np.where(inside, occluded_confidence, 0.0))
    poses = np.stack([x, y, confidence], axis=-1).astype(np.float32)
    bboxes = None
    if "bbox" in labels:
        box = np.asarray(labels["bbox"], dtype=np.float64)
        if box.shape != (nframes, 4):
            raise DatasetError(f"{path}: field 'bbox' has shape {box.shape}; expected (nframes, 4) = ({nframes}, 4)")
        bboxes = box.astype(np.float32)
    train = None
    if "train" in labels:
        value = int(_scalar(labels, "train", path))
        if value not in (1, -1, 0):
            raise DatasetError(f"{path}: field 'train' is {value}; expected 1 (train) or -1 (test)")
        train = value == 1
    return dict(poses=poses, bboxes=bboxes, width=width, height=height, nframes=nframes,
                action=_text(labels, "action"), view=_text(labels, "pose"), train=train)


def _frame_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith("."))


def find_videos(root: str | os.PathLike, split: str = "all", *, occluded_confidence: float = 0.5,
                check_frame_size: bool = True) -> list[PennVideo]:
    """All videos of a Penn Action root in `split` ("train", "test" or "all"), checked.

    Checks the layout, every label file, that each video's frame folder exists and holds
    `nframes` images, and (check_frame_size) that its first frame has the labelled dimensions.
    Raises DatasetError naming the file and what was expected.
    """
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder (expected {LAYOUT})")
    labels_dir, frames_dir = root / "labels", root / "frames"
    missing = [name for name, folder in (("labels", labels_dir), ("frames", frames_dir)) if not folder.is_dir()]
    if missing:
        raise DatasetError(f"{root}: not in the Penn Action layout, no {' or '.join(missing)} folder "
                           f"(expected {LAYOUT})")
    label_files = sorted(p for p in labels_dir.glob("*.mat") if not p.name.startswith("."))
    if not label_files:
        raise DatasetError(f"{labels_dir}: no label files (*.mat); expected {LAYOUT}")
    videos = []
    for label_file in label_files:
        info = read_labels(label_file, occluded_confidence=occluded_confidence)
        if split != "all":
            if info["train"] is None:
                raise DatasetError(f"{label_file}: field 'train' is missing, so the {split} split is unknown "
                                   "(use split='all')")
            if info["train"] != (split == "train"):
                continue
        video_id = label_file.stem
        folder = frames_dir / video_id
        if not folder.is_dir():
            raise DatasetError(f"{label_file}: its frames folder {folder} does not exist")
        files = _frame_files(folder)
        if len(files) != info["nframes"]:
            raise DatasetError(f"{label_file}: labels {info['nframes']} frames (nframes) but {folder} holds "
                               f"{len(files)} images")
        if check_frame_size:
            _check_size(files[0], info["width"], info["height"], label_file)
        videos.append(PennVideo(video_id=video_id, frame_files=files, poses=info["poses"], bboxes=info["bboxes"],
                                width=info["width"], height=info["height"], action=info["action"],
                                view=info["view"], train=bool(info["train"]), label_file=label_file))
    if not videos:
        raise DatasetError(f"{root}: no videos in the {split} split (field 'train' is "
                           f"{'1' if split == 'train' else '-1'} for none of {len(label_files)} label files)")
    return videos


def _check_size(frame_file: Path, width: int, height: int, label_file: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(frame_file) as image:
            size = image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{frame_file}: not a readable image ({exc})") from exc
    if size != (width, height):
        raise DatasetError(f"{frame_file}: is {size[0]}x{size[1]} but {label_file} field 'dimensions' says "
                           f"{width}x{height} (width x height)")


def load_frame(video: PennVideo, index: int) -> np.ndarray:
    """Frame `index` of a video as uint8 (H, W, 3) RGB, checked against the labelled size."""
    path = video.frame_files[index]
    try:
        frame = load_image(path)
    except IlatError as exc:
        raise DatasetError(str(exc)) from exc
    if frame.shape[:2] != (video.height, video.width):
        raise DatasetError(f"{path}: frame {index} is {frame.shape[1]}x{frame.shape[0]} but {video.label_file} "
                           f"field 'dimensions' says {video.width}x{video.height}")
    return frame


class PennActionPairs(torch.utils.data.Dataset):
    """(reference, target) frame pairs of Penn Action videos, cropped around the person.

    root: a Penn Action folder (see the module docstring). size: output side S. split: "train",
    "test" (the labels' `train` field) or "all". Each video gives `pairs_per_video` items per
    epoch; item k picks its two frames (at least `min_gap` apart) and its crop jitter from a
    generator seeded by (seed, epoch, k), so it is the same in any worker; call set_epoch(e)
    for fresh pairs each epoch. The crop is the square around the person over the whole clip
    (joints and boxes), widened by `margin` on each side, optionally jittered (scale_jitter,
    shift_jitter) and mirrored with probability `flip`. Sample: see `ilat_video.data.pairs`.
    """

    def __init__(self, root: str | os.PathLike, size: int, split: str = "train", *, seed: int = 0,
                 pairs_per_video: int = 1, min_gap: int = 1, margin: float = 0.12, scale_jitter: float = 0.0,
                 shift_jitter: float = 0.0, flip: float = 0.0, occluded_confidence: float = 0.5,
                 actions: list[str] | None = None) -> None:
        if size < 8 or pairs_per_video < 1:
            raise ValueError("size must be >= 8 and pairs_per_video >= 1")
        videos = find_videos(root, split, occluded_confidence=occluded_confidence)
        if actions is not None:
            wanted = set(actions)
            videos = [v for v in videos if v.action in wanted]
            if not videos:
                raise DatasetError(f"{root}: no {split} videos with action in {sorted(wanted)}")
        self.root = Path(root)
        self.videos = videos
        self.size = int(size)
        self.split = split
        self.seed = int(seed)
        self.epoch = 0
        self.pairs_per_video = int(pairs_per_video)
        self.min_gap = int(min_gap)
        self.margin = float(margin)
        self.scale_jitter = float(scale_jitter)
        self.shift_jitter = float(shift_jitter)
        self.flip = float(flip)
        self.person_boxes = []
        for video in videos:
            box = person_box(video.poses, video.bboxes)
            if box is None:
                raise DatasetError(f"{video.label_file}: no visible joint in any frame, so no person to crop")
            self.person_boxes.append(box)
        log.info("Penn Action %s split of %s: %d videos", split, root, len(videos))

    def __len__(self) -> int:
        return len(self.videos) * self.pairs_per_video

    def set_epoch(self, epoch: int) -> None:
        """Choose the pairs of another epoch (call before each epoch, as with DistributedSampler)."""
        self.epoch = int(epoch)

    def crop_box(self, video_index: int, rng: np.random.Generator | None = None) -> CropBox:
        """The crop of one video (jittered when rng is given)."""
        video = self.videos[video_index]
        return square_crop_box(self.person_boxes[video_index], video.width, video.height, margin=self.margin,
                               rng=rng, scale_jitter=self.scale_jitter, shift_jitter=self.shift_jitter)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        video_index = index // self.pairs_per_video
        video = self.videos[video_index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        usable = (video.poses[..., 2] > 0).any(axis=1)
        i, j = sample_pair_indices(rng, video.num_frames, usable=usable, min_gap=self.min_gap)
        box = self.crop_box(video_index, rng)
        flip = self.flip > 0 and rng.uniform() < self.flip
        return make_pair_sample(load_frame(video, i), load_frame(video, j), video.poses[i], video.poses[j],
                                box, self.size, flip=flip)
