"""Overfitting a handful of images with the small tokenizer presets (issue 3).

    python benchmarks/bench_overfit.py                       # the default runs, ~20 min on 1 core
    python benchmarks/bench_overfit.py --runs small-64 --steps 100

The same synthetic people (ilat_video.data.synth, one frame of each of `--images` clips) are drawn
at 128x128 and box-downscaled to 64x64, so the presets see the same content. Each run trains the
tokenizer alone (L1 + codebook/commitment loss, Adam, no GAN, no region: stage 1) on the whole
batch every step, and records the training L1 curve and codebook usage. At the end, in eval mode:
PSNR over the image and over the person's pixels at the model's own size, and PSNR at 128x128
(a 64x64 model's output upscaled bilinearly) so the two presets compare on equal footing.

A run is `<preset>` or `<preset>:<variant>` with variant `no-l2` (plain codes, taming's init),
`l2` (l2-normalized codes, no restarts), `restart` (l2 codes + dead-code restarts, the default),
`dim8` / `dim8-restart` (8-dimensional codes): the quantizer choice is measured here too;
`no-linear` (no linear patch path, as the small presets were before 2026-11-30).
Writes benchmarks/results/tokenizer_overfit.{json,md} and a reconstruction grid per preset.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video.data.synth import make_video  # noqa: E402
from ilat_video.nn.tokenizer import TSVQGAN, tokenizer_preset  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
VARIANTS = {
    "": {},
    "no-l2": {"l2_normalize": False, "restart_dead_codes": False},
    "l2": {"l2_normalize": True, "restart_dead_codes": False},
    "restart": {"l2_normalize": True, "restart_dead_codes": True},
    "dim8": {"code_dim": 8, "restart_dead_codes": False},
    "dim8-restart": {"code_dim": 8, "restart_dead_codes": True},
    "no-linear": {"linear_path": False},  # the small presets before they had the linear patch path
}


def make_images(count: int, seed: int):
    """(images_128 (N, 3, 128, 128) in [-1, 1], person masks (N, 128, 128) bool), one frame per clip."""
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for _ in range(count):
        video = make_video(rng, 128, 8)
        frame = int(rng.integers(0, video.num_frames))
        images.append(video.render(frame, supersample=2))
        masks.append(video.render_mask(frame))
    images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, H, W)
    return images, torch.from_numpy(np.stack(masks))


def at_size(images: torch.Tensor, masks: torch.Tensor, size: int):
    if size == images.shape[-1]:
        return images, masks
    factor = images.shape[-1] // size
    small = F.avg_pool2d(images, factor)
    small_masks = F.max_pool2d(masks[:, None].float(), factor)[:, 0] > 0
    return small, small_masks


def psnr(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor | None = None) -> float:
    """PSNR in dB of images in [-1, 1] (peak 2), over all pixels or over `where` (N, H, W)."""
    err = (a.clamp(-1, 1) - b).pow(2)
    mse = err.mean() if where is None else err.permute(1, 0, 2, 3)[:, where].mean()
    return float(10 * torch.log10(4 / mse))


def run(name: str, images128, masks128, steps: int, lr: float, log_every: int, seed: int) -> dict:
    preset, _, variant = name.partition(":")
    config = dataclasses.replace(tokenizer_preset(preset), **VARIANTS[variant])
    images, masks = at_size(images128, masks128, config.resolution)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = TSVQGAN(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.9))
    curve = []
    start = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        reconstruction, codebook_loss, info = model(images)
        l1 = (reconstruction - images).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        (l1 + codebook_loss).backward()
        optimizer.step()
        if step == 1 or step % log_every == 0:
            curve.append({"step": step, "l1": round(float(l1.detach()), 5), "perplexity": round(float(info["perplexity"]), 2),
                          "used_codes": int(info["used_codes"]), "restarted": int(info["restarted"])})
            print(f"{name} step {step} l1 {float(l1):.4f} perplexity {float(info['perplexity']):.1f}", flush=True)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        reconstruction, _, info = model(images)
    up = reconstruction if config.resolution == 128 else F.interpolate(reconstruction, size=128, mode="bilinear",
                                                                        align_corners=False)
    l1s = [c["l1"] for c in curve]
    return {
        "run": name, "config": dataclasses.asdict(config), "steps": steps, "seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / steps, 3), "curve": curve,
        "final_l1": round(float((reconstruction - images).abs().mean()), 5),
        "psnr": round(psnr(reconstruction, images), 2),
        "psnr_person": round(psnr(reconstruction, images, masks), 2),
        "psnr_at_128": round(psnr(up, images128), 2),
        "psnr_person_at_128": round(psnr(up, images128, masks128), 2),
        "eval_used_codes": int(info["used_codes"]), "eval_perplexity": round(float(info["perplexity"]), 2),
        "tokens": int(info["indices"].numel()),
        "l1_drops": sum(b < a for a, b in zip(l1s, l1s[1:])), "l1_intervals": len(l1s) - 1,
        "_reconstruction": reconstruction, "_images": images,
    }


def save_grid(path: Path, images: torch.Tensor, reconstruction: torch.Tensor) -> None:
    from PIL import Image

    rows = [torch.cat(list(t.clamp(-1, 1)), dim=2) for t in (images, reconstruction)]  # (3, H, N*W) each
    grid = ((torch.cat(rows, dim=1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(grid).save(path)


def write_markdown(path: Path, meta: dict, results: list[dict]) -> None:
    lines = [
        "# Tokenizer overfit (issue 3)", "",
        f"Machine: {meta['machine']}; torch {meta['torch']}, {meta['threads']} thread(s); "
        f"load average at start {meta['load_average']}.",
        f"Command: `{meta['command']}`", "",
        f"{meta['images']} synthetic people (one frame per clip, drawn at 128x128, box-downscaled to 64x64), "
        f"the whole batch every step, L1 + codebook loss, Adam lr {meta['lr']} (0.5, 0.9), no GAN, no region.",
        "PSNR in dB (images in [-1, 1]); `person` = over the person's pixels only; `@128` = the output "
        "upscaled to 128x128 (bilinear) against the 128x128 originals.", "",
        "| run | steps | s/step | L1 first -> last | L1 drops | PSNR | PSNR person | PSNR @128 | person @128 | codes used (eval) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['run']} | {r['steps']} | {r['seconds_per_step']} | {r['curve'][0]['l1']} -> {r['final_l1']} | "
            f"{r['l1_drops']}/{r['l1_intervals']} | {r['psnr']} | {r['psnr_person']} | {r['psnr_at_128']} | "
            f"{r['psnr_person_at_128']} | {r['eval_used_codes']}/{r['config']['codebook_size']} "
            f"(of {r['tokens']} tokens) |")
    lines += ["", "## Curves (training L1 / perplexity at the logged steps)", ""]
    for r in results:
        points = ", ".join(f"{c['step']}: {c['l1']:.3f}/{c['perplexity']:.0f}" for c in r["curve"])
        lines.append(f"- **{r['run']}**: {points}")
    lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="small-64,small-128,small-64:no-l2,small-64:restart")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--out", default=str(RESULTS / "tokenizer_overfit"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "torch": torch.__version__, "threads": args.threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/bench_overfit.py " + " ".join(sys.argv[1:]),
        "images": args.images, "lr": args.lr,
    }
    images128, masks128 = make_images(args.images, args.seed)
    results = []
    for name in args.runs.split(","):
        result = run(name, images128, masks128, args.steps, args.lr, args.log_every, args.seed)
        if ":" not in name:
            save_grid(Path(args.out + f"_{name}.png"), result["_images"], result["_reconstruction"])
        results.append({k: v for k, v in result.items() if not k.startswith("_")})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    write_markdown(out.with_suffix(".md"), meta, results)
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
