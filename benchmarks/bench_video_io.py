"""Video in and out: what the damage-aware reader and the sound cost.

    python benchmarks/bench_video_io.py                  # writes benchmarks/results/video_io.{json,md}
    python benchmarks/bench_video_io.py --frames 60 --repeats 5

read: decoding a 1280x720 H.264 clip to RGB frames with plain PyAV (container.decode, the same
    threading) against video.open_video, which checks every packet and picture for damage and
    places each frame on the timeline; then open_video on a copy with 8% of its bytes overwritten
    (frames held in place of the damaged ones).
write: VideoWriter (libx264, preset medium, as `animate` writes) of the same frames, without and
    with the sound of a source that has an AAC track (decoded, laid on the pictures' clock,
    re-encoded).
Medians over --repeats runs. The machine is shared: compare ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402

from ilat_video.video import VideoWriter, open_video  # noqa: E402
from _common import code_version, cpu_name, median_time, write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
WIDTH, HEIGHT, FPS, RATE = 1280, 720, 30, 44100
DAMAGED_SHARE = 8  # percent of the file's bytes overwritten, from its middle on
WRITE_FRAMES = 30  # x264 at "medium" is slow: fewer frames for the writer


def make_clip(path: Path, frames: int) -> list[np.ndarray]:
    """A moving textured picture with a 440 Hz tone; returns the frames written."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (HEIGHT, WIDTH * 2, 3), dtype=np.uint8)
    pictures = [np.ascontiguousarray(texture[:, 8 * i: 8 * i + WIDTH]) for i in range(frames)]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "20"}
        audio = out.add_stream("aac", rate=RATE, layout="stereo")
        for picture in pictures:
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for n in range(0, int(frames / FPS * RATE), 1024):
            wave = (0.5 * np.sin(2 * np.pi * 440 * (n + np.arange(1024)) / RATE)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, n, Fraction(1, RATE)
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return pictures


def plain_pyav(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        return sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)


def ours(path: Path) -> int:
    with open_video(path) as video:
        return sum(1 for _ in video)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "video_io"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        clip = folder / "clip.mp4"
        pictures = make_clip(clip, args.frames)
        data = bytearray(clip.read_bytes())
        a, b = len(data) // 2, len(data) // 2 + len(data) * DAMAGED_SHARE // 100
        data[a:b] = np.random.default_rng(1).integers(0, 256, b - a, dtype=np.uint8).tobytes()
        damaged = folder / "damaged.mp4"
        damaged.write_bytes(bytes(data))
        with open_video(damaged) as video:
            damaged_frames = sum(1 for _ in video)
            held = len(video.held_frames)

        def write(audio_from):
            with VideoWriter(folder / "out.mp4", FPS, audio_from=audio_from) as writer:
                for picture in pictures[:WRITE_FRAMES]:
                    writer.write(picture)

        variants = [("read_pyav_s", lambda: plain_pyav(clip)), ("read_ours_s", lambda: ours(clip)),
                    ("read_ours_damaged_s", lambda: ours(damaged)),
                    ("write_silent_s", lambda: write(None)), ("write_sound_s", lambda: write(clip))]
        samples: dict[str, list[float]] = {name: [] for name, _ in variants}
        # round by round, so that load on the shared machine hits every variant alike
        for _ in range(args.repeats):
            for name, fn in variants:
                samples[name].append(median_time(fn, 1))
        timings = {name: statistics.median(values) for name, values in samples.items()}

    frames = args.frames
    result = {
        "code_version": code_version(), "cpu": cpu_name(), "frames": frames, "size": f"{WIDTH}x{HEIGHT}",
        "repeats": args.repeats, **timings,
        "damaged_frames_out": damaged_frames, "damaged_frames_held": held,
        "read_ours_over_pyav": timings["read_ours_s"] / timings["read_pyav_s"],
        "read_damaged_over_clean": timings["read_ours_damaged_s"] / timings["read_ours_s"],
        "write_sound_over_silent": timings["write_sound_s"] / timings["write_silent_s"],
    }
    fps = {k: (WRITE_FRAMES if k.startswith("write") else frames) / v for k, v in timings.items()}
    lines = [
        "# Video in and out",
        "",
        f"`python benchmarks/bench_video_io.py --frames {frames} --repeats {args.repeats}`; code {result['code_version']}; "
        f"{result['cpu']}. A {WIDTH}x{HEIGHT} H.264 clip of {frames} frames at {FPS} fps with an AAC tone "
        f"(the writer: its first {WRITE_FRAMES} frames); medians of {args.repeats} rounds on a shared machine, "
        f"every variant once a round: read the ratios.",
        "",
        "| step | median s | frames/s | ratio |",
        "|---|---|---|---|",
        f"| read, plain PyAV | {timings['read_pyav_s']:.3f} | {fps['read_pyav_s']:.0f} | 1 |",
        f"| read, open_video (damage checks) | {timings['read_ours_s']:.3f} | {fps['read_ours_s']:.0f} | "
        f"{result['read_ours_over_pyav']:.2f} x plain |",
        f"| read, open_video, {DAMAGED_SHARE}% of bytes overwritten ({held} of {damaged_frames} frames held) | "
        f"{timings['read_ours_damaged_s']:.3f} | {fps['read_ours_damaged_s']:.0f} | "
        f"{result['read_damaged_over_clean']:.2f} x clean |",
        f"| write, no sound | {timings['write_silent_s']:.3f} | {fps['write_silent_s']:.1f} | 1 |",
        f"| write, with the source's sound | {timings['write_sound_s']:.3f} | {fps['write_sound_s']:.1f} | "
        f"{result['write_sound_over_silent']:.2f} x no sound |",
    ]
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
