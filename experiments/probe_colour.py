"""Where does the tokenizer lose colour? Autoencoders built from its parts, trained alike.

The demo tokenizers reproduce luminance but not chroma: v2 decodes flat green as dark grey-teal, and
a tokenizer trained from scratch with the fixed decoder norm (configs/demo-tokenizer-v3.json) was
still fully grey after 2,284 steps. This trains, from scratch and without the quantizer (so codes
are not the question), four autoencoders on the same streamed synthetic batches with the same
optimiser (Adam 6e-4, betas 0.5/0.9, L1, fp32, one thread):

- linear: a 4x4 stride-4 conv to 32 channels and a 1x1 conv + pixel shuffle back (the same
  16x16x32 bottleneck as the tokenizer, no depth);
- our encoder + the linear decoder; the linear encoder + our decoder; our encoder + our decoder;
- our encoder + our decoder with `linear_path` (TokenizerConfig): the linear parts added beside them.

Reported on held-out test images: PSNR and the R^2 of the output's chroma (r - g and
b - (r + g) / 2 of each 4x4 patch's mean colour) against the input's: 1 = every patch's colour
right, 0 = no better than one colour for all.

    python benchmarks/probe_colour.py [--steps 300 --preset configs/demo-tokenizer-v3.json]

Writes benchmarks/results/probe_colour.{json,md}.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import cpu_name, synthetic_pair_batches, write_results  # noqa: E402
from ilat_video.nn.pretrained import load_config  # noqa: E402
from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN  # noqa: E402


def images(count: int, batch_size: int, split: str, seed: int) -> list[torch.Tensor]:
    """Batches of 2 x batch_size images: each pair's reference and target."""
    batches = synthetic_pair_batches(count, batch_size, split, seed)
    return [torch.cat([b["reference"], b["target"]]) for b in batches]


def chroma_r2(output: torch.Tensor, target: torch.Tensor) -> list[float]:
    def chroma(image):
        r, g, b = F.avg_pool2d((image.clamp(-1, 1) + 1) / 2, 4).unbind(1)
        return torch.stack([r - g, b - (r + g) / 2], -1).reshape(-1, 2)

    out, ref = chroma(output), chroma(target)
    return [round(float(1 - (out[:, i] - ref[:, i]).pow(2).mean() / ref[:, i].var()), 3) for i in range(2)]


def linear_parts(code_dim: int) -> tuple[nn.Module, nn.Module]:
    return nn.Conv2d(3, code_dim, 4, stride=4), nn.Sequential(nn.Conv2d(code_dim, 48, 1), nn.PixelShuffle(4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--preset", default=str(ROOT / "configs" / "demo-tokenizer-v3.json"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_colour"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(TokenizerConfig, args.preset)
    if config.resolution != 64 or config.downsample_factor != 4:
        raise SystemExit("this probe's linear parts assume 64x64 images and f = 4")
    train = images(args.steps, 4, "train", 9)
    test = torch.cat(images(8, 4, "test", 2))
    arms = {}
    for name in ("linear", "our encoder + linear decoder", "linear encoder + our decoder", "our encoder + our decoder",
                 "our encoder + our decoder, linear_path"):
        torch.manual_seed(0)
        ours = TSVQGAN(dataclasses.replace(config, linear_path=name.endswith("linear_path")))
        linear_encoder, linear_decoder = linear_parts(config.code_dim)
        encoder = ours.encoder if name.startswith("our encoder") else linear_encoder
        decoder = ours.decoder if "our decoder" in name else linear_decoder
        opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=6e-4, betas=(0.5, 0.9))
        start = time.perf_counter()
        for batch in train:
            loss = (decoder(encoder(batch)) - batch).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            output = decoder(encoder(test))
        mse = ((output.clamp(-1, 1) - test) / 2).pow(2).mean()
        arms[name] = {"psnr": round(float(10 * torch.log10(1 / mse)), 2), "chroma_r2": chroma_r2(output, test),
                      "seconds": round(time.perf_counter() - start)}
        print(name, json.dumps(arms[name]), flush=True)
    preset = Path(args.preset).resolve()
    result = {"preset": str(preset.relative_to(ROOT)) if preset.is_relative_to(ROOT) else args.preset,
              "steps": args.steps, "batch": 8, "cpu": cpu_name(), "threads": 1,
              "load_average_at_end": round(os.getloadavg()[0], 2), "arms": arms}
    lines = [
        "# Where the tokenizer loses colour (benchmarks/probe_colour.py)", "",
        f"Autoencoders from scratch, no quantizer, {args.steps} steps of 8 synthetic images, Adam 6e-4, L1, "
        f"fp32, {cpu_name()}, 1 thread; our parts from {result['preset']}. Held-out: 32 test images.", "",
        "| autoencoder | PSNR (dB) | chroma R^2, r - g | chroma R^2, b - (r + g) / 2 |", "|---|---:|---:|---:|",
    ]
    for name, arm in arms.items():
        lines.append(f"| {name} | {arm['psnr']:.2f} | {arm['chroma_r2'][0]:.3f} | {arm['chroma_r2'][1]:.3f} |")
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
