"""Does the decoder's GroupNorm rule limit the demo tokenizer? An A/B on the same batches.

The shipped tokenizer's decoder uses VQGAN's 32 GroupNorm groups; at its full-resolution width of
32 channels that is one channel per group (instance norm), which erases each channel's image-wide
mean at every norm. Here the trained encoder and codebook are frozen (so both arms decode the very
same codes), and the decoder is trained from the shipped weights for the same steps on the same
streamed synthetic batches with the same optimiser, once per rule (norm_group_channels = 1, as
trained, and 4). Reported: the training PSNR (quantized codes everywhere), mean per 20 steps.

    python benchmarks/bench_decoder_norm.py [--model models/demo/tokenizer --steps 240 --lr 1e-3]

Writes benchmarks/results/decoder_norm.{json,md}.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import cpu_name, write_results  # noqa: E402
from ilat_video.nn.tokenizer import TSVQGAN  # noqa: E402
from ilat_video.train.distributed import DistributedContext  # noqa: E402
from ilat_video.train.data_stream import open_batches  # noqa: E402
from ilat_video.train.tokenizer import TokenizerTrainConfig, images_and_regions, psnr  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "demo" / "tokenizer"))
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--group-channels", default="1,4")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "decoder_norm"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = TSVQGAN.from_pretrained(args.model)
    model_path = Path(args.model).resolve()
    args.model = str(model_path.relative_to(ROOT)) if model_path.is_relative_to(ROOT) else args.model
    size = base.config.resolution
    stream = open_batches(TokenizerTrainConfig(out="-", stage=1, batch_size=8, seed=5), DistributedContext(),
                          size, None, batch_size=4)
    rng = np.random.default_rng(0)
    batches = [images_and_regions(next(stream), 8, 1, 0.5, rng)[0] for _ in range(args.steps)]
    stream.close()
    with torch.no_grad():  # the frozen encoder and codebook: both arms decode these codes
        codes = [base.eval().encode(b)[0] for b in batches]
    arms = {}
    for group_channels in (int(g) for g in args.group_channels.split(",")):
        model = TSVQGAN(dataclasses.replace(base.config, norm_group_channels=group_channels))
        model.load_state_dict(base.state_dict())
        decoder = model.decoder.train()
        opt = torch.optim.Adam(decoder.parameters(), lr=args.lr, betas=(0.5, 0.9))
        curve, start = [], time.perf_counter()
        for images, z_q in zip(batches, codes):
            reconstruction = decoder(z_q)
            loss = (reconstruction - images).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(psnr(images, reconstruction).item())
        arms[group_channels] = {
            "psnr_per_20_steps": [round(float(np.mean(curve[i:i + 20])), 2) for i in range(0, len(curve), 20)],
            "first_10": round(float(np.mean(curve[:10])), 2), "last_20": round(float(np.mean(curve[-20:])), 2),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print(group_channels, json.dumps(arms[group_channels]), flush=True)
    result = {"model": args.model, "steps": args.steps, "lr": args.lr, "batch": 8, "cpu": cpu_name(),
              "threads": 1, "arms": arms}
    lines = [
        "# Decoder GroupNorm rule, A/B on the same batches (benchmarks/bench_decoder_norm.py)", "",
        f"{args.model}, encoder and codebook frozen, decoder trained {args.steps} steps of batch 8 from the "
        f"shipped weights, Adam lr {args.lr}, {cpu_name()}, 1 thread. Training PSNR (dB) with codes everywhere.", "",
        "| channels per group | first 10 steps | last 20 steps | PSNR per 20 steps |", "|---|---|---|---|",
    ]
    for g, arm in arms.items():
        curve = " ".join(f"{v:.2f}" for v in arm["psnr_per_20_steps"])
        lines.append(f"| {g}{' (as trained)' if g == base.config.norm_group_channels else ''} | "
                     f"{arm['first_10']:.2f} | {arm['last_20']:.2f} | {curve} |")
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
