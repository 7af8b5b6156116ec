"""What does `--cpu-bf16` buy and cost? fp32 and bf16 autocast training steps, side by side.

Both arms start from the same shipped weights and take the same optimizer steps on the very same
streamed synthetic batches, through the training loops' own step functions; their steps alternate,
so machine noise hits both alike. Per stage it reports the median step time of each arm and their
ratio, the training loss of each arm, and afterwards a held-out score computed in fp32 (the
transformer's region cross-entropy, the tokenizer's PSNR in the region with Eq. 4), so a precision
cost would show up as a gap between the arms. It also counts how many tokens the tokenizer's
encoder assigns differently when it runs under bf16 autocast (training encodes that way; sampling
and evaluation encode in fp32).

    python benchmarks/bench_cpu_bf16.py [--model models/demo --transformer-steps 24 --tokenizer-steps 60]

Writes benchmarks/results/cpu_bf16.{json,md}. One torch thread, as the demo model trains.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import cpu_name, synthetic_pair_batches, write_results  # noqa: E402
from ilat_video.nn.tokenizer import TSVQGAN  # noqa: E402
from ilat_video.nn.transformer import LATransformer  # noqa: E402
from ilat_video.train import monitoring, precision  # noqa: E402
from ilat_video.train import tokenizer as tok_train  # noqa: E402
from ilat_video.train import transformer as tr_train  # noqa: E402
from ilat_video.train.distributed import DistributedContext  # noqa: E402

CPU = torch.device("cpu")


def bench_transformer(folder: Path, steps: int, lr: float) -> dict:
    tokenizer = tr_train.load_frozen_tokenizer(folder / "tokenizer", CPU)
    base = LATransformer.from_pretrained(folder / "transformer")
    inputs = [tr_train.tokenize_batch(tokenizer, b, CPU, needs_reference_pose=False)
              for b in synthetic_pair_batches(steps, 16, "train", 11)]
    held_out = [tr_train.tokenize_batch(tokenizer, b, CPU, needs_reference_pose=False)
                for b in synthetic_pair_batches(4, 16, "test", 12)]
    arms = {}
    for name, cpu_bf16 in (("fp32", False), ("bf16", True)):
        model = copy.deepcopy(base).train()
        opt = torch.optim.AdamW(tr_train._param_groups(model, 0.01), lr=lr, betas=(0.9, 0.95))
        config = tr_train.TransformerTrainConfig(out="-", cpu_bf16=cpu_bf16)
        arms[name] = dict(model=model, opt=opt, config=config, times=[], losses=[])
    for batch in inputs:
        for arm in arms.values():
            start = time.perf_counter()
            metrics = tr_train._step(arm["config"], arm["model"], arm["model"], arm["opt"], batch)
            arm["times"].append(time.perf_counter() - start)
            arm["losses"].append(float(metrics["loss"]))
    result = {}
    for name, arm in arms.items():
        model = arm["model"].eval()
        with torch.no_grad():
            held = [float(model.loss(model(b["cond"], b["target"], b["target_pose"], b["token_region"]),
                                     b["target"], b["token_region"])) for b in held_out]
        result[name] = {"median_step_s": round(statistics.median(arm["times"][1:]), 3),
                        "train_loss_last_half": round(float(np.mean(arm["losses"][steps // 2:])), 4),
                        "held_out_loss": round(float(np.mean(held)), 4)}
        print("transformer", name, json.dumps(result[name]), flush=True)
    result["speedup"] = round(result["fp32"]["median_step_s"] / result["bf16"]["median_step_s"], 2)
    return result


def region_psnr(model: TSVQGAN, images: torch.Tensor, regions: torch.Tensor) -> float:
    with torch.no_grad():
        reconstructions, _, _ = model(images, regions)
    where = regions[:, None].expand_as(images)
    mse = ((reconstructions.clamp(-1, 1) - images)[where] / 2).pow(2).mean()
    return float(10 * torch.log10(1 / mse))


def bench_tokenizer(folder: Path, steps: int, lr: float) -> dict:
    base = TSVQGAN.from_pretrained(folder / "tokenizer")
    rng = np.random.default_rng(0)
    train = [tok_train.images_and_regions(b, 8, 2, 0.5, rng) for b in synthetic_pair_batches(steps, 4, "train", 13)]
    held_out = [tok_train.images_and_regions(b, 8, 2, 1.0, rng) for b in synthetic_pair_batches(4, 4, "test", 14)]
    # Tokens under bf16 autocast against fp32, at the shipped weights, for the held-out images.
    with torch.no_grad():
        base.eval()
        fp32 = torch.cat([base.encode(images)[1] for images, _ in held_out])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = torch.cat([base.encode(images)[1] for images, _ in held_out])
    arms = {}
    for name, cpu_bf16 in (("fp32", False), ("bf16", True)):
        model = copy.deepcopy(base).train()
        opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.9))
        config = tok_train.TokenizerTrainConfig(out="-", stage=2, cpu_bf16=cpu_bf16)
        parts = tok_train._Parts(model=model, discriminator=torch.nn.Module(), perceptual=None, sampler=None,
                                 opt_g=opt, opt_d=None, schedule_g=None, schedule_d=None, gan_start=10**9,
                                 train_model=model)
        arms[name] = dict(model=model, parts=parts, config=config, times=[], psnrs=[],
                          usage=monitoring.CodebookUsage(model.config.codebook_size))
    for step, (images, regions) in enumerate(train):
        for arm in arms.values():
            start = time.perf_counter()
            metrics = tok_train._step(arm["config"], arm["parts"], step, images, regions, DistributedContext(),
                                      arm["usage"])
            arm["times"].append(time.perf_counter() - start)
            arm["psnrs"].append(float(metrics["psnr"]))
    result = {"tokens_changed_by_bf16_encoding": round(float((fp32 != bf16).float().mean()), 4)}
    for name, arm in arms.items():
        model = arm["model"].eval()
        result[name] = {"median_step_s": round(statistics.median(arm["times"][1:]), 3),
                        "train_psnr_last_half": round(float(np.mean(arm["psnrs"][steps // 2:])), 2),
                        "held_out_region_psnr": round(float(np.mean([region_psnr(model, i, r) for i, r in held_out])), 2)}
        print("tokenizer", name, json.dumps(result[name]), flush=True)
    result["speedup"] = round(result["fp32"]["median_step_s"] / result["bf16"]["median_step_s"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--transformer-steps", type=int, default=24)
    parser.add_argument("--tokenizer-steps", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cpu_bf16"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    folder = Path(args.model).resolve()
    name = str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else args.model
    result = {
        "model": name, "cpu": cpu_name(), "native_bf16": precision.cpu_has_native_bf16(), "threads": 1,
        "torch": torch.__version__, "load_average_at_start": round(os.getloadavg()[0], 2),
        "transformer": {"steps": args.transformer_steps, "batch": 16, "lr": 3e-4,
                        **bench_transformer(folder, args.transformer_steps, 3e-4)},
        "tokenizer": {"steps": args.tokenizer_steps, "batch": 8, "lr": 2.5e-4,
                      **bench_tokenizer(folder, args.tokenizer_steps, 2.5e-4)},
    }
    result["load_average_at_end"] = round(os.getloadavg()[0], 2)
    t, k = result["transformer"], result["tokenizer"]
    lines = [
        "# CPU bf16 autocast against fp32 training steps (benchmarks/bench_cpu_bf16.py)", "",
        f"{name}, {cpu_name()} (native bf16: {result['native_bf16']}), torch {torch.__version__}, 1 thread. "
        "Both arms start from the same weights and take their steps alternately on the same batches; "
        "held-out scores are computed in fp32 after training. Step times are medians; load average "
        f"{result['load_average_at_start']} at the start, {result['load_average_at_end']} at the end.", "",
        "| stage | steps x batch | fp32 s/step | bf16 s/step | speed-up | training score (2nd half), fp32 / bf16 "
        "| held-out score, fp32 / bf16 |",
        "|---|---|---:|---:|---:|---|---|",
        f"| transformer (loss, nats) | {t['steps']} x 16 | {t['fp32']['median_step_s']} | {t['bf16']['median_step_s']} "
        f"| **{t['speedup']}x** | {t['fp32']['train_loss_last_half']} / {t['bf16']['train_loss_last_half']} "
        f"| {t['fp32']['held_out_loss']} / {t['bf16']['held_out_loss']} |",
        f"| tokenizer, stage 2 (PSNR, dB) | {k['steps']} x 8 | {k['fp32']['median_step_s']} | "
        f"{k['bf16']['median_step_s']} | **{k['speedup']}x** | {k['fp32']['train_psnr_last_half']} / "
        f"{k['bf16']['train_psnr_last_half']} | {k['fp32']['held_out_region_psnr']} / "
        f"{k['bf16']['held_out_region_psnr']} (region) |",
        "",
        f"Tokens the encoder assigns differently under bf16 autocast than in fp32 (held-out images, shipped "
        f"weights): {100 * k['tokens_changed_by_bf16_encoding']:.2f}%. Training encodes under autocast; "
        "`animate` and `evaluate` encode in fp32, and the codebook search itself is always fp32.",
    ]
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
