"""Speed of the synthetic people generator and of the datasets built on it.

    python benchmarks/bench_synth.py                   # writes benchmarks/results/synth.json and synth.md
    python benchmarks/bench_synth.py --repeats 5 --videos 20
    python benchmarks/bench_synth.py --docs            # only redraw docs/synth_contact_sheet.png and
                                                       # docs/synth_action_strip.png

render: frames/s of SynthVideo.render (drawing only, no file), per size and supersampling.
write: frames/s of write_penn_dataset (drawing + JPEG + .mat labels: the `ilat-video synth` path).
setup: ms per video of make_video (identity, motion, kinematics, background, placement).
pairs: samples/s of SyntheticPairs (renders 2 frames at 2x size, crops, regions, tensors) and of
    PennActionPairs reading the written synthetic set back (JPEG decode, crop, regions).
Each figure is the median over --repeats runs; the target is >= 300 frames/s at 128x128.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video.data import synth  # noqa: E402
from ilat_video.data.penn_action import PennActionPairs  # noqa: E402
from _common import cpu_name

RESULTS = ROOT / "benchmarks" / "results"
TARGET_FPS = 300.0


def median_rate(fn, repeats: int) -> float:
    """Median over repeats of items/s, fn() -> number of items done."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        items = fn()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates)


def write_docs() -> None:
    """A contact sheet (frame 12 of train videos 0..15 of seed 0, 128x128, 4x4) and one action's strip."""
    import numpy as np
    from PIL import Image

    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    tiles = [synth.file_video(0, "train", k, 128, 24).render(12, supersample=2) for k in range(16)]
    sheet = np.concatenate([np.concatenate(tiles[r * 4:(r + 1) * 4], axis=1) for r in range(4)], axis=0)
    Image.fromarray(sheet).save(docs / "synth_contact_sheet.png", optimize=True)
    video = synth.make_video(np.random.default_rng(3), 128, 40, action="jumping_jacks")
    strip = np.concatenate([video.render(f, supersample=2) for f in range(0, 40, 5)], axis=1)
    Image.fromarray(strip).save(docs / "synth_action_strip.png", optimize=True)
    print(f"wrote {docs / 'synth_contact_sheet.png'} and {docs / 'synth_action_strip.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--videos", type=int, default=12, help="videos per measurement")
    parser.add_argument("--frames", type=int, default=24, help="frames per video")
    parser.add_argument("--docs", action="store_true", help="only redraw the two pictures in docs/")
    args = parser.parse_args()
    if args.docs:
        write_docs()
        return
    import scipy.io  # noqa: F401  (imported here so the first timed write does not pay for it)
    results: dict = {"machine": {"cpu": cpu_name(), "cores_visible": os.cpu_count(), "python": sys.version.split()[0],
                                 "load_average_at_start": round(os.getloadavg()[0], 2),
                                 "note": "2 cores shared with other jobs (training runs) during the measurement"},
                     "command": "python benchmarks/bench_synth.py " + " ".join(sys.argv[1:]),
                     "repeats": args.repeats, "videos": args.videos, "frames_per_video": args.frames}

    # Setup: everything but drawing.
    def setup():
        for k in range(args.videos):
            synth.file_video(0, "train", k, 128, args.frames)
        return args.videos
    results["setup_ms_per_video_128"] = 1000.0 / median_rate(setup, args.repeats)

    render = {}
    for size in (64, 128, 256):
        videos = [synth.file_video(0, "train", k, size, args.frames) for k in range(args.videos)]
        for supersample in (1, 2):
            def run():
                for video in videos:
                    for f in range(video.num_frames):
                        video.render(f, supersample=supersample)
                return len(videos) * args.frames
            render[f"{size}_ss{supersample}"] = median_rate(run, args.repeats)
    results["render_fps"] = render

    write = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (64, 128):
            counter = [0]

            def run():
                counter[0] += 1
                synth.write_penn_dataset(Path(tmp) / f"{size}_{counter[0]}", videos=args.videos, frames=args.frames,
                                         size=size, seed=counter[0])
                return args.videos * args.frames
            write[str(size)] = median_rate(run, args.repeats)
        results["write_fps"] = write

        pairs = {}
        for size in (64, 128):
            def run():
                n = 0
                for _ in synth.SyntheticPairs(size, max_videos=args.videos * 2, frames_per_video=args.frames):
                    n += 1
                return n
            pairs[f"synthetic_{size}"] = median_rate(run, args.repeats)
        root = Path(tmp) / "128_1"
        for size in (64, 128):
            dataset = PennActionPairs(root, size, "train", pairs_per_video=2)

            def run():
                for k in range(len(dataset)):
                    dataset[k]
                return len(dataset)
            pairs[f"penn_reading_synth128_to_{size}"] = median_rate(run, args.repeats)
        results["pairs_per_s"] = pairs

    results["target_ratio_write_128"] = write["128"] / TARGET_FPS
    results["ratio_supersample2_vs_1_at_128"] = render["128_ss2"] / render["128_ss1"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synth.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Synthetic people: speed",
        "",
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores_visible']} cores visible, "
        f"Python {results['machine']['python']}; {results['machine']['note']} "
        f"(load average {results['machine']['load_average_at_start']} at the start).",
        f"Command: `{results['command']}`; medians over {args.repeats} runs of {args.videos} videos x "
        f"{args.frames} frames.",
        "",
        "| what | 64x64 | 128x128 | 256x256 |",
        "|---|---|---|---|",
        f"| render, frames/s (draw only) | {render['64_ss1']:.0f} | {render['128_ss1']:.0f} | {render['256_ss1']:.0f} |",
        f"| render 2x supersampled, frames/s | {render['64_ss2']:.0f} | {render['128_ss2']:.0f} | {render['256_ss2']:.0f} |",
        f"| `ilat-video synth` (draw 2x + JPEG + labels), frames/s | {write['64']:.0f} | {write['128']:.0f} | |",
        f"| SyntheticPairs, samples/s (2 frames each) | {pairs['synthetic_64']:.0f} | {pairs['synthetic_128']:.0f} | |",
        f"| PennActionPairs on the written 128 set, samples/s | {pairs['penn_reading_synth128_to_64']:.0f} | "
        f"{pairs['penn_reading_synth128_to_128']:.0f} | |",
        "",
        f"Setup (identity, motion, kinematics, background, fit): {results['setup_ms_per_video_128']:.1f} ms per video.",
        f"Writing at 128x128 runs at {results['target_ratio_write_128']:.1f}x the 300 frames/s target; "
        f"2x supersampling costs {1 / results['ratio_supersample2_vs_1_at_128']:.2f}x the plain drawing time.",
        "",
    ]
    (RESULTS / "synth.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
