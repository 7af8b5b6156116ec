"""The repair step of the photo path: regenerate what the warp cannot show, scored against the truth.

Synthetic clips know every frame exactly. On N held-out pairs (the test split, one pair per video:
frame 0 as the reference, frame 10 as the target) frame 0's person is warped to frame 10's pose
over frame 0's background plate (`compose.Stage` as inference runs it, OpenCV plate), and the repair
region is `compose.repair_region` (holes in the warped person, the target body it left uncovered,
pixels it trusts less than REPAIR_TRUST). Each method fills the region; scored against frame 10:
PSNR and MAE inside the region and inside the target's person mask, and seconds per frame.

Methods:
- none: the warped frame as it is (the plate shows through the holes, the seams stay);
- opencv: the region filled by `compose.fill` (Navier-Stokes, the default repair fills only the holes);
- holes: what the default (`--repair holes`) does (`compose.fill_holes`): only the holes in the
  person, filled by OpenCV, and the target torso it left bare, filled from the torso;
- ilat: what `--repair ilat` does with the shipped demo model (`as_animate`: the holes filled as
  the default fills them, then `repair.repair` tile by tile at half the body's height, expected codes);
- MODEL folder(s) given with --model: the same with that transformer (a fine-tuned run);
  `-no-prefill`: without filling the holes first;
- bound: the tokenizer's own reconstruction of the TRUE frame, tile by tile, pasted the same way.

    python benchmarks/bench_repair.py --frames 60 --sizes 128 256 --model runs/repair
    python benchmarks/bench_repair.py train --config configs/repair-transformer.json [--resume]

`train` fine-tunes a transformer on `data.repair_pairs.RepairPairs` through the Python API
(`train.transformer.train_transformer(config, dataset=...)`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import code_version, cpu_name, fine_tune
from ilat_video.compose import (
    REPAIR_TRUST,
    Stage,
    body_height,
    fill,
    fill_holes,
    repair_region,
)
from ilat_video.crop import image_to_tensor, tensor_to_image
from ilat_video.data.synth import file_video
from ilat_video.inpaint import hole_weight
from ilat_video.nn.loading import load_models, load_transformer
from ilat_video.repair import (
    TILE_CONTEXT,
    paste_core,
    repair,
    tile_cores,
    tile_crop,
    tile_side,
)

RESULTS = ROOT / "benchmarks" / "results"
SEED = 5  # the test split's file videos of this seed; training streams never draw them
REFERENCE, TARGET = 0, 10


def pairs(count: int, size: int, seed: int = SEED):
    """(warped frame, region, truth, person mask, target pose, the frame with its holes filled as
    `--repair holes` fills them, body height) of `count` test-split videos at size x size."""
    made = 0
    k = 0
    while made < count:
        video = file_video(seed, "test", k, size, 16)
        k += 1
        ref = video.render_layers(REFERENCE)
        try:
            stage = Stage.prepare(ref.frame, ref.mask.astype(np.float32), video.poses[REFERENCE], edge=False)  # exact
        except Exception:  # noqa: BLE001 - a clip whose reference cannot be prepared is skipped, as counted
            continue
        pose = video.poses[TARGET]
        frame, warped = stage.frame(pose)
        height = body_height(stage.reference)
        region = repair_region(warped, pose, height)
        if not region.any():
            continue
        truth = video.render_layers(TARGET)
        made += 1
        yield frame, region, truth.frame, truth.mask, pose, fill_holes(frame, warped, pose, height), height


def score(out: np.ndarray, truth: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, MAE in [0, 1]) over the pixels `where`."""
    diff = out[where].astype(np.float64) - truth[where].astype(np.float64)
    mse = float((diff ** 2).mean())
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10)), float(np.abs(diff).mean() / 255.0)


@torch.inference_mode()
def bound(image, region, truth, tokenizer, height):
    """The tokenizer's reconstruction of the true frame, tile by tile as `repair.repair` cuts and
    pastes them: what a perfect transformer could at best give."""
    size = tokenizer.config.resolution
    side = tile_side(height)
    out = image.copy()
    weight = hole_weight(region, side * (1 + 2 * TILE_CONTEXT) / size)
    for x0, y0 in tile_cores(region, side):
        crop = tile_crop(x0, y0, side, size)
        z_q, _, _ = tokenizer.encode(image_to_tensor(crop.image(truth))[None])
        recon = tensor_to_image(tokenizer.decode(z_q)[0].clamp(-1, 1))
        y1, x1 = min(region.shape[0], y0 + side), min(region.shape[1], x0 + side)
        filled = paste_core(crop, recon, x0, y0, x1 - x0, y1 - y0)
        w = weight[y0:y1, x0:x1, None]
        out[y0:y1, x0:x1] = np.clip(np.rint(filled * w + image[y0:y1, x0:x1] * (1 - w)), 0, 255).astype(np.uint8)
    out[~region] = image[~region]
    return out


def as_animate(image, region, pose, filled, height, tokenizer, transformer):
    """What `--repair ilat` does (`compose.Stage.frame`): the frame with its holes filled as `--repair
    holes` fills them (`filled`), then the region regenerated tile by tile, decoding the expected codes."""
    return repair(filled, region, pose, tokenizer, transformer, body_height=height, decode="expected")


def methods(models: list[str]):
    tokenizer, shipped = load_models(ROOT / "models" / "demo")
    table = {
        "none": lambda im, r, p, h, bh: im.copy(),
        "holes": lambda im, r, p, h, bh: h.copy(),
        "opencv": lambda im, r, p, h, bh: fill(im, r),
        "ilat": lambda im, r, p, h, bh: as_animate(im, r, p, h, bh, tokenizer, shipped),
    }
    for folder in models:
        transformer = load_transformer(folder, tokenizer)
        name = Path(folder).name
        table[name] = lambda im, r, p, h, bh, t=transformer: as_animate(im, r, p, h, bh, tokenizer, t)
        table[f"{name}-no-prefill"] = lambda im, r, p, h, bh, t=transformer: repair(im, r, p, tokenizer, t,
                                                                                    body_height=bh, decode="expected")
    return table, tokenizer


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    table, tokenizer = methods(args.model)
    results = {}
    for size in args.sizes:
        per = {name: {"region": [], "person": [], "mae": [], "seconds": []} for name in [*table, "bound"]}
        share = []
        for frame, region, truth, mask, pose, holes, height in pairs(args.frames, size):
            share.append(float(region.mean()))
            for name in per:
                start = time.perf_counter()
                out = (bound(frame, region, truth, tokenizer, height) if name == "bound"
                       else table[name](frame, region, pose, holes, height))
                per[name]["seconds"].append(time.perf_counter() - start)
                p, m = score(out, truth, region)
                per[name]["region"].append(p)
                per[name]["mae"].append(m)
                per[name]["person"].append(score(out, truth, mask)[0])
        results[str(size)] = {
            "region_share": float(np.mean(share)),
            "methods": {name: {"psnr": float(np.mean(v["region"])),
                               "psnr_sem": float(np.std(v["region"]) / np.sqrt(len(v["region"]))),
                               "person_psnr": float(np.mean(v["person"])), "mae": float(np.mean(v["mae"])),
                               "s_per_frame": float(np.median(v["seconds"])),
                               "psnr_per_frame": [round(x, 3) for x in v["region"]],
                               "person_psnr_per_frame": [round(x, 3) for x in v["person"]]}
                        for name, v in per.items()},
        }
        print(f"size {size}: " + ", ".join(f"{n} {np.mean(v['region']):.2f}/{np.mean(v['person']):.2f}"
                                           for n, v in per.items()), flush=True)
    return results


def strip(args) -> None:
    """Rows of warped frame | region | truth | opencv | ilat | each --model, at the first size."""
    from PIL import Image

    torch.set_num_threads(args.threads)
    table, _ = methods(args.model)
    names = ["opencv", "ilat"] + [Path(m).name for m in args.model]
    rows = []
    for frame, region, truth, mask, pose, holes, height in pairs(args.strip_rows, args.sizes[0]):
        marked = frame.copy()
        marked[region] = (255, 0, 255)
        panels = [frame, marked, truth] + [table[n](frame, region, pose, holes, height) for n in names]
        rows.append(np.concatenate([cv2.resize(p, (192, 192), interpolation=cv2.INTER_NEAREST) for p in panels], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(args.strip)
    print("columns: warped | region | truth | " + " | ".join(names), "->", args.strip)


def write(results: dict, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/bench_repair.py " + " ".join(sys.argv[1:])
    machine = f"{cpu_name()}, torch {torch.__version__}, {args.threads} thread(s)"
    names = list(next(iter(results.values()))["methods"])
    lines = ["# Repair of the warped frame: what the warp cannot show, scored against the true frame", "",
             f"`{command}` (code {code_version()})", "",
             f"{args.frames} held-out synthetic pairs (test split, seed {SEED}; frame {REFERENCE} warped to frame "
             f"{TARGET}'s pose over its plate, as `compose.Stage` does). Region = `compose.repair_region` "
             f"(REPAIR_TRUST {REPAIR_TRUST}). PSNR (dB, mean ± s.e.m.) and MAE inside the region; person PSNR "
             "inside the target's exact person mask; s/frame the median wall time of the repair alone. "
             "`bound`: the tokenizer's reconstruction of the true frame, tile by tile, the ceiling of any iLAT row.",
             "", f"Machine: {machine}.", ""]
    columns = " | ".join(f"{s} px region PSNR | person PSNR | MAE | s/frame" for s in results)
    lines.append(f"| method | {columns} |")
    lines.append("|---|" + "---|---|---|---|" * len(results))
    for name in names:
        cells = []
        for s in results:
            m = results[s]["methods"][name]
            cells.append(f"{m['psnr']:.2f} ± {m['psnr_sem']:.2f} | {m['person_psnr']:.2f} | {m['mae']:.4f} | "
                         f"{m['s_per_frame']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Region share of the frame: " + ", ".join(f"{s} px {100 * r['region_share']:.1f}%"
                                                           for s, r in results.items()), ""]
    lines += ["Paired per frame against `holes` (the default), person PSNR: mean difference ± s.e.m. (share of "
              "frames where the method is better):", ""]
    for s in results:
        base = np.array(results[s]["methods"]["holes"]["person_psnr_per_frame"])
        cells = []
        for name in names:
            if name == "holes":
                continue
            diff = np.array(results[s]["methods"][name]["person_psnr_per_frame"]) - base
            sem = diff.std() / np.sqrt(len(diff))
            cells.append(f"{name} {diff.mean():+.2f} ± {sem:.2f} ({100 * (diff > 0).mean():.0f}%)")
        lines.append(f"- {s} px: " + "; ".join(cells))
    lines.append("")
    if args.notes:
        lines += [Path(args.notes).read_text()]
    (RESULTS / "repair.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "repair.json").write_text(json.dumps({"command": command, "machine": machine, "results": results},
                                                    indent=1) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        from ilat_video.data.repair_pairs import RepairPairs

        fine_tune(sys.argv[2:], "bench_repair.py",
                  lambda seed: RepairPairs(64, split="train", seed=seed, render_scale=3))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--model", nargs="*", default=[], help="fine-tuned transformer folders or runs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--notes", help="a markdown file appended to repair.md")
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
