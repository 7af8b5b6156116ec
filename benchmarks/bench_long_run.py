"""A long run: does `ilat-video animate` keep its memory flat over a 10-minute pose file?

    python benchmarks/bench_long_run.py                          # writes benchmarks/results/long_run.md
    python benchmarks/bench_long_run.py --seconds 60 --out /tmp/long_run.md    # a quick try

The pose file: the real motion of aerobics_white_studio.mp4 (poses extracted as bench_retarget
does, cached in runs/retarget_poses/), played forwards then backwards (so there is no jump at the
seams) until it lasts --seconds at 30 fps: 600 s = 18,000 frames. The command is the default photo
path, as a user runs it, in its own process:

    python cli.py animate examples/photo.jpg POSES.json -o OUT.mp4 --max-side MAX_SIDE

Every --interval seconds (30) the process's resident memory (VmRSS in /proc) is sampled; its peak
(VmHWM) is read at the end. Reported: RSS at the first sample, the peak, the last sample, and the
slope of a least-squares line through the samples taken while frames are being made (from the
second sample on, so loading is left out), in MiB per 1000 frames, converting seconds to frames with
the run's mean rate (frames / wall seconds of the whole run). Flat means a slope near 0.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import code_version, cpu_name  # noqa: E402

from ilat_video.pose.formats import save_poses  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CLIP = Path("/work/shared/data/real/videos/aerobics_white_studio.mp4")
FPS = 30.0


def long_poses(seconds: float):
    """The clip's poses, forwards then backwards, repeated to `seconds` at FPS."""
    from bench_retarget import driving_poses

    clip = driving_poses(CLIP)
    keypoints = clip.keypoints
    cycle = np.concatenate([keypoints, keypoints[-2:0:-1]])      # forwards, then back without repeats
    frames = int(round(seconds * FPS))
    tiled = np.resize(cycle, (frames, *cycle.shape[1:]))          # repeats along the first axis
    return clip.replace(keypoints=tiled, fps=FPS, source=f"{clip.source} looped to {frames} frames")


def _status(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status in MiB (NaN once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return float("nan")


def run(seconds: float, max_side: int, interval: float) -> dict:
    version = code_version()   # at the start: the child process imports the code as it is now
    with tempfile.TemporaryDirectory() as folder:
        poses = long_poses(seconds)
        pose_file = Path(folder) / "poses.json"
        save_poses(poses, pose_file)
        output = Path(folder) / "out.mp4"
        command = [sys.executable, str(ROOT / "cli.py"), "animate", str(ROOT / "examples" / "photo.jpg"),
                   str(pose_file), "-o", str(output), "--max-side", str(max_side)]
        start = time.perf_counter()
        samples = []
        peak = float("nan")
        with open(Path(folder) / "log.txt", "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "COLUMNS": "120"})
            next_sample = start + interval
            while process.poll() is None:
                time.sleep(0.5)
                now = time.perf_counter()
                peak_now = _status(process.pid, "VmHWM")
                peak = peak_now if np.isfinite(peak_now) else peak
                if now >= next_sample:
                    rss = _status(process.pid, "VmRSS")
                    if np.isfinite(rss):
                        samples.append((now - start, rss))
                        print(f"{now - start:7.0f} s  RSS {rss:7.1f} MiB", flush=True)
                    next_sample += interval
        wall = time.perf_counter() - start
        tail = (Path(folder) / "log.txt").read_text()[-2000:]
        if process.returncode != 0:
            raise SystemExit(f"animate failed ({process.returncode}):\n{tail}")
        size = output.stat().st_size
    times, rss = np.array(samples).T if samples else (np.zeros(0), np.zeros(0))
    rate = len(poses) / wall
    slope = float("nan")
    if len(times) >= 3:
        slope_per_s = np.polyfit(times[1:], rss[1:], 1)[0]
        slope = float(slope_per_s / rate * 1000)
    return {"frames": len(poses), "seconds_of_motion": seconds, "max_side": max_side, "wall_s": wall,
            "frames_per_s": rate, "samples": samples, "start_mib": float(rss[0]) if len(rss) else float("nan"),
            "peak_mib": peak, "end_mib": float(rss[-1]) if len(rss) else float("nan"),
            "slope_mib_per_1000_frames": slope, "output_bytes": size, "command": " ".join(command[1:]),
            "log_tail": tail, "code_version": version}


def report(r: dict, interval: float) -> list[str]:
    lines = [
        "# Long run: memory over a 10-minute pose file",
        "",
        f"Code {r['code_version']}, {cpu_name()} (shared by several jobs). Script: `benchmarks/bench_long_run.py` "
        "(its docstring says how each number is made). Command: `ilat-video animate examples/photo.jpg POSES.json "
        f"-o OUT.mp4 --max-side {r['max_side']}` (the default photo path; frames "
        f"{r['max_side']} px on the longer side, chosen so that {r['frames']:,} frames take minutes, not hours, "
        "on this CPU). Poses: aerobics_white_studio's real motion, forwards and back, "
        f"{r['seconds_of_motion']:.0f} s at 30 fps.",
        "",
        "| frames | wall time | frames/s | RSS first sample | peak RSS | RSS last sample | slope |",
        "|---|---|---|---|---|---|---|",
        f"| {r['frames']:,} | {r['wall_s'] / 60:.1f} min | {r['frames_per_s']:.1f} | {r['start_mib']:.0f} MiB | "
        f"{r['peak_mib']:.0f} MiB | {r['end_mib']:.0f} MiB | "
        f"**{r['slope_mib_per_1000_frames']:+.2f} MiB per 1000 frames** |",
        "",
        f"RSS every {interval:.0f} s (seconds since start: MiB): "
        + ", ".join(f"{t:.0f}: {m:.0f}" for t, m in r["samples"]) + ".",
        "",
        f"Output: {r['output_bytes'] / 1e6:.1f} MB of H.264.",
        "",
        "Flat when the slope is near 0: the samples after loading stay within a few MiB for the whole run. "
        "The peak (VmHWM) is the highest RSS at any moment, between samples: a short burst (loading, "
        "planning), not growth. Frames are made and written as a stream.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the pose file at 30 fps")
    parser.add_argument("--max-side", type=int, default=160)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--out", type=Path, default=RESULTS / "long_run.md")
    args = parser.parse_args()
    result = run(args.seconds, args.max_side, args.interval)
    lines = report(result, args.interval)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
