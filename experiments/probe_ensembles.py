"""Two more ways to average the model's guesses into a frame: do they beat what `--views` does?

Region PSNR is a mean squared error, which the mean of the model's belief minimises; `--decode
expected` renders the mean *code* and `--views` averages frames made from mirrored and shifted
inputs. This probe measures, on one subset of held-out pairs, with `--decode expected` frames:
- "mean of N marginal draws": one greedy run keeps every region position's distribution; N frames
  are decoded from tokens drawn independently from those distributions and averaged: a
  Monte-Carlo estimate of the mean *frame* under them. If the decoder were far from linear in its
  codes, this would differ from (and beat) decoding the mean code;
- "colour view P": the frame averaged with the one made from the reference with its RGB channels
  permuted by P (and the result permuted back), like a `--views` view: the synthetic people's
  hues are drawn uniformly, so a permuted person is as plausible as the original; "mirrored" is
  `--views 2`'s second view, for comparison; "all 6 colour views" averages every permutation.
Paired differences are from "expected" (one view), per pair.

    python benchmarks/probe_ensembles.py --model models/demo --pairs 100 --draws 1,4,16,64 --threads 2

Writes benchmarks/results/probe_ensembles.{json,md}.
"""
from __future__ import annotations

import argparse
import itertools
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
from ilat_video.sampling import region_codes, sample_local  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402
from ilat_video.views import View  # noqa: E402

PERMUTATIONS = [p for p in itertools.permutations(range(3)) if p != (0, 1, 2)]
GREEDY = dict(greedy=True, top_k=None, temperature=1.0, generator=None)


def name_of(permutation) -> str:
    return "".join("rgb"[c] for c in permutation)


@torch.inference_mode()
def marginal_draws(tokenizer, model, b, draws, generator) -> dict[str, torch.Tensor]:
    """The expected-code frame and the means of N frames of tokens drawn from each region
    position's distribution (one greedy run), composed as the default output composes them."""
    reference, region = b["reference"], b["region"].bool()
    size = reference.shape[-1]
    _, alone, _ = tokenizer.encode(reference)
    _, known, z = tokenizer.encode(reference, region)
    cells = tokenizer.token_region(region)
    codebook = tokenizer.quantizer.codes()
    ref_pose = normalize_pose(b["reference_pose"].float(), size) if model.config.needs_reference_pose else None
    tokens, logits, means = sample_local(model, alone.flatten(1), known.flatten(1),
                                         normalize_pose(b["target_pose"].float(), size), cells,
                                         reference_pose=ref_pose, return_logits=True, codebook=codebook)
    tokens = tokens.view_as(known)
    changed = changed_region(region, tokens, alone, known)

    def frame(codes):
        return paste_outside(tokenizer.decode(codes, z=z, region=cells).float().clamp(-1, 1), reference, changed)

    out = {"expected": frame(region_codes(tokens, codebook, cells, expected=means))}
    probs = torch.softmax(logits.float(), -1)  # (B, N, K)
    total = 0
    for n in range(1, max(draws, default=0) + 1):
        drawn = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(tokens.shape[0], -1)
        picked = torch.where(cells.flatten(1), drawn, tokens.flatten(1)).view_as(tokens)
        total = total + frame(region_codes(picked, codebook, cells))
        if n in draws:
            out[f"mean of {n} marginal draws"] = total / n
    return out


@torch.inference_mode()
def colour_views(tokenizer, model, b) -> dict[str, torch.Tensor]:
    """Single-view frames (`--decode expected`) from the reference as it is, mirrored, and with its
    channels permuted (each mapped back)."""
    size = b["reference"].shape[-1]

    def render(permutation, view):
        seen = {"reference": view.images(b["reference"][:, list(permutation)]), "region": view.images(b["region"]),
                "reference_pose": view.poses(b["reference_pose"].float(), size),
                "target_pose": view.poses(b["target_pose"].float(), size)}
        frames = view.undo(ev._local_frames("ilat-expected", tokenizer, model, seen, GREEDY).float())
        return frames[:, list(np.argsort(permutation))]

    plain = render((0, 1, 2), View())
    singles = {name_of(p): render(p, View()) for p in PERMUTATIONS}
    out = {"mirrored (--views 2)": (plain + render((0, 1, 2), View(flip=True))) / 2}
    out.update({f"colour view {p}": (plain + f) / 2 for p, f in singles.items()})
    out["all 6 colour views"] = (plain + sum(singles.values())) / 6
    out.update({f"colour view {p} alone": f for p, f in singles.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--draws", default="1,4,16,64", help="comma-separated numbers of marginal draws to average")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_ensembles"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    draws = sorted({int(d) for d in args.draws.split(",") if d.strip()})
    tokenizer, model = ev.load_models(args.model, device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    generator = torch.Generator().manual_seed(args.seed)
    scores: dict[str, list[float]] = {}
    for start in range(0, len(pairs), 10):
        b = ev._stack(pairs[start:start + 10], "cpu")
        frames = {**marginal_draws(tokenizer, model, b, draws, generator), **colour_views(tokenizer, model, b)}
        for name, batch in frames.items():
            for frame, truth, region in zip(batch, b["target"], b["region"].bool().numpy()):
                scores.setdefault(name, []).append(ev.psnr(tensor_to_image(frame), tensor_to_image(truth), region))
    base = np.array(scores["expected"])
    rows = {name: {"region_psnr": float(np.mean(v)), "minus_expected": float(np.mean(np.array(v) - base)),
                   "better": float(np.mean(np.array(v) > base))} for name, v in scores.items()}
    command = "python benchmarks/probe_ensembles.py " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "", f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy, "
             "`--decode expected` frames composed as the default output; region PSNR, mean over pairs; paired "
             "differences from `expected` (one view) and the share of pairs better.", "",
             "| frame | region PSNR | - expected | better |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r['region_psnr']:.2f} | {r['minus_expected']:+.2f} | {100 * r['better']:.0f}% |"
              for name, r in rows.items()]
    write_results(args.out, {"command": command, "pairs": args.pairs, "seed": args.seed, "rows": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
