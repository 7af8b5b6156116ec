"""Damaged driving videos (issue 27, item 1): decode what can be decoded, hold what cannot, warn once.

Every file here is made in the test: a clean video written with PyAV, then cut short or with bytes
overwritten. The properties checked hold for any damage: frames that come out are the clean file's
frames at the same index (timing kept), frames that cannot be decoded repeat a good neighbour, and
one warning names them; only a file with no decodable frame is an error.
"""
from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from ilat_video.errors import VideoError
from ilat_video.video import _WARNED, open_video, read_frames


NUM_FRAMES = 40


def noisy_frames(n: int = NUM_FRAMES, height: int = 48, width: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Frames that differ from each other everywhere (so a held frame is told from a decoded one)
    and compress poorly (so a byte offset of the file falls inside frame data, not headers)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def intra_video(path: Path, *, faststart: bool = True) -> Path:
    """Every frame a key frame, no B-frames: after damage the next frame decodes exactly again."""
    options = {"movflags": "+faststart"} if faststart and path.suffix == ".mp4" else {}
    h, w = 48, 64
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264" if path.suffix != ".avi" else "mjpeg", rate=10)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p" if path.suffix != ".avi" else "yuvj420p"
        if stream.codec_context.name == "libx264":
            stream.options = {"g": "1", "bf": "0", "crf": "30", "preset": "ultrafast"}
        for frame in noisy_frames(height=h, width=w):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    with open_video(path, threads=False) as video:
        return list(video)


def damage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "ilat_video.video" and r.levelno >= logging.WARNING]


def cut(path: Path, fraction: float, name: str) -> Path:
    data = path.read_bytes()
    out = path.with_name(name)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def overwrite(path: Path, start: float, length: float, name: str, seed: int = 3) -> Path:
    """A copy with the bytes from `start` to `start + length` (fractions of the size) made random."""
    data = bytearray(path.read_bytes())
    a, b = int(len(data) * start), int(len(data) * (start + length))
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    out = path.with_name(name)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("suffix", [".avi", ".mp4", ".mkv"])
def test_truncated_file_gives_the_frames_before_the_cut(tmp_path, caplog, suffix):
    clean = intra_video(tmp_path / f"clean{suffix}")
    want = decode_all(clean)
    assert len(want) == NUM_FRAMES
    short = cut(clean, 0.3, f"short{suffix}")
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        got = decode_all(short)
    assert 0 < len(got) < NUM_FRAMES
    # the frames that come out are the first frames of the clean file, exactly
    for i, frame in enumerate(got):
        assert np.array_equal(frame, want[i]), f"frame {i} differs from the clean file's"
    warnings = damage_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert short.name in warnings[0] and "truncated" in warnings[0]


def packet_spans(path: Path) -> list[tuple[int, int]]:
    """(first byte, end byte) of each frame's packet, in frame order (intra-only: decode order)."""
    with av.open(str(path)) as container:
        return [(p.pos, p.pos + p.size) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.mark.parametrize("start", [0.3, 0.45, 0.7])
def test_damaged_frames_in_the_middle_are_held_and_listed(tmp_path, caplog, start):
    clean = intra_video(tmp_path / "clean.mp4")
    want = decode_all(clean)
    bad = overwrite(clean, start, 0.08, "bad.mp4")
    size = clean.stat().st_size
    a, b = int(size * start), int(size * (start + 0.08))
    # the frames whose bytes were touched; every other frame must come out exactly as before, but
    # the one right after them (the H.264 decoder may still be recovering from the damage)
    touched = {i for i, (lo, hi) in enumerate(packet_spans(clean)) if lo < b and hi > a}
    unsure = touched | {max(touched) + 1}
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        with open_video(bad, threads=False) as video:
            got = list(video)
            held = video.held_frames
    assert held, "the overwritten bytes should have cost some frames"
    assert set(held) <= touched
    # the index survives, so nothing is lost but the damaged pictures: same length, same timing
    assert len(got) == NUM_FRAMES
    for i, frame in enumerate(got):
        if i in held:
            neighbour = got[i - 1] if i > 0 else got[i + 1]
            assert np.array_equal(frame, neighbour), f"held frame {i} is not a copy of its neighbour"
        elif i not in unsure:
            assert np.array_equal(frame, want[i]), f"frame {i} is not the clean file's frame {i}"
    warnings = damage_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert bad.name in warnings[0]
    # every held frame index is named in the one warning (as a number or inside a range a-b)
    listed = set()
    for part in warnings[0].split("instead: ")[-1].split(";")[0].split(", "):
        first, _, last = part.partition("-")
        listed.update(range(int(first), int(last or first) + 1))
    assert listed == set(held)


def test_avi_that_loses_frames_says_how_many(tmp_path, caplog):
    # The AVI demuxer skips over damaged chunks and numbers what follows as if nothing were lost,
    # so where the frames went is unknown; the warning still says that frames are missing.
    bad = overwrite(intra_video(tmp_path / "clean.avi"), 0.45, 0.08, "bad.avi")
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        got = decode_all(bad)
    assert 0 < len(got) < NUM_FRAMES
    warnings = damage_warnings(caplog)
    assert len(warnings) == 1 and f"decoded {len(got)} frames" in warnings[0]


def test_damage_at_the_start_holds_the_first_good_frame(tmp_path, caplog):
    clean = intra_video(tmp_path / "clean.mp4")
    want = decode_all(clean)
    data = clean.read_bytes()
    with av.open(str(clean)) as container:  # where the first frames' bytes are
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        first, third = packets[0].pos, packets[2].pos
    data = bytearray(data)
    data[first + 16: third] = np.random.default_rng(0).integers(0, 256, third - first - 16, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad_start.mp4"
    bad.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        with open_video(bad, threads=False) as video:
            got = list(video)
            held = video.held_frames
    assert len(got) == NUM_FRAMES
    assert held and held[0] == 0
    good = next(i for i in range(NUM_FRAMES) if i not in held)
    for i in range(good):
        assert np.array_equal(got[i], got[good])
    for i in range(good, NUM_FRAMES):
        assert np.array_equal(got[i], want[i])
    assert len(damage_warnings(caplog)) == 1


def test_one_warning_per_file_however_often_it_is_read(tmp_path, caplog):
    bad = overwrite(intra_video(tmp_path / "clean.mp4"), 0.5, 0.05, "twice.mp4")
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        first = list(read_frames(bad))
        second = list(read_frames(bad, stride=2))
    assert len(second) == (len(first) + 1) // 2
    assert len(damage_warnings(caplog)) == 1


def test_clean_file_gives_no_warning(tmp_path, caplog):
    clean = intra_video(tmp_path / "clean.mp4")
    with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
        with open_video(clean) as video:
            assert len(list(video)) == NUM_FRAMES
            assert video.held_frames == []
    assert damage_warnings(caplog) == []


def test_mp4_cut_before_its_index_says_truncated(tmp_path):
    # without faststart the index (moov) is written last: a cut file has frames but no index
    clean = intra_video(tmp_path / "clean.mp4", faststart=False)
    short = cut(clean, 0.6, "recording.mp4")
    with pytest.raises(VideoError, match=r"recording\.mp4: not a readable video: it looks truncated .*moov"):
        open_video(short)
    # an AVI whose header announces more bytes than the file holds says the same
    avi = cut(intra_video(tmp_path / "clean.avi"), 0.02, "header_only.avi")
    with pytest.raises(VideoError, match=r"header_only\.avi: .*(truncated|no frame decodes)"):
        decode_all(avi)
    # rubbish stays "not a readable video" without a guess
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 4)
    with pytest.raises(VideoError, match=r"junk\.mp4: not a readable video"):
        decode_all(junk)


def test_no_decodable_frame_is_an_error_naming_the_file(tmp_path):
    clean = intra_video(tmp_path / "clean.mp4")
    with av.open(str(clean)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
        start, end = packets[0].pos, packets[-1].pos + packets[-1].size
    data = bytearray(clean.read_bytes())
    data[start:end] = bytes(end - start)  # every picture's bytes zeroed, the index kept
    dead = tmp_path / "dead.mp4"
    dead.write_bytes(bytes(data))
    with pytest.raises(VideoError, match=r"dead\.mp4: no frame decodes"):
        decode_all(dead)


@pytest.mark.slow
def test_extract_poses_reads_a_damaged_video(tmp_path, caplog):
    """`extract-poses` decodes through the same reader: a damaged copy of the example video gives
    one pose frame per frame of its timeline, and the command says which frames were held."""
    from click.testing import CliRunner

    from ilat_video.cli import main
    from ilat_video.pose.formats import load_poses

    source = Path(__file__).resolve().parents[1] / "examples" / "dance.mp4"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(source.read_bytes())
    with open_video(clip) as video:
        total = sum(1 for _ in video)
    bad = overwrite(clip, 0.5, 0.03, "damaged.mp4")
    short = cut(clip, 0.3, "short.mp4")
    runner = CliRunner()
    for video, expect_all in ((bad, True), (short, False)):
        out = tmp_path / f"{video.stem}.json"
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
            result = runner.invoke(main, ["extract-poses", str(video), "-o", str(out), "--no-refine"])
        assert result.exit_code == 0, result.output
        poses = load_poses(out)
        with open_video(video) as check:
            decoded = sum(1 for _ in check)
            held = check.held_frames
        assert len(poses) == decoded
        assert (len(poses) == total) if expect_all else (0 < len(poses) < total)
        if expect_all:
            assert held, "the overwritten bytes should have cost frames"
        warnings = damage_warnings(caplog)
        assert len(warnings) == 1 and f"{video.name}: damaged video" in warnings[0]


def test_stopping_early_inside_damage_does_not_claim_a_truncated_file(tmp_path, caplog):
    # B-frames and frame threads: the decoder reports damage frames before it shows the gap, so a
    # reader closed in between has seen damage it has not placed yet; that is not a cut-off file.
    clean = tmp_path / "clean.mp4"
    with av.open(str(clean), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in noisy_frames():
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    bad = overwrite(clean, 0.4, 0.1, "bad.mp4")
    with open_video(bad) as video:
        assert len(list(video)) == NUM_FRAMES and video.held_frames
    for stop in range(1, NUM_FRAMES):
        _WARNED.clear()
        with caplog.at_level(logging.WARNING, logger="ilat_video.video"):
            assert len(list(read_frames(bad, max_frames=stop))) == stop
    assert not [m for m in damage_warnings(caplog) if "ends in damaged data" in m or "truncated" in m]
