"""Why does the default score below warp alone inside the person in self-reenactment?

    python experiments/probe_ghost.py [--frames 12] [--out experiments/results/probe_ghost]

The same clips, moments and poses as `benchmarks/bench_reenact.py` (its functions, imported), two
methods: warp alone over frame 0 (`warp`) and the default (`warp+plate+holes`). Inside the truth's
person mask every pixel is one of three kinds:
- *same*: the two outputs agree (no channel more than 3 levels apart): the warped person drew it;
- *ghost*: they differ, and frame 0 shows its person there: warp alone shows the reference
  standing where it stood (the ghost), the default shows the plate or its hole fill;
- *other*: they differ, and frame 0 shows background there.
For each kind: its share of the person, and each method's mean squared error on it. Then the
default with warp alone's pixels put back on the ghost pixels only ("default + ghost"): if its
person PSNR reaches warp alone's, the ghost explains the gap. Last, how far the ghost pixels lie
from the person the warp drew (the nearest pixel inside frame 0's person that the two outputs draw
alike; pixels at the compared size, BANDS): a thin fringe round the drawn outline is a silhouette a
pixel or two short (or a pose a pixel or two off), a wide one a limb drawn elsewhere.
"""
from __future__ import annotations

import argparse
import json
import math
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
from ilat_video.compose import output_size  # noqa: E402
from ilat_video.errors import NoPersonError  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402
from ilat_video.pose.extract import extract_image_person  # noqa: E402
from ilat_video.video import probe_video  # noqa: E402

KINDS = ("same", "ghost", "other")
BANDS = (1, 2, 3, 4, 6, 8, 12, 16, math.inf)  # upper bounds (pixels) of the ghost's distance bands


def psnr(sum_squared: float, count: int) -> float:
    return math.inf if sum_squared <= 0 else 10 * math.log10(count / sum_squared)


def probe_clip(name: str, animator: Animator, frames_wanted: int, max_side: int) -> list[dict]:
    path = VIDEOS / f"{name}.mp4"
    times = sample_times(probe_video(path)["num_frames"], frames_wanted, None)
    try:
        poses, frames = read_clip(path, times)
        reference = animator.load_reference(frames[0])
    except NoPersonError:
        return []
    size = output_size(poses.width, poses.height, max_side)
    moments = []
    for t in times:
        if not (poses.has_person[t - 1] and poses.has_person[t]):
            continue
        try:
            person = extract_image_person(frames[t])
        except NoPersonError:
            continue
        moments.append((t, resize(person.mask.astype(np.float32), size) >= 0.5, resize(frames[t], size)))
    if not moments:
        return []
    clip = Clip.in_pairs(animator, reference, poses, frames[0], [m[0] for m in moments], size, max_side)
    outputs = {method: list(METHODS[method](clip)) for method in ("warp", "warp+plate+holes")}
    stood = resize(reference.mask.astype(np.float32), size) >= 0.5  # where frame 0 shows its person
    rows = []
    for i, (t, mask, truth) in enumerate(moments):
        warp, default = outputs["warp"][2 * i + 1], outputs["warp+plate+holes"][2 * i + 1]
        differ = (np.abs(warp.astype(int) - default.astype(int)) > 3).any(axis=2)
        kinds = {"same": mask & ~differ, "ghost": mask & differ & stood, "other": mask & differ & ~stood}
        truth_f = truth.astype(np.float64) / 255
        squared = {method: ((out.astype(np.float64) / 255 - truth_f) ** 2).mean(axis=2)
                   for method, out in (("warp", warp), ("default", default))}
        row = {"clip": name, "t": t, "person": int(mask.sum())}
        for kind, pixels in kinds.items():
            row[kind] = {"pixels": int(pixels.sum()),
                         **{method: float(err[pixels].sum()) for method, err in squared.items()}}
        drawn = (~differ & stood).astype(np.uint8)
        distance = cv2.distanceTransform(1 - drawn, cv2.DIST_L2, 3)
        lower, row["bands"] = 0.0, []
        for upper in BANDS:
            band = kinds["ghost"] & (distance > lower) & (distance <= upper)
            row["bands"].append({"pixels": int(band.sum()),
                                 **{method: float(err[band].sum()) for method, err in squared.items()}})
            lower = upper
        count = row["person"]
        row["psnr"] = {method: psnr(float(err[mask].sum()), count) for method, err in squared.items()}
        hybrid = float(squared["default"][mask].sum() - row["ghost"]["default"] + row["ghost"]["warp"])
        row["psnr"]["default + ghost"] = psnr(hybrid, count)
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> list[str]:
    lines = ["| clip | moments | person PSNR warp | default | default + ghost | same | ghost | other |",
             "|---|---|---|---|---|---|---|---|"]
    clips = sorted({r["clip"] for r in rows}, key=lambda c: CLIPS.index(c))
    means = {m: [] for m in ("warp", "default", "default + ghost")}
    for clip in clips:
        mine = [r for r in rows if r["clip"] == clip]
        scores = {m: float(np.mean([r["psnr"][m] for r in mine])) for m in means}
        for m in means:
            means[m].append(scores[m])
        shares = {k: sum(r[k]["pixels"] for r in mine) / sum(r["person"] for r in mine) for k in KINDS}
        cells = [f"{scores[m]:.2f}" for m in means] + [f"{100 * shares[k]:.1f}%" for k in KINDS]
        lines.append(f"| {clip} | {len(mine)} | " + " | ".join(cells) + " |")
    total = sum(r["person"] for r in rows)
    cells = [f"{np.mean(means[m]):.2f}" for m in means]
    cells += [f"{100 * sum(r[k]['pixels'] for r in rows) / total:.1f}%" for k in KINDS]
    lines.append(f"| **mean over clips** | {len(rows)} | " + " | ".join(cells) + " |")
    lines += ["", "Mean squared error on each kind of person pixel, pooled over the moments ([0, 1] scale):", "",
              "| kind | share of the person | warp alone | default |", "|---|---|---|---|"]
    for kind in KINDS:
        pixels = sum(r[kind]["pixels"] for r in rows)
        if pixels:
            errors = [sum(r[kind][m] for r in rows) / pixels for m in ("warp", "default")]
            lines.append(f"| {kind} | {100 * pixels / total:.1f}% | {errors[0]:.4f} | {errors[1]:.4f} |")
    ghost = sum(r["ghost"]["pixels"] for r in rows)
    lines += ["", "The ghost pixels by their distance from the drawn person (pixels at the compared size), pooled:", "",
              "| distance | share of the ghost | cumulative | warp alone's squared error | default's |",
              "|---|---|---|---|---|"]
    lower, cumulative = 0, 0
    for k, upper in enumerate(BANDS):
        pixels = sum(r["bands"][k]["pixels"] for r in rows)
        cumulative += pixels
        errors = [sum(r["bands"][k][m] for r in rows) / max(pixels, 1) for m in ("warp", "default")]
        name = f"{lower}-{upper}" if math.isfinite(upper) else f"over {lower}"
        lines.append(f"| {name} | {100 * pixels / max(ghost, 1):.1f}% | {100 * cumulative / max(ghost, 1):.1f}% | "
                     f"{errors[0]:.4f} | {errors[1]:.4f} |")
        lower = upper
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "probe_ghost"))
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir())
    rows = []
    for name in CLIPS:
        rows += probe_clip(name, animator, args.frames, args.max_side)
    text = ["# Why the default scores below warp alone inside the person (`experiments/probe_ghost.py`)", "",
            "Self-reenactment as `benchmarks/bench_reenact.py` (its clips and moments, --frames "
            f"{args.frames}, compared at a longer side of at most {args.max_side}). Person pixels: *same* (the two "
            "outputs agree: the warped person drew them), *ghost* (they differ and frame 0 shows its person there: "
            "warp alone shows the reference where it stood), *other* (they differ, frame 0 shows background). "
            "*default + ghost*: the default with warp alone's pixels on the ghost pixels only.", ""]
    text += summary(rows)
    command = f"python experiments/probe_ghost.py --frames {args.frames}"
    text += ["", f"Code measured: {code_version()}. Command: `{command}`."]
    Path(args.out + ".md").write_text("\n".join(text) + "\n")
    Path(args.out + ".json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
