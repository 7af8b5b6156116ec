"""One web-page job: check the uploads, find the driving poses, draw them over the driving video,
animate. No web framework here: the page (`page.py`) shows what this yields, and tests run it alone.

The job calls the same library steps as `ilat-video animate` (`Animator.load_driving`,
`Animator.animate_to_file`, `RenderOptions`) and refuses bad input with the same checks and messages
(`load_image`, `open_video`, `load_poses`), each message naming the file as the user uploaded it.
Every file the job writes lives in one temporary folder that is removed when the job ends, fails or
is abandoned; whoever shows a yielded file copies it before asking for the next step.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from ..errors import IlatError
from ..fileio import load_image
from ..options import RenderOptions
from ..pipeline import RETARGET_MODES, VIDEO_SUFFIXES, AnimationSummary, Animator
from ..pose.draw import render_poses
from ..pose.sequence import PoseSequence
from ..video import VideoWriter, probe_video, read_frames

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
POSE_SUFFIXES = (".json", ".mat")
DRIVING_SUFFIXES = tuple(sorted(VIDEO_SUFFIXES)) + POSE_SUFFIXES


@dataclasses.dataclass(frozen=True)
class Preset:
    """A quality preset of the page: the render options and how much of the driving motion is used."""

    description: str
    options: RenderOptions
    max_frames: int | None = None  # None: every frame
    stride: int = 1


PRESETS = {
    "quick": Preset("a first look in seconds: 12 frames (every 2nd), longer side 256 px",
                    RenderOptions(max_side=256), max_frames=12, stride=2),
    "standard": Preset("every frame, longer side at most 720 px", RenderOptions(max_side=720)),
    "full": Preset("every frame at the photo's own size", RenderOptions()),
    "paper": Preset("iLAT draws the whole person in the model's square crop (the paper's setting; slower)",
                    RenderOptions(frame="square")),
}


@dataclasses.dataclass(frozen=True)
class JobStep:
    """What a job has made so far. kind: "skeleton" (the driving motion's poses drawn over the
    driving video, or on black for a pose file) or "result" (the animation; `summary` set). notes:
    what the library warned of while making it (what `ilat-video animate` prints: a photo cut at
    the waist, a video that cuts the legs off, frames without a person), uploads named by their
    file names."""

    kind: str
    path: Path
    poses: PoseSequence
    summary: AnimationSummary | None = None
    notes: tuple[str, ...] = ()


JobProgress = Callable[[str, int, int], None]  # (what is being done, done, total)


def check_upload(path: str | os.PathLike, kind: str, *, max_bytes: int | None = None) -> Path:
    """Refuse an upload before any work: too big, wrong kind of file, or unreadable.

    kind: "photo" (an image) or "driving" (a video or a pose file). Raises IlatError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise IlatError(f"{path}: no {kind} was uploaded")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise IlatError(f"{path}: {size / 2**20:.1f} MB is over the upload limit of {max_bytes / 2**20:g} MB")
    suffix = path.suffix.lower()
    if kind == "photo":
        if suffix not in IMAGE_SUFFIXES:
            raise IlatError(f"{path}: expected a photo ({', '.join(IMAGE_SUFFIXES)}), got '{suffix or 'no extension'}'")
        load_image(path)
    elif kind == "driving":
        if suffix not in DRIVING_SUFFIXES:
            raise IlatError(f"{path}: expected a driving video ({', '.join(sorted(VIDEO_SUFFIXES))}) or a pose file "
                            f"({', '.join(POSE_SUFFIXES)}), got '{suffix or 'no extension'}'")
        if suffix in VIDEO_SUFFIXES:
            probe_video(path)  # pose files are read, and checked, by the job itself
    else:
        raise ValueError(f"kind must be 'photo' or 'driving', got {kind!r}")
    return path


class _Notes(logging.Handler):
    """The library's warnings, each once, with some paths renamed. From every thread: a video's
    frames are decoded ahead in another (`video.prefetch`), which says what a damaged file held;
    the page runs one job at a time (its queue), so no other job's warnings come in between."""

    def __init__(self, renames: dict[str, str]):
        super().__init__(logging.WARNING)
        self.renames, self.messages = renames, []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for old, new in self.renames.items():
            message = message.replace(old, new)
        if message not in self.messages:
            self.messages.append(message)


@contextlib.contextmanager
def _noting(renames: dict[str, str]) -> Iterator[list[str]]:
    """While inside: the library's warnings, collected in the list it gives."""
    handler, library = _Notes(renames), logging.getLogger(__name__.split(".")[0])
    library.addHandler(handler)
    try:
        yield handler.messages
    finally:
        library.removeHandler(handler)


def run_job(animator: Animator, photo: str | os.PathLike, driving: str | os.PathLike, *, retarget: str | None = None,
            preset: str = "quick", max_bytes: int | None = None, temp_root: str | os.PathLike | None = None,
            progress: JobProgress | None = None) -> Iterator[JobStep]:
    """Animate `photo` with the motion of `driving` (a video or a pose file), step by step.

    Yields a "skeleton" step once the driving poses are known, then a "result" step. Files are in a
    temporary folder (under `temp_root`) that is removed when the generator finishes, fails or is
    closed: copy what you keep before asking for the next step. IlatError messages name uploads by
    their file names, not their temporary paths. retarget: None = the Animator's default.
    """
    photo, driving = Path(photo), Path(driving)
    if retarget is not None and retarget not in RETARGET_MODES:
        raise IlatError(f"unknown retargeting {retarget!r}; expected one of: {', '.join(RETARGET_MODES)}")
    if preset not in PRESETS:
        raise IlatError(f"unknown quality preset {preset!r}; expected one of: {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    try:
        check_upload(photo, "photo", max_bytes=max_bytes)
        check_upload(driving, "driving", max_bytes=max_bytes)
        with tempfile.TemporaryDirectory(prefix="ilat-video-job-", dir=temp_root) as folder:
            folder = Path(folder)
            is_video = driving.suffix.lower() in VIDEO_SUFFIXES

            def report(what: str):
                return None if progress is None else (lambda done, total: progress(what, done, total))

            renames = {str(path): path.name for path in (photo, driving)}
            with _noting(renames) as notes:
                poses = animator.load_driving(driving, max_frames=chosen.max_frames, stride=chosen.stride,
                                              progress=report("finding the driving poses") if is_video else None)
            skeleton = folder / "skeleton.mp4"
            background = read_frames(driving, max_frames=len(poses), stride=chosen.stride) if is_video else None
            try:
                with VideoWriter(skeleton, poses.fps, preset="veryfast") as writer:
                    for frame in render_poses(poses, background, progress=report("drawing the skeleton")):
                        writer.write(frame)
            finally:
                if background is not None:
                    background.close()
            yield JobStep("skeleton", skeleton, poses, notes=tuple(notes))
            result = folder / f"{photo.stem}_animated.mp4"
            retargeting = {} if retarget is None else {"retarget": retarget}
            with _noting(renames) as notes:
                summary = animator.animate_to_file(photo, poses, result, options=chosen.options, **retargeting,
                                                   progress=report("animating"))
            log.info("%s: %d frames in %.1f s", result.name, summary.frames, summary.seconds)
            yield JobStep("result", result, poses, summary, notes=tuple(notes))
    except IlatError as exc:
        message = str(exc)
        for path in (photo, driving):
            message = message.replace(str(path), path.name)
        raise type(exc)(message) from exc
