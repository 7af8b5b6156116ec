"""Seconds per plate: each cached photo at its own stage size, and photo.jpg's person hole at 1080p
(the photo upscaled to 1920 on its longer side), for today's plate and the PatchMatch plates.

    python experiments/plate_patchmatch/timing.py [--final mean|best]
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

from ilat_video import compose  # noqa: E402
import patchmatch  # noqa: E402  (beside this script)


def clock(fn, *a, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*a)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--final", default=patchmatch.FINAL_VOTE)
    args = parser.parse_args()
    patchmatch.FINAL_VOTE = args.final
    rows = []
    for path in sorted((HERE / "cache").glob("*.npz")):
        d = np.load(path)
        image, hole = d["image"], d["hole"]
        rows.append((path.stem, f"{image.shape[1]}x{image.shape[0]}", clock(compose.inpaint_mixed, image, hole),
                     clock(patchmatch.inpaint_patchmatch, image, hole), clock(patchmatch.inpaint_patchmatch_mixed, image, hole)))
        print(*rows[-1], flush=True)
    d = np.load(HERE / "cache" / "photo.npz")
    image, hole = d["image"], d["hole"]
    scale = 1920 / max(image.shape[:2])
    size = (round(image.shape[1] * scale) // 2 * 2, round(image.shape[0] * scale) // 2 * 2)
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    big_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    rows.append(("photo@1080p", f"{size[0]}x{size[1]}", clock(compose.inpaint_mixed, big, big_hole),
                 clock(patchmatch.inpaint_patchmatch, big, big_hole, repeat=2),
                 clock(patchmatch.inpaint_patchmatch_mixed, big, big_hole)))
    print(*rows[-1], flush=True)
    print("| photo | size | today (inpaint_mixed) s | patchmatch s | patchmatch-mixed s |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} |")


if __name__ == "__main__":
    main()
