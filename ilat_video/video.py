"""Video in and out with PyAV: a streaming reader and an atomic H.264 writer.

Frames at this module's boundary are numpy uint8 (H, W, 3) RGB, as everywhere in the package.
Reading streams frame by frame (memory does not grow with the video's length) and applies the
container's rotation metadata, so frames come out the way a player shows them. Writing goes to a
temporary file beside the target that is renamed onto it only when the writer closes without an
error, so a failed run never leaves a half-written video behind.
"""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Iterator

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

    Errors: VideoError naming the file when it is missing or not a video, and naming the frame
    when decoding fails midway (a truncated or damaged file).
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
            raise VideoError(f"{self.path}: not a readable video ({_reason(exc)})") from exc
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
            self._container.close()

    @property
    def duration(self) -> float | None:
        """Length in seconds when the frame count is known, else None."""
        return None if self.num_frames is None else self.num_frames / self.fps

    def _decoded_frames(self) -> Iterator:
        """av.VideoFrame objects in decode order; errors become VideoError naming the frame."""
        av = _av()
        index = 0
        try:
            for packet in self._container.demux(self._stream):
                if packet.is_corrupt:
                    raise VideoError(
                        f"{self.path}: frame {index}: damaged data (the file is truncated or corrupt)"
                    )
                for frame in packet.decode():
                    index += 1
                    yield frame
        except av.error.FFmpegError as exc:
            raise VideoError(
                f"{self.path}: frame {index}: cannot decode ({_reason(exc)}); the file is truncated or corrupt"
            ) from exc
        if self.num_frames is not None and index < self.num_frames:
            # Not an error by itself: edit lists can drop frames the header still counts.
            logger.warning("%s: decoded %d frames, the container announced %d (truncated?)",
                           self.path, index, self.num_frames)

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

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()


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
        taken = 0
        for i, frame in enumerate(video):
            if max_frames is not None and taken >= max_frames:
                break
            if i % stride == 0:
                taken += 1
                yield frame


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
        self._open = False

    def __enter__(self) -> "VideoWriter":
        av = _av()
        if self.audio_from is not None and not self.audio_from.is_file():
            raise VideoError(f"{self.audio_from}: no such file to copy audio from")
        self._tmp = self._stack.enter_context(atomic_output(self.path))
        options = {"movflags": "+faststart"} if self._suffix in (".mp4", ".m4v", ".mov") else {}
        try:
            self._container = av.open(str(self._tmp), mode="w", format=_muxer(self._suffix), options=options)
        except av.error.FFmpegError as exc:
            self._stack.close()
            raise VideoError(f"{self.path}: cannot create the video ({_reason(exc)})") from exc
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
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
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
                except av.error.FFmpegError as exc:
                    raise VideoError(f"{self.path}: cannot finish the video ({_reason(exc)})") from exc
        except BaseException:
            self._container.close()
            self._stack.__exit__(*_exc_info())
            raise
        self._container.close()
        self._stack.__exit__(exc_type, exc, tb)  # renames on success, removes on exception

    def _open_audio(self) -> None:
        """Open `audio_from` and add the output audio stream (must happen before the first mux)."""
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
        self._audio_stream = out_stream
        self._audio_resampler = av.AudioResampler(format=out_stream.codec_context.format.name,
                                                  layout=layout, rate=rate,
                                                  frame_size=out_stream.codec_context.frame_size or None)
        self._audio_frames = source.decode(in_stream)
        self._audio_samples = 0

    def _write_audio(self, until_seconds: float, *, flush: bool = False) -> None:
        """Encode source audio up to `until_seconds` of output (interleaved with the video)."""
        av = _av()
        if self._audio_stream is None:
            return
        limit = int(round(until_seconds * self._audio_rate))
        try:
            while self._audio_frames is not None and self._audio_samples < limit:
                frame = next(self._audio_frames, None)
                if frame is None:  # source audio shorter than the video: keep what there is
                    self._audio_frames = None
                    break
                frame.pts = None
                self._encode_audio(self._audio_resampler.resample(frame), limit)
            if flush:
                self._encode_audio(self._audio_resampler.resample(None), limit)
                for packet in self._audio_stream.encode(None):
                    self._container.mux(packet)
                logger.info("copied %.2f s of audio from %s", self._audio_samples / self._audio_rate,
                            self.audio_from)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.audio_from}: cannot copy its audio ({_reason(exc)})") from exc

    def _encode_audio(self, chunks, limit: int) -> None:
        for chunk in chunks:
            if self._audio_samples >= limit:
                return
            chunk.pts = self._audio_samples
            self._audio_samples += chunk.samples
            for packet in self._audio_stream.encode(chunk):
                self._container.mux(packet)


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
