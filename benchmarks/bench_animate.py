"""Square-frame speed and memory (`--frame square`, the model's frames; the photo path's are in
bench_photo_speed.py): frames/s at batch 1 vs the default batch, and peak memory for a 10 s and
a 60 s driving pose file (they must be within 10%: frames are streamed, nothing grows with length).

    python benchmarks/bench_animate.py [--model models/demo] [--out benchmarks/results/animate]

Each measurement runs in its own process so its peak RSS (ru_maxrss) is its own.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def child(args) -> None:
    """Run one animation and report frames, seconds and peak RSS as JSON on stdout."""
    import torch

    from ilat_video.options import RenderOptions
    from ilat_video.pipeline import Animator

    torch.set_num_threads(args.threads)
    animator = Animator.from_pretrained(args.model, device="cpu")
    out = Path(args.output)
    started = time.perf_counter()
    summary = animator.animate_to_file(EXAMPLES / "reference.png", args.driving, out,
                                       reference_pose=EXAMPLES / "reference_pose.json",
                                       batch_size=args.batch_size, max_frames=args.max_frames,
                                       options=RenderOptions(frame="square"))  # the model's frames, batched
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": summary.frames, "seconds": seconds, "peak_mib": peak_mib,
                      "region_rate": summary.region_rate}))


def run_child(model, driving, output, batch_size, max_frames=None, threads=2) -> dict:
    cmd = [sys.executable, __file__, "--child", "--model", str(model), "--driving", str(driving),
           "--output", str(output), "--batch-size", str(batch_size), "--threads", str(threads)]
    if max_frames:
        cmd += ["--max-frames", str(max_frames)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def looped_poses(seconds: float, path: Path) -> Path:
    """The example driving poses looped (back and forth) to `seconds` at their own fps."""
    from ilat_video.pose.formats import load_poses, save_poses

    poses = load_poses(EXAMPLES / "driving_poses.json")
    n = int(round(seconds * poses.fps))
    cycle = np.concatenate([poses.keypoints, poses.keypoints[::-1]])
    reps = -(-n // len(cycle))
    save_poses(poses.replace(keypoints=np.tile(cycle, (reps, 1, 1))[:n]), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--driving")
    parser.add_argument("--output")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed-frames", type=int, default=24, help="frames per speed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "animate"))
    args = parser.parse_args()
    if args.child:
        return child(args)

    import os

    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "load_before": os.getloadavg()[0], "model": args.model}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        driving = EXAMPLES / "driving_poses.json"
        speed = {}
        for batch in (1, 8):
            runs = [run_child(args.model, driving, tmp / f"b{batch}_{r}.mp4", batch, args.speed_frames)
                    for r in range(args.repeats)]
            fps = [r["frames"] / r["seconds"] for r in runs]
            speed[batch] = {"frames_per_s_median": statistics.median(fps), "runs": fps,
                            "region_rate": runs[0]["region_rate"]}
        results["speed"] = speed
        results["batch8_over_batch1"] = speed[8]["frames_per_s_median"] / speed[1]["frames_per_s_median"]
        memory = {}
        for seconds in (10, 60):
            poses = looped_poses(seconds, tmp / f"poses_{seconds}s.json")
            run = run_child(args.model, poses, tmp / f"mem_{seconds}.mp4", 8)
            memory[f"{seconds}s"] = run
        results["memory"] = memory
        results["memory_ratio_60s_over_10s"] = memory["60s"]["peak_mib"] / memory["10s"]["peak_mib"]
    results["load_after"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Demo animation: speed and memory",
        "",
        f"Machine: {results['machine']}, torch CPU, 2 threads. Load average {results['load_before']:.1f} before, "
        f"{results['load_after']:.1f} after. Model: `{args.model}`. Command: `python benchmarks/bench_animate.py`.",
        f"Reference `examples/reference.png`, driving `examples/driving_poses.json` ({args.speed_frames} frames per "
        f"speed run, {args.repeats} runs each, medians; each run in its own process, model load and pose work included).",
        "",
        "| batch | frames/s (median) | runs |",
        "|---|---|---|",
    ]
    for batch, s in speed.items():
        lines.append(f"| {batch} | {s['frames_per_s_median']:.2f} | {', '.join(f'{x:.2f}' for x in s['runs'])} |")
    lines += [
        "",
        f"Batch 8 / batch 1: **{results['batch8_over_batch1']:.2f}x** frames/s (mean token region rate "
        f"{100 * speed[8]['region_rate']:.0f}%).",
        "",
        "| driving pose file | frames | peak RSS (MiB) | seconds |",
        "|---|---|---|---|",
    ]
    for name, m in memory.items():
        lines.append(f"| {name} | {m['frames']} | {m['peak_mib']:.0f} | {m['seconds']:.1f} |")
    lines += ["", f"Peak memory 60 s / 10 s: **{results['memory_ratio_60s_over_10s']:.3f}** (target: within 10%)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
