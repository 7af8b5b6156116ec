"""Personalising the transformer on the reference: can a few steps of fine-tuning on pairs made
from the reference alone (one test-time view as the reference, another, mirrored or shifted, as
the target) teach the transformer this person's tokens?

For each held-out pair and step count: `personalize.personalize_transformer` (what
`--personalize-transformer` runs: the transformer's own training loss on ordered pairs of the
reference's views; the mirrored view is a real change of pose, left and right swapped), then the
true target made as `--decode expected` makes it, optionally with the decoder personalized on top
(`--decoder-steps`); region PSNR against the untuned transformer on the same pair.

    python benchmarks/probe_personalize_transformer.py --model models/demo --pairs 30

Writes benchmarks/results/probe_personalize_transformer.{json,md}.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.probe_personalize import probe_arguments, probe_setup, report  # noqa: E402
from ilat_video import evaluate as ev  # noqa: E402
from ilat_video.data.pairs import tensor_to_image  # noqa: E402
from ilat_video.personalize import personalize_decoder, personalize_transformer  # noqa: E402


def generate(tokenizer, model, b):
    """The pair's frame as `--decode expected` makes it (uint8)."""
    return tensor_to_image(ev.generate("ilat-expected", tokenizer, model, b)[0])


def main() -> None:
    parser = probe_arguments(__doc__.splitlines()[0], pairs=30)
    parser.add_argument("--steps", default="0,5,10,20")
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tune-views", type=int, default=8)
    parser.add_argument("--decoder-steps", type=int, default=0,
                        help="also rows with the decoder personalized this many steps (`--personalize`) on top")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_personalize_transformer"))
    args = parser.parse_args()
    tokenizer, model, steps, pairs = probe_setup(args)
    psnr: dict[str, list[float]] = {}
    seconds: dict[int, list[float]] = {s: [] for s in steps}
    for i, pair in enumerate(pairs):
        b = ev._stack([pair], "cpu")
        truth, region = tensor_to_image(b["target"][0]), b["region"][0].bool().numpy()
        reference, pose = b["reference"], b["reference_pose"].float()
        for s in steps:
            start = time.perf_counter()
            tuned = personalize_transformer(tokenizer, model, reference, pose, steps=s, lr=args.lr,
                                            batch_size=args.batch, views=args.tune_views, seed=i)
            seconds[s].append(time.perf_counter() - start)
            psnr.setdefault(f"tuned {s}", []).append(ev.psnr(generate(tokenizer, tuned, b), truth,
                                                             region))
            if args.decoder_steps:
                decoder = personalize_decoder(tokenizer, tuned, reference, pose, steps=args.decoder_steps)
                psnr.setdefault(f"tuned {s} + decoder {args.decoder_steps}", []).append(
                    ev.psnr(generate(decoder, tuned, b), truth, region))
        if (i + 1) % 5 == 0:
            print(i + 1, {k: round(float(np.mean(v)), 2) for k, v in psnr.items()}, flush=True)
    what = (f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy, `--decode expected` frames; "
            f"transformer tuned on ordered pairs of the reference's {args.tune_views} views (batch {args.batch}, "
            f"Adam lr {args.lr}); region PSNR, mean over pairs; seconds: the transformer's tuning.")
    lines = report("probe_personalize_transformer.py", args, psnr, seconds, f"tuned {steps[0]}", what, "transformer")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
