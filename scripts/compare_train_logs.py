#!/usr/bin/env python
"""Paired training curves of two runs that saw the same batches, step by step.

    python scripts/compare_train_logs.py FIRST_RUN OTHER_RUN [--keys loss,token_accuracy] [--window 500]

Two training runs with the same --seed, data and batch size draw the same batches at the same
step (the synthetic stream is a function of the seed and the step), so their logged values at a
step differ only by what the runs changed: an ablation's paired difference, without waiting for
an evaluation. Prints a markdown table: per window of steps that both logs cover, the mean of
each key in FIRST and OTHER, and FIRST minus OTHER with the share of logged steps where FIRST is
lower (for a loss: better).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from ilat_video.train.monitoring import read_log as read_records


def read_log(run: str) -> dict[int, dict]:
    """{step: record} of a run folder's log.jsonl (or the file itself); records with a step only."""
    path = Path(run)
    if path.is_dir():
        path = path / "log.jsonl"
    if not path.is_file():
        raise ValueError(f"{path}: no training log (expected a run folder with log.jsonl)")
    # A resumed run logs a step again: the later record wins.
    return {int(record["step"]): record for record in read_records(path) if "step" in record}


def paired_table(first: dict[int, dict], other: dict[int, dict], keys: list[str], window: int) -> list[str]:
    """Markdown rows comparing the two logs, window by window, on the steps both logged with every key."""
    steps = sorted(s for s in first.keys() & other.keys()
                   if all(k in first[s] and k in other[s] for k in keys))
    if not steps:
        raise ValueError(f"the two logs share no step that logs all of {', '.join(keys)}")
    header = "| steps | " + " | ".join(f"{k}: first | other | first - other (first lower)" for k in keys) + " |"
    rows = [header, "|---|" + "---:|---:|---:|" * len(keys)]
    for start in range(steps[0] - steps[0] % window, steps[-1] + 1, window):
        chunk = [s for s in steps if start <= s < start + window]
        if not chunk:
            continue
        cells = []
        for k in keys:
            a = [float(first[s][k]) for s in chunk]
            b = [float(other[s][k]) for s in chunk]
            lower = sum(x < y for x, y in zip(a, b)) / len(chunk)
            cells.append(f"{statistics.fmean(a):.4f} | {statistics.fmean(b):.4f} | "
                         f"{statistics.fmean(a) - statistics.fmean(b):+.4f} ({lower:.0%})")
        rows.append(f"| {chunk[0]}-{chunk[-1]} | " + " | ".join(cells) + " |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("other")
    parser.add_argument("--keys", default="loss,token_accuracy", help="comma-separated log keys")
    parser.add_argument("--window", type=int, default=500, help="steps per row (default 500)")
    args = parser.parse_args()
    if args.window < 1:
        parser.error("--window must be at least 1")
    keys = [k for k in args.keys.split(",") if k]
    try:
        rows = paired_table(read_log(args.first), read_log(args.other), keys, args.window)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
