"""Personalising the transformer on the reference: can a few steps of fine-tuning on pairs made
from the reference alone (one test-time view as the reference, another, mirrored or shifted, as
the target) teach the transformer this person's tokens?

For each held-out pair: the transformer is copied and tuned with its own training loss (cross-
entropy on the region's tokens, teacher forced, LA mask) on ordered pairs of the reference's views
(`views.py`: the mirrored view is a real change of pose, left and right swapped); then the true
target is made as `--decode expected` makes it and region PSNR is measured, against the untuned
transformer on the same pair.

    python benchmarks/probe_personalize_transformer.py --model models/demo --pairs 30

Writes benchmarks/results/probe_personalize_transformer.{json,md}.
"""
from __future__ import annotations

import argparse
import copy
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
from ilat_video.personalize import personalize_decoder  # noqa: E402
from ilat_video.regions import changed_region, paste_outside, union_region  # noqa: E402
from ilat_video.sampling import sample_codes  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402
from ilat_video.views import view_list  # noqa: E402


@torch.no_grad()
def view_pairs(tokenizer, reference, ref_pose, views: int):
    """Stacked teacher-forcing inputs for every ordered pair (A, B) of distinct views."""
    size = reference.shape[-1]
    chosen = view_list(views, tokenizer.downsample_factor // 2)
    images = [v.images(reference) for v in chosen]
    poses = [v.poses(ref_pose, size) for v in chosen]
    alone = [tokenizer.encode(im)[1].flatten(1) for im in images]
    cond, target, pose, ref, region = [], [], [], [], []
    for a in range(len(chosen)):
        for b in range(len(chosen)):
            if a == b:
                continue
            pa, pb = poses[a][0].numpy(), poses[b][0].numpy()
            reg = torch.from_numpy(union_region(pa, pb, size, size))[None]
            _, tokens, _ = tokenizer.encode(images[b], reg)
            cond.append(alone[a])
            target.append(tokens.flatten(1))
            pose.append(normalize_pose(poses[b].float(), size))
            ref.append(normalize_pose(poses[a].float(), size))
            region.append(tokenizer.token_region(reg))
    return torch.cat(cond), torch.cat(target), torch.cat(pose), torch.cat(ref), torch.cat(region)


def tune(model, examples, steps: int, lr: float, batch: int, seed: int):
    model = copy.deepcopy(model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    cond, target, pose, ref, region = examples
    needs = model.config.needs_reference_pose
    for _ in range(steps):
        pick = torch.randperm(len(cond), generator=gen)[:batch]
        logits = model(cond[pick], target[pick], pose[pick], region[pick], mask="la",
                       reference_pose=ref[pick] if needs else None)
        loss = model.loss(logits, target[pick], region[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def frame(tokenizer, model, b):
    reference, region = b["reference"], b["region"].bool()
    size = reference.shape[-1]
    _, alone, _ = tokenizer.encode(reference)
    _, known, z = tokenizer.encode(reference, region)
    cells = tokenizer.token_region(region)
    ref_pose = normalize_pose(b["reference_pose"].float(), size) if model.config.needs_reference_pose else None
    tokens, codes = sample_codes(tokenizer, model, alone.flatten(1), known,
                                 normalize_pose(b["target_pose"].float(), size), cells, expected=True,
                                 reference_pose=ref_pose)
    images = tokenizer.decode(codes, z=z, region=cells).float().clamp(-1, 1)
    return paste_outside(images, reference, changed_region(region, tokens, alone, known))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", default="0,5,10,20")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tune-views", type=int, default=8)
    parser.add_argument("--decoder-steps", type=int, default=0,
                        help="also rows with the decoder personalized this many steps (`--personalize`) on top")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_personalize_transformer"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer, model = ev.load_models(args.model, device="cpu")
    steps = sorted(int(s) for s in args.steps.split(","))
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    psnr: dict[str, list[float]] = {}
    seconds: dict[int, list[float]] = {s: [] for s in steps}
    for i, pair in enumerate(pairs):
        b = ev._stack([pair], "cpu")
        truth, region = tensor_to_image(b["target"][0]), b["region"][0].bool().numpy()
        examples = view_pairs(tokenizer, b["reference"], b["reference_pose"].float(), args.tune_views)
        tuned, done, start = model, 0, time.perf_counter()
        for s in steps:
            if s > done:  # one continuous run: the optimizer's state is kept between checkpoints
                tuned = tune(tuned, examples, s - done, args.lr, args.batch, seed=i * 1000 + s)
                done = s
            seconds[s].append(time.perf_counter() - start)
            psnr.setdefault(f"tuned {s}", []).append(ev.psnr(tensor_to_image(frame(tokenizer, tuned, b)[0]), truth,
                                                             region))
            if args.decoder_steps:
                decoder = personalize_decoder(tokenizer, tuned, b["reference"], b["reference_pose"].float(),
                                              steps=args.decoder_steps)
                psnr.setdefault(f"tuned {s} + decoder {args.decoder_steps}", []).append(
                    ev.psnr(tensor_to_image(frame(decoder, tuned, b)[0]), truth, region))
        if (i + 1) % 5 == 0:
            print(i + 1, {k: round(float(np.mean(v)), 2) for k, v in psnr.items()}, flush=True)
    base = np.array(psnr[f"tuned {steps[0]}"])
    rows = {name: {"region_psnr": float(np.mean(v)), "minus_untuned": float(np.mean(np.array(v) - base)),
                   "better_than_untuned": float(np.mean(np.array(v) > base))} for name, v in psnr.items()}
    command = "python benchmarks/probe_personalize_transformer.py " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "",
             f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy, `--decode expected` frames; "
             f"transformer tuned on ordered pairs of the reference's {args.tune_views} views (batch {args.batch}, "
             f"Adam lr {args.lr}); region PSNR, mean over pairs.", "",
             "| transformer | region PSNR | - untuned | pairs better | s to tune (median) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        s = int(name.split()[1])
        lines.append(f"| {name} | {r['region_psnr']:.2f} | {r['minus_untuned']:+.2f} | "
                     f"{100 * r['better_than_untuned']:.0f}% | {np.median(seconds[s]):.1f} |")
    write_results(args.out, {"command": command, "pairs": args.pairs, "seed": args.seed, "rows": rows,
                             "tune_seconds_median": {s: float(np.median(v)) for s, v in seconds.items()}}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
