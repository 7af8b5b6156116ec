"""Does the plate of copied pixels (`compose.inpaint_textured`) lose to the smooth mix where the
motion reveals the background, and why?

    python experiments/probe_plate_copies.py [--frames 12] [--out experiments/results/probe_plate_copies]

The same clips, moments and poses as `benchmarks/bench_reenact.py` (its functions, imported), two
methods: `warp+mixed+holes` (the plate before: `compose.inpaint_mixed`) and `warp+plate+holes` (the
default: copies where the background round the hole is textured). On the revealed background
(frame 0's person mask minus the truth's) each moment gets, for each method:
- PSNR against the truth;
- *detail*: the mean distance of the grey output from its own blur (Gaussian, sigma 1 pixel) over
  the revealed pixels, over the same of the truth: 1 is as much fine texture as the truth shows
  there, a smear is well under 1. PSNR cannot tell a smear from a texture: a copy of grass whose
  blades do not line up with the truth's costs about twice the squared error of a blur of it.
Per clip also the share of the plate's hole that the copies fill (`compose.texture_share`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_reenact import (  # noqa: E402
    CLIPS,
    METHODS,
    VIDEOS,
    Clip,
    read_clip,
    resize,
    sample_times,
)
from benchmarks._common import code_version  # noqa: E402
from ilat_video.compose import Stage, output_size, texture_share  # noqa: E402
from ilat_video.errors import NoPersonError  # noqa: E402
from ilat_video.eval.video_metrics import revealed_background  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402
from ilat_video.pose.extract import extract_image_person  # noqa: E402
from ilat_video.video import probe_video  # noqa: E402

NAMES = {"warp+mixed+holes": "mixed", "warp+plate+holes": "copies"}


def detail(image: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))[region].mean())


def psnr(out: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    error = ((out.astype(np.float64) - truth) ** 2)[region].mean()
    return float(10 * np.log10(255.0 ** 2 / max(error, 1e-10)))


def probe_clip(name: str, animator: Animator, frames_wanted: int, max_side: int) -> dict | None:
    path = VIDEOS / f"{name}.mp4"
    times = sample_times(probe_video(path)["num_frames"], frames_wanted, None)
    try:
        poses, frames = read_clip(path, times)
        reference = animator.load_reference(frames[0])
    except NoPersonError:
        return None
    size = output_size(poses.width, poses.height, max_side)
    stood = resize(reference.mask.astype(np.float32), size) >= 0.5
    moments = []
    for t in times:
        if not (poses.has_person[t - 1] and poses.has_person[t]):
            continue
        try:
            person = extract_image_person(frames[t])
        except NoPersonError:
            continue
        revealed = revealed_background(stood, resize(person.mask.astype(np.float32), size) >= 0.5)
        if revealed.sum() >= 50:
            moments.append((t, revealed, resize(frames[t], size)))
    if not moments:
        return None
    clip = Clip.in_pairs(animator, reference, poses, frames[0], [m[0] for m in moments], size, max_side)
    outputs = {NAMES[m]: list(METHODS[m](clip)) for m in NAMES}
    stage = Stage.prepare(reference.image, reference.mask, reference.pose, reference.extras, max_side=max_side,
                          plate="none")
    share = float(texture_share(stage.plate, stage.hole)[stage.hole].mean())
    rows = []
    for i, (t, revealed, truth) in enumerate(moments):
        row = {"t": t, "pixels": int(revealed.sum()), "truth detail": detail(truth, revealed)}
        for method, frames_out in outputs.items():
            out = frames_out[2 * i + 1]
            row[method] = {"psnr": psnr(out, truth, revealed), "detail": detail(out, revealed) / row["truth detail"]}
        rows.append(row)
    return {"clip": name, "copied share": share, "moments": rows}


def summary(clips: list[dict]) -> list[str]:
    lines = ["| clip | moments | hole copied | revealed PSNR mixed | copies | detail mixed | copies |",
             "|---|---|---|---|---|---|---|"]
    means = {key: [] for key in ("psnr mixed", "psnr copies", "detail mixed", "detail copies")}
    for clip in clips:
        rows = clip["moments"]
        cells = {f"{metric} {method}": float(np.mean([r[method][metric] for r in rows]))
                 for metric in ("psnr", "detail") for method in ("mixed", "copies")}
        for key in means:
            means[key].append(cells[key])
        lines.append(f"| {clip['clip']} | {len(rows)} | {100 * clip['copied share']:.0f}% | "
                     f"{cells['psnr mixed']:.2f} | {cells['psnr copies']:.2f} | "
                     f"{cells['detail mixed']:.2f} | {cells['detail copies']:.2f} |")
    count = sum(len(c["moments"]) for c in clips)
    lines.append(f"| **mean over clips** | {count} | | {np.mean(means['psnr mixed']):.2f} | "
                 f"{np.mean(means['psnr copies']):.2f} | {np.mean(means['detail mixed']):.2f} | "
                 f"{np.mean(means['detail copies']):.2f} |")
    rows = [r for c in clips for r in c["moments"]]
    difference = np.array([r["copies"]["psnr"] - r["mixed"]["psnr"] for r in rows])
    closer = np.array([abs(np.log(r["copies"]["detail"])) < abs(np.log(r["mixed"]["detail"])) for r in rows])
    better, equal = 100 * (difference > 0).mean(), 100 * (difference == 0).mean()
    lines += ["", f"Paired over the {len(rows)} moments: revealed PSNR, copies minus mixed, "
              f"{difference.mean():+.2f} dB (copies better on {better:.0f}%, equal on {equal:.0f}%); "
              "detail nearer the truth's (ratio nearer 1) "
              f"with the copies on {100 * closer.mean():.0f}%."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "probe_plate_copies"))
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir())
    clips = [c for c in (probe_clip(name, animator, args.frames, args.max_side) for name in CLIPS) if c]
    text = ["# The plate of copies against the smooth mix where the motion reveals the background "
            "(`experiments/probe_plate_copies.py`)", "",
            "Self-reenactment as `benchmarks/bench_reenact.py` (its clips and moments, --frames "
            f"{args.frames}, at a longer side of at most {args.max_side}), moments with at least 50 revealed pixels. "
            "*mixed*: `warp+mixed+holes` (`compose.inpaint_mixed`, the plate before); *copies*: `warp+plate+holes` "
            "(the default, `compose.inpaint_textured`). *hole copied*: the mean share of the plate's hole the copies "
            "fill. *detail*: the output's fine texture over the truth's on the revealed pixels (1: as much as the "
            "truth; a smear is well under 1).", ""]
    text += summary(clips)
    command = f"python experiments/probe_plate_copies.py --frames {args.frames}"
    text += ["", f"Code measured: {code_version()}. Command: `{command}`."]
    Path(args.out + ".md").write_text("\n".join(text) + "\n")
    Path(args.out + ".json").write_text(json.dumps(clips, indent=1) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
