"""Table 2 at our scale: seconds per frame of iLAT (local AR) and vanilla AR, end to end.

End to end as `ilat-video evaluate` times it (encode the reference, sample, decode; batches of the
test split's pairs with their real regions), at the test split's region rate, for batch 1 and the
Animator's default batch 8. Without --model the demo's architecture (configs/demo-tokenizer.json and
the "small" transformer preset sized for it) runs with random weights: the work per frame does not
depend on the weights (the same number of sampling steps, the same layers), only the tokens do.
With --model (and --baseline-model for the ar-trained transformer) trained weights are timed.

    python benchmarks/bench_evaluate.py                        # random demo-sized models
    python benchmarks/bench_evaluate.py --model models/demo --baseline-model runs/ar/transformer

Writes benchmarks/results/evaluate_speed.{json,md}. torch runs on --threads threads (default 1:
on two cores shared with training jobs, two threads were many times slower and erratic).
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


def random_demo_models(seed: int = 0):
    from ilat_video.nn.pretrained import load_config
    from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN
    from ilat_video.nn.transformer import LATransformer
    from ilat_video.train.transformer import transformer_config_from

    torch.manual_seed(seed)
    tokenizer = TSVQGAN(load_config(TokenizerConfig, ROOT / "configs" / "demo-tokenizer.json"))
    transformer = LATransformer(transformer_config_from("small", tokenizer.config, reference_pose=False))
    return tokenizer.eval(), transformer.eval()


def _cell(stats) -> str:
    return f"{stats['mean']:.4f}" + ("" if stats["std"] != stats["std"] else f" ± {stats['std']:.4f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="Model folder (default: random demo-sized weights).")
    parser.add_argument("--tokenizer", default=None)
    parser.add_argument("--baseline-model", default=None, help="The ar-trained transformer (default: --model's).")
    parser.add_argument("--pairs", type=int, default=16, help="Test pairs per subset.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "evaluate_speed"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.model is None:
        models = baseline = random_demo_models()
        source = "random weights, configs/demo-tokenizer.json + transformer preset 'small'"
    else:
        models = ev.load_models(args.model, tokenizer=args.tokenizer)
        baseline = ev.load_models(args.baseline_model, tokenizer=args.tokenizer) if args.baseline_model else models
        source = f"{args.model} (baseline {args.baseline_model or args.model})"
    size = models[0].config.resolution
    subsets = ev.pair_subsets("synthetic", size, count=args.pairs, seeds=seeds)
    rows = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        timed = {}
        for method, pair in (("ilat", models), ("vanilla", baseline), ("reconstruction", models)):
            result = ev.evaluate_model(pair, subsets, method=method, batch_size=batch_size, device="cpu")
            timed[method] = result.summary()
        rate = timed["ilat"]["region_rate"]["mean"]
        ratio = timed["ilat"]["seconds_per_frame"]["mean"] / timed["vanilla"]["seconds_per_frame"]["mean"]
        cpu_ratio = timed["ilat"]["cpu_seconds_per_frame"]["mean"] / timed["vanilla"]["cpu_seconds_per_frame"]["mean"]
        rows.append({"batch_size": batch_size, "region_rate": rate,
                     "ilat_s_per_frame": timed["ilat"]["seconds_per_frame"],
                     "vanilla_s_per_frame": timed["vanilla"]["seconds_per_frame"],
                     "tokenizer_s_per_frame": timed["reconstruction"]["seconds_per_frame"],
                     "ilat_over_vanilla": ratio,
                     "ilat_cpu_s_per_frame": timed["ilat"]["cpu_seconds_per_frame"],
                     "vanilla_cpu_s_per_frame": timed["vanilla"]["cpu_seconds_per_frame"],
                     "tokenizer_cpu_s_per_frame": timed["reconstruction"]["cpu_seconds_per_frame"],
                     "ilat_over_vanilla_cpu": cpu_ratio})
        print(f"batch {batch_size}: region rate {100 * rate:.1f}%, iLAT "
              f"{timed['ilat']['seconds_per_frame']['mean']:.4f} s/frame, vanilla "
              f"{timed['vanilla']['seconds_per_frame']['mean']:.4f} s/frame, ratio {ratio:.2f}; CPU time ratio "
              f"{cpu_ratio:.2f}")
    document = {"source": source, "size": size, "pairs_per_subset": args.pairs, "subset_seeds": seeds,
                "machine": ev.machine_info("cpu"), "command": "python benchmarks/bench_evaluate.py " + " ".join(
                    argv if argv is not None else sys.argv[1:]), "rows": [ev.json_numbers(r) for r in rows]}
    out = Path(args.out)
    ev.write_json(out.with_suffix(".json"), document)
    lines = [f"Models: {source}. {args.pairs} synthetic test pairs x subsets {seeds}, {size}x{size}, "
             f"{args.threads} torch thread(s) on {document['machine'].get('cpu', '?')}. Mean ± std over subsets.",
             "Wall: elapsed seconds per frame; CPU: this process's CPU seconds per frame (steadier when "
             "other jobs share the cores). Tokenizer: the tokenizer's part alone (two encodes and a "
             "decode, the 'reconstruction' method), iLAT's fixed cost besides sampling.",
             "", "| batch | region rate | vanilla AR wall | iLAT wall | iLAT / vanilla wall | vanilla AR CPU | "
             "iLAT CPU | iLAT / vanilla CPU | tokenizer CPU |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        v, i = row["vanilla_s_per_frame"], row["ilat_s_per_frame"]
        lines.append(f"| {row['batch_size']} | {100 * row['region_rate']:.1f}% | {_cell(v)} | {_cell(i)} "
                     f"| {row['ilat_over_vanilla']:.2f} | {_cell(row['vanilla_cpu_s_per_frame'])} "
                     f"| {_cell(row['ilat_cpu_s_per_frame'])} | {row['ilat_over_vanilla_cpu']:.2f} "
                     f"| {_cell(row['tokenizer_cpu_s_per_frame'])} |")
    lines += ["", f"Command: `{document['command']}`"]
    ev.write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
