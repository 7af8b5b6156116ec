"""Personalising the decoder on the reference: does a few steps of fine-tuning the tokenizer's
decoder on the one reference image (its own codes -> its own pixels) make the frames of that
person closer to the truth?

For each held-out pair the transformer runs once (greedy, `--decode expected` codes); the frame is
decoded by the shipped decoder and by copies tuned on the reference alone for several step counts,
and region PSNR is measured against the true target (composed as the pipeline does: the
reference's pixels where the model kept its token).

    python benchmarks/probe_personalize.py --model models/demo --pairs 50

Writes benchmarks/results/probe_personalize.{json,md}.
"""
from __future__ import annotations

import argparse
import copy
import random
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
from ilat_video.regions import changed_region, paste_outside, union_region  # noqa: E402
from ilat_video.sampling import sample_codes  # noqa: E402
from ilat_video.train.losses import region_mse  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402
from ilat_video.views import view_list  # noqa: E402


def tuning_batches(tokenizer, model, reference, ref_pose, region, source: str, views: int,
                   temperature: float = 1.0, seed: int = 0):
    """(codes, z, token region, target pixels, region) per view of the reference, no grad.
    source "hard": the reference's own codes in the region; "expected": the transformer's expected
    codes when asked for the reference's own pose (the kind of code the pipeline decodes); with a
    temperature other than 1, tokens drawn at that temperature (seeded) and the softer expected
    codes of those distributions."""
    out = []
    size = reference.shape[-1]
    with torch.inference_mode():
        for view in view_list(views, tokenizer.downsample_factor // 2):
            ref, reg = view.images(reference), view.images(region)
            z_q, known, z = tokenizer.encode(ref, reg)
            cells = tokenizer.token_region(reg)
            if source == "expected":
                _, alone, _ = tokenizer.encode(ref)
                pose = normalize_pose(view.poses(ref_pose, size), size)
                drawn = {} if temperature == 1.0 else dict(
                    greedy=False, temperature=temperature, generator=torch.Generator().manual_seed(seed))
                _, z_q = sample_codes(tokenizer, model, alone.flatten(1), known, pose, cells, expected=True,
                                      reference_pose=pose if model.config.needs_reference_pose else None, **drawn)
            out.append((z_q.clone(), z.clone(), cells.clone(), ref.clone(), reg.clone()))
    return out


def pair_batches(tokenizer, model, reference, ref_pose, views: int):
    """(codes, z, token region, target pixels, region) per ordered pair (A, B) of distinct views of
    the reference: view A as the reference, view B (its pose and pixels) as the target, the union of
    both poses' regions, the transformer's expected codes for pose B given A: a real change of pose
    (the mirrored view) or of place (the shifted ones) whose true frame is known."""
    out = []
    size = reference.shape[-1]
    chosen = view_list(views, tokenizer.downsample_factor // 2)
    with torch.inference_mode():
        images = [view.images(reference) for view in chosen]
        poses = [view.poses(ref_pose, size) for view in chosen]
        for a in range(len(chosen)):
            _, alone, _ = tokenizer.encode(images[a])
            for b in range(len(chosen)):
                if a == b:
                    continue
                reg = torch.from_numpy(union_region(poses[a][0].numpy(), poses[b][0].numpy(), size, size))[None]
                _, known, z = tokenizer.encode(images[a], reg)
                cells = tokenizer.token_region(reg)
                _, z_q = sample_codes(tokenizer, model, alone.flatten(1), known, normalize_pose(poses[b], size),
                                      cells, expected=True,
                                      reference_pose=normalize_pose(poses[a], size)
                                      if model.config.needs_reference_pose else None)
                out.append((z_q.clone(), z.clone(), cells.clone(), images[b].clone(), reg.clone()))
    return out


def tune(decoder, batches, steps: int, lr: float, seed: int, all_views: bool = False):
    decoder = copy.deepcopy(decoder).train()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    rng = random.Random(seed)
    stacked = [torch.cat(parts) for parts in zip(*batches)]
    for _ in range(steps):
        z_q, z, cells, target, region = stacked if all_views else batches[rng.randrange(len(batches))]
        codes = torch.where(cells[:, None], z_q, z)
        loss = region_mse(decoder(codes).float(), target, region)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return decoder.eval()


def report(script: str, args, psnr: dict[str, list[float]], seconds: dict[int, list[float]], base: str,
           what: str, column: str) -> list[str]:
    """Write args.out's .json and .md: each row's mean region PSNR, its paired difference from row
    `base` and the share of pairs it beats it on, and the median seconds to tune of rows named
    "tuned STEPS ...". Returns the markdown lines."""
    first = np.array(psnr[base])
    rows = {name: {"region_psnr": float(np.mean(v)), "minus_untuned": float(np.mean(np.array(v) - first)),
                   "better_than_untuned": float(np.mean(np.array(v) > first))} for name, v in psnr.items()}
    command = f"python benchmarks/{script} " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "", what, "",
             f"| {column} | region PSNR | - untuned | pairs better | s to tune (median) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        words = name.split()
        t = f"{np.median(seconds[int(words[1])]):.1f}" if words[0] == "tuned" else ""
        lines.append(f"| {name} | {r['region_psnr']:.2f} | {r['minus_untuned']:+.2f} | "
                     f"{100 * r['better_than_untuned']:.0f}% | {t} |")
    write_results(args.out, {"command": command, "pairs": args.pairs, "seed": args.seed, "rows": rows,
                             "tune_seconds_median": {s: float(np.median(v)) for s, v in seconds.items()}}, lines)
    return lines


def probe_arguments(description: str, pairs: int) -> argparse.ArgumentParser:
    """The options both personalisation probes take: model, pairs, subset seed, threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--pairs", type=int, default=pairs)
    parser.add_argument("--seed", type=int, default=0, help="the test subset")
    parser.add_argument("--threads", type=int, default=1)
    return parser


def probe_setup(args):
    """The models, the sorted step counts of --steps, and the test subset's pairs."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tokenizer, model = ev.load_models(args.model, device="cpu")
    steps = sorted(int(s) for s in args.steps.split(","))
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    return tokenizer, model, steps, pairs


def main() -> None:
    parser = probe_arguments(__doc__.splitlines()[0], pairs=50)
    parser.add_argument("--steps", default="0,10,30,100")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--source", choices=("hard", "expected", "pairs", "both"), default="hard",
                        help="pairs: view pairs of the reference (pair_batches); both: those and expected")
    parser.add_argument("--tune-views", type=int, default=8)
    parser.add_argument("--tune-temperature", type=float, default=1.0,
                        help="draw the tuning codes at this temperature (1: greedy tokens)")
    parser.add_argument("--all-views", action="store_true", help="every view in every step (a batch) instead of one")
    parser.add_argument("--tune-region", choices=("own", "pair"), default="own",
                        help="tune inside the reference's own skeleton region (what a video allows) or the pair's")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_personalize"))
    args = parser.parse_args()
    tokenizer, model, steps, pairs = probe_setup(args)
    psnr: dict[str, list[float]] = {}
    seconds: dict[int, list[float]] = {s: [] for s in steps}
    for i, pair in enumerate(pairs):
        b = ev._stack([pair], "cpu")
        reference, region = b["reference"], b["region"].bool()
        size = reference.shape[-1]
        ref_pose = b["reference_pose"].float()
        with torch.inference_mode():
            _, alone, _ = tokenizer.encode(reference)
            _, known, z = tokenizer.encode(reference, region)
            cells = tokenizer.token_region(region)
            tokens, codes = sample_codes(
                tokenizer, model, alone.flatten(1), known, normalize_pose(b["target_pose"].float(), size), cells,
                expected=True,
                reference_pose=normalize_pose(ref_pose, size) if model.config.needs_reference_pose else None)
            keep = changed_region(region, tokens, alone, known)
            inputs = torch.where(cells[:, None], codes, z)
        own = torch.from_numpy(union_region(pair["reference_pose"], pair["reference_pose"], size, size))[None]
        tune_region = own if args.tune_region == "own" else region
        batches = [] if args.source == "pairs" else tuning_batches(
            tokenizer, model, reference, ref_pose, tune_region, "hard" if args.source == "hard" else "expected",
            args.tune_views, args.tune_temperature, seed=i)
        if args.source in ("pairs", "both"):
            batches += pair_batches(tokenizer, model, reference, ref_pose, args.tune_views)
        psnr.setdefault("copy", []).append(ev.psnr(tensor_to_image(reference[0]), tensor_to_image(b["target"][0]),
                                                   region[0].numpy()))
        decoder, done = copy.deepcopy(tokenizer.decoder), 0
        start = time.perf_counter()
        for s in steps:
            if s > done:
                decoder = tune(decoder, batches, s - done, args.lr, seed=i * 1000 + s, all_views=args.all_views)
                done = s
            seconds[s].append(time.perf_counter() - start)
            with torch.inference_mode():
                frame = paste_outside(decoder(inputs).float().clamp(-1, 1), reference, keep)
            psnr.setdefault(f"tuned {s}", []).append(
                ev.psnr(tensor_to_image(frame[0]), tensor_to_image(b["target"][0]), region[0].numpy()))
        if (i + 1) % 10 == 0:
            print(i + 1, {k: round(float(np.mean(v)), 2) for k, v in psnr.items()}, flush=True)
    what = (f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy, expected codes, reference "
            f"pasted where unchanged; decoder tuned on the reference ({args.source} codes, {args.tune_views} "
            f"views{', all in every step' if args.all_views else ''}, {args.tune_region} region, Adam lr {args.lr}"
            f"{f', tokens drawn at temperature {args.tune_temperature:g}' if args.tune_temperature != 1 else ''}); "
            "region PSNR, mean over pairs.")
    lines = report("probe_personalize.py", args, psnr, seconds, f"tuned {steps[0]}", what, "decoder")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
