"""Training throughput of each stage at the small presets: steps/s and images/s on this machine.

    python benchmarks/bench_train.py                      # all stages, batch 8, 3 repeats
    python benchmarks/bench_train.py --stages tokenizer-1 --batch-size 4 --repeats 1

Each repeat runs the real training function (`train_tokenizer` / `train_transformer`) on streamed
synthetic data for `--warmup` + `--steps` steps and times every step through the progress
callback; the median step time after the warmup gives steps/s. Stages:
  tokenizer-1   stage 1 (no regions), GAN on from the first step (the steady-state cost)
  tokenizer-2   stage 2 (pose regions + free-form masks, Eq. 4), GAN on
  transformer-la  LA transformer on a frozen small-64 tokenizer (images = pairs, 2 frames each)
  transformer-ar  the vanilla AR baseline (same network, causal mask, loss on all tokens)
Also timed: drawing one batch of synthetic pairs (the data's share of a step, 0 workers).
Writes benchmarks/results/train.md and train.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import cpu_name

STAGES = ("tokenizer-1", "tokenizer-2", "transformer-la", "transformer-ar")
RESULTS = Path(__file__).parent / "results"


def time_steps(train, config, **kwargs) -> list[float]:
    stamps: list[float] = []

    def callback(progress):
        stamps.append(time.perf_counter())

    start = time.perf_counter()
    train(config, callback=callback, **kwargs)
    return [b - a for a, b in zip([start] + stamps[:-1], stamps)]


def run_stage(stage: str, args, work: Path, tokenizer_dir: Path) -> list[float]:
    common = dict(steps=args.warmup + args.steps, batch_size=args.batch_size, log_every=10_000,
                  checkpoint_every=10_000_000, sample_every=0, seed=0, num_workers=args.workers, data="synthetic")
    out = Path(tempfile.mkdtemp(prefix=f"{stage}-", dir=work))
    if stage.startswith("tokenizer"):
        from ilat_video.train.tokenizer import TokenizerTrainConfig, train_tokenizer

        config = TokenizerTrainConfig(out=str(out), preset=args.tokenizer_preset, stage=int(stage[-1]),
                                      gan_start=0, **common)
        times = time_steps(train_tokenizer, config)
    else:
        from ilat_video.train.transformer import TransformerTrainConfig, train_transformer

        config = TransformerTrainConfig(out=str(out), tokenizer=str(tokenizer_dir), preset=args.transformer_preset,
                                        mask=stage.split("-")[1], **common)
        times = time_steps(train_transformer, config)
    return times[args.warmup :]


def data_time(args, size: int) -> float:
    from ilat_video.train.data_stream import BatchStream, open_pairs_dataset

    _, make = open_pairs_dataset("synthetic", size, split="train", seed=0, rank=0, world_size=1)
    stream = BatchStream(make_iterable=make, batch_size=args.batch_size, seed=0)
    next(stream)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        next(stream)
        times.append(time.perf_counter() - t)
    stream.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--tokenizer-preset", default="small-64")
    parser.add_argument("--transformer-preset", default="small")
    parser.add_argument("--name", default="train", help="results file stem")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    stages = [s for s in args.stages.split(",") if s]
    for stage in stages:
        if stage not in STAGES:
            parser.error(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")

    from ilat_video.nn.tokenizer import TSVQGAN, tokenizer_preset
    from ilat_video.train.model_configs import image_size_of

    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.manual_seed(0)
        tok_config = tokenizer_preset(args.tokenizer_preset)
        TSVQGAN(tok_config).save_pretrained(work / "tokenizer")  # random weights: speed only
        size = image_size_of(tok_config)
        batch_ms = 1000 * data_time(args, size)
        for stage in stages:
            per_repeat = []
            for _ in range(args.repeats):
                times = run_stage(stage, args, work, work / "tokenizer")
                per_repeat.append(statistics.median(times))
            step_s = statistics.median(per_repeat)
            rows.append({
                "stage": stage, "batch_size": args.batch_size, "median_step_ms": 1000 * step_s,
                "min_step_ms": 1000 * min(per_repeat), "max_step_ms": 1000 * max(per_repeat),
                "steps_per_s": 1 / step_s, "images_per_s": args.batch_size / step_s,
            })
            print(f"{stage:15s} {1000 * step_s:8.1f} ms/step  {1 / step_s:6.2f} steps/s  "
                  f"{args.batch_size / step_s:7.1f} images/s", flush=True)
    load_after = os.getloadavg()[0]
    record = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "load_average_before": load_before, "load_average_after": load_after},
        "command": "python benchmarks/bench_train.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "settings": vars(args), "synthetic_batch_ms": batch_ms, "image_size": size, "results": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Training throughput",
        "",
        f"Machine: {record['machine']['cpu']}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}. Load average "
        f"{load_before:.2f} before, {load_after:.2f} after (the cores are shared with other jobs).",
        f"Command: `{record['command']}`",
        f"Medians over {args.repeats} repeats of the median step time of {args.steps} steps "
        f"(after {args.warmup} warmup steps); synthetic data streamed, {args.workers} workers; "
        f"tokenizer `{args.tokenizer_preset}` ({size}x{size}), transformer `{args.transformer_preset}`.",
        "",
        "| stage | batch | ms/step (median) | min-max over repeats | steps/s | images/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['stage']} | {r['batch_size']} | {r['median_step_ms']:.0f} | "
                     f"{r['min_step_ms']:.0f}-{r['max_step_ms']:.0f} | {r['steps_per_s']:.2f} | "
                     f"{r['images_per_s']:.1f} |")
    lines += ["", f"Drawing one batch of {args.batch_size} synthetic pairs: {batch_ms:.0f} ms "
              "(part of every step above; DataLoader workers take it off the critical path).",
              "Transformer images/s counts pairs (each pair is 2 frames encoded by the frozen tokenizer)."]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
