"""TS-VQGAN speed on this CPU (issue 3).

    python benchmarks/bench_tokenizer.py                    # everything, a few minutes
    python benchmarks/bench_tokenizer.py --presets small-64 --skip-train

Measures, in eval mode under no_grad unless noted, medians over `--repeats` timed calls after one
warm-up call:
- encode / encode with a region / decode throughput (images/s) per preset at batch 1 and 8;
- the two-stream encoder's cost: the encoder with a region (two streams) against the plain iLAT*
  encoder (two_stream=False: vanilla convs, GroupNorm) and against itself without a region; the
  three are timed interleaved in the same loop, so load changes hit them alike;
- a training step at batch 8 (small presets): tokenizer forward + backward + Adam, stage 1 (no
  region) and stage 2 (region, Eq. 4), and the same plus a PatchDiscriminator generator/
  discriminator pass with the training code's default discriminator size.
Writes benchmarks/results/tokenizer_speed.{json,md}.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video.nn.tokenizer import TSVQGAN, tokenizer_preset  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def seeded(config) -> TSVQGAN:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return TSVQGAN(config).eval()


def inputs(batch: int, size: int, seed: int = 0, kind: str = "box"):
    """Images in [-1, 1] and a region. kind "box": a person-sized box over about a quarter of each
    image. "spread": two small boxes in opposite corners, so the region's bounding box is the
    whole map (the two-stream conv's worst case: both streams over the full map)."""
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    region = torch.zeros(batch, size, size, dtype=torch.bool)
    if kind == "box":
        region[:, size // 8: 7 * size // 8, 5 * size // 16: 11 * size // 16] = True
    else:
        region[:, : size // 8, : size // 8] = True
        region[:, -size // 8:, -size // 8:] = True
    return image, region


def interleaved(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """(wall, cpu) median seconds per function after one warm-up call each, calling them in turn so
    that load changes hit all alike. With one torch thread the process CPU time is about the wall
    time the call would take alone on one core: the number to trust on a busy shared machine."""
    for fn in fns.values():
        fn()
    times = {name: ([], []) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return {name: (statistics.median(w), statistics.median(c)) for name, (w, c) in times.items()}


@torch.no_grad()
def throughput(preset: str, batch: int, repeats: int) -> dict:
    model = seeded(tokenizer_preset(preset))
    image, region = inputs(batch, model.config.resolution)
    z_q, _, _ = model.encode(image)
    t = interleaved({
        "encode": lambda: model.encode(image),
        "encode_region": lambda: model.encode(image, region),
        "decode": lambda: model.decode(z_q),
    }, repeats)
    result = {"preset": preset, "batch": batch, "repeats": repeats}
    for name, (wall, cpu) in t.items():
        result[f"{name}_images_per_s"] = round(batch / wall, 2)
        result[f"{name}_images_per_cpu_s"] = round(batch / cpu, 2)
    return result


@torch.no_grad()
def two_stream_cost(preset: str, batch: int, repeats: int) -> dict:
    config = tokenizer_preset(preset)
    two_stream = seeded(config).encoder
    plain = seeded(dataclasses.replace(config, two_stream=False)).encoder
    image, region = inputs(batch, config.resolution)
    _, spread = inputs(batch, config.resolution, kind="spread")
    t = interleaved({
        "plain": lambda: plain(image, region),  # ignores the region
        "two_stream_no_region": lambda: two_stream(image, None),
        "two_stream_region": lambda: two_stream(image, region),
        "two_stream_spread_region": lambda: two_stream(image, spread),
    }, repeats)
    cpu = {k: c for k, (_, c) in t.items()}
    return {"preset": preset, "batch": batch, "repeats": repeats,
            "ratio_spread_vs_plain": round(cpu["two_stream_spread_region"] / cpu["plain"], 2),
            **{f"{k}_ms": round(w * 1000, 1) for k, (w, _) in t.items()},
            **{f"{k}_cpu_ms": round(c * 1000, 1) for k, c in cpu.items()},
            "ratio_vs_plain": round(cpu["two_stream_region"] / cpu["plain"], 2),
            "ratio_vs_no_region": round(cpu["two_stream_region"] / cpu["two_stream_no_region"], 2)}


def train_step(preset: str, repeats: int, batch: int = 8) -> dict:
    from ilat_video.train.discriminator import DiscriminatorConfig, PatchDiscriminator
    from ilat_video.train.losses import hinge_d_loss, hinge_g_loss

    model = seeded(tokenizer_preset(preset)).train()
    with torch.random.fork_rng():
        torch.manual_seed(1)
        disc = PatchDiscriminator(DiscriminatorConfig())
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.9))
    image, region = inputs(batch, model.config.resolution)

    def step(region, with_disc):
        reconstruction, codebook_loss, _ = model(image, region)
        loss = (reconstruction - image).abs().mean() + codebook_loss
        if with_disc:
            disc.requires_grad_(False)
            loss = loss + 0.1 * hinge_g_loss(disc(reconstruction))
            disc.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if with_disc:
            logits = disc(torch.cat([image, reconstruction.detach()]))
            real, fake = logits.chunk(2)
            opt_d.zero_grad(set_to_none=True)
            hinge_d_loss(real, fake).backward()
            opt_d.step()

    t = interleaved({
        "stage1": lambda: step(None, False),
        "stage2": lambda: step(region, False),
        "stage2_with_discriminator": lambda: step(region, True),
    }, repeats)
    return {"preset": preset, "batch": batch, "repeats": repeats,
            **{f"{k}_s": round(w, 3) for k, (w, _) in t.items()},
            **{f"{k}_cpu_s": round(c, 3) for k, (_, c) in t.items()}}


def write_markdown(path: Path, meta: dict, data: dict) -> None:
    lines = [
        "# Tokenizer speed (issue 3)", "",
        f"Machine: {meta['machine']}; torch {meta['torch']}, {meta['threads']} thread(s); "
        f"load average at start {meta['load_average']} (a shared machine: other jobs were running).",
        f"Command: `{meta['command']}`", "",
        "Medians of timed calls after one warm-up; eval mode, no_grad. `region`: a box over about a "
        "quarter of the image (the two-stream path). Each cell: per CPU-second of this process (with "
        "one thread: the speed alone on one core) / per wall-second (what it got on the busy machine).", "",
        "## Encode / decode throughput (images/s: CPU / wall)", "",
        "| preset | batch | repeats | encode | encode with region | decode |", "|---|---|---|---|---|---|",
    ]
    for r in data["throughput"]:
        cells = [f"{r[k + '_images_per_cpu_s']} / {r[k + '_images_per_s']}" for k in ("encode", "encode_region", "decode")]
        lines.append(f"| {r['preset']} | {r['batch']} | {r['repeats']} | " + " | ".join(cells) + " |")
    lines += ["", "## Two-stream encoder cost (same run, interleaved; CPU ms, ratios of CPU medians)", "",
              "`box`: a person-sized box; `spread`: two small boxes in opposite corners, so both streams "
              "run over the whole map (the worst case).", "",
              "| preset | batch | plain encoder | two-stream, no region | two-stream, box | two-stream, spread | "
              "box / plain | box / no region | spread / plain |", "|---|---|---|---|---|---|---|---|---|"]
    for r in data["two_stream_cost"]:
        lines.append(f"| {r['preset']} | {r['batch']} | {r['plain_cpu_ms']} | {r['two_stream_no_region_cpu_ms']} | "
                     f"{r['two_stream_region_cpu_ms']} | {r['two_stream_spread_region_cpu_ms']} | "
                     f"{r['ratio_vs_plain']}x | {r['ratio_vs_no_region']}x | {r['ratio_spread_vs_plain']}x |")
    if data.get("train_step"):
        lines += ["", "## Training step, batch 8 (seconds: CPU / wall)", "",
                  "Tokenizer forward + backward + Adam; the last column adds a PatchDiscriminator "
                  "(the training code's default size) generator term and discriminator update. With 2 "
                  "threads the CPU time adds up both threads.", "",
                  "| preset | threads | stage 1 | stage 2 (region) | stage 2 + discriminator |", "|---|---|---|---|---|"]
        for r in data["train_step"]:
            cells = [f"{r[k + '_cpu_s']} / {r[k + '_s']}" for k in ("stage1", "stage2", "stage2_with_discriminator")]
            lines.append(f"| {r['preset']} | {r['threads']} | " + " | ".join(cells) + " |")
    lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="small-64,small-128,paper-256")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper-repeats", type=int, default=2, help="repeats for paper-256 (slow on a CPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--train-threads", default="1,2", help="thread counts for the training-step timing")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "tokenizer_speed"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "torch": torch.__version__, "threads": args.threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/bench_tokenizer.py " + " ".join(sys.argv[1:]),
    }
    presets = args.presets.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    data = {"throughput": [], "two_stream_cost": [], "train_step": []}
    for preset in presets:
        repeats = args.paper_repeats if preset == "paper-256" else args.repeats
        for batch in batches:
            data["throughput"].append(throughput(preset, batch, repeats))
            print(data["throughput"][-1], flush=True)
        cost_batch = 1 if preset == "paper-256" else max(batches)
        data["two_stream_cost"].append(two_stream_cost(preset, cost_batch, max(repeats, 3)))
        print(data["two_stream_cost"][-1], flush=True)
    if not args.skip_train:
        for threads in [int(t) for t in args.train_threads.split(",")]:
            torch.set_num_threads(threads)
            for preset in presets:
                if preset.startswith("small"):
                    data["train_step"].append({**train_step(preset, args.repeats), "threads": threads})
                    print(data["train_step"][-1], flush=True)
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, **data}, indent=1) + "\n")
    write_markdown(out.with_suffix(".md"), meta, data)
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
