"""Speed of local vs vanilla AR sampling, cached vs naive (issue 4; paper Table 2).

For each preset ("small", "paper-256") and batch size (1, 8), with random weights (speed does
not depend on them) and person-like box regions at the paper's region rates (FFHQ 6.6%, SDF 28%,
PA 32% of the 16x16 tokens), this measures seconds per frame of:

- cached local AR   (`sample_local`: one parallel pass + one cached step per region token after
                     the first)
- cached vanilla AR (`sample_vanilla`: a pass over the condition block + N - 1 cached steps)
- naive local AR    (`sample_naive(mask="la")`: one full forward per region token)
- naive vanilla AR  (`sample_naive(mask="ar")` with a full region: one full forward per token)

Full runs would take many minutes on a 2-core CPU, so the samplers' building blocks are timed
(medians; the passes and the naive forward interleaved, so that the load of the shared machine
hits them alike) and combined with each sampler's real step count S for the batch (the longest
schedule in the batch for the local samplers):
    cached local   = parallel pass over L positions (`prefill`)      + (S - 1) x cached step
    cached vanilla = pass over the C condition positions and t_s    + (N - 1) x cached step
    naive local    = (region tokens) x full forward
    naive vanilla  = N x full forward
(the first token of a cached sampler comes from its pass). A local step runs one or two positions
(`masks.sampling_steps`), a vanilla step one; both attend over the whole cache. The formulas are checked against end-to-end runs
of the samplers: all rates for the small preset, the smallest region at batch 1 for paper-256.

The machine is shared: torch runs on `--threads` threads (default 1), since two threads on two
busy cores were 4-20x slower and erratic in this setting.

    python benchmarks/bench_sampling.py                 # both presets, a few minutes
    python benchmarks/bench_sampling.py --presets small --repeats 5
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

from ilat_video.masks import sampling_steps
from ilat_video.nn.transformer import LATransformer, transformer_preset
from ilat_video.sampling import sample_local, sample_naive, sample_vanilla
from _common import median_time

RATES = {"FFHQ 6.6%": 0.066, "SDF 28%": 0.28, "PA 32%": 0.32}
CODEBOOK = {"small": 512, "paper-256": 1024}


def box_regions(batch: int, grid: tuple[int, int], rate: float, generator: torch.Generator) -> torch.Tensor:
    """(B, h, w) bool: a person-like box (about twice as tall as wide) of round(rate * N) tokens
    per frame, at a random place per frame, so that frames in a batch differ."""
    h, w = grid
    area = max(1, round(rate * h * w))
    box_w = max(1, min(w, round((area / 2) ** 0.5)))
    box_h = min(h, -(-area // box_w))
    regions = torch.zeros(batch, h, w, dtype=torch.bool)
    for b in range(batch):
        y = int(torch.randint(0, h - box_h + 1, (1,), generator=generator))
        x = int(torch.randint(0, w - box_w + 1, (1,), generator=generator))
        box = torch.zeros(box_h * box_w, dtype=torch.bool)
        box[:area] = True
        regions[b, y:y + box_h, x:x + box_w] = box.view(box_h, box_w)
    return regions


def synchronized(fn, device: torch.device):
    """fn, waiting for the device's queued work before it returns (so wall time covers it)."""
    if device.type != "cuda":
        return fn

    def run():
        out = fn()
        torch.cuda.synchronize(device)
        return out
    return run


def bench(preset: str, batch: int, repeats: int, step_repeats: int, check: str,
          device: torch.device = torch.device("cpu")) -> dict:
    """Time one preset at one batch size; `check` says which end-to-end runs verify the formulas
    ("all", "smallest" or "none")."""
    config = transformer_preset(preset, codebook_size=CODEBOOK[preset])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LATransformer(config).eval().to(device)
    g = torch.Generator().manual_seed(0)
    n, c = config.num_tokens, config.num_condition
    cond = torch.randint(0, config.codebook_size, (batch, n), generator=g).to(device)
    target = torch.randint(0, config.codebook_size, (batch, n), generator=g).to(device)
    pose = torch.rand(batch, 13, 3, generator=g).to(device)
    full_region = torch.ones(batch, n, dtype=torch.bool, device=device)
    regions = {name: box_regions(batch, config.grid, rate, g).to(device) for name, rate in RATES.items()}
    largest = regions["PA 32%"]

    def timed_once(fn) -> float:
        return median_time(synchronized(fn, device), 1)

    cache = model.new_cache(batch, device=device)
    # The shared-reference variant: same weights, the reference's keys/values computed once per
    # video (timed too), the per-frame pass skipping those 1 + N positions.
    shared_model = LATransformer(dataclasses.replace(config, shared_reference=True)).eval().to(device)
    shared_model.load_state_dict(model.state_dict())
    reference = shared_model.reference_kv(cond[:1])
    # The sampler's pass asks for the first predictor's logits only (the last layer's queries and
    # the head run for that one position); "pass_all_logits" is the same pass computing every
    # target position's logits, as before that change, timed for the ratio.
    first = sampling_steps(largest).positions[:, :1, 1]
    timed = {
        "pass": lambda: model.prefill(cache, cond, target, pose, largest, outputs=first),
        "pass_all_logits": lambda: model.prefill(cache, cond, target, pose, largest),
        "naive_step": lambda: model(cond, target, pose, largest),
        "condition_pass": lambda: model.prefill(model.new_cache(batch, device=device), cond, target, pose, full_region,
                                                mask="ar", length=c + 1),
        "reference_kv": lambda: shared_model.reference_kv(cond[:1]),
        "shared_pass": lambda: shared_model.prefill(shared_model.new_cache(batch, device=device), cond, target, pose, largest,
                                                    reference=reference, outputs=first),
    }
    times = {name: [] for name in timed}
    for _ in range(repeats):  # interleaved rounds
        for name, fn in timed.items():
            times[name].append(timed_once(fn))
    med = {name: statistics.median(values) for name, values in times.items()}
    pass_s, naive_step_s, condition_pass_s = med["pass"], med["naive_step"], med["condition_pass"]
    reference_kv_s, shared_pass_s = med["reference_kv"], med["shared_pass"]
    del shared_model, reference
    model.prefill(cache, cond, target, pose, largest)  # a clean cache for the steps below
    schedule = sampling_steps(largest)
    step_times = []
    for s in range(1, min(step_repeats + 1, schedule.positions.shape[1])):
        pairs = schedule.positions[:, s]  # (B, 2): the sampler's real steps, one or two positions
        tokens = target.gather(1, (pairs - 1).clamp_min(0))
        step_times.append(timed_once(lambda: model.step(cache, pairs, tokens, schedule.valid[:, s])))
    step_s = statistics.median(step_times)
    # The vanilla sampler's steps run one position each.
    vanilla_cache = model.new_cache(batch, device=device)
    model.prefill(vanilla_cache, cond, target, pose, full_region, mask="ar", length=c + 1)
    vanilla_times = []
    for j in range(1, step_repeats + 1):
        positions = torch.full((batch,), j, device=device)
        vanilla_times.append(timed_once(lambda: model.step(vanilla_cache, positions, target[:, j - 1])))
    vanilla_step_s = statistics.median(vanilla_times)

    result = {
        "preset": preset, "batch": batch, "params": sum(p.numel() for p in model.parameters()),
        "seq_len": config.seq_len, "num_condition": c, "tokens": n,
        "parallel_pass_s": pass_s, "parallel_pass_all_logits_s": med["pass_all_logits"],
        "condition_pass_s": condition_pass_s, "cached_step_s": step_s,
        "vanilla_step_s": vanilla_step_s,
        "naive_step_s": naive_step_s,
        "shared_reference": {"reference_kv_once_per_video_s": reference_kv_s, "parallel_pass_s": shared_pass_s,
                             "saving_s_per_frame": (pass_s - shared_pass_s) / batch},
        # Work in position-forwards (one position through every layer): the arithmetic, and the
        # sequential steps, which is what latency pays for.
        "cached_vanilla_work": {"positions_in_pass": c + 1, "sequential_steps": n - 1},
        "cached_vanilla_s_per_frame": (condition_pass_s + (n - 1) * vanilla_step_s) / batch,
        "naive_vanilla_s_per_frame": n * naive_step_s / batch,
        "rates": {},
    }
    if check == "all":
        result["cached_vanilla_measured_s_per_frame"] = timed_once(lambda: sample_vanilla(model, cond, pose)) / batch
    for i, (name, region) in enumerate(regions.items()):
        steps = sampling_steps(region).positions.shape[1]  # = region tokens (the longest in the batch)
        region_tokens = int(region.flatten(1).sum(1).max())
        row = {
            "region_rate": float(region.float().mean()), "region_tokens_max": region_tokens,
            "cached_steps": steps,
            "cached_local_work": {"positions_in_pass": config.seq_len, "sequential_steps": steps - 1,
                                  "positions_in_steps_max": int(sampling_steps(region).valid[:, 1:].sum(dim=(1, 2)).max())},
            "cached_local_s_per_frame": (pass_s + (steps - 1) * step_s) / batch,
            "naive_local_s_per_frame": region_tokens * naive_step_s / batch,
        }
        if check == "all" or (check == "smallest" and i == 0):
            row["cached_local_measured_s_per_frame"] = timed_once(
                lambda: sample_local(model, cond, target, pose, region)) / batch
        if check == "all" and i == 0:
            naive_k = 3
            row["naive_local_measured_first_steps_s_per_frame"] = timed_once(
                lambda: sample_naive(model, cond, target, pose, region, max_steps=naive_k)) / naive_k \
                * region_tokens / batch
        row["cached_local_shared_reference_s_per_frame"] = (
            row["cached_local_s_per_frame"] - result["shared_reference"]["saving_s_per_frame"])
        row["naive_local_over_naive_vanilla"] = row["naive_local_s_per_frame"] / result["naive_vanilla_s_per_frame"]
        row["naive_local_over_cached_local"] = row["naive_local_s_per_frame"] / row["cached_local_s_per_frame"]
        row["cached_vanilla_over_cached_local"] = result["cached_vanilla_s_per_frame"] / row["cached_local_s_per_frame"]
        result["rates"][name] = row
    return result


def bench_train_step(preset: str, batch: int, repeats: int) -> dict:
    """Seconds for one training step (LA forward, loss, backward, AdamW) at 32% regions."""
    config = transformer_preset(preset, codebook_size=CODEBOOK[preset])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LATransformer(config).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    n = config.num_tokens
    cond = torch.randint(0, config.codebook_size, (batch, n), generator=g)
    target = torch.randint(0, config.codebook_size, (batch, n), generator=g)
    pose = torch.rand(batch, 13, 3, generator=g)
    region = box_regions(batch, config.grid, 0.32, g)

    def step():
        with torch.enable_grad():
            loss = model.loss(model(cond, target, pose, region), target, region)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    step()  # warm-up (optimizer state)
    return {"preset": preset, "batch": batch, "threads": torch.get_num_threads(),
            "train_step_s": median_time(step, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["small", "paper-256"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of pass timings (paper-256 at batch 8: 1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (a lent GPU); times wait for the device")
    parser.add_argument("--out", default="benchmarks/results/sampling.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    results = []
    started = time.perf_counter()
    for preset in args.presets:
        small = preset == "small"
        for batch in args.batches:
            # paper-256 at batch 8: one round (a full pass there takes 10-20 s on this CPU).
            res = bench(preset, batch, args.repeats if small or batch == 1 else 1, step_repeats=20 if small else 8,
                        check="all" if small else ("smallest" if batch == 1 else "none"), device=device)
            results.append(res)
            print(json.dumps(res, indent=1), flush=True)
    train = []
    if "small" in args.presets and device.type == "cpu":  # the CPU thread-count probe
        for threads in sorted({1, 2, args.threads}):
            torch.set_num_threads(threads)
            train.append(bench_train_step("small", 8, args.repeats))
        torch.set_num_threads(args.threads)
    print(json.dumps(train), flush=True)
    record = {
        "command": "python " + " ".join(sys.argv),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
                    "load_average_at_end": os.getloadavg()},
        "total_s": time.perf_counter() - started,
        "results": results,
        "train_step": train,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out} in {record['total_s']:.0f} s")


if __name__ == "__main__":
    main()
