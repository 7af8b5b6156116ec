"""Speed and memory of the photo path (frames at the photo's own size) at 720p and 1080p output,
beside today's square pipeline, with where the time goes.

    python benchmarks/bench_photo_speed.py [--frames 60] [--repeats 3] [--threads 1] [--out benchmarks/results/photo_speed]

Inputs: frame 0 of aerobics_white_studio.mp4 (1920x1080) as the reference photo, driven by the same
clip's poses (frames 0-239 through `extract_poses`, saved as a pose file once, so no run pays for
pose extraction; retargeted with the default mode, `steady`). Each run is `Animator.animate_to_file` with
the defaults except what the configuration names, writing an H.264 mp4, in a process of its own
(its peak RSS, `ru_maxrss`, is its own):
- photo 1080p: `RenderOptions()` (the defaults: photo frame, inpainted plate), 1920x1080 frames;
- photo 720p: `RenderOptions(max_side=1280)`, 1280x720 frames;
- square: `RenderOptions(frame="square")`, today's 64x64 pipeline (written upscaled to 256x256).
The configurations take turns, `--repeats` times, and each reports the median. torch's threads are
fixed (`--threads`); OpenCV keeps its own default, recorded. Memory flatness: the 1080p default
again with 4x the frames. Timings are wall seconds on a CPU shared with other work: the load
average is recorded before and after every run.

frames/s: output frames over the wall time of `animate_to_file` (reading the photo, MediaPipe's
pose and mask, the plate, every frame, encoding). steady frames/s: over the frames after the first
(the per-video setup left out). Where the time goes: the real functions wrapped with timers
(`TIMED`) during every run; "other" is the rest of `animate_to_file`. One more 1080p run under
cProfile lists the functions that take the most time themselves.
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import code_version, cpu_name
from ilat_video.pose.retarget import DEFAULT_MODE as DEFAULT_RETARGET

VIDEO = Path("/work/shared/data/real/videos/aerobics_white_studio.mp4")
CONFIGS = {
    "photo 1080p": {},
    "photo 720p": {"max_side": 1280},
    "square": {"frame": "square"},
}
# (module, attribute, label): the functions whose time is reported, wrapped in every run. A call
# made inside another timed call counts for the outer one (the plate's inpainting is the plate's).
TIMED = (
    ("ilat_video.pipeline", "extract_image_person", "reference pose + mask (MediaPipe)"),
    ("ilat_video.compose", "resize_person", "plate: resize photo"),
    ("ilat_video.compose", "refine_edge", "plate: the outline onto the photo's edges"),
    ("ilat_video.compose", "prepare_reference", "plate: prepare reference parts"),
    ("ilat_video.compose", "person_hole", "plate: person hole"),
    ("ilat_video.compose", "background_plate", "plate: inpaint"),
    ("ilat_video.compose", "warp_to_pose", "frame: warp"),
    ("ilat_video.warp.WarpResult", "over", "frame: composite over plate"),
    ("ilat_video.compose", "holes_in_person", "frame: find holes in the person"),
    ("ilat_video.compose", "fill", "frame: fill the holes (inpaint)"),
    ("ilat_video.compose", "inpaint", "frame: fill the holes (inpaint)"),
    ("ilat_video.square", "sample_and_decode", "square: sample + decode"),
    ("ilat_video.pipeline", "sample_and_decode", "square: sample + decode"),
    ("ilat_video.video.VideoWriter", "write", "encode (H.264)"),
    ("ilat_video.video.VideoWriter", "__exit__", "encode: flush + close"),
)



# --- one run, in its own process --------------------------------------------------------------------

def _resolve(path: str):
    """The module or class named by a dotted path; None when this version of the code lacks it."""
    import importlib

    module, _, attribute = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        try:
            return getattr(importlib.import_module(module), attribute, None)
        except ModuleNotFoundError:
            return None


def install_timers() -> dict:
    """Wrap every TIMED function that exists with a timer; returns {label: [seconds, calls]} that
    fills as they run (outermost timed calls only)."""
    totals = {}
    depth = [0]
    for owner, attribute, label in TIMED:
        target = _resolve(owner)
        original = getattr(target, attribute, None) if target is not None else None
        if original is None:
            continue
        totals.setdefault(label, [0.0, 0])

        def timed(*args, __original=original, __label=label, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    totals[__label][0] += time.perf_counter() - started
                    totals[__label][1] += 1

        setattr(target, attribute, functools.wraps(original)(timed))
    return totals


def child(args) -> None:
    """Animate once and print frames, seconds, the split and the peak RSS as JSON (last line)."""
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    totals = install_timers()
    from ilat_video.options import RenderOptions
    from ilat_video.pipeline import Animator, default_model_dir

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    model_seconds = time.perf_counter() - started
    options = RenderOptions(**CONFIGS[args.config])
    ticks = []
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = animator.animate_to_file(args.reference, args.driving, args.output, options=options,
                                       max_frames=args.frames,
                                       progress=lambda done, total: ticks.append((done, time.perf_counter())))
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    # Progress comes after each frame (photo) or each batch (square) has been made and written.
    (first_done, first_time), (last_done, last_time) = ticks[0], ticks[-1]
    steady = (last_done - first_done) / (last_time - first_time) if last_time > first_time else None
    result = {
        "config": args.config, "frames": summary.frames, "frame_size": list(summary.frame_size),
        "seconds": seconds, "frames_per_s": summary.frames / seconds, "steady_frames_per_s": steady,
        "first_frame_s": first_time - started, "first_frames": first_done, "model_load_s": model_seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "split_s": {label: {"seconds": s, "calls": n} for label, (s, n) in totals.items() if n},
        "torch_threads": torch.get_num_threads(), "cv2_threads": cv2.getNumThreads(),
        "load_before": load_before, "load_after": os.getloadavg()[0],
    }
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:args.profile]
        result["profile_tottime"] = [
            {"function": f"{Path(file).name}:{line}({name})", "calls": calls, "tottime_s": tottime, "cumtime_s": cumtime}
            for (file, line, name), (_, calls, tottime, cumtime, _) in rows]
    print(json.dumps(result))


def run_child(config: str, reference: Path, driving: Path, output: Path, frames: int, threads: int,
              profile: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", config, "--reference", str(reference), "--driving", str(driving),
           "--output", str(output), "--frames", str(frames), "--threads", str(threads), "--profile", str(profile)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{config} run failed:\n{done.stderr[-3000:]}")
    output.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the whole benchmark ------------------------------------------------------------------------------

def prepare_inputs(folder: Path, frames: int) -> tuple[Path, Path]:
    """The reference photo (frame 0, PNG) and the clip's poses of frames 0..frames-1 (a pose file)."""
    import numpy as np
    from PIL import Image

    from ilat_video.pose.extract import extract_poses
    from ilat_video.pose.formats import save_poses
    from ilat_video.video import probe_video, read_frames

    reference = folder / "reference.png"
    driving = folder / "driving.json"
    first = next(read_frames(VIDEO, max_frames=1))
    Image.fromarray(np.asarray(first)).save(reference)
    poses = extract_poses(read_frames(VIDEO, max_frames=frames), fps=probe_video(VIDEO)["fps"])
    save_poses(poses.replace(source=str(VIDEO)), driving)
    return reference, driving


def median_run(runs: list[dict]) -> dict:
    keys = ("seconds", "frames_per_s", "steady_frames_per_s", "first_frame_s", "peak_rss_mib", "model_load_s")
    out = {key: statistics.median(values) if (values := [r[key] for r in runs if r[key] is not None]) else None
           for key in keys}
    out["frames"], out["frame_size"] = runs[0]["frames"], runs[0]["frame_size"]
    out["frames_per_s_runs"] = [r["frames_per_s"] for r in runs]
    labels = {label for r in runs for label in r["split_s"]}
    out["split_s"] = {label: statistics.median(r["split_s"].get(label, {"seconds": 0.0})["seconds"] for r in runs)
                      for label in labels}
    out["split_s"]["other"] = max(0.0, out["seconds"] - sum(out["split_s"].values()))
    return out


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(result: dict) -> list[str]:
    s = result["settings"]
    lines = [
        "# Photo path: speed and memory",
        "",
        (f"Reference: frame 0 of `{VIDEO.name}` (1920x1080); driving: the clip's own poses from a pose file, "
         f"{s['frames']} frames, retargeted with the default `{DEFAULT_RETARGET}`; `Animator.animate_to_file` into an "
         "H.264 mp4, "
         f"each run in its own process, {s['repeats']} runs per configuration taking turns, medians. "
         f"torch threads {s['threads']}, OpenCV threads {result['cv2_threads']} (its default). Script: "
         "`benchmarks/bench_photo_speed.py` (its docstring defines each number)."),
        "",
        "| configuration | frame size | frames/s (runs) | steady frames/s | first frame (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["speed"].items():
        runs = ", ".join(f"{x:.2f}" for x in r["frames_per_s_runs"])
        lines.append(f"| {name} | {r['frame_size'][0]}x{r['frame_size'][1]} | **{r['frames_per_s']:.2f}** ({runs}) | "
                     f"{_number(r['steady_frames_per_s'])} | {r['first_frame_s']:.2f} | {r['peak_rss_mib']:.0f} |")
    goal = result["speed"]["photo 1080p"]["frames_per_s"]
    lines += [
        "",
        (f"Issue 25's aim, 1080p at 1.5 frames/s or better with the defaults: **{goal:.2f} frames/s** "
         f"({'met' if goal >= 1.5 else 'not met'} on this shared machine). Not counted above: starting Python, "
         f"importing and loading the model, {result['speed']['photo 1080p']['model_load_s']:.1f} s per process "
         "(the photo path loads the iLAT model though it does not use it yet)."),
        "",
        "## Where the time goes (seconds per run, medians)",
        "",
        "| step | " + " | ".join(result["speed"]) + " |",
        "|---|" + "---|" * len(result["speed"]),
    ]
    labels = [*dict.fromkeys(label for _, _, label in TIMED), "other"]
    for label in labels:
        cells = []
        for r in result["speed"].values():
            value = r["split_s"].get(label)
            cells.append("" if not value else f"{value:.2f} ({100 * value / r['seconds']:.0f}%)")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"{r['seconds']:.2f}" for r in result["speed"].values()) + " |")
    profile = result["profile"]
    lines += [
        "",
        (f"Top functions by own time, photo 1080p, one run of {profile['frames']} frames under cProfile "
         f"({profile['seconds']:.1f} s with the profiler's overhead):"),
        "",
        "| function | calls | own time (s) | with callees (s) |",
        "|---|---|---|---|",
    ]
    for row in profile["profile_tottime"][:12]:
        lines.append(f"| `{row['function']}` | {row['calls']} | {row['tottime_s']:.2f} | {row['cumtime_s']:.2f} |")
    memory = result["memory"]
    lines += [
        "",
        "## Memory in the video's length (photo 1080p, defaults)",
        "",
        "| frames | peak RSS (MiB) | seconds | frames/s |",
        "|---|---|---|---|",
    ]
    for r in memory["runs"]:
        lines.append(f"| {r['frames']} | {r['peak_rss_mib']:.0f} | {r['seconds']:.1f} | {r['frames_per_s']:.2f} |")
    lines += [
        "",
        f"Peak RSS {memory['runs'][-1]['frames']} / {memory['runs'][0]['frames']} frames: **{memory['ratio']:.3f}**.",
        "",
        (f"Machine: {result['machine']['cpu']}, {result['machine']['cpu_count']} cores shared with other work; "
         f"load average (1 min) {result['load']['min']:.1f} to {result['load']['max']:.1f} over the runs "
         f"(before the first: {result['load']['start']:.1f}). Python {result['machine']['python']}, "
         f"torch {result['machine']['torch']}. {result['seconds']:.0f} s in all."),
        f"Code measured: {result['code']}.",
        f"Command: `{result['command']}`",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", choices=list(CONFIGS))
    parser.add_argument("--reference")
    parser.add_argument("--driving")
    parser.add_argument("--output")
    parser.add_argument("--profile", type=int, default=0, help="(child) rows of cProfile output, 0 = off")
    parser.add_argument("--frames", type=int, default=60, help="frames per speed run")
    parser.add_argument("--memory-frames", type=int, default=240, help="frames of the long memory run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared CPU)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "photo_speed"))
    args = parser.parse_args()
    if args.child:
        args.config = args.child
        return child(args)

    import platform

    import torch

    started = time.perf_counter()
    code = code_version()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reference, driving = prepare_inputs(tmp, max(args.frames, args.memory_frames))
        runs = {name: [] for name in CONFIGS}
        for repeat in range(args.repeats):
            for name in CONFIGS:
                run = run_child(name, reference, driving, tmp / "out.mp4", args.frames, args.threads)
                runs[name].append(run)
                loads += [run["load_before"], run["load_after"]]
                print(f"{name} #{repeat + 1}: {run['frames_per_s']:.2f} frames/s, {run['peak_rss_mib']:.0f} MiB, "
                      f"load {run['load_before']:.1f}", flush=True)
        long = run_child("photo 1080p", reference, driving, tmp / "out.mp4", args.memory_frames, args.threads)
        loads += [long["load_before"], long["load_after"]]
        profile = run_child("photo 1080p", reference, driving, tmp / "out.mp4", args.frames, args.threads, profile=25)
    short = runs["photo 1080p"][0]
    memory = {"runs": [short, long], "ratio": long["peak_rss_mib"] / short["peak_rss_mib"]}
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    result = {
        "settings": {"frames": args.frames, "memory_frames": args.memory_frames, "repeats": args.repeats,
                     "threads": args.threads, "reference": f"{VIDEO.name} frame 0", "configs": CONFIGS},
        "speed": {name: median_run(r) for name, r in runs.items()},
        "runs": runs, "memory": memory, "profile": profile, "cv2_threads": short["cv2_threads"],
        "load": {"start": loads[0], "min": min(loads), "max": max(loads), "all": loads},
        "machine": {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__},
        "seconds": time.perf_counter() - started, "command": f"python {command}", "code": code,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = markdown(result)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
