#!/usr/bin/env python
"""Paired differences between methods of different results files, on the same test pairs.

    python scripts/compare_results.py FIRST.json:METHOD OTHER.json:METHOD [MORE.json:METHOD ...]

`ilat-video evaluate` pairs the methods of one run; models evaluated in separate runs (an ablation
with its own tokenizer, say) are paired here, from the per-pair values both files keep. Prints a
markdown table: FIRST minus each other one, per scope and metric, mean ± std over the subsets
and the share of pairs where FIRST is better. Both runs must cover the same subsets (seeds and
pair counts); the pairs themselves are then the same, since a subset is a function of its seed.
"""
from __future__ import annotations

import argparse
import sys

from ilat_video.errors import IlatError
from ilat_video.eval import METRICS, load_results, paired_difference


def parse(entry: str):
    path, sep, method = entry.rpartition(":")
    if not sep or not path or not method:
        raise IlatError(f"expected FILE.json:METHOD, got {entry!r}")
    results = load_results(path)
    if method not in results:
        raise IlatError(f"{path}: no method {method!r} (it has {', '.join(results)})")
    return f"{path}:{method}", results[method]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="+", metavar="FILE.json:METHOD")
    parser.add_argument("--scopes", default="region,frame", help="comma-separated scopes (default region,frame)")
    args = parser.parse_args()
    if len(args.entries) < 2:
        parser.error("give at least two FILE.json:METHOD entries")
    try:
        (first_name, first), *others = [parse(e) for e in args.entries]
        scopes = [s for s in args.scopes.split(",") if s]
        header = ["difference"] + [f"{scope} {metric.upper()}" for scope in scopes for metric in METRICS]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" + "---:|" * (len(header) - 1))
        for name, other in others:
            cells = []
            for scope in scopes:
                for metric in METRICS:
                    d = paired_difference(first, other, scope=scope, metric=metric)
                    digits = 2 if metric == "psnr" else 4
                    cells.append(f"{d['mean']:+.{digits}f} ± {d['std']:.{digits}f} ({100 * d['better_share']:.0f}%)")
            print(f"| {first_name} - {name} | " + " | ".join(cells) + " |")
    except (IlatError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\n(mean ± std over the subsets of the per-pair differences; in parentheses, the share of pairs where "
          f"{first_name} is better; pairs per comparison: {first.subsets and sum(s.pairs for s in first.subsets)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
