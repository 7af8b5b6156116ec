"""Keeping still parts: how far may a joint move and its body part still show the reference's pixels?

Makes each held-out pair's frame once (the pipeline's `evaluate.generate`, with the decoding,
views and personalising asked for), then pastes the reference on the still parts
(`regions.paste_still`) at each tolerance and measures region PSNR against the true target,
paired with the frame as it was. Meant for a subset the reported evaluations do not use (the
default, seed 3), so that the tolerance is not picked on the pairs it is then measured on.

    python benchmarks/probe_keep_still.py --views 16 --personalize 50 --pairs 100 --seed 3

Writes benchmarks/results/probe_keep_still.{json,md}. A run split over processes (`--first`,
`--pairs`) is put back together with `--merge A.json B.json` (same tolerances, in pair order).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402
from ilat_video import evaluate as ev  # noqa: E402
from ilat_video.data.pairs import tensor_to_image  # noqa: E402
from ilat_video.regions import moved_region, paste_still  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--method", default="ilat-expected", choices=ev.LOCAL_METHODS)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--first", type=int, default=0, help="skip this many pairs of the subset (to split a run)")
    parser.add_argument("--seed", type=int, default=3, help="the test subset (0-2 are the reported ones)")
    parser.add_argument("--views", type=int, default=1)
    parser.add_argument("--personalize", type=int, default=0)
    parser.add_argument("--tolerances", default="0,0.25,0.5,1,1.5,2,3", help="pixels, comma-separated")
    parser.add_argument("--sample-moved", action="store_true",
                        help="also rows that sample only the moved parts' tokens (the region given to the "
                             "pipeline is the moved region), then paste the still parts as before")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_keep_still"))
    parser.add_argument("--merge", nargs="+", metavar="PART.json", help="combine the records of a split run instead")
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(Path(f).read_text()) for f in args.merge]
        psnr = {name: [v for part in parts for v in part["per_pair"][name]] for name in parts[0]["per_pair"]}
        first = parts[0]
        commands = "; ".join(f"`{part['command']}`" for part in parts)
        what = (f"{len(psnr['off'])} held-out synthetic pairs (subset {first['seed']}, from pair {first['first']}; "
                f"{len(parts)} processes: {commands}), views {first['views']}, "
                f"personalize {first['personalize']}; region PSNR (mean over pairs) of the frame with the reference "
                "pasted on the parts whose joints moved at most the tolerance (pixels), paired with the frame as made.")
        report(args, psnr, what, dict(seed=first["seed"], first=first["first"], views=first["views"],
                                      personalize=first["personalize"]))
        return
    torch.set_num_threads(args.threads)
    tolerances = [float(t) for t in args.tolerances.split(",")]
    tokenizer, transformer = ev.load_models(args.model, device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.first + args.pairs,
                            seeds=(args.seed,))[args.seed][args.first:]
    psnr: dict[str, list[float]] = {"copy": [], "off": [], **{f"keep still {t:g}": [] for t in tolerances}}
    if args.sample_moved:
        psnr.update({f"sample moved {t:g}": [] for t in tolerances})
    started = time.perf_counter()
    for start in range(0, len(pairs), args.batch_size):
        batch = ev._stack(pairs[start:start + args.batch_size], "cpu")
        frames = ev.generate(args.method, tokenizer, transformer, batch, views=args.views,
                             personalize=args.personalize)
        region = batch["region"].bool()
        outputs = {"copy": batch["reference"], "off": frames}
        for t in tolerances:
            outputs[f"keep still {t:g}"] = paste_still(frames, batch["reference"], region,
                                                       batch["reference_pose"].numpy(), batch["target_pose"].numpy(),
                                                       tolerance=t)
            if args.sample_moved:
                outputs[f"sample moved {t:g}"] = paste_still(
                    sample_moved(args, tokenizer, transformer, batch, t), batch["reference"], region,
                    batch["reference_pose"].numpy(), batch["target_pose"].numpy(), tolerance=t)
        for name, images in outputs.items():
            for image, truth, mask in zip(images, batch["target"], region.numpy()):
                psnr[name].append(ev.psnr(tensor_to_image(image), tensor_to_image(truth), mask))
        print(start + len(batch["target"]), {k: round(float(np.mean(v)), 2) for k, v in psnr.items()}, flush=True)
    what = (f"{len(pairs)} held-out synthetic pairs (subset {args.seed}, from pair {args.first}), {args.method}, "
            f"greedy, {args.views} view(s), personalize {args.personalize}; region PSNR (mean over pairs) of "
            "the frame with the reference pasted on the parts whose joints moved at most the tolerance "
            f"(pixels of the {tokenizer.config.resolution}-pixel frame), paired with the frame as made "
            f"({time.perf_counter() - started:.0f} s in all).")
    report(args, psnr, what, dict(seed=args.seed, first=args.first, views=args.views, personalize=args.personalize))


def sample_moved(args, tokenizer, transformer, batch: dict, tolerance: float) -> torch.Tensor:
    """The batch's frames made with only the moved parts as the region (the reference itself for
    a pair where nothing moved)."""
    size = batch["reference"].shape[-1]
    moved = torch.from_numpy(np.stack([moved_region(a, b, size, size, tolerance=tolerance) for a, b in
                                       zip(batch["reference_pose"].numpy(), batch["target_pose"].numpy())]))
    frames = batch["reference"].clone()
    some = moved.flatten(1).any(1)
    if some.any():
        part = {k: v[some] for k, v in batch.items()}
        part["region"] = moved[some]
        frames[some] = ev.generate(args.method, tokenizer, transformer, part, views=args.views,
                                   personalize=args.personalize)
    return frames


def report(args, psnr: dict[str, list[float]], what: str, record: dict) -> None:
    """Write args.out's .json (per-pair values kept, for --merge) and .md: each row's mean region
    PSNR, its paired difference from "off" and the shares of pairs it is better and worse on."""
    off = np.array(psnr["off"])
    rows = {name: {"region_psnr": float(np.mean(v)), "minus_off": float(np.mean(np.array(v) - off)),
                   "better_than_off": float(np.mean(np.array(v) > off + 1e-9)),
                   "worse_than_off": float(np.mean(np.array(v) < off - 1e-9))} for name, v in psnr.items()}
    command = "python benchmarks/probe_keep_still.py " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "", what, "",
             "| frame | region PSNR | - off | pairs better | pairs worse |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['region_psnr']:.2f} | {r['minus_off']:+.2f} | "
                     f"{100 * r['better_than_off']:.0f}% | {100 * r['worse_than_off']:.0f}% |")
    write_results(args.out, {"command": command, "pairs": len(off), **record, "rows": rows, "per_pair": psnr}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
