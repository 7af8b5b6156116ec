"""Should --repair holes fill only the gaps that lie on the target's body (its skeleton drawn at the
model region's width), leaving gaps between limbs (a hand hanging beside the hip, the space
between the thighs) to the plate?

    python experiments/probe_holes_in_body.py --frames 12 --out /tmp/holes_in_body

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with the default frame
(warp + plate + holes) and with `compose.holes_to_fill` cut to the target's `regions.pose_region`
(default thickness, no margin, or half the thickness), beside warp + plate (no holes filled).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402
from ilat_video.regions import default_thickness, pose_region  # noqa: E402

_HOLES_TO_FILL = compose.holes_to_fill


def on_body(width: float):
    def holes_to_fill(warped, target_pose, body_height, *, holes=None):
        filled = _HOLES_TO_FILL(warped, target_pose, body_height, holes=holes)
        height, w = warped.alpha.shape
        return filled & pose_region(target_pose, height, w, thickness=width * default_thickness(target_pose),
                                    dilation=0.0)
    return holes_to_fill


def variant(width: float | None):
    def frames(clip):
        compose.holes_to_fill = _HOLES_TO_FILL if width is None else on_body(width)
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", "holes")
        finally:
            compose.holes_to_fill = _HOLES_TO_FILL
    return frames


bench_reenact.METHODS["holes"] = variant(None)
bench_reenact.METHODS["holes-on-body"] = variant(1.0)
bench_reenact.METHODS["holes-on-core"] = variant(0.5)
bench_reenact.PAIRS = (("holes-on-body", "holes"), ("holes-on-core", "holes"), ("holes", "warp+plate"),
                       ("holes-on-body", "warp+plate"))

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "warp+plate", "holes", "holes-on-body", "holes-on-core"]
    bench_reenact.main()
