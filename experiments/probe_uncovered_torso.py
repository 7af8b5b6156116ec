"""Should --repair holes also fill the target torso the warp left uncovered (an arm that lay across
the body in the photo leaves a hole there when it moves away)?

    python experiments/probe_uncovered_torso.py --frames 12 --out /tmp/torso

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with --repair holes with and
without `compose.uncovered_torso` added to the holes (compose.FILL_UNCOVERED_TORSO), beside --repair
body (the whole skeleton core, head included).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402


def torso(fill: bool, repair: str = "holes"):
    def frames(clip):
        original = compose.FILL_UNCOVERED_TORSO
        compose.FILL_UNCOVERED_TORSO = fill
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", repair)
        finally:
            compose.FILL_UNCOVERED_TORSO = original
    return frames


bench_reenact.METHODS["holes"] = torso(False)
bench_reenact.METHODS["holes+torso"] = torso(True)
bench_reenact.METHODS["body"] = torso(False, "body")
bench_reenact.PAIRS = (("holes+torso", "holes"), ("body", "holes"), ("holes+torso", "body"))

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "holes", "holes+torso", "body"]
    bench_reenact.main()
