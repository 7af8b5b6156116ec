"""Should the torso an arm uncovers (`compose.uncovered_torso`) be filled from the warped torso's own
pixels (`compose.fill_from_part`) rather than inpainted from everything around it?

    python experiments/probe_torso_source.py --frames 12 --out /tmp/torso_source

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with the default frame
(warp + plate + holes) both ways. On photos with arms across the body (the businessman with folded
arms in ../shared/data/real/photos) the inpainting brought the white background into the suit.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402

_FROM_PART = compose.fill_from_part


def variant(from_torso: bool):
    def frames(clip):
        compose.fill_from_part = _FROM_PART if from_torso else (lambda image, hole, known, **k: compose.fill(image,
                                                                                                          hole))
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", "holes")
        finally:
            compose.fill_from_part = _FROM_PART
    return frames


bench_reenact.METHODS["torso-from-all"] = variant(False)
bench_reenact.METHODS["torso-from-torso"] = variant(True)
bench_reenact.PAIRS = (("torso-from-torso", "torso-from-all"),)

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "torso-from-all", "torso-from-torso"]
    bench_reenact.main()
