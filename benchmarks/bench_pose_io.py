"""Pose files and skeleton drawing: how fast, and what the number formatting costs.

    python benchmarks/bench_pose_io.py                  # writes benchmarks/results/pose_io.json
    python benchmarks/bench_pose_io.py --frames 3000 --repeats 3

our JSON: save_poses / load_poses of a long sequence (default 10,000 frames, 20% of them with no
    person), file size; compared with writing float64 reprs (json.dumps of .tolist()), which is
    what a naive writer does: size and time as ratios.
openpose: save_poses(format="openpose") to one file, and reading it back.
draw: draw_pose per frame on a black canvas at Penn Action size (480x360) and at the example
    video's size (1080x1920); render_poses on the 1080x1920 canvas; painting the whole image
    (PIL on the full frame) against draw_pose's painting of the joints' box only.
Medians over --repeats runs. The machine is shared: compare ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from ilat_video.pose.draw import _paint, bone_thickness, draw_pose, render_poses  # noqa: E402
from ilat_video.pose.formats import load_poses, save_poses  # noqa: E402
from ilat_video.pose.sequence import PoseSequence  # noqa: E402
from _common import median_time as _median_time

RESULTS = ROOT / "benchmarks" / "results"
PENN = ROOT / "tests" / "data" / "penn_action" / "0004.mat"


def _long_sequence(frames: int, seed: int = 0) -> PoseSequence:
    """Real Penn Action motion (0004.mat, 1080x1920 scale) tiled to `frames`, with jitter and gaps."""
    base = load_poses(PENN).rescaled(1080, 1920)
    rng = np.random.default_rng(seed)
    reps = -(-frames // len(base))
    kp = np.tile(base.keypoints, (reps, 1, 1))[:frames].copy()
    kp[..., :2] += rng.normal(0, 1.5, kp[..., :2].shape).astype(np.float32)  # detector-like sub-pixel values
    kp[..., 2] = np.where(kp[..., 2] > 0, rng.uniform(0.5, 1.0, kp.shape[:2]), 0).astype(np.float32)
    kp[rng.random(frames) < 0.2] = 0
    return PoseSequence(kp, 1080, 1920, 30.0)


def bench_files(frames: int, repeats: int) -> dict:
    seq = _long_sequence(frames)
    out: dict = {"frames": frames, "with_person": int(seq.has_person.sum())}
    with tempfile.TemporaryDirectory() as folder:
        ours = Path(folder) / "poses.json"
        naive = Path(folder) / "naive.json"
        openpose = Path(folder) / "openpose.json"
        out["ilat_write_s"] = _median_time(lambda: save_poses(seq, ours), repeats)
        out["ilat_read_s"] = _median_time(lambda: load_poses(ours), repeats)
        out["ilat_bytes"] = ours.stat().st_size

        def write_naive():
            frames_list = [kp.tolist() if has else None for kp, has in zip(seq.keypoints, seq.has_person)]
            naive.write_text(json.dumps({"format": "ilat-poses", "version": 1, "width": seq.width,
                                         "height": seq.height, "fps": seq.fps, "frames": frames_list}))

        out["naive_float64_write_s"] = _median_time(write_naive, repeats)
        out["naive_float64_bytes"] = naive.stat().st_size
        out["openpose_write_s"] = _median_time(lambda: save_poses(seq, openpose, format="openpose"), repeats)
        out["openpose_read_s"] = _median_time(lambda: load_poses(openpose), repeats)
        out["openpose_bytes"] = openpose.stat().st_size
        assert load_poses(ours).same_as(seq.replace(keypoints=np.where(seq.has_person[:, None, None], seq.keypoints, 0)))
    out["ilat_write_frames_per_s"] = frames / out["ilat_write_s"]
    out["ilat_read_frames_per_s"] = frames / out["ilat_read_s"]
    out["size_ratio_ours_vs_naive"] = out["ilat_bytes"] / out["naive_float64_bytes"]
    out["write_time_ratio_ours_vs_naive"] = out["ilat_write_s"] / out["naive_float64_write_s"]
    return out


def bench_draw(repeats: int, frames: int = 40) -> dict:
    base = load_poses(PENN)
    out = {}
    for width, height in ((480, 360), (1080, 1920)):
        seq = base.rescaled(width, height)[:frames]
        canvas = np.zeros((height, width, 3), np.uint8)

        def draw_all():
            for t in range(len(seq)):
                draw_pose(canvas, seq[t])

        seconds = _median_time(draw_all, repeats)
        out[f"draw_pose_{width}x{height}_frames_per_s"] = len(seq) / seconds
        if (width, height) == (1080, 1920):
            seconds = _median_time(lambda: sum(1 for _ in render_poses(seq)), repeats)
            out[f"render_poses_{width}x{height}_frames_per_s"] = len(seq) / seconds

            def paint_whole_image():  # what draw_pose did before it drew only the joints' box
                for t in range(len(seq)):
                    image = Image.fromarray(canvas)
                    _paint(image, seq[t][:, :2], seq[t][:, 2] > 0, bone_thickness(seq[t]))
                    np.array(image)

            seconds = _median_time(paint_whole_image, repeats)
            out[f"paint_whole_image_{width}x{height}_frames_per_s"] = len(seq) / seconds
            out["speedup_box_vs_whole_image"] = (out[f"draw_pose_{width}x{height}_frames_per_s"]
                                                 / out[f"paint_whole_image_{width}x{height}_frames_per_s"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "pose_io.json")
    args = parser.parse_args()
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
                   f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start",
        "command": "python benchmarks/bench_pose_io.py " + " ".join(sys.argv[1:]),
        "repeats": args.repeats,
        "files": bench_files(args.frames, args.repeats),
        "draw": bench_draw(args.repeats),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
