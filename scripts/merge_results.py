#!/usr/bin/env python
"""One results file from evaluations of the same model and settings run on different subsets.

    ilat-video evaluate ... --seeds 0 --out a.json &      # one process per core, or per machine
    ilat-video evaluate ... --seeds 1,2 --out b.json
    python scripts/merge_results.py a.json b.json -o all.json [--markdown all.md]

Each method's subsets are put together (ordered by seed) and its summary recomputed, as if one run
had made them all. Refused: files with different settings, data or pair counts, a seed in two
files, or a method missing from one of them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ilat_video import eval as ev
from ilat_video.errors import IlatError


def merge(documents: list[dict]) -> dict:
    """The merged results document of `documents` (each as `ilat-video evaluate --out` writes it)."""
    first = documents[0]

    def common(doc):
        data = {k: v for k, v in doc["data"].items() if k != "subset_seeds"}
        return doc["settings"], data

    for doc in documents[1:]:
        if common(doc) != common(first):
            raise IlatError("the files differ in their settings or data: "
                            "only parts of one evaluation can be merged")
        if set(doc["methods"]) != set(first["methods"]):
            raise IlatError(f"the files hold different methods: {sorted(first['methods'])} and {sorted(doc['methods'])}")
    seeds = [s for doc in documents for s in doc["data"]["subset_seeds"]]
    if len(set(seeds)) != len(seeds):
        raise IlatError(f"a subset seed is in more than one file: {seeds}")
    results = []
    for name in first["methods"]:
        parts = [ev.MethodResult.from_dict(doc["methods"][name]) for doc in documents]
        subsets = sorted((s for p in parts for s in p.subsets), key=lambda s: s.seed)
        results.append(ev.MethodResult(method=name, model=parts[0].model, subsets=subsets))
    data = first["data"]
    return ev.results_document(results, data=data["source"], pairs_per_subset=data["pairs_per_subset"],
                               size=data["size"], settings=first["settings"], machine=first["machine"],
                               command=" ; ".join(doc["command"] or "" for doc in documents))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", type=Path, metavar="PART.json")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    try:
        if len(args.parts) < 2:
            raise IlatError("give at least two results files to merge")
        if args.out in args.parts or args.markdown in args.parts:
            raise IlatError("the output must not be one of the parts")
        for path in args.parts:
            ev.load_results(path)  # a clear error for anything that is not a results file
        document = merge([json.loads(p.read_text()) for p in args.parts])
    except IlatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    ev.write_json(args.out, document)
    if args.markdown is not None:
        ev.write_text(args.markdown, ev.results_markdown(document))
    print(f"wrote {args.out}: {', '.join(document['methods'])} on subsets {document['data']['subset_seeds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
