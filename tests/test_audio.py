"""The driving video's sound in the output (issue 26, item 4): on by default, cut to the frames made,
in step with them under --stride and --max-frames, silent for pose files and silent videos.

Sources are made in the test: frames that turn white while a tone plays, so where the tone starts
in the output's sound can be compared with where the white frames are in its pictures.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from ilat_video.cli import main
from ilat_video.video import VideoWriter, read_frames

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RATE = 44100


def tone(start: float, n: int, beeps) -> np.ndarray:
    """Float samples from time `start`: a 440 Hz tone inside the (t0, t1) beeps, silence elsewhere."""
    t = start + np.arange(n) / RATE
    on = np.zeros(n, bool)
    for t0, t1 in beeps:
        on |= (t >= t0) & (t < t1)
    return (0.5 * np.sin(2 * np.pi * 440 * t) * on).astype(np.float32)


def write_audio(out, stream, beeps, start: float, end: float, skip=None) -> None:
    """Sound on the source's clock from `start` to `end` s (start may be < 0: before the pictures,
    written as a positive timestamp shift of the video); `skip` = (t0, t1): no packets there."""
    n = int(round(start * RATE))
    while n < end * RATE:
        t = n / RATE
        if skip is None or not (skip[0] <= t < skip[1]):
            samples = tone(t, 1024, beeps)
            frame = av.AudioFrame.from_ndarray(samples[None], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, n, Fraction(1, RATE)
            for packet in stream.encode(frame):
                out.mux(packet)
        n += 1024
    for packet in stream.encode():
        out.mux(packet)


def make_source(path: Path, *, seconds: float = 2.0, fps: int = 20, beeps=((0.8, 1.2),),
                audio_start: float = 0.0, audio_end: float | None = None, skip=None) -> Path:
    """A video whose frames are white while a beep sounds, black otherwise, with its sound."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        for i in range(int(seconds * fps)):
            white = any(t0 <= i / fps < t1 for t0, t1 in beeps)
            picture = np.full((32, 32, 3), 255 if white else 0, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        write_audio(out, audio, beeps, audio_start, seconds if audio_end is None else audio_end, skip)
    return path


def sound_of(path: Path) -> tuple[np.ndarray, int] | None:
    """The output's sound as mono float samples and its rate, or None when it has no audio."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().reshape(frame.to_ndarray().shape[0], -1).mean(axis=0)
                  for frame in container.decode(stream)]
        return np.concatenate(chunks), stream.codec_context.sample_rate


def onsets(samples: np.ndarray, rate: int) -> list[float]:
    """Times (s) where the tone starts: 10 ms windows going from quiet to loud."""
    win = rate // 100
    loud = [float(np.sqrt(np.mean(samples[i:i + win] ** 2))) > 0.1 for i in range(0, len(samples) - win, win)]
    return [i / 100 for i in range(1, len(loud)) if loud[i] and not loud[i - 1]] + ([0.0] if loud and loud[0] else [])


def white_frames(path: Path) -> list[int]:
    return [i for i, frame in enumerate(read_frames(path)) if frame.mean() > 128]


def copy_frames(source: Path, output: Path, *, stride: int = 1, max_frames: int | None = None,
                fps: float | None = None) -> int:
    """What the pipeline does with the pictures: every stride-th frame, at most max_frames, at fps/stride."""
    frames = list(read_frames(source, stride=stride, max_frames=max_frames))
    with av.open(str(source)) as container:
        natural = float(container.streams.video[0].average_rate)
    with VideoWriter(output, fps or natural / stride, audio_from=source, preset="ultrafast") as writer:
        for frame in frames:
            writer.write(frame)
    return len(frames)


# --- the writer: sound on the pictures' clock -----------------------------------------------------

@pytest.mark.parametrize("stride, max_frames", [(1, None), (2, None), (1, 27), (3, 9)])
def test_sound_follows_stride_and_max_frames(tmp_path, stride, max_frames):
    source = make_source(tmp_path / "source.mp4", beeps=[(0.6, 0.8), (1.2, 1.4)])  # on frames every stride shows
    output = tmp_path / "out.mp4"
    count = copy_frames(source, output, stride=stride, max_frames=max_frames)
    fps = 20 / stride
    sound = sound_of(output)
    assert sound is not None
    samples, rate = sound
    # as long as the pictures, within a frame (the encoder's last frame of samples is padded)
    assert abs(len(samples) / rate - count / fps) <= 1 / fps
    # each beep starts where its white frames start, within a frame
    whites = white_frames(output)
    starts = [whites[0]] + [b for a, b in zip(whites, whites[1:]) if b > a + 1]
    heard = onsets(samples, rate)
    assert len(heard) == len(starts), (heard, starts)
    for frame_index, time in zip(starts, heard):
        assert abs(time - frame_index / fps) <= 1 / fps + 0.02, (time, frame_index / fps)


def test_sound_that_starts_late_stays_late(tmp_path):
    # the sound begins 0.5 s after the first picture: the output keeps that silence
    source = make_source(tmp_path / "late.mkv", beeps=[(0.8, 1.0)], audio_start=0.5)
    output = tmp_path / "out.mp4"
    copy_frames(source, output)
    samples, rate = sound_of(output)
    assert abs(len(samples) / rate - 2.0) <= 0.05
    (heard,) = onsets(samples, rate)
    assert abs(heard - 0.8) <= 0.05 + 0.02


def test_sound_before_the_first_picture_is_cut(tmp_path):
    # the sound begins 0.4 s before the first picture, with a beep there that must not be heard
    source = make_source(tmp_path / "early.mkv", beeps=[(-0.3, -0.2), (0.7, 0.9)], audio_start=-0.4)
    output = tmp_path / "out.mp4"
    copy_frames(source, output)
    samples, rate = sound_of(output)
    (heard,) = onsets(samples, rate)
    assert abs(heard - 0.7) <= 0.05 + 0.02


def test_a_hole_in_the_sound_stays_a_hole(tmp_path):
    # no sound packets from 0.5 to 1.0 s (as when damaged packets are dropped): the beep after
    # the hole is heard when its frames are shown, not 0.5 s early
    source = make_source(tmp_path / "hole.mkv", beeps=[(1.3, 1.5)], skip=(0.5, 1.0))
    output = tmp_path / "out.mp4"
    copy_frames(source, output)
    samples, rate = sound_of(output)
    (heard,) = onsets(samples, rate)
    assert abs(heard - 1.3) <= 0.05 + 0.02
    assert abs(len(samples) / rate - 2.0) <= 0.05


def test_sound_shorter_than_the_pictures_ends_early(tmp_path):
    source = make_source(tmp_path / "short.mp4", audio_end=1.0)
    output = tmp_path / "out.mp4"
    copy_frames(source, output)
    samples, rate = sound_of(output)
    assert abs(len(samples) / rate - 1.0) <= 0.05


# --- the command --------------------------------------------------------------------------------

def driving_with_sound(path: Path, beeps=((0.4, 0.6),)) -> Path:
    """examples/dance.mp4's pictures (copied, not re-encoded) with a beep track added."""
    with av.open(str(EXAMPLES / "dance.mp4")) as source, av.open(str(path), "w") as out:
        video_in = source.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        audio = out.add_stream("aac", rate=RATE, layout="mono")
        seconds = float(video_in.frames / video_in.average_rate)
        for packet in source.demux(video_in):
            if packet.dts is None:
                continue
            packet.stream = video_out
            out.mux(packet)
        write_audio(out, audio, beeps, 0.0, seconds)
    return path


def animate(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["animate", *map(str, args), "--max-side", "64", "--threads", "1"],
                                catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.slow
def test_animate_keeps_the_driving_sound_in_step(tmp_path):
    """--stride with --max-frames and --side-by-side (the writer's tests above cover each alone)."""
    driving = driving_with_sound(tmp_path / "driving.mp4")
    fps = 2997 / 100

    out = tmp_path / "stride.mp4"
    code, text = animate([EXAMPLES / "photo.jpg", driving, "-o", out, "--stride", "2", "--max-frames", "9",
                          "--side-by-side"])
    assert code == 0, text
    samples, rate = sound_of(out)
    assert abs(len(samples) / rate - 9 * 2 / fps) <= 2 * 2 / fps
    (heard,) = onsets(samples, rate)
    assert abs(heard - 0.4) <= 2 / fps + 0.02  # the beep at 0.4 s of the driving video, still at 0.4 s

    out = tmp_path / "quiet.mp4"
    code, text = animate([EXAMPLES / "photo.jpg", driving, "-o", out, "--max-frames", "3", "--no-audio"])
    assert code == 0, text
    assert sound_of(out) is None

    # --fps at another speed than the driving video's: the sound would drift, so it is left out
    out = tmp_path / "faster.mp4"
    code, text = animate([EXAMPLES / "photo.jpg", driving, "-o", out, "--max-frames", "3", "--fps", "60"])
    assert code == 0, text
    assert sound_of(out) is None and "sound would drift" in text


@pytest.mark.slow
def test_animate_from_a_pose_file_or_a_silent_video_is_silent_without_warnings(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        out = tmp_path / "poses.mp4"
        code, text = animate([EXAMPLES / "reference.png", EXAMPLES / "driving_poses.json", "--reference-pose",
                              EXAMPLES / "reference_pose.json", "-o", out, "--max-frames", "3"])
        assert code == 0, text
        assert sound_of(out) is None
        out = tmp_path / "silent.mp4"
        code, text = animate([EXAMPLES / "photo.jpg", EXAMPLES / "dance.mp4", "-o", out, "--max-frames", "3"])
        assert code == 0, text
        assert sound_of(out) is None
    assert not [r for r in caplog.records if "audio" in r.getMessage() or "sound" in r.getMessage()]
    assert "audio" not in text and "sound" not in text


@pytest.mark.slow
def test_the_python_api_keeps_the_sound_by_default_too(tmp_path):
    """Animator.animate_to_file: the driving video's sound unless told otherwise, as the CLI."""
    from ilat_video.pipeline import Animator
    from ilat_video.options import RenderOptions

    driving = driving_with_sound(tmp_path / "driving.mp4")
    animator = Animator.from_pretrained(Path(__file__).resolve().parents[1] / "models" / "demo", device="cpu")
    options = RenderOptions(max_side=64)
    animator.animate_to_file(EXAMPLES / "photo.jpg", driving, tmp_path / "default.mp4", max_frames=20,
                             options=options)
    samples, rate = sound_of(tmp_path / "default.mp4")
    assert len(samples) / rate > 0.5
    animator.animate_to_file(EXAMPLES / "photo.jpg", driving, tmp_path / "quiet.mp4", max_frames=3,
                             options=options, keep_audio=False)
    assert sound_of(tmp_path / "quiet.mp4") is None
