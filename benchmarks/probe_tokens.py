"""How much do the trained transformers copy the reference? Token-level probes behind Table 1.

For held-out test pairs, with greedy sampling as in the evaluation:
- copy: the share of region tokens where the reference's token equals the true target's;
- iLAT (LA model, local sampling): the share of generated region tokens equal to the reference's
  token at the same position (the condition token), and equal to the true target token;
- vanilla AR (ar model, all tokens): the same shares inside the region, and outside the region
  the share of generated tokens equal to the reference's known tokens (what Eq. 4 would keep).

    python benchmarks/probe_tokens.py --model runs/v0 --baseline-model runs/ablation/vanilla-ar

Writes benchmarks/results/probe_tokens.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video import evaluate as ev  # noqa: E402
from ilat_video.sampling import sample_local, sample_vanilla  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402


@torch.inference_mode()
def probe(tokenizer, la_model, ar_model, pairs, batch: int = 10) -> dict[str, float]:
    sums = {k: 0.0 for k in ("la_copy", "la_true", "ar_copy", "ar_true", "copy_true", "ar_outside_kept")}
    region_tokens = outside_tokens = 0
    for start in range(0, len(pairs), batch):
        b = ev._stack(pairs[start:start + batch], "cpu")
        size = b["reference"].shape[-1]
        region = b["region"].bool()
        _, cond, _ = tokenizer.encode(b["reference"])
        cond = cond.flatten(1)
        _, known, _ = tokenizer.encode(b["reference"], region)
        _, truth, _ = tokenizer.encode(b["target"], region)
        known, truth = known.flatten(1), truth.flatten(1)
        inside = tokenizer.token_region(region).flatten(1)
        pose = normalize_pose(b["target_pose"].float(), size)
        la = sample_local(la_model, cond, known, pose, inside)
        ar = sample_vanilla(ar_model, cond, pose)
        sums["la_copy"] += float((la == cond)[inside].sum())
        sums["la_true"] += float((la == truth)[inside].sum())
        sums["ar_copy"] += float((ar == cond)[inside].sum())
        sums["ar_true"] += float((ar == truth)[inside].sum())
        sums["copy_true"] += float((cond == truth)[inside].sum())
        sums["ar_outside_kept"] += float((ar == known)[~inside].sum())
        region_tokens += int(inside.sum())
        outside_tokens += int((~inside).sum())
    out = {k: v / region_tokens for k, v in sums.items() if k != "ar_outside_kept"}
    out["ar_outside_kept"] = sums["ar_outside_kept"] / outside_tokens
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="LA model folder (tokenizer/ + transformer/)")
    parser.add_argument("--baseline-model", required=True, help="the ar-trained transformer (run or model folder)")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_tokens"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer, la_model = ev.load_models(args.model, device="cpu")
    _, ar_model = ev.load_models(args.baseline_model, tokenizer=Path(args.model) / "tokenizer", device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    result = probe(tokenizer, la_model, ar_model, pairs)
    command = "python benchmarks/probe_tokens.py " + " ".join(sys.argv[1:])
    Path(args.out + ".json").write_text(json.dumps({"command": command, "pairs": args.pairs, "seed": args.seed,
                                                    **result}, indent=1) + "\n")
    lines = [f"Command: `{command}`", "", f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy.", "",
             "| model | region tokens = reference's | region tokens = true target's | outside tokens = reference's known |",
             "|---|---:|---:|---:|",
             f"| iLAT (LA mask, local sampling) | {100 * result['la_copy']:.1f}% | {100 * result['la_true']:.1f}% | (kept by construction) |",
             f"| vanilla AR (all tokens) | {100 * result['ar_copy']:.1f}% | {100 * result['ar_true']:.1f}% | "
             f"{100 * result['ar_outside_kept']:.1f}% |",
             f"| copy (the reference's own tokens) | 100% | {100 * result['copy_true']:.1f}% | |"]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
