"""benchmarks/bench_plate.py's synthetic plate measurement with the PatchMatch plates beside `default`.

    python experiments/plate_patchmatch/bench_plate_pm.py --frames 40 --sizes 128 256
Same frames, hole and score as the benchmark (its functions are imported, nothing copied); writes
experiments/plate_patchmatch/bench_plate_pm.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_plate  # noqa: E402
from ilat_video.compose import background_plate, inpaint_smooth  # noqa: E402
import patchmatch  # noqa: E402  (beside this script)
from patchmatch import inpaint_patchmatch, inpaint_patchmatch_mixed  # noqa: E402

METHODS = {
    "default": lambda im, h: background_plate(im, h),
    "smooth": lambda im, h: inpaint_smooth(im, h),
    "patchmatch": lambda im, h: inpaint_patchmatch(im, h),
    "patchmatch-mixed": lambda im, h: inpaint_patchmatch_mixed(im, h),
    "patchmatch-best": lambda im, h: _best(inpaint_patchmatch, im, h),
    "patchmatch-best-mixed": lambda im, h: _best(inpaint_patchmatch_mixed, im, h),
}


def _best(fn, im, h):
    """The same fill with the last vote taking the nearest patch's pixel (patchmatch.FINAL_VOTE = "best")."""
    saved, patchmatch.FINAL_VOTE = patchmatch.FINAL_VOTE, "best"
    try:
        return fn(im, h)
    finally:
        patchmatch.FINAL_VOTE = saved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--out", default="bench_plate_pm.json")
    args = parser.parse_args()
    results = {}
    for size in args.sizes:
        per = {name: {"psnr": [], "mae": [], "seconds": []} for name in args.methods}
        for image, hole, background, _pose in bench_plate.frames(args.frames, size):
            for name in args.methods:
                start = time.perf_counter()
                out = METHODS[name](image, hole)
                per[name]["seconds"].append(time.perf_counter() - start)
                if name != "smooth":
                    assert np.array_equal(out[~hole], image[~hole]), name
                p, m = bench_plate.score(out, background, hole)
                per[name]["psnr"].append(p)
                per[name]["mae"].append(m)
        results[size] = {name: {"psnr": float(np.mean(v["psnr"])), "psnr_sem": float(np.std(v["psnr"]) / np.sqrt(len(v["psnr"]))),
                                "mae": float(np.mean(v["mae"])), "s_per_frame": float(np.median(v["seconds"])),
                                "psnr_per_frame": [round(x, 3) for x in v["psnr"]]}
                         for name, v in per.items()}
        print(f"size {size}: " + ", ".join(f"{n} {results[size][n]['psnr']:.2f}" for n in args.methods), flush=True)
    (HERE / args.out).write_text(json.dumps({"frames": args.frames, "results": results}, indent=1) + "\n")
    print("| method | " + " | ".join(f"{s} px PSNR | MAE | s/frame" for s in results) + " |")
    print("|---|" + "---|---|---|" * len(results))
    for name in args.methods:
        cells = [f"{results[s][name]['psnr']:.2f} ± {results[s][name]['psnr_sem']:.2f} | {results[s][name]['mae']:.4f} | "
                 f"{results[s][name]['s_per_frame']:.3f}" for s in results]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for s in results:
        d = np.array(results[s]["patchmatch"]["psnr_per_frame"]) - np.array(results[s]["default"]["psnr_per_frame"])
        print(f"{s} px: patchmatch - default {d.mean():+.2f} dB, better on {100 * (d > 0).mean():.0f}% of frames")


if __name__ == "__main__":
    main()
