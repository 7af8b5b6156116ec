"""Decoding the transformer's distribution instead of its top token: does it help, and how much?

Greedy decoding (the paper's top-1) renders one token per cell. Region PSNR is a mean squared
error, which the mean of the model's belief minimises, not its mode: the model gets only about
10% of the tokens that must change exactly right, but its wrong picks are near the truth. For each
pair the model samples the region once (greedy, as the default) and keeps each step's logits; the
frame is then composed several ways from the same run:
- "unchanged": the default output (`--background unchanged`): Eq. 4 on the greedy tokens, the
  reference's pixels where the greedy token is the reference's own;
- "soft T": in the region, the expected code under softmax(logits / T) (Eq. 4 with that mixture
  of codes in place of the picked code; "norm" = rescaled to the codes' unit sphere), the
  reference's pixels where the greedy token is the reference's own;
- "soft 1.0, keep p > P": the expected code in every region cell, the reference's pixels only
  where the model gives the reference's own token a probability above P (instead of where it is
  the greedy pick);
- "mix T": the expected frame of a two-way split: with the probability q the model gives the
  reference's own token in a cell, the reference's pixels; otherwise the expected code among the
  other tokens: q * reference + (1 - q) * D(soft code without the reference's tokens);
- "mean of N draws (, soft)": the mean of N frames sampled at temperature 1 (each with its picked
  tokens, or with its own expected codes), a Monte-Carlo estimate of the mean frame;
- copy.

    python benchmarks/probe_soft.py --model models/demo --pairs 100 --draws 4

Writes benchmarks/results/probe_soft.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402
from ilat_video import evaluate as ev  # noqa: E402
from ilat_video.data.pairs import tensor_to_image  # noqa: E402
from ilat_video.regions import changed_region, paste_outside  # noqa: E402
from ilat_video.sampling import sample_local  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402

TEMPERATURES = (0.5, 1.0, 1.5)
SAMPLES = (1, 4, 8)  # Monte-Carlo means of sampled frames (temperature 1)
KEEP_ABOVE = (0.3, 0.5, 0.7, 0.9)


def soft_codes(tokenizer, logits, temperature, exclude=None, normalize=False):
    """Expected code (B, D, h, w) under softmax(logits / T) (B, h, w, K), optionally without the
    tokens in `exclude` (list of (B, h, w) maps)."""
    logits = logits.float() / temperature
    if exclude:
        for tokens in exclude:
            logits = logits.scatter(-1, tokens[..., None], float("-inf"))
    probs = logits.softmax(-1)
    codes = (probs @ tokenizer.quantizer.codes().float()).permute(0, 3, 1, 2)
    return torch.nn.functional.normalize(codes, dim=1) if normalize else codes


@torch.inference_mode()
def compose(tokenizer, model, b, draws=SAMPLES) -> dict[str, torch.Tensor]:
    reference, region = b["reference"], b["region"].bool()
    size = reference.shape[-1]
    _, alone, _ = tokenizer.encode(reference)
    _, known, z = tokenizer.encode(reference, region)
    cells = tokenizer.token_region(region)
    ref_pose = normalize_pose(b["reference_pose"].float(), size) if model.config.needs_reference_pose else None
    tokens, logits = sample_local(model, alone.flatten(1), known.flatten(1),
                                  normalize_pose(b["target_pose"].float(), size), cells,
                                  reference_pose=ref_pose, return_logits=True)
    tokens, logits = tokens.view_as(known), logits.view(*known.shape, -1)
    changed = changed_region(region, tokens, alone, known)
    out = {"copy": reference}
    f = size // tokens.shape[-1]
    decoded = tokenizer.decode_indices(tokens, z=z, region=cells).clamp(-1, 1).float()
    out["unchanged"] = paste_outside(decoded, reference, changed)
    # The expected code everywhere in the region, the reference's pixels only where the model gives
    # its own token (either encoding) a probability above p.
    probs = logits.float().softmax(-1)
    q = probs.gather(-1, alone[..., None])[..., 0]
    q = q + torch.where(known != alone, probs.gather(-1, known[..., None])[..., 0], torch.zeros_like(q))
    soft = tokenizer.decode(soft_codes(tokenizer, logits, 1.0), z=z, region=cells).clamp(-1, 1).float()
    for p in KEEP_ABOVE:
        cells_kept = (q > p).repeat_interleave(f, -2).repeat_interleave(f, -1)
        out[f"soft 1.0, keep p > {p}"] = paste_outside(soft, reference, region & ~cells_kept)
    for t in TEMPERATURES:
        for norm in (False, True):
            codes = soft_codes(tokenizer, logits, t, normalize=norm)
            soft = tokenizer.decode(codes, z=z, region=cells).clamp(-1, 1).float()
            out[f"soft {t}{' norm' if norm else ''}"] = paste_outside(soft, reference, changed)
        probs = (logits.float() / t).softmax(-1)
        qt = probs.gather(-1, alone[..., None])[..., 0]
        qt = qt + torch.where(known != alone, probs.gather(-1, known[..., None])[..., 0], torch.zeros_like(qt))
        qt = qt.repeat_interleave(f, -2).repeat_interleave(f, -1)[:, None]  # (B, 1, H, W)
        rest = tokenizer.decode(soft_codes(tokenizer, logits, t, exclude=[alone, known]), z=z,
                                region=cells).clamp(-1, 1).float()
        mixed = qt * reference + (1 - qt) * rest
        out[f"mix {t}"] = paste_outside(mixed, reference, region)
    for count in draws:
        hard, soft = [], []
        for d in range(count):
            generator = torch.Generator().manual_seed(d)
            toks, lg = sample_local(model, alone.flatten(1), known.flatten(1),
                                    normalize_pose(b["target_pose"].float(), size), cells, reference_pose=ref_pose,
                                    greedy=False, temperature=1.0, generator=generator, return_logits=True)
            toks, lg = toks.view_as(known), lg.view(*known.shape, -1)
            kept = changed_region(region, toks, alone, known)
            img = tokenizer.decode_indices(toks, z=z, region=cells).clamp(-1, 1).float()
            hard.append(paste_outside(img, reference, kept))
            img = tokenizer.decode(soft_codes(tokenizer, lg, 1.0), z=z, region=cells).clamp(-1, 1).float()
            soft.append(paste_outside(img, reference, kept))
        out[f"mean of {count} draws"] = torch.stack(hard).mean(0)
        out[f"mean of {count} draws, soft"] = torch.stack(soft).mean(0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--tokenizer", default=None, help="another tokenizer folder for --model's transformer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--draws", default=",".join(map(str, SAMPLES)),
                        help="comma-separated numbers of sampled frames to average ('' for none)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_soft"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    draws = [int(d) for d in args.draws.split(",") if d.strip()]
    tokenizer, model = ev.load_models(args.model, tokenizer=args.tokenizer, device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    scores: dict[str, dict[str, list[float]]] = {}
    for start in range(0, len(pairs), 10):
        b = ev._stack(pairs[start:start + 10], "cpu")
        for name, frames in compose(tokenizer, model, b, draws).items():
            for frame, truth, region in zip(frames, b["target"], b["region"].bool().numpy()):
                m = ev.image_metrics(tensor_to_image(frame), tensor_to_image(truth), region)["region"]
                for metric in ("psnr", "ssim"):
                    scores.setdefault(name, {}).setdefault(metric, []).append(m[metric])
    base = {k: np.array(v) for k, v in scores["unchanged"].items()}
    copy = np.array(scores["copy"]["psnr"])
    rows = {name: {"region_psnr": float(np.mean(v["psnr"])), "region_ssim": float(np.mean(v["ssim"])),
                   "psnr_minus_unchanged": float(np.mean(np.array(v["psnr"]) - base["psnr"])),
                   "ssim_minus_unchanged": float(np.mean(np.array(v["ssim"]) - base["ssim"])),
                   "psnr_minus_copy": float(np.mean(np.array(v["psnr"]) - copy)),
                   "better_than_copy": float(np.mean(np.array(v["psnr"]) > copy))} for name, v in scores.items()}
    command = "python benchmarks/probe_soft.py " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "", f"{args.pairs} held-out synthetic pairs (subset {args.seed}), one greedy "
             "run per pair; region metrics, mean over pairs; paired differences from `unchanged` (the default "
             "output) and from copy.", "",
             "| composition | region PSNR | - unchanged | - copy | better than copy | region SSIM | - unchanged |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {r['region_psnr']:.2f} | {r['psnr_minus_unchanged']:+.2f} | {r['psnr_minus_copy']:+.2f} | "
              f"{100 * r['better_than_copy']:.0f}% | {r['region_ssim']:.3f} | {r['ssim_minus_unchanged']:+.3f} |"
              for name, r in rows.items()]
    write_results(args.out, {"command": command, "pairs": args.pairs, "seed": args.seed, "rows": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
