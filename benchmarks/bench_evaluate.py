"""Table 2 at our scale: seconds per frame of iLAT (local AR) and vanilla AR, end to end.

End to end as `ilat-video evaluate` times it (`evaluate.generate`: encode the reference, sample,
decode; batches of the test split's pairs with their real regions), at the test split's region
rate, for batch 1 and the Animator's default batch 8. The machine is shared, so each batch runs
`--repeats` times with the methods interleaved (they meet the same load) and the fastest run
counts, wall and CPU time each (as timeit does); per subset the times are summed over its
batches, then mean ± std over subsets (which includes real differences in region size).

Without --model the demo's architecture (configs/demo-tokenizer.json and the "small" transformer
preset sized for it) runs with random weights: the work per frame does not depend on the weights
(the same number of sampling steps, the same layers), only the tokens do.
With --model (and --baseline-model for the ar-trained transformer) trained weights are timed.

    python benchmarks/bench_evaluate.py                        # random demo-sized models
    python benchmarks/bench_evaluate.py --model models/demo --baseline-model runs/ablation/vanilla-ar

Writes benchmarks/results/evaluate_speed.{json,md}. torch runs on --threads threads (default 1:
on two cores shared with training jobs, two threads were many times slower and erratic).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video import eval as ev  # noqa: E402
from ilat_video.eval.pairs import stack_pairs  # noqa: E402
from ilat_video.eval.results import json_numbers  # noqa: E402
from ilat_video.nn.loading import load_models  # noqa: E402


def random_demo_models(seed: int = 0):
    from ilat_video.nn.pretrained import load_config
    from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN
    from ilat_video.nn.transformer import LATransformer
    from ilat_video.train.model_configs import transformer_config_from

    torch.manual_seed(seed)
    tokenizer = TSVQGAN(load_config(TokenizerConfig, ROOT / "configs" / "demo-tokenizer.json"))
    transformer = LATransformer(transformer_config_from("small", tokenizer.config, reference_pose=False))
    return tokenizer.eval(), transformer.eval()


def time_methods(methods: dict, pairs: list, batch_size: int, repeats: int) -> dict:
    """{method: (wall s/frame, CPU s/frame)}: per batch the fastest of `repeats` interleaved runs."""
    wall = {m: 0.0 for m in methods}
    cpu = {m: 0.0 for m in methods}
    for start in range(0, len(pairs), batch_size):
        batch = stack_pairs(pairs[start:start + batch_size], "cpu")
        best = {m: [float("inf"), float("inf")] for m in methods}
        for _ in range(repeats):
            for method, (tokenizer, transformer) in methods.items():
                t0, c0 = time.perf_counter(), time.process_time()
                ev.generate(method, tokenizer, transformer, batch)
                best[method][0] = min(best[method][0], time.perf_counter() - t0)
                best[method][1] = min(best[method][1], time.process_time() - c0)
        for method in methods:
            wall[method] += best[method][0]
            cpu[method] += best[method][1]
    return {m: (wall[m] / len(pairs), cpu[m] / len(pairs)) for m in methods}


def _stats(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else float("nan")}


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "evaluate_speed"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.model is None:
        models = baseline = random_demo_models()
        source = "random weights, configs/demo-tokenizer.json + transformer preset 'small'"
    else:
        models = load_models(args.model, tokenizer=args.tokenizer)
        baseline = load_models(args.baseline_model, tokenizer=args.tokenizer) if args.baseline_model else models
        source = f"{args.model} (baseline {args.baseline_model or args.model})"
    size = models[0].config.resolution
    subsets = ev.pair_subsets("synthetic", size, count=args.pairs, seeds=seeds)
    rates = [float(models[0].token_region(p["region"][None].bool()).float().mean())
             for pairs in subsets.values() for p in pairs]
    methods = {"ilat": models, "vanilla": baseline, "reconstruction": models}
    time_methods(methods, subsets[seeds[0]][:1], 1, 1)  # warm-up
    rows = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        per_subset = [time_methods(methods, pairs, batch_size, args.repeats) for pairs in subsets.values()]
        row = {"batch_size": batch_size, "region_rate": float(np.mean(rates))}
        for method, key in (("ilat", "ilat"), ("vanilla", "vanilla"), ("reconstruction", "tokenizer")):
            row[f"{key}_s_per_frame"] = _stats([t[method][0] for t in per_subset])
            row[f"{key}_cpu_s_per_frame"] = _stats([t[method][1] for t in per_subset])
        row["ilat_over_vanilla"] = row["ilat_s_per_frame"]["mean"] / row["vanilla_s_per_frame"]["mean"]
        row["ilat_over_vanilla_cpu"] = row["ilat_cpu_s_per_frame"]["mean"] / row["vanilla_cpu_s_per_frame"]["mean"]
        rows.append(row)
        print(f"batch {batch_size}: region rate {100 * row['region_rate']:.1f}%, iLAT "
              f"{row['ilat_s_per_frame']['mean']:.4f} s/frame, vanilla {row['vanilla_s_per_frame']['mean']:.4f} "
              f"s/frame, ratio {row['ilat_over_vanilla']:.2f}; CPU time ratio {row['ilat_over_vanilla_cpu']:.2f}")
    document = {"source": source, "size": size, "pairs_per_subset": args.pairs, "subset_seeds": seeds,
                "repeats": args.repeats, "machine": ev.machine_info("cpu"),
                "command": "python benchmarks/bench_evaluate.py "
                           + " ".join(argv if argv is not None else sys.argv[1:]),
                "rows": [json_numbers(r) for r in rows]}
    out = Path(args.out)
    ev.write_json(out.with_suffix(".json"), document)
    lines = [f"Models: {source}. {args.pairs} synthetic test pairs x subsets {seeds}, {size}x{size}, "
             f"{args.threads} torch thread(s) on {document['machine'].get('cpu', '?')}; per batch the fastest "
             f"of {args.repeats} interleaved runs. Mean ± std over subsets.",
             "Wall: elapsed seconds per frame; CPU: this process's CPU seconds per frame (steadier when "
             "other jobs share the cores). Tokenizer: the tokenizer's part alone (two encodes and a "
             "decode, the 'reconstruction' method), iLAT's fixed cost besides sampling.",
             "", "| batch | region rate | vanilla AR wall | iLAT wall | iLAT / vanilla wall | vanilla AR CPU | "
             "iLAT CPU | iLAT / vanilla CPU | tokenizer CPU |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['batch_size']} | {100 * row['region_rate']:.1f}% | {_cell(row['vanilla_s_per_frame'])} "
                     f"| {_cell(row['ilat_s_per_frame'])} | {row['ilat_over_vanilla']:.2f} "
                     f"| {_cell(row['vanilla_cpu_s_per_frame'])} | {_cell(row['ilat_cpu_s_per_frame'])} "
                     f"| {row['ilat_over_vanilla_cpu']:.2f} | {_cell(row['tokenizer_cpu_s_per_frame'])} |")
    lines += ["", f"Command: `{document['command'].strip()}`"]
    ev.write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
