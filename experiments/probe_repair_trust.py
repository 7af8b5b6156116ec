"""Which pixels should iLAT's repair regenerate: also the warped pixels the warp trusts little, or
only what the warp could not draw?

    python experiments/probe_repair_trust.py --frames 12 --repair-model runs/repair2/model --out /tmp/trust

Runs benchmarks/bench_reenact.py (self-reenactment on the real clips) with --repair ilat at several
trust thresholds (`compose.repair_region(trust=)`: drawn pixels with confidence / alpha below it are
regenerated; REPAIR_TRUST = 0.5 when this ran). trust 0 = only the holes inside the warped person
and the target body the warp left uncovered.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_reenact  # noqa: E402

from ilat_video import compose  # noqa: E402

TRUSTS = (0.0, 0.25, 0.5)


def trusting(trust: float):
    def frames(clip):
        original = compose.repair_region.__kwdefaults__["trust"]
        compose.repair_region.__kwdefaults__["trust"] = trust
        try:
            yield from bench_reenact.warp_frames(clip, "inpaint", "ilat")
        finally:
            compose.repair_region.__kwdefaults__["trust"] = original
    return frames


for t in TRUSTS:
    bench_reenact.METHODS[f"ilat-trust{t:g}"] = trusting(t)
bench_reenact.PAIRS = tuple((f"ilat-trust{t:g}", "warp+plate+holes") for t in TRUSTS) + (
    ("ilat-trust0", "ilat-trust0.5"),)

if __name__ == "__main__":
    if "--methods" not in sys.argv:
        sys.argv += ["--methods", "warp+plate+holes"] + [f"ilat-trust{t:g}" for t in TRUSTS]
    bench_reenact.main()
