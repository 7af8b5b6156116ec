"""Writing synthetic clips to disk in the Penn Action layout (what `ilat-video synth` runs).

    OUT/frames/NNNN/000001.jpg ...   the frames (JPEG), NNNN = 0001, 0002, ...
    OUT/labels/NNNN.mat              the labels (fields: see `video_labels` and data/README.md)

and beside them each frame's exact training targets (`layers=True`, the default; see
`video.FrameLayers`), lossless:

    OUT/masks/NNNN/000001.png ...    the person mask: 8-bit grey, 255 = person, 0 = not
    OUT/parts/NNNN/000001.png ...    body part ids: 8-bit grey, 0 = background, 1 head, 2 torso,
                                     3/4 right/left upper arm, 5/6 lower arm, 7/8 hand, 9/10 upper
                                     leg, 11/12 lower leg, 13/14 foot (`draw.PART_NAMES`)
    OUT/backgrounds/NNNN.png         the clip's background without the person (RGB; static, so one
                                     per clip)

Frames, masks and parts are rendered at the same supersampling, so a frame equals the background
wherever its mask is 0 up to JPEG's loss (exactly, before compression); masks == (parts > 0).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.io
from PIL import Image

from ...errors import DatasetError
from ...fileio import atomic_output
from ...pose import skeleton as sk
from .video import SPLITS, SynthVideo, file_video

log = logging.getLogger(__name__)


def video_labels(video: SynthVideo, train: bool) -> dict:
    """The Penn Action .mat fields of one clip (see data/README.md): x, y, visibility, bbox,
    dimensions [height width nframes], nframes, action, pose (view), train (1 / -1)."""
    T = video.num_frames
    return {
        "x": video.poses[..., 0].astype(np.float64),
        "y": video.poses[..., 1].astype(np.float64),
        "visibility": np.ones((T, sk.NUM_JOINTS), dtype=np.uint8),
        "bbox": video.bboxes.astype(np.float64),
        "dimensions": np.array([[video.size, video.size, T]], dtype=np.uint16),
        "nframes": np.array([[T]], dtype=np.int32),
        "action": np.array([video.action]),
        "pose": np.array([video.view]),
        "train": np.array([[1 if train else -1]], dtype=np.int32),
    }


def write_penn_dataset(out, *, videos: int, frames: int, size: int, seed: int = 0, split: str = "train",
                       test_videos: int = 0, supersample: int = 2, quality: int = 92, layers: bool = True,
                       progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Render synthetic clips into `out` in the Penn Action layout; returns the video ids written.

    out/frames/NNNN/000001.jpg ... and out/labels/NNNN.mat, NNNN = 0001, 0002, ...: `videos`
    clips of `split`, then `test_videos` more of the test split (so one folder can hold both).
    layers: also write out/masks, out/parts and out/backgrounds (see the module docstring).
    Video k of a split is the same for the same (seed, split, size, frames) whatever the other
    arguments. Each clip's folders and files are written under temporary names and renamed when
    complete (its frames folder last), so an interrupted run leaves no half-written clip. `out`
    must not already hold a Penn layout with clips (refuses to mix datasets).
    progress(done_frames, total_frames).
    """
    _check_arguments(videos=videos, frames=frames, size=size, split=split, test_videos=test_videos)
    out = Path(out)
    labels_dir = out / "labels"
    if labels_dir.is_dir() and any(labels_dir.glob("*.mat")):
        raise DatasetError(f"{out}: already holds a dataset (labels/*.mat); choose an empty folder")
    folders = ("labels", "frames") + (("masks", "parts", "backgrounds") if layers else ())
    for name in folders:
        (out / name).mkdir(parents=True, exist_ok=True)
    jobs = [(split, k) for k in range(videos)] + [("test", k) for k in range(test_videos)]
    total = len(jobs) * frames
    written = []
    for number, (job_split, k) in enumerate(jobs, start=1):
        video_id = f"{number:04d}"
        video = file_video(seed, job_split, k, size, frames)

        def frame_done(f: int) -> None:
            if progress is not None:
                progress((number - 1) * frames + f + 1, total)

        _write_clip(out, video_id, video, job_split == "train", supersample=supersample, quality=quality,
                    layers=layers, frame_done=frame_done)
        written.append(video_id)
        log.info("wrote synthetic video %s (%s, %s, %d frames)", video_id, job_split, video.action, frames)
    return written


def _write_clip(out: Path, video_id: str, video: SynthVideo, train: bool, *, supersample: int, quality: int,
                layers: bool, frame_done: Callable[[int], None]) -> None:
    """Render one clip's frames (and layers) into temporary folders, then move everything into place."""
    kinds = ("frames", "masks", "parts") if layers else ("frames",)
    tmp = {kind: out / kind / f".{video_id}.part" for kind in kinds}
    for folder in tmp.values():
        folder.mkdir(exist_ok=True)
    for f in range(video.num_frames):
        name = f"{f + 1:06d}"
        if layers:
            frame = video.render_layers(f, supersample=supersample)
            Image.fromarray(frame.frame).save(tmp["frames"] / f"{name}.jpg", quality=quality)
            Image.fromarray(frame.mask.astype(np.uint8) * np.uint8(255)).save(tmp["masks"] / f"{name}.png")
            Image.fromarray(frame.parts).save(tmp["parts"] / f"{name}.png")
        else:
            Image.fromarray(video.render(f, supersample=supersample)).save(
                tmp["frames"] / f"{name}.jpg", quality=quality)
        frame_done(f)
    if layers:
        with atomic_output(out / "backgrounds" / f"{video_id}.png") as path:
            Image.fromarray(video.background).save(path, format="PNG")
        for kind in ("masks", "parts"):
            os.replace(tmp[kind], out / kind / video_id)
    with atomic_output(out / "labels" / f"{video_id}.mat") as path:
        scipy.io.savemat(path, video_labels(video, train))
    os.replace(tmp["frames"], out / "frames" / video_id)


def _check_arguments(*, videos: int, frames: int, size: int, split: str, test_videos: int) -> None:
    if split not in SPLITS:
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    if videos < 0 or test_videos < 0 or videos + test_videos == 0:
        raise DatasetError("nothing to write: give at least one video")
    if frames < 2:
        raise DatasetError(f"{frames} frames per video: need at least 2 to make (reference, target) pairs")
    if size < 16:
        raise DatasetError(f"size {size}: frames must be at least 16 pixels")
