"""Does iLAT's repair keep the warp's detail if only its low-frequency correction is added?

    python experiments/probe_repair_detail.py --frames 6 --repair-model runs/repair2/model --out /tmp/detail

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with extra methods:
warp+plate+ilat-detailN = the repair region regenerated as in --repair ilat, but the frame keeps the
warped (hole-filled) pixels and adds the model's correction smoothed by a Gaussian of N model pixels
(`repair.repair(detail=N)`). Compared with warp+plate+holes (the default) and warp+plate+ilat.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose, repair  # noqa: E402


def detail_frames(sigma: float):
    def frames(clip):
        original = compose.ilat_repair
        compose.ilat_repair = functools.partial(repair.repair, detail=sigma)
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", "ilat")
        finally:
            compose.ilat_repair = original
    return frames


for sigma in (1.0, 2.0, 4.0):
    bench_reenact.METHODS[f"warp+plate+ilat-detail{sigma:g}"] = detail_frames(sigma)
bench_reenact.PAIRS = tuple(bench_reenact.PAIRS) + tuple(
    (f"warp+plate+ilat-detail{s:g}", other) for s in (1.0, 2.0, 4.0) for other in ("warp+plate+holes", "warp+plate+ilat"))

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "warp+plate+holes", "warp+plate+ilat", "warp+plate+ilat-detail1",
                     "warp+plate+ilat-detail2", "warp+plate+ilat-detail4"]
    bench_reenact.main()
