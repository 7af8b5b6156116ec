"""What a photo far beyond 1080p costs on the photo path: a phone's 12 MP or a camera's 24 MP photo
animated at its own size, beside the same photo at `--max-side 1920`.

    python benchmarks/bench_large_photo.py [--sides 6006 4032] [--frames 8] [--threads 1] [--out benchmarks/results/large_photo]

Input: examples/photo.jpg (614x922) enlarged (Lanczos) to each longer side of `--sides`, and the
Quick start's driving video (examples/dance.mp4), its first `--frames` frames. Each configuration
runs in a process of its own (its peak RSS is its own): the photo's MediaPipe pose and mask
(`load_reference`), then `compose.Stage.prepare` (the reference cut into parts and the plate:
once per video), then every frame (`Stage.frame`, the default repair of holes) without encoding.
Reported: the seconds of each step, the median seconds a frame, peak memory. Wall seconds on a
CPU shared with other work (the load average is recorded before and after every run).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, code_version, cpu_name, write_results  # noqa: E402

PHOTO = ROOT / "examples" / "photo.jpg"
VIDEO = ROOT / "examples" / "dance.mp4"


def run_one(photo: Path, max_side: int | None, frames: int, threads: int) -> dict:
    """One configuration, in this process: the seconds of each step and peak RSS (MiB)."""
    import numpy as np
    import torch

    from ilat_video import compose
    from ilat_video.pipeline import Animator, default_model_dir

    torch.set_num_threads(threads)
    animator = Animator.from_pretrained(default_model_dir())
    started = time.perf_counter()
    reference = animator.load_reference(photo)
    loaded = time.perf_counter()
    plan = animator.plan(reference, animator.load_driving(VIDEO, max_frames=frames))
    planned = time.perf_counter()
    stage = compose.Stage.prepare(reference.image, reference.mask, reference.pose, reference.extras, max_side=max_side)
    prepared = time.perf_counter()
    follow = stage.follow_track(plan.target.keypoints, plan.target.extras)
    seconds = []
    for t, pose in enumerate(plan.target.keypoints):
        start = time.perf_counter()
        stage.frame(pose, target_extras=plan.target.extras[t], repair="holes", follow=follow[t])
        seconds.append(time.perf_counter() - start)
    return {"size": list(stage.size), "photo_seconds": loaded - started, "poses_seconds": planned - loaded,
            "prepare_seconds": prepared - planned, "frame_seconds": float(np.median(seconds)),
            "frames": len(seconds), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[6006, 4032])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "large_photo"))
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # PHOTO MAX_SIDE (0: its own size): a child run
    args = parser.parse_args()
    if args.one:
        photo, max_side = Path(args.one[0]), int(args.one[1]) or None
        print(json.dumps(run_one(photo, max_side, args.frames, args.threads)))
        return

    from PIL import Image

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for side in args.sides:
            source = Image.open(PHOTO).convert("RGB")
            scale = side / max(source.size)
            photo = Path(tmp) / f"photo_{side}.jpg"
            source.resize((round(source.width * scale), round(source.height * scale)), Image.LANCZOS).save(
                photo, quality=92)
            for max_side in (0, 1920):
                load_before = os.getloadavg()[0]
                child = subprocess.run([sys.executable, __file__, "--one", str(photo), str(max_side), "--frames",
                                        str(args.frames), "--threads", str(args.threads)],
                                       capture_output=True, text=True, check=True, cwd=ROOT)
                row = json.loads(child.stdout.strip().splitlines()[-1])
                row.update(photo_side=side, max_side=max_side or None, load=[load_before, os.getloadavg()[0]])
                print(row, flush=True)
                rows.append(row)
    lines = ["# A photo far beyond 1080p on the photo path", "",
             f"`python benchmarks/bench_large_photo.py --sides {' '.join(map(str, args.sides))} --frames "
             f"{args.frames} --threads {args.threads}` at {code_version()}; {cpu_name()}, {os.cpu_count()} cores "
             f"shared with other work, torch with {args.threads} thread(s). examples/photo.jpg enlarged to each "
             "size, driven by the first frames of examples/dance.mp4; one process per row.", "",
             "| photo | frames made at | photo's pose and mask (s) | parts and plate, once a video (s) "
             "| median s a frame | peak memory (MiB) | load before / after |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        width, height = row["size"]
        lines.append(f"| longer side {row['photo_side']} | {width}x{height} "
                     f"({'its own size' if row['max_side'] is None else '--max-side 1920'}) | "
                     f"{row['photo_seconds']:.1f} | {row['prepare_seconds']:.1f} | {row['frame_seconds']:.2f} | "
                     f"{row['peak_mib']:.0f} | {row['load'][0]:.1f} / {row['load'][1]:.1f} |")
    write_results(args.out, {"rows": rows, "frames": args.frames, "threads": args.threads,
                             "code": code_version()}, lines)


if __name__ == "__main__":
    main()
