"""Side-by-side pictures on the real photos: photo | today's plate | PatchMatch (| mixed), cropped round the hole.

    python experiments/plate_patchmatch/look.py [--mixed] [--only NAME ...] [--tag TAG]
Needs cache/ from cache_holes.py. Writes look/<photo>[_TAG].png and prints the seconds per fill.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import patchmatch  # noqa: E402  (beside this script)


def crop_box(hole: np.ndarray, pad: float = 0.15):
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    g = int(pad * max(np.ptp(ys), np.ptp(xs)))
    return max(0, ys.min() - g), min(h, ys.max() + g + 1), max(0, xs.min() - g), min(w, xs.max() + g + 1)


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
    return img


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--tag", default="")
    parser.add_argument("--work-side", type=int, default=patchmatch.WORK_SIDE)
    parser.add_argument("--final", default=patchmatch.FINAL_VOTE, help='last vote: "mean" or "best"')
    args = parser.parse_args()
    patchmatch.FINAL_VOTE = args.final
    out_dir = HERE / "look"
    out_dir.mkdir(exist_ok=True)
    for path in sorted((HERE / "cache").glob("*.npz")):
        if args.only and path.stem not in args.only:
            continue
        data = np.load(path)
        image, hole, plate = data["image"], data["hole"], data["plate"]
        start = time.perf_counter()
        ours = patchmatch.inpaint_patchmatch(image, hole, work_side=args.work_side)
        seconds = time.perf_counter() - start
        assert np.array_equal(ours[~hole], image[~hole])
        panels = [label(image, "photo"), label(plate, "today"), label(ours, f"patchmatch {seconds:.1f}s")]
        line = f"{path.stem}: {image.shape[1]}x{image.shape[0]} patchmatch {seconds:.2f}s"
        if args.mixed:
            start = time.perf_counter()
            mixed = patchmatch.inpaint_patchmatch_mixed(image, hole)
            s2 = time.perf_counter() - start
            panels.append(label(mixed, f"mixed {s2:.1f}s"))
            line += f" mixed {s2:.2f}s"
        y0, y1, x0, x1 = crop_box(hole)
        row = np.concatenate([p[y0:y1, x0:x1] for p in panels], 1)
        name = path.stem + (f"_{args.tag}" if args.tag else "") + ".png"
        cv2.imwrite(str(out_dir / name), cv2.cvtColor(row, cv2.COLOR_RGB2BGR))
        print(line, "->", out_dir / name, flush=True)


if __name__ == "__main__":
    main()
