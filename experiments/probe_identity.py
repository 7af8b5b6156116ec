"""Does a photo driven by its own pose come back as itself?

    python experiments/probe_identity.py [--max-side 512] [--out experiments/results/probe_identity]

Each development photo (`../shared/data/real/photos/`, `examples/photo.jpg`, the RGBA woman) and
frame 0 of each self-reenactment clip (`benchmarks/bench_reenact.py`'s CLIPS), animated by its own
MediaPipe pose (one frame, `retarget="none"`), at a longer side of --max-side: PSNR against the
photo inside its MediaPipe person mask (>= 0.5) and outside it, for warp alone over the photo
(`--plate none --repair none`) and the default (the plate, holes filled). A rule that moves a part
when nothing moved shows here as a low warp score or a default far below warp alone; what is left
is the band between the photo's own edge (the refined matte the warp draws) and the plate's hole
(MediaPipe's mask grown), where the default shows the plate's guess and warp alone the photo.
Also the head part's turn in degrees (0 for its own pose). Writes OUT.md and OUT.json.
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

from benchmarks._common import code_version  # noqa: E402
from benchmarks.bench_reenact import CLIPS, VIDEOS  # noqa: E402
from ilat_video.compose import Stage, output_size, scale_points  # noqa: E402
from ilat_video.errors import NoPersonError  # noqa: E402
from ilat_video.fileio import load_image  # noqa: E402
from ilat_video.options import RenderOptions  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402
from ilat_video.pose.sequence import PoseSequence  # noqa: E402
from ilat_video.video import read_frames  # noqa: E402
from ilat_video.warp import HEAD_PART, part_transforms  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PHOTOS = sorted((SHARED / "real" / "photos").glob("*")) + [ROOT / "examples" / "photo.jpg",
                                                           SHARED / "images" / "standing_woman_rgba.png"]


def psnr(squared: np.ndarray) -> float:
    mean = float(squared.mean()) if squared.size else 0.0
    return math.inf if mean <= 0 else 10 * math.log10(1 / mean)


def own_pose(animator: Animator, name: str, image: np.ndarray, max_side: int) -> dict | None:
    try:
        reference = animator.load_reference(image)
    except NoPersonError:
        return None
    height, width = reference.image.shape[:2]
    driving = PoseSequence(keypoints=reference.pose[None].copy(), width=width, height=height,
                           extras=None if reference.extras is None else reference.extras[None].copy())
    plan = animator.plan(reference, driving, retarget="none")
    size = output_size(width, height, max_side)
    truth = cv2.resize(reference.image, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    person = cv2.resize(reference.mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) >= 0.5
    row = {"photo": name, "size": list(size)}
    for method, options in (("warp", RenderOptions(plate="none", repair="none", max_side=max_side)),
                            ("default", RenderOptions(max_side=max_side))):
        frame = next(iter(animator.generate(plan, options))).astype(np.float32) / 255
        squared = ((frame - truth) ** 2).mean(axis=-1)
        row[method] = {"person": psnr(squared[person]), "background": psnr(squared[~person])}
    stage = Stage.prepare(reference.image, reference.mask, reference.pose, reference.extras, max_side=max_side)
    transforms, _ = part_transforms(stage.reference, scale_points(reference.pose, *stage.scale))
    head = [t.matrix for t in transforms if t.part == HEAD_PART]
    row["head_turn"] = float(np.degrees(np.arctan2(head[0][1, 0], head[0][0, 0]))) if head else None
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "probe_identity"))
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir())
    rows = []
    for path in PHOTOS:
        row = own_pose(animator, path.name, load_image(path), args.max_side)
        if row:
            rows.append(row)
    for clip in CLIPS:
        first = next(read_frames(VIDEOS / f"{clip}.mp4", max_frames=1))
        row = own_pose(animator, f"{clip}.mp4 frame 0", first, args.max_side)
        if row:
            rows.append(row)
    lines = ["# A photo driven by its own pose", "",
             f"Script: `experiments/probe_identity.py` (its docstring); longer side {args.max_side} px; "
             f"code {code_version()}. PSNR in dB against the photo, inside its MediaPipe mask (person) "
             "and outside it (background); head: the head part's turn in degrees.", "",
             "| photo | warp: person | default: person | default: background | head turn |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        turn = "" if row["head_turn"] is None else f"{row['head_turn']:.1f}"
        lines.append(f"| {row['photo']} | {row['warp']['person']:.2f} | {row['default']['person']:.2f} | "
                     f"{row['default']['background']:.2f} | {turn} |")
    means = {m: float(np.mean([r[m]["person"] for r in rows])) for m in ("warp", "default")}
    lines += ["", f"Mean over {len(rows)}: warp {means['warp']:.2f} dB, default {means['default']:.2f} dB "
              "inside the person."]
    out = Path(args.out)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"rows": rows, "code": code_version()}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
