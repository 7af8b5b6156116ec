"""How much do the trained transformers copy the reference? Token-level probes behind Table 1.

For held-out test pairs, with greedy sampling as in the evaluation:
- copy: the share of region tokens where the reference's token equals the true target's;
- iLAT (LA model, local sampling): the share of generated region tokens equal to the reference's
  token at the same position (the condition token), and equal to the true target token;
- vanilla AR (ar model, all tokens; when --baseline-model is given): the same shares inside the
  region, and outside the region the share of generated tokens equal to the reference's known
  tokens (what Eq. 4 would keep);
- on the region tokens that must change (the true target's differs from the reference's): the
  share the model got right, and the share where it kept the reference's token instead.

    python benchmarks/probe_tokens.py --model runs/v0 --baseline-model runs/ablation/vanilla-ar
    python benchmarks/probe_tokens.py --model models/demo --out benchmarks/results/probe_tokens_v3

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
    """Token shares (see the module docstring); ar_model may be None (its shares are then left out)."""
    sums = {k: 0.0 for k in ("la_copy", "la_true", "ar_copy", "ar_true", "copy_true", "ar_outside_kept",
                             "la_changed_true", "la_changed_copy")}
    region_tokens = outside_tokens = changed_tokens = 0
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
        ref_pose = normalize_pose(b["reference_pose"].float(), size)
        la = sample_local(la_model, cond, known, pose, inside,
                          reference_pose=ref_pose if la_model.config.needs_reference_pose else None)
        changed = inside & (cond != truth)
        sums["la_copy"] += float((la == cond)[inside].sum())
        sums["la_true"] += float((la == truth)[inside].sum())
        sums["copy_true"] += float((cond == truth)[inside].sum())
        sums["la_changed_true"] += float((la == truth)[changed].sum())
        sums["la_changed_copy"] += float((la == cond)[changed].sum())
        if ar_model is not None:
            ar = sample_vanilla(ar_model, cond, pose,
                                reference_pose=ref_pose if ar_model.config.needs_reference_pose else None)
            sums["ar_copy"] += float((ar == cond)[inside].sum())
            sums["ar_true"] += float((ar == truth)[inside].sum())
            sums["ar_outside_kept"] += float((ar == known)[~inside].sum())
        region_tokens += int(inside.sum())
        outside_tokens += int((~inside).sum())
        changed_tokens += int(changed.sum())
    out = {k: sums[k] / region_tokens for k in ("la_copy", "la_true", "copy_true")}
    out["changed_share"] = changed_tokens / region_tokens
    out["la_changed_true"] = sums["la_changed_true"] / max(changed_tokens, 1)
    out["la_changed_copy"] = sums["la_changed_copy"] / max(changed_tokens, 1)
    if ar_model is not None:
        out.update(ar_copy=sums["ar_copy"] / region_tokens, ar_true=sums["ar_true"] / region_tokens,
                   ar_outside_kept=sums["ar_outside_kept"] / outside_tokens)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="LA model folder (tokenizer/ + transformer/)")
    parser.add_argument("--baseline-model", help="the ar-trained transformer (run or model folder); optional")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_tokens"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer, la_model = ev.load_models(args.model, device="cpu")
    ar_model = None
    if args.baseline_model:
        _, ar_model = ev.load_models(args.baseline_model, tokenizer=Path(args.model) / "tokenizer", device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    result = probe(tokenizer, la_model, ar_model, pairs)
    command = "python benchmarks/probe_tokens.py " + " ".join(sys.argv[1:])
    Path(args.out + ".json").write_text(json.dumps({"command": command, "pairs": args.pairs, "seed": args.seed,
                                                    **result}, indent=1) + "\n")
    lines = [f"Command: `{command}`", "", f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy.", "",
             "| model | region tokens = reference's | region tokens = true target's | outside tokens = reference's known |",
             "|---|---:|---:|---:|",
             f"| iLAT (LA mask, local sampling) | {100 * result['la_copy']:.1f}% | {100 * result['la_true']:.1f}% | (kept by construction) |"]
    if ar_model is not None:
        lines.append(f"| vanilla AR (all tokens) | {100 * result['ar_copy']:.1f}% | {100 * result['ar_true']:.1f}% | "
                     f"{100 * result['ar_outside_kept']:.1f}% |")
    lines += [f"| copy (the reference's own tokens) | 100% | {100 * result['copy_true']:.1f}% | |", "",
              f"Region tokens that must change (the true target's differs from the reference's): "
              f"{100 * result['changed_share']:.1f}% of the region. iLAT got {100 * result['la_changed_true']:.1f}% "
              f"of them right and kept the reference's token on {100 * result['la_changed_copy']:.1f}%."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
