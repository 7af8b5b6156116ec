"""How far should the plate's hole reach beyond MediaPipe's person mask?

    python experiments/probe_hole_growth.py --frames 12 --out /tmp/growth

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with the default method
(warp+plate+holes) at several hole growths (`compose.person_hole`'s growth, a share of the body's
height; HOLE_GROWTH = 0.06 when this ran). A wider hole leaves no ring of the reference's edge
pixels in the plate but is filled by smearing more of the surroundings.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402

GROWTHS = (0.0, 0.015, 0.03, 0.06)


def grown(growth: float):
    def frames(clip):
        original = compose.person_hole.__defaults__
        compose.person_hole.__defaults__ = (growth,)
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", "holes")
        finally:
            compose.person_hole.__defaults__ = original
    return frames


for g in GROWTHS:
    bench_reenact.METHODS[f"growth{g:g}"] = grown(g)
bench_reenact.PAIRS = tuple((f"growth{g:g}", "growth0.06") for g in GROWTHS if g != 0.06)

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods"] + [f"growth{g:g}" for g in GROWTHS]
    bench_reenact.main()
