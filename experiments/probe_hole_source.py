"""Fill the holes in the warped person from the person's own pixels, or from everything around them?
And fill the target body the warp left uncovered too (--repair body)?

    python experiments/probe_hole_source.py --frames 12 --out /tmp/source

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with --repair holes and
--repair body, each with the holes filled by OpenCV's Navier-Stokes from all their surroundings
(compose.HOLE_SOURCE = "all", the default before) and by push-pull from the warped person's pixels
only ("person", `compose.fill_from`).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402


def sourced(repair: str, source: str):
    def frames(clip):
        original = compose.HOLE_SOURCE
        compose.HOLE_SOURCE = source
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", repair)
        finally:
            compose.HOLE_SOURCE = original
    return frames


NAMES = [f"{repair}-{source}" for repair in ("holes", "body") for source in ("all", "person")]
for name in NAMES:
    bench_reenact.METHODS[name] = sourced(*name.split("-"))
bench_reenact.PAIRS = (("holes-person", "holes-all"), ("body-all", "holes-all"), ("body-person", "holes-all"),
                       ("body-person", "holes-person"), ("body-person", "warp+plate"))

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "warp+plate"] + NAMES
    bench_reenact.main()
