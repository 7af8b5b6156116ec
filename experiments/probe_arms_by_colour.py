"""Should an arm give back the pixels of its capsule that look like the body around it (a hand
hanging beside the shorts takes a strip of denim with it, an upper arm the edge of the top)?

    python experiments/probe_arms_by_colour.py --frames 12 --out /tmp/arms_by_colour

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with the default frame
(warp + plate + holes) with and without `warp.colour.release_by_colour` (WarpConfig.arms_by_colour),
and the warp alone (over frame 0) both ways, where the plate does not hide what the arms carry.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video.warp import reference  # noqa: E402

_RELEASE = reference._arms_by_colour


def colour(on: bool, plate: str | None, repair: str):
    def frames(clip):
        reference._arms_by_colour = _RELEASE if on else (lambda image, person, labels, *rest: labels)
        try:
            if plate is None:
                yield from bench_reenact.METHODS["warp"](clip)
            else:
                yield from bench_reenact.warp_frames(clip, plate, repair)
        finally:
            reference._arms_by_colour = _RELEASE
    return frames


bench_reenact.METHODS["holes-capsules"] = colour(False, "inpaint", "holes")
bench_reenact.METHODS["holes+colour"] = colour(True, "inpaint", "holes")
bench_reenact.METHODS["warp-capsules"] = colour(False, None, "none")
bench_reenact.METHODS["warp+colour"] = colour(True, None, "none")
bench_reenact.PAIRS = (("holes+colour", "holes-capsules"), ("warp+colour", "warp-capsules"))

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "holes-capsules", "holes+colour", "warp-capsules", "warp+colour"]
    bench_reenact.main()
