"""Video reading and writing: round trips, containers, rotation, audio, atomic output, bad input."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ilat_video.errors import VideoError
from ilat_video.video import VideoWriter, _encodable, open_video, probe_video, read_frames

DATA = Path(__file__).parent / "data"
DRIBBLE = DATA / "video" / "person_dribble.mp4"


def moving_frames(n: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth colour gradients with a bright square that moves: easy to compress, easy to track."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.2, 0.8, size=3)
    frames = []
    for i in range(n):
        r = 255 * (base[0] + 0.2 * np.sin(xx / width * 3 + i * 0.3))
        g = 255 * (base[1] + 0.2 * np.cos(yy / height * 3))
        b = 255 * (base[2] + 0.1 * np.sin((xx + yy) / (width + height) * 4 - i * 0.2))
        frame = np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)
        s = max(2, min(height, width) // 4)
        x0 = (i * 3) % max(1, width - s)
        frame[: s, x0 : x0 + s] = 250
        frames.append(frame)
    return frames


def write_with_pyav(path: Path, frames, fps, *, codec="libx264", pix_fmt="yuv420p", rotation=None,
                    options=None) -> None:
    """Write frames with PyAV directly (not our writer), to test the reader on its own."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".avi", ".webm"])
def test_write_read_round_trip_each_container(tmp_path, suffix):
    frames = moving_frames(10, 48, 64)
    path = tmp_path / f"clip{suffix}"
    with VideoWriter(path, fps=12.5) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.num_frames == 10
    with open_video(path) as video:
        assert (video.width, video.height) == (64, 48)
        assert video.fps == pytest.approx(12.5, rel=1e-3)
        assert video.num_frames in (None, 10)
        got = list(video)
    assert len(got) == 10
    for want, have in zip(frames, got):
        assert have.dtype == np.uint8 and have.shape == (48, 64, 3)
        err = np.abs(have.astype(np.int16) - want.astype(np.int16))
        assert err.mean() < 3.0, f"{suffix}: mean abs error {err.mean():.2f}"
    assert leftovers(tmp_path) == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(2, 41), height=st.integers(2, 41),
       fps=st.sampled_from([1.0, 7.0, 12.0, 23.976, 24.0, 25.0, 29.97, 30.0, 60.0]))
def test_round_trip_sizes_and_rates(tmp_path, width, height, fps):
    frames = moving_frames(3, height, width, seed=width * 100 + height)
    path = tmp_path / f"v_{width}x{height}.mp4"
    with VideoWriter(path, fps=fps, preset="ultrafast") as writer:
        for frame in frames:
            writer.write(frame)
    info = probe_video(path)
    # yuv420p needs even sizes: odd sizes gain one row/column that repeats the edge.
    assert (info["width"], info["height"]) == (width + width % 2, height + height % 2)
    assert info["fps"] == pytest.approx(fps, rel=2e-3)
    got = list(read_frames(path))
    assert len(got) == 3
    # Under 16 pixels a side, frames are mostly 4:2:0 chroma-subsampling edge: their error reached
    # 6.8 (sides 8-15, measured over a grid of sizes), too close to any useful bound; from 16 on the
    # worst measured was 4.1.
    if width >= 16 and height >= 16:
        err = np.abs(got[1][:height, :width].astype(int) - frames[1].astype(int)).mean()
        assert err < 6.0


@settings(max_examples=20, deadline=None)
@given(width=st.integers(1, 70).map(lambda half: 2 * half), height=st.integers(1, 40).map(lambda half: 2 * half))
def test_frames_go_to_the_encoder_with_their_row_padding_set(width, height):
    """What x264 is given past each row's last pixel (the row's alignment padding) is that pixel,
    not whatever the memory held, which made the same frames into different files."""
    frame = np.random.default_rng(width * 1000 + height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    for _ in range(3):
        converted = _encodable(av.VideoFrame.from_ndarray(frame, format="rgb24"), "yuv420p")
        assert converted.to_ndarray().shape == (height * 3 // 2, width)
        for plane in converted.planes:
            rows = np.frombuffer(memoryview(plane), np.uint8)[: plane.line_size * plane.height]
            rows = rows.reshape(plane.height, plane.line_size)
            assert (rows[:, plane.width:] == rows[:, plane.width - 1: plane.width]).all()


def test_gif_input(tmp_path):
    frames = moving_frames(6, 40, 50)
    path = tmp_path / "anim.gif"
    write_with_pyav(path, frames, 10, codec="gif", pix_fmt="rgb8")
    with open_video(path) as video:
        assert (video.width, video.height) == (50, 40)
        assert video.fps == pytest.approx(10, rel=1e-2)
        got = list(video)
    assert len(got) == 6
    # rgb8 is a 256-colour palette (3-3-2 bits): coarse, but the picture must be the same one.
    assert np.abs(got[3].astype(int) - frames[3].astype(int)).mean() < 20


def test_reads_the_real_example_video():
    with open_video(DRIBBLE) as video:
        assert (video.width, video.height, video.num_frames) == (1080, 1920, 40)
        assert video.fps == pytest.approx(12.0)
        count = 0
        for frame in video:
            assert frame.shape == (1920, 1080, 3)
            count += 1
    assert count == 40


def test_frames_resized_while_decoding():
    with open_video(DRIBBLE) as video:
        small = next(iter(video.frames(size=(270, 480))))
    with open_video(DRIBBLE) as video:
        full = next(iter(video))
    assert small.shape == (480, 270, 3)
    block_mean = full.reshape(480, 4, 270, 4, 3).mean(axis=(1, 3))
    assert np.abs(small - block_mean).mean() < 3.0


def test_read_frames_stride_and_max(tmp_path):
    frames = moving_frames(9, 16, 16)
    path = tmp_path / "s.mp4"
    with VideoWriter(path, fps=9) as writer:
        for frame in frames:
            writer.write(frame)
    all_frames = list(read_frames(path))
    picked = list(read_frames(path, stride=3, max_frames=2))
    assert len(picked) == 2
    assert np.array_equal(picked[0], all_frames[0]) and np.array_equal(picked[1], all_frames[3])
    assert len(list(read_frames(path, stride=4))) == 3
    with pytest.raises(ValueError):
        list(read_frames(path, stride=0))


def test_reader_is_single_pass(tmp_path):
    path = tmp_path / "a.mp4"
    with VideoWriter(path, fps=5) as writer:
        for frame in moving_frames(2, 8, 8):
            writer.write(frame)
    with open_video(path) as video:
        list(video)
        with pytest.raises(VideoError, match="already"):
            list(video)


# --- rotation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, rotation):
    frames = moving_frames(4, 32, 48)
    path = tmp_path / f"rot{rotation}.mp4"
    write_with_pyav(path, frames, 10, rotation=rotation)
    k = (rotation // 90) % 4
    with open_video(path) as video:
        assert video.rotation == k * 90
        expected_size = (32, 48) if k % 2 else (48, 32)
        assert (video.width, video.height) == expected_size
        got = list(video)
    for want, have in zip(frames, got):
        assert have.shape == (expected_size[1], expected_size[0], 3)
        upright = np.rot90(want, k)
        assert np.abs(have.astype(int) - upright.astype(int)).mean() < 3.0
        # and not merely the same up to a transpose: the wrong rotation is far off
        wrong = np.rot90(want, (k + 2) % 4)
        assert np.abs(have.astype(int) - wrong.astype(int)).mean() > 10.0


def test_phone_portrait_rotation_turns_clockwise(tmp_path):
    """A phone's 'rotate=90' tag (display matrix -90) means: turn the picture 90 degrees clockwise.

    The bright square sits in the top-left corner of the coded picture; turned clockwise it
    must end in the top-right corner.
    """
    frame = np.zeros((32, 48, 3), np.uint8)
    frame[:8, :8] = 255
    path = tmp_path / "phone.mp4"
    write_with_pyav(path, [frame] * 2, 10, rotation=-90)
    shown = next(iter(open_video(path)))
    assert shown.shape == (48, 32, 3)
    assert shown[:8, -8:].mean() > 200 and shown[:8, :8].mean() < 50


# --- writer -----------------------------------------------------------------------------------

def test_writer_removes_partial_file_on_exception(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous content")
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=10) as writer:
            for frame in moving_frames(3, 16, 16):
                writer.write(frame)
            raise RuntimeError("boom")
    assert path.read_bytes() == b"previous content"
    assert leftovers(tmp_path) == []


def test_writer_rejects_size_change_and_bad_frames(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(VideoError, match=r"out\.mp4: frame 1: size 18x16 differs"):
        with VideoWriter(path, fps=10) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            writer.write(np.zeros((16, 18, 3), np.uint8))
    assert not path.exists() and leftovers(tmp_path) == []
    with pytest.raises(VideoError, match="frame 0: expected uint8"):
        with VideoWriter(path, fps=10) as writer:
            writer.write(np.zeros((16, 16, 3), np.float32))
    with pytest.raises(VideoError, match="no frames"):
        with VideoWriter(path, fps=10):
            pass
    assert not path.exists() and leftovers(tmp_path) == []


def test_writer_rejects_bad_arguments(tmp_path):
    with pytest.raises(VideoError, match="cannot write a '.txt' video"):
        VideoWriter(tmp_path / "x.txt", fps=10)
    with pytest.raises(VideoError, match="fps must be a positive"):
        VideoWriter(tmp_path / "x.mp4", fps=0)
    with pytest.raises(VideoError, match="no such file to copy audio from"):
        with VideoWriter(tmp_path / "x.mp4", fps=10, audio_from=tmp_path / "none.mp4"):
            pass
    with pytest.raises(Exception, match="does not exist"):
        with VideoWriter(tmp_path / "missing_folder" / "x.mp4", fps=10):
            pass


def make_video_with_audio(path: Path, seconds: float, fps: int = 10) -> None:
    rate = 44100
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        aus = out.add_stream("aac", rate=rate, layout="stereo")
        for i in range(int(seconds * fps)):
            for p in vs.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), 8 * i, np.uint8), format="rgb24")):
                out.mux(p)
        n = 0
        while n < seconds * rate:
            tone = np.sin(2 * np.pi * 440 * np.arange(n, n + 1024) / rate).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, n
            for p in aus.encode(frame):
                out.mux(p)
            n += 1024
        for stream in (vs, aus):
            for p in stream.encode():
                out.mux(p)


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_audio_copied_and_cut_to_video_length(tmp_path, suffix):
    source = tmp_path / "driving.mp4"
    make_video_with_audio(source, seconds=3.0)
    path = tmp_path / f"out{suffix}"
    with VideoWriter(path, fps=10, audio_from=source) as writer:
        for frame in moving_frames(15, 16, 16):  # 1.5 s of video
            writer.write(frame)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        seconds = samples / audio.codec_context.sample_rate
    assert seconds == pytest.approx(1.5, abs=0.05)
    assert probe_video(path)["has_audio"]


def test_audio_from_silent_video_writes_no_audio(tmp_path):
    source = tmp_path / "silent.mp4"
    write_with_pyav(source, moving_frames(3, 16, 16), 10)
    path = tmp_path / "out.mp4"
    with VideoWriter(path, fps=10, audio_from=source) as writer:
        writer.write(moving_frames(1, 16, 16)[0])
    assert not probe_video(path)["has_audio"]


# --- bad input --------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match=r"nope\.mp4: no such video file"):
        open_video(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are not frames\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.mp4: not a readable video"):
        open_video(path)
    image = tmp_path / "folder.mp4"
    image.mkdir()
    with pytest.raises(VideoError, match="not a file"):
        open_video(image)


def test_audio_only_file_is_not_a_video(tmp_path):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        aus = out.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        for p in list(aus.encode(frame)) + list(aus.encode()):
            out.mux(p)
    with pytest.raises(VideoError, match="has no video stream"):
        open_video(path)


def test_truncated_video_keeps_the_frames_before_the_cut(tmp_path, caplog):
    full = tmp_path / "full.mp4"
    # random pictures make big frames, so cutting the file in half cuts through frame data
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(30)]
    write_with_pyav(full, frames, 10, options={"movflags": "+faststart"})
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level("WARNING", logger="ilat_video.video"):
        got = list(read_frames(cut))
    assert 0 < len(got) < 30
    assert any("cut.mp4" in r.getMessage() and "truncated" in r.getMessage() for r in caplog.records)
    # cut before the index: cannot even be opened, and says which file
    head = tmp_path / "head.mp4"
    head.write_bytes(data[:200])
    with pytest.raises(VideoError, match=r"head\.mp4"):
        with open_video(head) as video:
            list(video)


@settings(max_examples=80, deadline=None)
@given(length=st.integers(0, 60), stride=st.integers(1, 7), max_frames=st.one_of(st.none(), st.integers(0, 20)))
def test_every_takes_each_stride_th_frame_and_reads_no_further_than_it_needs(length, stride, max_frames):
    from ilat_video.video import every

    reads = []

    def frames():
        for i in range(length):
            reads.append(i)
            yield i

    taken = list(every(frames(), stride, max_frames))
    assert taken == list(range(length))[::stride][:max_frames]
    if taken and max_frames is not None and len(taken) == max_frames:
        assert len(reads) == taken[-1] + 1  # stops at the last frame it keeps
