"""The background plate: fill the person-shaped hole, measured against the true background.

Synthetic frames know the background behind the person exactly (`SynthVideo.render_layers`). On N
held-out frames (the test split, one frame from each of N different videos) the hole is the exact
person mask grown as `compose.person_hole` grows it; each method fills it and is scored inside the
hole only: PSNR and MAE (on 0..255, MAE reported in [0, 1]) against the true background, and
seconds per frame.

Methods:
- default: `compose.background_plate(image, hole)` (the default plate, `compose.inpaint_textured`:
  copies of the picture's own pixels where the background round the hole is textured, `mixed`
  where it is plain);
- mixed: `compose.inpaint_mixed` (the membrane, the picture's own patches and its rows carried
  across the hole mixed by how well each predicts a ring round the hole; the default before);
- ns: OpenCV Navier-Stokes inpainting at the image's size (radius 5; `--plate ns`, the default plate
  until experiments/results/probe_plate.md, is the same at 512 px and below);
- smooth: `compose.inpaint_smooth` (the membrane: Laplace's equation inside the hole, at 512 px);
- rows: `compose.inpaint_rows` (each row of the hole linear between the known pixels at its ends);
- patches: `compose.inpaint_patches` (OpenCV contrib's shift-map inpainting from the picture's own
  patches, at 256 px);
- ilat: `inpaint.inpaint` with the shipped demo model (empty target pose, no person pose);
- ilat-expected: the same, decoding the expected codes (`decode="expected"`);
- ilat-plate-cond: the same, its condition tokens from the crop pre-filled by Telea (`condition="plate"`);
- MODEL folder(s) given with --model: the same with that transformer (a fine-tuned run);
- bound: the tokenizer's own reconstruction of the TRUE background in the crop, pasted the same
  way (what a perfect transformer could at best give with this tokenizer at this crop size).

    python benchmarks/bench_plate.py --frames 100 --sizes 64 128 256 --model runs/plate
    python benchmarks/bench_plate.py train --config configs/plate-transformer.json [--resume]

`train` fine-tunes a transformer on `data.inpaint_pairs.InpaintingPairs` through the Python API
(`train.transformer.train_transformer(config, dataset=...)`): the CLI cannot take a dataset.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fine_tune  # noqa: E402
from ilat_video.compose import (  # noqa: E402
    background_plate,
    inpaint_mixed,
    inpaint_patches,
    inpaint_rows,
    inpaint_smooth,
    person_hole,
)
from ilat_video.crop import image_to_tensor, tensor_to_image
from ilat_video.data.inpaint_pairs import body_height
from ilat_video.data.synth import file_video
from ilat_video.inpaint import InpaintCrop, hole_weight, inpaint
from ilat_video.nn.loading import load_models, load_transformer

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "benchmarks" / "results"
SEED = 5  # the test split's file videos of this seed; training streams never draw them


def frames(count: int, size: int, seed: int = SEED):
    """(frame, hole, background, pose) of `count` test-split videos at size x size: frame 8 of 16."""
    for k in range(count):
        video = file_video(seed, "test", k, size, 16)
        layers = video.render_layers(8)
        pose = video.poses[8]
        hole = person_hole(layers.mask.astype(np.float32), body_height(pose))
        yield layers.frame, hole, layers.background, pose


def score(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, MAE in [0, 1]) inside the hole."""
    diff = out[hole].astype(np.float64) - truth[hole].astype(np.float64)
    mse = float((diff ** 2).mean())
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10)), float(np.abs(diff).mean() / 255.0)


def ns(image, hole):
    return cv2.inpaint(image, cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)), 5, cv2.INPAINT_NS)


@torch.inference_mode()
def bound(image, hole, background, tokenizer):
    """The tokenizer's reconstruction of the true background's crop, pasted into the hole as inpaint does."""
    size = tokenizer.config.resolution
    crop = InpaintCrop.around(hole, size)
    x = image_to_tensor(crop.image(background))[None]
    z_q, _, _ = tokenizer.encode(x)
    recon = tensor_to_image(tokenizer.decode(z_q)[0].clamp(-1, 1))
    filled = crop.paste_size(recon, hole.shape)
    weight = hole_weight(hole, crop.box.side / size)[..., None]
    out = np.clip(np.rint(filled * weight + image * (1 - weight)), 0, 255).astype(np.uint8)
    out[~hole] = image[~hole]
    return out


def methods(models: list[str], with_pose: bool):
    tokenizer, shipped = load_models(ROOT / "models" / "demo")
    table = {
        "default": lambda im, h, bg, p: background_plate(im, h),
        "mixed": lambda im, h, bg, p: inpaint_mixed(im, h),
        "ns": lambda im, h, bg, p: ns(im, h),
        "smooth": lambda im, h, bg, p: inpaint_smooth(im, h),
        "rows": lambda im, h, bg, p: inpaint_rows(im, h),
        "patches": lambda im, h, bg, p: inpaint_patches(im, h),
        "ilat": lambda im, h, bg, p: inpaint(im, h, tokenizer, shipped),
        "ilat-expected": lambda im, h, bg, p: inpaint(im, h, tokenizer, shipped, decode="expected"),
        "ilat-plate-cond": lambda im, h, bg, p: inpaint(im, h, tokenizer, shipped, condition="plate"),
    }
    for folder in models:
        name = Path(folder).name
        table.update(_model_methods(name, load_transformer(folder, tokenizer), tokenizer, with_pose))
    table["bound"] = lambda im, h, bg, p: bound(im, h, bg, tokenizer)
    return table


def _model_methods(name: str, transformer, tokenizer, with_pose: bool) -> dict:
    table = {
        name: lambda im, h, bg, p: inpaint(im, h, tokenizer, transformer),
        f"{name}-expected": lambda im, h, bg, p: inpaint(im, h, tokenizer, transformer, decode="expected"),
        f"{name}-plate-cond": lambda im, h, bg, p: inpaint(im, h, tokenizer, transformer, condition="plate"),
    }
    if with_pose:
        table[f"{name}+pose"] = lambda im, h, bg, p: inpaint(im, h, tokenizer, transformer, pose=p)
    return table


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    table = methods(args.model, args.with_pose)
    if args.methods:
        table = {name: fn for name, fn in table.items() if name in args.methods}
    results = {}
    for size in args.sizes:
        per = {name: {"psnr": [], "mae": [], "seconds": []} for name in table}
        share = []
        for image, hole, background, pose in frames(args.frames, size):
            share.append(float(hole.mean()))
            for name, fill in table.items():
                start = time.perf_counter()
                out = fill(image, hole, background, pose)
                per[name]["seconds"].append(time.perf_counter() - start)
                assert np.array_equal(out[~hole], image[~hole]) or name in ("ns", "smooth", "patches"), name
                p, m = score(out, background, hole)
                per[name]["psnr"].append(p)
                per[name]["mae"].append(m)
        results[str(size)] = {
            "hole_share": float(np.mean(share)),
            "methods": {name: {"psnr": float(np.mean(v["psnr"])), "psnr_sem": float(np.std(v["psnr"]) / np.sqrt(len(v["psnr"]))),
                               "mae": float(np.mean(v["mae"])), "s_per_frame": float(np.median(v["seconds"])),
                               "psnr_per_frame": [round(x, 3) for x in v["psnr"]]}
                        for name, v in per.items()},
        }
        print(f"size {size}: " + ", ".join(f"{n} {np.mean(v['psnr']):.2f}" for n, v in per.items()), flush=True)
    return results


def strip(args) -> None:
    """Rows of image | hole | true background | default | patches | iLAT (shipped) | each --model, at the first size,
    each panel scaled to 128 px (nearest)."""
    from PIL import Image

    torch.set_num_threads(args.threads)
    table = methods(args.model, args.with_pose)
    names = ["default", "patches", "ilat"] + [Path(m).name + suffix for m in args.model
                                 for suffix in (("", "+pose") if args.with_pose else ("",))]
    rows = []
    for image, hole, background, pose in frames(args.strip_rows, args.sizes[0]):
        hole_panel = image.copy()
        hole_panel[hole] = (255, 0, 255)
        panels = [image, hole_panel, background] + [table[n](image, hole, background, pose) for n in names]
        rows.append(np.concatenate([cv2.resize(p, (128, 128), interpolation=cv2.INTER_NEAREST) for p in panels], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(args.strip)
    print("columns: image | hole | true background | " + " | ".join(names), "->", args.strip)


def write(results: dict, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/bench_plate.py " + " ".join(sys.argv[1:])
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} thread(s)"
    record = {"command": command, "machine": machine, "frames": args.frames, "seed": SEED, "results": results}
    (RESULTS / "plate.json").write_text(json.dumps(record, indent=1) + "\n")
    names = list(next(iter(results.values()))["methods"])
    about = (f"{args.frames} held-out synthetic frames (test split, seed {SEED}, videos 0..{args.frames - 1}, frame 8 "
             "of 16), rendered at each size; hole = the exact person mask grown by `compose.person_hole` "
             "(HOLE_GROWTH x body height). PSNR (dB, mean ± s.e.m. over frames) and MAE ([0, 1]) inside the "
             "hole only; s/frame the median wall time of one call. `bound`: the tokenizer's reconstruction "
             "of the true background crop (no transformer), the ceiling of any iLAT row.")
    lines = ["# Background plate: the person-shaped hole filled, scored against the true background", "",
             f"`{command}`", "", about, "", f"Machine: {machine}.", ""]
    header = "| method | " + " | ".join(f"{s} px PSNR | MAE | s/frame" for s in results) + " |"
    lines += [header, "|---|" + "---|---|---|" * len(results)]
    for name in names:
        cells = []
        for s in results:
            m = results[s]["methods"][name]
            cells.append(f"{m['psnr']:.2f} ± {m['psnr_sem']:.2f} | {m['mae']:.4f} | {m['s_per_frame']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Hole share of the frame: " + ", ".join(f"{s} px {100 * r['hole_share']:.1f}%" for s, r in results.items()), ""]
    if args.notes:
        lines += [Path(args.notes).read_text()]
    (RESULTS / "plate.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        from ilat_video.data.inpaint_pairs import InpaintingPairs

        fine_tune(sys.argv[2:], "bench_plate.py", lambda seed: InpaintingPairs(64, split="train", seed=seed))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--model", nargs="*", default=[], help="fine-tuned transformer folders or runs")
    parser.add_argument("--with-pose", action="store_true", help="also the fine-tuned models given the person's pose")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", nargs="*", default=None, help="only these rows (default: all)")
    parser.add_argument("--notes", help="a markdown file appended to plate.md")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--strip", help="write a picture strip here instead of measuring")
    parser.add_argument("--strip-rows", type=int, default=6)
    args = parser.parse_args()
    if args.strip:
        strip(args)
        return
    results = run(args)
    if not args.no_write:
        write(results, args)


if __name__ == "__main__":
    main()
