"""Hand and foot points in pose files, and the ComfyUI nodes' cost over the library.

    python benchmarks/bench_pose_extras.py                 # writes benchmarks/results/pose_extras.{json,md}
    python benchmarks/bench_pose_extras.py --frames 3000 --repeats 3

files: save_poses / load_poses of a long sequence (Penn Action 0004.mat motion tiled to --frames,
    as in bench_pose_io) without and with the 10 extras, in our JSON, OpenPose JSON and ControlNet's
    pose JSON (POSE_KEYPOINT): time and size, and the with/without ratios.
comfyui: the Animate node against Animator.animate on the same inputs (examples/photo.jpg, the
    first frames of examples/dance.mp4 as POSE_KEYPOINT, max_side 96, the demo model): the node's
    own work is converting IMAGE tensors and the pose JSON.
Medians over --repeats runs. The machine is shared: compare ratios within one run, not absolute times.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import code_version, cpu_name, median_time, write_results  # noqa: E402
from bench_pose_io import _long_sequence  # noqa: E402

from ilat_video.pose.formats import load_poses, save_poses  # noqa: E402
from ilat_video.pose.mapping import EXTRA_NAMES  # noqa: E402
from ilat_video.pose.skeleton import JOINT_NAMES  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
FORMATS = ("ilat", "openpose", "controlnet")


def _with_extras(seq):
    """Extras near their joints (wrist for hand points, ankle for feet), 10% of them missing."""
    rng = np.random.default_rng(1)
    anchor = [JOINT_NAMES.index(f"{n.split('_')[0]}_{'ankle' if n.endswith(('heel', 'toe')) else 'wrist'}")
              for n in EXTRA_NAMES]
    extras = seq.keypoints[:, anchor].copy()
    extras[..., :2] += rng.normal(0, 12, extras[..., :2].shape).astype(np.float32)
    extras[rng.random(extras.shape[:2]) < 0.1] = 0.0
    extras[extras[..., 2] <= 0] = 0.0
    return seq.replace(extras=extras)


def bench_files(frames: int, repeats: int) -> dict:
    plain = _long_sequence(frames)
    rich = _with_extras(plain)
    out: dict = {"frames": frames, "with_person": int(plain.has_person.sum())}
    with tempfile.TemporaryDirectory() as folder:
        for fmt in FORMATS:
            for label, seq in (("plain", plain), ("extras", rich)):
                path = Path(folder) / f"{fmt}_{label}.json"
                out[f"{fmt}_{label}_write_s"] = median_time(lambda: save_poses(seq, path, format=fmt), repeats)
                out[f"{fmt}_{label}_read_s"] = median_time(lambda: load_poses(path), repeats)
                out[f"{fmt}_{label}_bytes"] = path.stat().st_size
                back = load_poses(path)
                assert back.has_extras == (label == "extras"), (fmt, label)
            for what in ("write_s", "read_s", "bytes"):
                out[f"{fmt}_{what}_ratio"] = out[f"{fmt}_extras_{what}"] / out[f"{fmt}_plain_{what}"]
    return out


def bench_comfyui(repeats: int, frames: int = 3) -> dict:
    import torch  # noqa: F401  (the nodes' IMAGE type)

    from ilat_video.comfy.nodes import Animate, LoadModel, frames_to_images
    from ilat_video.fileio import load_image
    from ilat_video.options import RenderOptions
    from ilat_video.pose.extract import extract_poses
    from ilat_video.pose.formats import controlnet_frames, poses_from_controlnet
    from ilat_video.video import read_frames

    (model,) = LoadModel().load()
    photo = load_image(ROOT / "examples" / "photo.jpg")
    driving = np.stack(list(read_frames(ROOT / "examples" / "dance.mp4", max_frames=frames)))
    pose_keypoint = controlnet_frames(extract_poses(driving, model_path=model.pose_model, max_side=256))
    reference = frames_to_images([photo])
    node = median_time(lambda: Animate().animate(model, reference, max_side=96, pose_keypoint=pose_keypoint),
                       repeats)
    library = median_time(lambda: list(model.animate(photo, poses_from_controlnet(pose_keypoint, fps=30.0),
                                                     options=RenderOptions(max_side=96))), repeats)
    return {"frames": frames, "node_s": node, "library_s": library, "node_over_library": node / library}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "pose_extras"))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    files = bench_files(args.frames, args.repeats)
    comfy = bench_comfyui(args.repeats)
    load = (load_before, os.getloadavg()[0])
    result = {"code_version": code_version(), "cpu": cpu_name(), "repeats": args.repeats, "files": files,
              "comfyui": comfy, "load_average_1min": load}
    lines = [
        "# Hand and foot points in pose files; the ComfyUI nodes' cost",
        "",
        f"Code: {result['code_version']}. CPU: {result['cpu']}, shared: 1-minute load average "
        f"{load[0]:.1f} before and {load[1]:.1f} after the run on 2 cores, so single times are noisy. "
        f"Command: `python benchmarks/bench_pose_extras.py --frames {args.frames} --repeats {args.repeats}`; "
        "medians; raw numbers in `pose_extras.json`.",
        "",
        f"## Files: {args.frames:,} frames ({files['with_person']:,} with a person), without and with the 10 extras",
        "",
        "| format | write | write, extras | read | read, extras | size | size, extras | "
        "write ratio | read ratio | size ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fmt in FORMATS:
        f = files
        lines.append(
            f"| {fmt} | {f[f'{fmt}_plain_write_s']:.2f} s | {f[f'{fmt}_extras_write_s']:.2f} s | "
            f"{f[f'{fmt}_plain_read_s']:.2f} s | {f[f'{fmt}_extras_read_s']:.2f} s | "
            f"{f[f'{fmt}_plain_bytes'] / 1e6:.2f} MB | {f[f'{fmt}_extras_bytes'] / 1e6:.2f} MB | "
            f"{f[f'{fmt}_write_s_ratio']:.2f}x | {f[f'{fmt}_read_s_ratio']:.2f}x | {f[f'{fmt}_bytes_ratio']:.2f}x |")
    lines += [
        "",
        "Extras add 10 points to 13 joints in our JSON; OpenPose adds two 21-point hands (63 numbers each, "
        "mostly zeros: 4 of 21 points are ours) and ControlNet also DWPose's 6 foot points, so their "
        "files grow more than ours. Every file read back with its extras (the benchmark asserts it). "
        "The sizes are exact; the times are not: on cores this loaded, repeated runs move single cells by "
        "2x, so read them as 'extras cost at most a few times the plain file', nothing finer.",
        "",
        f"## ComfyUI: the Animate node against Animator.animate ({comfy['frames']} frames, max_side 96)",
        "",
        "| path | time |",
        "|---|---|",
        f"| Animate node (IMAGE in, POSE_KEYPOINT parsed, IMAGE out) | {comfy['node_s']:.2f} s |",
        f"| Animator.animate on the same photo and poses | {comfy['library_s']:.2f} s |",
        f"| ratio node / library | {comfy['node_over_library']:.2f}x |",
        "",
        "The node calls the library and returns the same frames (`tests/test_comfyui.py` checks equality); "
        "what it adds is the conversions.",
    ]
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
