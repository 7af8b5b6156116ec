"""Video in and out with PyAV: a streaming reader and an atomic H.264 writer.

Frames at this module's boundary are numpy uint8 (H, W, 3) RGB, as everywhere in the package.
Reading streams frame by frame (memory does not grow with the video's length) and applies the
container's rotation metadata, so frames come out the way a player shows them. Writing goes to a
temporary file beside the target that is renamed onto it only when the writer closes without an
error, so a failed run never leaves a half-written video behind.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import VideoError
from .fileio import atomic_output

logger = logging.getLogger(__name__)

__all__ = ["VideoReader", "VideoWriter", "open_video", "read_frames", "probe_video", "prefetch"]

# Used only when a container states no frame rate at all (rare: some raw streams).
FALLBACK_FPS = 25.0


def _av():
    import av  # imported lazily: `ilat-video --help` should not pay for FFmpeg's start-up

    return av


class VideoReader:
    """Frames of one video file, decoded on demand.

    Use as a context manager (or call `close()`); iterate to get uint8 (H, W, 3) RGB frames in
    display orientation. A reader can be iterated once.

    Attributes (known after opening, before any frame is decoded):
        path: the file.
        fps: frames per second (the stream's average rate).
        num_frames: frame count from the container, or None when the container does not say
            (webm/mkv usually do not).
        width, height: frame size in display orientation (after rotation).
        rotation: counter-clockwise degrees (0, 90, 180, 270) applied to the decoded pictures.
        has_audio: whether the file has an audio stream.

    Damaged data: frames that cannot be decoded are replaced by the nearest good frame (listed in
    `held_frames`), a file cut short gives the frames before the cut, and one warning per file says
    which frames and where the data ends (see `_decoded_frames`).

    Errors: VideoError naming the file when it is missing, not a video (saying when it looks
    truncated: an mp4 cut before its index), or when not one of its frames decodes.
    """

    def __init__(self, path: str | os.PathLike, *, threads: bool = True):
        av = _av()
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such video file")
        if not self.path.is_file():
            raise VideoError(f"{self.path}: not a file (expected a video file)")
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            hint = _truncation_hint(self.path)
            if hint:
                raise VideoError(f"{self.path}: not a readable video: it looks truncated ({hint}); "
                                 f"was it cut off while being written or copied?") from exc
            raise VideoError(f"{self.path}: not a readable video ({_reason(exc)})") from exc
        self._damage = _DamageReport()
        try:
            if not self._container.streams.video:
                raise VideoError(f"{self.path}: has no video stream (not a video, or cut off before its index)")
            self._stream = self._container.streams.video[0]
            if threads:
                # Frame- and slice-threaded decoding: the decoder's threads run without the GIL.
                self._stream.codec_context.thread_type = "AUTO"
            self.fps = _stream_fps(self._stream, self.path)
            self.num_frames: int | None = int(self._stream.frames) or None
            self.has_audio = bool(self._container.streams.audio)
            self._frames = self._decoded_frames()
            # The rotation lives in side data that reaches the decoded frames; peek at the first
            # frame so that width/height are right before the caller sees any frame.
            self._first = next(self._frames, None)
            if self._first is None:
                raise VideoError(f"{self.path}: the video stream has no frames")
        except BaseException:
            self._container.close()
            raise
        self.rotation = _rotation_degrees(self._first)
        w, h = self._first.width, self._first.height
        self.width, self.height = (h, w) if self.rotation in (90, 270) else (w, h)
        self._started = False
        self._closed = False

    def __repr__(self) -> str:
        return (f"VideoReader({str(self.path)!r}, {self.width}x{self.height}, fps={self.fps:g}, "
                f"frames={self.num_frames}, rotation={self.rotation})")

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._frames.close()  # the decoding generator first, while PyAV is whole
            self._warn_damage()
            self._container.close()

    @property
    def held_frames(self) -> list[int]:
        """Indices of the frames so far that are copies of a neighbour (damaged data; see frames())."""
        return list(self._damage.held)

    def _warn_damage(self) -> None:
        """Log the one warning about damaged data, if there was any (once per file and process)."""
        report = self._damage
        if report.warned:
            return
        problems = []
        if report.held:
            problems.append(f"{_count(len(report.held), 'frame')} could not be decoded and show the nearest "
                            f"good frame instead: {_ranges(report.held)}")
        if report.unplaced:
            problems.append(f"{_count(report.unplaced, 'damaged packet')} skipped where the timestamps show "
                            f"no frame missing")
        if report.finished and report.tail:
            reason = f" ({report.unreadable})" if report.unreadable else ""
            problems.append(f"the file ends in damaged data after frame {report.frames - 1}{reason}; "
                            f"it looks truncated")
        elif report.finished and self.num_frames is not None and report.frames < self.num_frames:
            # Not always damage: edit lists can drop frames the header still counts.
            problems.append(f"decoded {report.frames} frames, the container announced {self.num_frames} "
                            f"(truncated?)")
        elif report.finished and report.last_time is not None:
            expected = _stream_seconds(self._stream)
            if expected is None and not self.has_audio and self._container.duration:
                expected = self._container.duration / 1_000_000  # the container's clock: AV_TIME_BASE
            if expected is not None and report.last_time + 1 / self.fps < expected - 2 / self.fps - 0.1:
                problems.append(f"the frames end at {report.last_time + 1 / self.fps:.2f} s of the "
                                f"{expected:.2f} s the file announces (truncated?)")
        if not problems:
            return
        report.warned = True
        try:
            stat = self.path.stat()
            key = (str(self.path.resolve()), stat.st_size, stat.st_mtime_ns, tuple(problems))
        except OSError:
            key = (str(self.path), tuple(problems))
        level = logging.DEBUG if key in _WARNED else logging.WARNING
        _WARNED.add(key)
        logger.log(level, "%s: damaged video: %s", self.path, "; ".join(problems))

    @property
    def duration(self) -> float | None:
        """Length in seconds when the frame count is known, else None."""
        return None if self.num_frames is None else self.num_frames / self.fps

    def _decoded_frames(self) -> Iterator:
        """av.VideoFrame objects in display order, one per frame of the video's timeline.

        Damaged data does not end the video: a packet the demuxer marks corrupt is dropped, a
        packet the decoder refuses is skipped, and a picture the decoder had to patch up is not
        shown; each frame lost that way is replaced by the nearest good frame (the last one
        before it, or the first one after it at the start), so frame counts and timing (and the
        sound) stay as the file meant them. The frames held are listed in ONE warning when
        decoding ends. VideoError only when no frame at all decodes.
        """
        av = _av()
        report = self._damage
        stream = self._stream
        last = None             # the last good frame
        last_slot = None        # its place on the timeline, in frames (from its timestamp)
        ordered = True          # timestamps have only grown so far: gaps in them mean lost frames
        unaccounted = 0         # frames known lost and not yet replaced
        tentative = 0           # damaged packets not yet followed by a good one (maybe the tail)
        leading = 0             # frames lost before the first good frame
        index = 0               # frames yielded so far

        def lost_before(frame, slot: int | None) -> int:
            """How many frames went missing just before `frame` (0 unless damage was seen)."""
            nonlocal unaccounted
            if not unaccounted:
                return 0
            if ordered and slot is not None and (last_slot is not None or last is None):
                gap = slot - (last_slot if last_slot is not None else 0) - (1 if last_slot is not None else 0)
                # Timestamps in damaged files can be garbage: trust a gap only as large as the
                # damage could explain (the decoder may report a bad packet a few frames late).
                lost = gap if 0 <= gap <= unaccounted + 16 else 0
            else:
                # No usable timestamps: a lost frame is replaced where its loss shows up, which
                # with a decoder's delay may be a few frames late; the count stays right.
                lost = unaccounted
            unaccounted = max(0, unaccounted - lost)
            return lost

        try:
            packets = self._container.demux(stream)
            while True:
                try:
                    packet = next(packets, None)
                except av.error.FFmpegError as exc:
                    report.note_unreadable(_reason(exc))
                    tentative += 1
                    break
                if packet is None:
                    break
                if packet.is_corrupt:
                    report.seen = True
                    tentative += 1
                    continue
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    report.seen = True
                    tentative += 1
                    continue
                if packet.size:  # data after the damage: it was not the file's end
                    unaccounted += tentative
                    tentative = 0
                for frame in decoded:
                    if getattr(frame, "is_corrupt", False):
                        report.seen = True
                        unaccounted += 1  # this picture is one of the frames lost
                        continue
                    slot = _frame_slot(frame, stream, self.fps)
                    lost = lost_before(frame, slot)
                    if last is None:
                        leading += lost
                        for _ in range(leading):
                            report.held.append(index)
                            index += 1
                            yield frame
                        leading = 0
                    else:
                        for _ in range(lost):
                            report.held.append(index)
                            index += 1
                            yield last
                    if slot is None or (last_slot is not None and slot <= last_slot):
                        ordered = False
                    last, last_slot = frame, slot
                    report.good += 1
                    index += 1
                    yield frame
        finally:
            report.frames = index
            report.tail = tentative
            report.unplaced = unaccounted
        if last is None:
            raise VideoError(f"{self.path}: no frame decodes ({report.describe_damage()}; the file is truncated "
                             f"or corrupt)")
        report.finished = True
        report.last_time = None if last.time is None else float(last.time)

    def frames(self, *, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """Yield frames as uint8 (H, W, 3) RGB in display orientation.

        size: optional (width, height) in display orientation to scale each frame to while
            converting to RGB (one swscale pass, cheaper than converting then resizing).
        """
        if self._started:
            raise VideoError(f"{self.path}: this reader was already iterated; open the video again")
        if self._closed:
            raise VideoError(f"{self.path}: the reader is closed")
        self._started = True
        k = (self.rotation // 90) % 4
        if size is not None:
            out_w, out_h = int(size[0]), int(size[1])
            if out_w <= 0 or out_h <= 0:
                raise ValueError(f"size must be positive, got {size}")
            if k % 2:  # the decoded picture is the transpose of what is displayed
                out_w, out_h = out_h, out_w
        first, self._first = self._first, None
        frames = self._frames if first is None else _chain_one(first, self._frames)
        try:
            for frame in frames:
                if size is None:
                    rgb = frame.to_ndarray(format="rgb24")
                else:
                    rgb = frame.to_ndarray(format="rgb24", width=out_w, height=out_h, interpolation="AREA")
                if k:
                    rgb = np.rot90(rgb, k)
                # FFmpeg pads picture rows for alignment, so to_ndarray can return a strided view;
                # C-contiguous frames are what other libraries (MediaPipe, PIL) expect.
                yield np.ascontiguousarray(rgb)
        finally:
            # Close the decoding generators now: left to the garbage collector at interpreter
            # shutdown, they ran their error handling with PyAV half torn down (a traceback at exit).
            frames.close()
            self._warn_damage()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()


# Warnings about damaged files already given in this process: the pipeline reads a driving video
# more than once (poses, side-by-side panels), and the user needs to hear about it once.
_WARNED: set = set()


class _DamageReport:
    """What a reader met while decoding: filled in by VideoReader._decoded_frames."""

    def __init__(self) -> None:
        self.seen = False           # any damaged packet or picture so far
        self.held: list[int] = []   # output frames that are copies of a neighbour
        self.good = 0               # frames decoded cleanly
        self.frames = 0             # frames yielded (good + held)
        self.tail = 0               # damaged packets after the last good frame
        self.unplaced = 0           # damaged packets for which no frame was found missing
        self.unreadable = ""        # why the demuxer stopped, when it stopped on an error
        self.finished = False       # decoding reached the end of the file
        self.last_time: float | None = None
        self.warned = False

    def note_unreadable(self, reason: str) -> None:
        self.seen = True
        self.unreadable = reason

    def describe_damage(self) -> str:
        if self.unreadable:
            return f"its data cannot be read: {self.unreadable}"
        if self.seen:
            return "every picture in it is damaged"
        return "its video stream holds no pictures"


def _frame_slot(frame, stream, fps: float) -> int | None:
    """The frame's place on the timeline in frames from the stream's start, from its timestamp."""
    time = frame.time
    if time is None:
        return None
    start = 0.0
    if stream.start_time is not None and stream.time_base is not None:
        start = float(stream.start_time * stream.time_base)
    return int(round((float(time) - start) * fps))


def _stream_seconds(stream) -> float | None:
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _ranges(indices: list[int], limit: int = 12) -> str:
    """[3, 4, 5, 9] -> '3-5, 9' (the first `limit` runs, then how many more)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], i)
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit])
    if len(runs) > limit:
        text += f" and {len(runs) - limit} more runs"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _truncation_hint(path: Path) -> str | None:
    """Why a file FFmpeg cannot open looks cut short, or None when it does not.

    MP4/MOV (ISO boxes) and AVI (RIFF) say how long they are: a box or RIFF chunk that runs past
    the end of the file, or an MP4 whose media data is there but whose index (moov) is missing,
    is a file whose end is gone (a copy or a recording that stopped early).
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) >= 12 and head[:4] == b"RIFF":
                declared = int.from_bytes(head[4:8], "little") + 8
                if declared > size:
                    return f"its header announces {declared} bytes, the file holds {size}"
                return None
            if len(head) < 8 or head[4:8] not in (b"ftyp", b"wide", b"mdat", b"moov", b"free", b"skip"):
                return None
            names, offset = [], 0
            while offset + 8 <= size:
                handle.seek(offset)
                header = handle.read(16)
                box_size = int.from_bytes(header[:4], "big")
                name = header[4:8]
                if box_size == 1 and len(header) >= 16:
                    box_size = int.from_bytes(header[8:16], "big")
                elif box_size == 0:
                    box_size = size - offset
                if box_size < 8:
                    return None  # not boxes after all
                names.append(name)
                if offset + box_size > size:
                    missing = "" if b"moov" in names else " and its index (moov) is missing"
                    return (f"its '{name.decode('latin-1')}' box runs {offset + box_size - size} bytes past "
                            f"the end of the file{missing}")
                offset += box_size
            if b"mdat" in names and b"moov" not in names:
                return "its frames are there but its index (moov) is missing"
    except OSError:
        return None
    return None


def _chain_one(first, rest):
    yield first
    yield from rest


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip() or type(exc).__name__


def _stream_fps(stream, path: Path) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    logger.warning("%s: the video states no frame rate; assuming %g fps", path, FALLBACK_FPS)
    return FALLBACK_FPS


def _rotation_degrees(frame) -> int:
    """Counter-clockwise rotation to apply to a decoded picture, snapped to 0/90/180/270.

    FFmpeg's display matrix gives the angle by which the picture must be rotated counter-clockwise
    to be shown upright (a phone's "rotate=90" tag reads here as -90, i.e. 270).
    """
    try:
        angle = float(frame.rotation or 0)
    except (AttributeError, TypeError, ValueError):
        return 0
    return int(round(angle / 90.0)) % 4 * 90


def open_video(path: str | os.PathLike, *, threads: bool = True) -> VideoReader:
    """Open a video for streaming reading; see VideoReader. Use as `with open_video(p) as video:`."""
    return VideoReader(path, threads=threads)


def read_frames(path: str | os.PathLike, *, max_frames: int | None = None,
                stride: int = 1) -> Iterator[np.ndarray]:
    """Yield uint8 (H, W, 3) RGB frames of a video: every `stride`-th frame, at most `max_frames`.

    The file is closed when the generator finishes or is closed.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 0:
        raise ValueError(f"max_frames must be >= 0, got {max_frames}")
    with open_video(path) as video:
        yield from every(video, stride, max_frames)


def every(frames: Iterable, stride: int = 1, max_frames: int | None = None) -> Iterator:
    """Every `stride`-th item of `frames` from the first, at most `max_frames` of them (None: all);
    stops reading as soon as it has them."""
    if max_frames is None:
        return itertools.islice(frames, 0, None, stride)
    last = (max_frames - 1) * stride  # the index of the last frame kept
    return itertools.islice(frames, 0, max(0, last + 1), stride)


def probe_video(path: str | os.PathLike) -> dict:
    """fps, num_frames, width, height, rotation and has_audio of a video, decoding one frame."""
    with open_video(path) as video:
        return dict(fps=video.fps, num_frames=video.num_frames, width=video.width,
                    height=video.height, rotation=video.rotation, has_audio=video.has_audio)


class prefetch:
    """Run an iterator in a background thread, `depth` items ahead of the consumer.

    Decoding releases the GIL, so frames are decoded while the consumer works on earlier ones.
    Exceptions raised by the iterator are re-raised, in order, by `next()`. Call `close()` (or
    exhaust it) before closing what the iterator reads from.
    """

    def __init__(self, iterable, depth: int = 4):
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(iter(iterable),), daemon=True,
                                        name="ilat-video-prefetch")
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, iterator) -> None:
        try:
            for item in iterator:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer
            self._put(("error", exc))

    def __iter__(self) -> "prefetch":
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._done = True
        self._thread.join()
        if kind == "end":
            raise StopIteration
        raise value

    def close(self) -> None:
        """Stop the background thread and wait for it."""
        self._done = True
        self._stop.set()
        self._thread.join()


# --- writing --------------------------------------------------------------------------------------

# Output containers and the codecs written into them. H.264 yuv420p plays everywhere; webm cannot
# hold H.264, so it gets VP9 (also yuv420p).
_VIDEO_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
                 ".avi": "libx264", ".webm": "libvpx-vp9"}
_AUDIO_CODECS = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac", ".avi": "aac",
                 ".webm": "libopus"}


class VideoWriter:
    """Write uint8 (H, W, 3) RGB frames to a video file, atomically.

        with VideoWriter("out.mp4", fps=25) as writer:
            for frame in frames:
                writer.write(frame)

    H.264 (libx264) in yuv420p for .mp4/.mov/.mkv/.avi, VP9 for .webm, at exactly `fps`. The frame
    size is fixed by the first frame; odd widths/heights are padded by one pixel (edge repeated)
    to the even size yuv420p needs. Frames go to a temporary file beside `path`, renamed onto
    `path` only when the block exits without an exception; otherwise it is removed.

    audio_from: a video/audio file whose first audio track is copied in (re-encoded to AAC or
        Opus), cut to the written video's length. A file without audio is fine (logged).
    crf: x264/VP9 constant-quality setting (lower = better, bigger; 18 is visually near lossless).
    """

    def __init__(self, path: str | os.PathLike, fps: float, *, audio_from: str | os.PathLike | None = None,
                 crf: int = 18, preset: str = "medium"):
        self.path = Path(path)
        suffix = check_video_path(self.path)
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise VideoError(f"{self.path}: fps must be a positive number, got {fps}")
        self.fps = fps
        self.audio_from = None if audio_from is None else Path(audio_from)
        self.crf = int(crf)
        self.preset = preset
        self.num_frames = 0
        self.width: int | None = None
        self.height: int | None = None
        self._suffix = suffix
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._container = None
        self._stream = None
        self._audio_stream = None
        self._lock: int | None = None
        self._open = False

    def __enter__(self) -> "VideoWriter":
        av = _av()
        if self.audio_from is not None and not self.audio_from.is_file():
            raise VideoError(f"{self.audio_from}: no such file to copy audio from")
        try:
            self._tmp = self._stack.enter_context(atomic_output(self.path))
            # Held until the part file is renamed or removed: tells a later run that a part
            # file beside the same output belongs to a live writer (see _remove_stale_parts).
            self._lock = _lock_file(self._tmp)
            _remove_stale_parts(self.path, self._tmp)
            options = {"movflags": "+faststart"} if self._suffix in (".mp4", ".m4v", ".mov") else {}
            try:
                self._container = av.open(str(self._tmp), mode="w", format=_muxer(self._suffix), options=options)
            except av.error.FFmpegError as exc:
                raise VideoError(f"{self.path}: cannot create the video ({_reason(exc)})") from exc
        except BaseException:  # a signal can arrive here too: never leave the part file behind
            self._stack.__exit__(*_exc_info())
            self._unlock()
            raise
        self._open = True
        return self

    def _start(self, height: int, width: int) -> None:
        self.width, self.height = width, height
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream(_VIDEO_CODECS[self._suffix], rate=rate)
        stream.width = width + (width % 2)
        stream.height = height + (height % 2)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        if stream.codec_context.name == "libx264":
            stream.options = {"crf": str(self.crf), "preset": self.preset}
        else:
            stream.options = {"crf": str(self.crf), "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
        self._stream = stream
        if self.audio_from is not None:
            self._open_audio()

    def write(self, frame: np.ndarray) -> None:
        """Append one uint8 (H, W, 3) RGB frame (the same size as the first)."""
        av = _av()
        if not self._open:
            raise VideoError(f"{self.path}: the writer is not open (use `with VideoWriter(...) as w:`)")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(
                f"{self.path}: frame {self.num_frames}: expected uint8 (H, W, 3) RGB, "
                f"got {frame.dtype} {tuple(frame.shape)}"
            )
        h, w = frame.shape[:2]
        if self._stream is None:
            if h < 2 or w < 2:
                raise VideoError(f"{self.path}: frame 0: {w}x{h} is too small to encode (at least 2x2)")
            self._start(h, w)
        elif (h, w) != (self.height, self.width):
            raise VideoError(
                f"{self.path}: frame {self.num_frames}: size {w}x{h} differs from the first frame's "
                f"{self.width}x{self.height}"
            )
        if h % 2 or w % 2:
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        video_frame = _encodable(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"),
                                 self._stream.pix_fmt)
        video_frame.pts = self.num_frames
        try:
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: frame {self.num_frames}: cannot encode ({_reason(exc)})") from exc
        self.num_frames += 1
        self._write_audio(self.num_frames / self.fps)

    def __exit__(self, exc_type, exc, tb) -> None:
        av = _av()
        self._open = False
        try:
            if exc_type is None:
                if self._stream is None:
                    raise VideoError(f"{self.path}: no frames were written")
                try:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                    self._write_audio(self.num_frames / self.fps, flush=True)
                except av.error.FFmpegError as error:
                    raise VideoError(f"{self.path}: cannot finish the video ({_reason(error)})") from error
            self._container.close()
        except BaseException:
            # The part file is removed whatever else fails (or is interrupted) while closing.
            with contextlib.suppress(Exception):
                self._container.close()
            try:
                self._stack.__exit__(*_exc_info())
            finally:
                self._unlock()
            raise
        try:
            self._stack.__exit__(exc_type, exc, tb)  # renames on success, removes on exception
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    def _open_audio(self) -> None:
        """Open `audio_from` and add the output audio stream (must happen before the first mux).

        The sound is laid on the output's clock from its timestamps: its time zero is the first
        frame of the source's video stream (so sound that starts before or after the pictures
        stays in step), a stretch the decoder cannot read becomes silence of the same length,
        and it is cut where the written video ends.
        """
        av = _av()
        try:
            source = av.open(str(self.audio_from))
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(f"{self.audio_from}: cannot read audio ({_reason(exc)})") from exc
        self._stack.callback(source.close)
        if not source.streams.audio:
            logger.info("%s has no audio track; writing %s without sound", self.audio_from, self.path)
            return
        in_stream = source.streams.audio[0]
        rate = in_stream.codec_context.sample_rate or 48000
        codec = _AUDIO_CODECS[self._suffix]
        if codec == "libopus":
            rate = 48000  # Opus takes 48 kHz input only
        channels = in_stream.codec_context.layout.nb_channels if in_stream.codec_context.layout else 2
        layout = "stereo" if channels >= 2 else "mono"
        out_stream = self._container.add_stream(codec, rate=rate, layout=layout)
        self._audio_rate = rate
        self._audio_layout = layout
        self._audio_stream = out_stream
        # Decoded sound -> float planar at the output's rate (numpy, laid on the clock) -> the
        # encoder's sample format in frames of the encoder's size.
        self._audio_to_float = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self._audio_to_codec = av.AudioResampler(format=out_stream.codec_context.format.name, layout=layout,
                                                 rate=rate, frame_size=out_stream.codec_context.frame_size or None)
        self._audio_packets = source.demux(in_stream)
        self._audio_origin = 0.0
        if source.streams.video:
            video = source.streams.video[0]
            if video.start_time is not None and video.time_base is not None:
                self._audio_origin = float(video.start_time * video.time_base)
        self._audio_buffer = np.zeros((2 if layout == "stereo" else 1, 0), np.float32)  # from `placed` on
        self._audio_placed = 0      # samples handed to the encoder (the output's clock)
        self._audio_cursor = None   # where the next decoded sample goes on the clock
        self._audio_next_time = None  # when the next source frame should start, if nothing is lost
        self._audio_damaged = 0
        self._audio_samples = 0

    def _write_audio(self, until_seconds: float, *, flush: bool = False) -> None:
        """Encode source audio up to `until_seconds` of output (interleaved with the video)."""
        av = _av()
        if self._audio_stream is None:
            return
        limit = int(round(until_seconds * self._audio_rate))
        try:
            while self._audio_packets is not None and self._audio_placed + self._audio_buffer.shape[1] < limit:
                try:
                    packet = next(self._audio_packets, None)
                except av.error.FFmpegError:
                    packet = None  # the rest cannot be read: the sound ends here
                if packet is None:
                    self._audio_packets = None
                    break
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    self._audio_damaged += 1  # its time becomes silence when the next frame comes
                    continue
                for frame in frames:
                    self._place_audio(frame)
            self._emit_audio(limit)
            if flush:
                self._encode_audio(self._audio_to_codec.resample(None))
                for packet in self._audio_stream.encode(None):
                    self._container.mux(packet)
                if self._audio_damaged:
                    logger.warning("%s: %d damaged audio packets could not be decoded; their time is silent",
                                   self.audio_from, self._audio_damaged)
                logger.info("copied %.2f s of audio from %s", self._audio_samples / self._audio_rate,
                            self.audio_from)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.audio_from}: cannot copy its audio ({_reason(exc)})") from exc

    def _place_audio(self, frame) -> None:
        """Put one decoded source frame on the output's clock (after the samples pending)."""
        rate = self._audio_rate
        time = None if frame.time is None else float(frame.time)
        if time is not None:
            if self._audio_cursor is None:
                self._audio_cursor = int(round((time - self._audio_origin) * rate))
            elif self._audio_next_time is not None and time - self._audio_next_time > 0.02:
                self._audio_cursor += int(round((time - self._audio_next_time) * rate))  # lost: silence
            self._audio_next_time = time + frame.samples / (frame.sample_rate or rate)
        elif self._audio_cursor is None:
            self._audio_cursor = 0
        frame.pts = None
        for chunk in self._audio_to_float.resample(frame):
            samples = chunk.to_ndarray().astype(np.float32, copy=False)  # (channels, n), planar
            start, self._audio_cursor = self._audio_cursor, self._audio_cursor + samples.shape[1]
            end_of_buffer = self._audio_placed + self._audio_buffer.shape[1]
            if start > end_of_buffer:  # a gap (or sound that starts after the pictures): silence
                silence = np.zeros((samples.shape[0], start - end_of_buffer), np.float32)
                self._audio_buffer = np.concatenate([self._audio_buffer, silence], axis=1)
            elif start < end_of_buffer:  # before time zero, or overlapping: that part is dropped
                samples = samples[:, end_of_buffer - start:]
            if samples.shape[1]:
                self._audio_buffer = np.concatenate([self._audio_buffer, samples], axis=1)

    def _emit_audio(self, limit: int) -> None:
        """Encode the pending samples that lie before `limit` on the output's clock."""
        take = max(0, min(limit - self._audio_placed, self._audio_buffer.shape[1]))
        if not take:
            return
        av = _av()
        chunk = np.ascontiguousarray(self._audio_buffer[:, :take])
        self._audio_buffer = self._audio_buffer[:, take:]
        self._audio_placed += take
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=self._audio_layout)
        frame.sample_rate = self._audio_rate
        self._encode_audio(self._audio_to_codec.resample(frame))

    def _encode_audio(self, chunks) -> None:
        for chunk in chunks:
            chunk.pts = self._audio_samples
            self._audio_samples += chunk.samples
            for packet in self._audio_stream.encode(chunk):
                self._container.mux(packet)


# A part file is named by fileio.atomic_output: "." + the output's stem + "." + mkstemp's eight
# random characters + ".part" + the output's suffix.
_PART_RANDOM = "[a-z0-9_]{8}"
# A part file younger than this is never taken for stale: covers the instant between its
# creation and its writer locking it, and writers of older versions that did not lock.
STALE_PART_AGE = 600.0


def _encodable(frame, pix_fmt: str):
    """`frame` converted to the encoder's pixel format, with each plane's row padding (the bytes
    past the picture's width, up to the row's aligned length) set to the row's last pixel. swscale
    leaves that padding as it found the memory, and x264 reads it: the same 318-pixel-wide frames,
    written three times in one process, made two different files; with it set, three alike. (After
    the whole pipeline has run in the process, the same frames still make different files now and
    then, from some other state that x264 reads, not found: the frames themselves are the same.)"""
    frame = frame.reformat(format=pix_fmt)
    for plane in frame.planes:
        if plane.line_size > plane.width:
            rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.line_size * plane.height]
            rows = rows.reshape(plane.height, plane.line_size)
            rows[:, plane.width:] = rows[:, plane.width - 1: plane.width]
    return frame


def _lock_file(path: Path) -> int | None:
    """An exclusive advisory lock (flock) on `path`, held by the returned descriptor.

    None where locks are not available (Windows, some network file systems): the writer works
    the same, and stale part files are then left alone.
    """
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _remove_stale_parts(path: Path, own: Path) -> list[Path]:
    """Remove part files of `path` that a killed writer left (SIGKILL, a power cut).

    Only files that our own naming made for this very output, that are plain files of this user,
    older than STALE_PART_AGE, and that no process holds a lock on: a live writer (this
    version's) holds one from the moment it starts until its part file is gone, and the kernel
    drops the lock of a process that dies however it dies. Where the lock cannot be taken or
    tested, the file stays.
    """
    try:
        import fcntl
    except ImportError:
        return []
    import re
    import stat
    import time

    folder = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.{_PART_RANDOM}\.part{re.escape(path.suffix)}")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        candidate = folder / name
        if not pattern.fullmatch(name) or name == own.name:
            continue
        try:
            info = candidate.lstat()
            if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid()
                    or time.time() - info.st_mtime < STALE_PART_AGE):
                continue
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # held by a live writer, or locks do not work here: leave it
            continue
        try:
            # Still the file we locked (not replaced under the same name meanwhile)?
            if os.fstat(fd).st_ino == candidate.lstat().st_ino:
                candidate.unlink()
                removed.append(candidate)
                logger.info("removed %s: the part file of a run that was killed before it finished", candidate)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def check_video_path(path: str | os.PathLike) -> str:
    """The lower-case suffix of a video file to write; VideoError unless it is one we can write."""
    suffix = Path(path).suffix.lower()
    if suffix not in _VIDEO_CODECS:
        raise VideoError(f"{path}: cannot write a '{suffix or '(no extension)'}' video; "
                         f"use one of {', '.join(sorted(_VIDEO_CODECS))}")
    return suffix


def _muxer(suffix: str) -> str:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
            ".webm": "webm"}[suffix]


def _exc_info():
    import sys

    return sys.exc_info()
