"""Why two-stream convolutions matter for iLAT, measured: the known tokens' train/test mismatch.

The transformer learns to fill the region given the *target* image's known tokens (the target
encoded with the region), but at inference it gets the *reference's* known tokens (the reference
encoded with the region). Outside the region the two images agree (static backgrounds), so a
leak-free encoder gives identical known tokens in both cases and what the model saw in training
is what it gets at inference. A plain encoder lets each token see pixels inside the region: the
known tokens near the region then carry the target person in training (a hint the model learns
to use, the paper's "unreasonable confidence") and the reference person at inference.

For every held-out test pair, per tokenizer: the share of known tokens (outside the token region)
whose index differs between encode(target, region) and encode(reference, region), over all known
tokens and over the ring of known tokens touching the region (8-neighbours); and the mean
absolute difference of the continuous features z there (what Eq. 4 decodes outside).

    python benchmarks/bench_leak.py TOKENIZER [TOKENIZER ...] [--pairs 100 --seeds 0,1,2]

Writes benchmarks/results/leak.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import cpu_name  # noqa: E402
from ilat_video import eval as ev  # noqa: E402
from ilat_video.eval.pairs import stack_pairs  # noqa: E402
from ilat_video.eval.results import mean_std  # noqa: E402
from ilat_video.nn.loading import load_models  # noqa: E402
from ilat_video.nn.tokenizer import TSVQGAN  # noqa: E402


@torch.inference_mode()
def mismatch(tokenizer: TSVQGAN, pairs: list[dict], batch: int = 25) -> dict[str, float]:
    changed_all, known_all, changed_ring, ring_all, z_diff = 0, 0, 0, 0, []
    for start in range(0, len(pairs), batch):
        b = stack_pairs(pairs[start:start + batch], "cpu")
        region = b["region"].bool()
        _, target_ids, target_z = tokenizer.encode(b["target"], region)
        _, reference_ids, reference_z = tokenizer.encode(b["reference"], region)
        tokens = tokenizer.token_region(region)  # (B, h, w)
        known = ~tokens
        grown = torch.nn.functional.max_pool2d(tokens[:, None].float(), 3, stride=1, padding=1)[:, 0].bool()
        ring = grown & known
        differs = target_ids != reference_ids
        changed_all += int((differs & known).sum())
        known_all += int(known.sum())
        changed_ring += int((differs & ring).sum())
        ring_all += int(ring.sum())
        diff = (target_z - reference_z).abs().mean(dim=1)  # (B, h, w)
        z_diff.append(diff[known])
    return {"known_changed": changed_all / max(known_all, 1), "ring_changed": changed_ring / max(ring_all, 1),
            "known_z_mae": float(torch.cat(z_diff).mean()), "known_tokens": known_all, "ring_tokens": ring_all}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tokenizers", nargs="+", help="tokenizer folders (a run folder or its model/)")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "leak"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for folder in args.tokenizers:
        tokenizer, _ = load_models(folder, transformer_required=False, device="cpu")
        size = tokenizer.config.resolution
        subsets = ev.pair_subsets("synthetic", size, count=args.pairs, seeds=seeds)
        per_subset = {seed: mismatch(tokenizer, pairs) for seed, pairs in subsets.items()}
        summary = {key: mean_std([r[key] for r in per_subset.values()])
                   for key in ("known_changed", "ring_changed", "known_z_mae")}
        rows.append({"tokenizer": folder, "two_stream": tokenizer.config.two_stream, "summary": summary,
                     "subsets": {str(k): v for k, v in per_subset.items()}})
        print(folder, json.dumps(summary), flush=True)
    command = "python benchmarks/bench_leak.py " + " ".join(sys.argv[1:])
    document = {"command": command, "machine": cpu_name(), "torch": torch.__version__,
                "pairs_per_subset": args.pairs, "seeds": seeds, "rows": rows}
    Path(args.out + ".json").write_text(json.dumps(document, indent=1) + "\n")
    lines = [f"Command: `{command}`", "",
             f"{args.pairs} held-out synthetic pairs x subsets {seeds}; mean ± std over the subsets.", "",
             "| tokenizer | two-stream | known tokens changed | ring tokens changed | known z MAE |",
             "|---|---|---:|---:|---:|"]
    for row in rows:
        s = row["summary"]
        lines.append(f"| `{row['tokenizer']}` | {'yes' if row['two_stream'] else 'no'} | "
                     f"{100 * s['known_changed']['mean']:.2f}% ± {100 * s['known_changed']['std']:.2f} | "
                     f"{100 * s['ring_changed']['mean']:.2f}% ± {100 * s['ring_changed']['std']:.2f} | "
                     f"{s['known_z_mae']['mean']:.2e} ± {s['known_z_mae']['std']:.1e} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}.json and {args.out}.md")


if __name__ == "__main__":
    main()
