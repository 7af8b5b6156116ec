"""Helpers the benchmark scripts share (they run as `python benchmarks/NAME.py`)."""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The package of this checkout, not whichever one is installed: run from another worktree (an older
# commit measured beside the newest), a benchmark imported the installed one, measured that, and
# stamped the worktree's commit on it.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cpu_name() -> str:
    """The CPU's model name (`ilat_video.eval.results.cpu_name`), or "unknown CPU"."""
    from ilat_video.eval.results import cpu_name as name

    return name() or "unknown CPU"


def code_version() -> str:
    """The commit measured, and the library files changed on top of it (several people share the tree)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--", "ilat_video").splitlines()]
    commit = git("rev-parse", "--short", "HEAD").strip()
    return commit + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def median_time(fn, repeats: int) -> float:
    """Median wall seconds of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_results(out: str | Path, result: dict, lines: list[str]) -> None:
    """Write a benchmark's record to OUT.json and its table (markdown lines) to OUT.md."""
    import json

    out = Path(out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


def synthetic_pair_batches(count: int, batch_size: int, split: str, seed: int, size: int = 64) -> list[dict]:
    """`count` batches of streamed synthetic pairs, as the training commands draw them."""
    from ilat_video.train.data_stream import open_batches
    from ilat_video.train.distributed import DistributedContext
    from ilat_video.train.transformer import TransformerTrainConfig

    config = TransformerTrainConfig(out="-", batch_size=batch_size, seed=seed, data_segment_steps=10_000)
    stream = open_batches(config, DistributedContext(), size, None, batch_size=batch_size, split=split)
    try:
        return [next(stream) for _ in range(count)]
    finally:
        stream.close()


def fine_tune(argv: list[str], prog: str, make_dataset) -> None:
    """`python benchmarks/NAME.py train --config CONFIG [--resume] [--threads N]`: fine-tune a
    transformer on `make_dataset(seed)` (an endless dataset of pair samples) through the Python API
    (`train.transformer.train_transformer(config, dataset=...)`; the CLI cannot take a dataset).
    Each data segment draws from its own seed, derived from the config's."""
    import argparse
    import dataclasses
    import json

    import torch

    from ilat_video.train.seeding import derive_seed
    from ilat_video.train.transformer import TransformerTrainConfig, train_transformer

    parser = argparse.ArgumentParser(prog=f"{prog} train")
    parser.add_argument("--config", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    raw = {k: v for k, v in json.loads(Path(args.config).read_text()).items() if not k.startswith("_")}
    config = TransformerTrainConfig(**raw, resume=args.resume)
    result = train_transformer(config, dataset=lambda segment: make_dataset(derive_seed(config.seed, segment)))
    print(dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result, flush=True)
