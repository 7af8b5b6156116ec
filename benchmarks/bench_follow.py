"""Do the hands and feet of a video keep to their points or to their limbs, or jump between them?

    python benchmarks/bench_follow.py            # writes benchmarks/results/follow.md

The reference is examples/photo.jpg at 720 px (pose, mask and hand and foot points from MediaPipe);
the driving motion is every clip in /work/shared/data/real/videos/ and examples/dance.mp4
(`Animator.load_driving`, smoothed, then `Animator.plan`'s default retargeting). A hand or foot
either follows its own points or rides on its forearm or shank (`warp.part_transforms`); a switch
shows as the hand jumping. Per clip and in all, for each way of deciding:
- *frame by frame*: each frame alone (`part_transforms` without `follow`, as before the track);
- *steady track* (the default): `warp.steady_follow` over the whole clip, as the animator does.
Counted: switches between the two (over the four hands and feet), interior runs of under
MIN_FOLLOW_RUN frames (a hand that follows or rides for a moment), and the share of frames in
which the hands and the feet follow. Deterministic: nothing here is timed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import code_version, write_results  # noqa: E402

from ilat_video.compose import output_size, resize_person, scale_points  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402
from ilat_video.pose.extract import extract_image_person  # noqa: E402
from ilat_video.warp import MIN_FOLLOW_RUN, part_transforms, prepare_reference, steady_follow  # noqa: E402
from ilat_video.warp.parts import EXTREMITIES, HANDS  # noqa: E402

REAL = Path("/work/shared/data/real")
PHOTO = ROOT / "examples" / "photo.jpg"
CLIPS = sorted((REAL / "videos").glob("*.mp4")) + [ROOT / "examples" / "dance.mp4"]
MAX_SIDE = 720


def decisions(reference, poses, extras, track) -> np.ndarray:
    """bool (T, 4): which of the four hands and feet follow their points in each frame."""
    out = np.zeros((len(poses), len(EXTREMITIES)), bool)
    for t, (pose, points) in enumerate(zip(poses, extras)):
        parts = {tr.part for tr in part_transforms(reference, pose, points, follow=track[t])[0]}
        out[t] = [part in parts for part in EXTREMITIES]
    return out


def counts(follows: np.ndarray) -> dict:
    switches = int((follows[1:] != follows[:-1]).sum())
    short = 0
    for k in range(follows.shape[1]):
        runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, follows[:, k].astype(np.int8), -1]) != 0))
        short += int((runs[1:-1] < MIN_FOLLOW_RUN).sum()) if len(runs) > 2 else 0
    hands = [k for k, part in enumerate(EXTREMITIES) if part in HANDS]
    feet = [k for k, part in enumerate(EXTREMITIES) if part not in HANDS]
    return {"frames": len(follows), "switches": switches, "short_runs": short,
            "hands_follow": float(follows[:, hands].mean()), "feet_follow": float(follows[:, feet].mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "follow.md"))
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    photo = animator.load_reference(PHOTO)
    found = extract_image_person(photo.image)
    size = output_size(photo.image.shape[1], photo.image.shape[0], MAX_SIDE)
    scale = (size[0] / photo.image.shape[1], size[1] / photo.image.shape[0])
    reference = prepare_reference(*resize_person(photo.image, found.mask, photo.pose, photo.extras, size))
    rows = {}
    for clip in CLIPS:
        plan = animator.plan(photo, animator.load_driving(clip))
        poses = [scale_points(p, *scale) for p in plan.target.keypoints]
        extras = [scale_points(e, *scale) for e in plan.target.extras]
        rows[clip.name] = {
            "frame by frame": counts(decisions(reference, poses, extras, [None] * len(poses))),
            "steady track": counts(decisions(reference, poses, extras, steady_follow(reference, poses, extras)))}
        print(clip.name, rows[clip.name])
    methods = ("frame by frame", "steady track")
    lines = ["# Hands and feet: following their points or riding on their limbs, switch by switch", "",
             f"`python benchmarks/bench_follow.py`. The method: the script's docstring. Reference "
             f"`examples/photo.jpg` at {MAX_SIDE} px; {len(CLIPS)} driving clips, "
             f"{sum(r['steady track']['frames'] for r in rows.values())} frames. A *short run*: an interior run of "
             f"under {MIN_FOLLOW_RUN} frames.", "",
             "| clip | frames | " + " | ".join(f"{m}: switches / short runs / hands, feet follow" for m in methods)
             + " |", "|---|---|" + "---|" * len(methods)]
    for name, row in rows.items():
        lines.append(f"| {name} | {row[methods[0]]['frames']} | " + " | ".join(
            f"{row[m]['switches']} / {row[m]['short_runs']} / {row[m]['hands_follow']:.2f}, "
            f"{row[m]['feet_follow']:.2f}" for m in methods) + " |")
    total = {m: {k: sum(r[m][k] for r in rows.values()) for k in ("switches", "short_runs")} for m in methods}
    lines.append("| **all** | | " + " | ".join(
        f"**{total[m]['switches']} / {total[m]['short_runs']}**" for m in methods) + " |")
    lines += ["", f"Code measured: {code_version()}."]
    write_results(args.out, {"rows": rows, "total": total}, lines)


if __name__ == "__main__":
    main()
