"""Evaluation results: per subset and per method, paired differences, the JSON document, the
markdown table."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from ..errors import IlatError
from ..fileio import atomic_output
from ..nn.loading import pick_device
from .metrics import METRICS, PSNR_CAP_DB

SCHEMA = "ilat-video/evaluation/1"


@dataclasses.dataclass
class SubsetResult:
    """One subset's numbers: metrics[scope][metric] = mean over its pairs."""

    seed: int
    pairs: int
    metrics: dict[str, dict[str, float]]
    seconds_per_frame: float  # wall time
    region_rate: float  # mean share of tokens in the token region
    scope_pairs: dict[str, int]  # pairs that count in each scope (a pair with no region pixel does not)
    cpu_seconds_per_frame: float = math.nan  # this process's CPU time: steadier than wall time on a busy machine
    per_pair: dict[str, dict[str, list[float]]] | None = None  # scope -> metric -> value per pair (NaN: none)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "pairs": self.pairs, "scope_pairs": self.scope_pairs,
                "metrics": json_numbers(self.metrics), "seconds_per_frame": json_number(self.seconds_per_frame),
                "cpu_seconds_per_frame": json_number(self.cpu_seconds_per_frame),
                "region_rate": json_number(self.region_rate),
                "per_pair": None if self.per_pair is None else {
                    scope: {m: [json_number(v) for v in values] for m, values in metrics.items()}
                    for scope, metrics in self.per_pair.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> "SubsetResult":
        """The inverse of `to_dict` (null numbers come back as NaN)."""
        def num(v):
            return math.nan if v is None else float(v)

        per_pair = d.get("per_pair")
        return cls(seed=int(d["seed"]), pairs=int(d["pairs"]), scope_pairs=d["scope_pairs"],
                   metrics={scope: {m: num(v) for m, v in ms.items()} for scope, ms in d["metrics"].items()},
                   seconds_per_frame=num(d["seconds_per_frame"]), region_rate=num(d["region_rate"]),
                   cpu_seconds_per_frame=num(d.get("cpu_seconds_per_frame")),
                   per_pair=None if per_pair is None else {
                       scope: {m: [num(v) for v in values] for m, values in ms.items()}
                       for scope, ms in per_pair.items()})


@dataclasses.dataclass
class MethodResult:
    """A method's results over the subsets; `examples`: its first frames (uint8) of the first subset."""

    method: str
    model: str | None
    subsets: list[SubsetResult]
    fid: float | None = None
    examples: list[np.ndarray] = dataclasses.field(default_factory=list, repr=False)

    def summary(self) -> dict:
        """{"metrics": {scope: {metric: {"mean", "std"}}}, "seconds_per_frame": {...}, "region_rate": {...}}."""
        metrics = {scope: {metric: mean_std([s.metrics[scope][metric] for s in self.subsets])
                           for metric in METRICS} for scope in self.subsets[0].metrics}
        return {"metrics": metrics,
                "seconds_per_frame": mean_std([s.seconds_per_frame for s in self.subsets]),
                "cpu_seconds_per_frame": mean_std([s.cpu_seconds_per_frame for s in self.subsets]),
                "region_rate": mean_std([s.region_rate for s in self.subsets])}

    def to_dict(self) -> dict:
        summary = self.summary()
        return {"method": self.method, "model": self.model, "pairs": sum(s.pairs for s in self.subsets),
                "metrics": json_numbers(summary["metrics"]),
                "seconds_per_frame": json_numbers(summary["seconds_per_frame"]),
                "cpu_seconds_per_frame": json_numbers(summary["cpu_seconds_per_frame"]),
                "region_rate": json_numbers(summary["region_rate"]),
                "fid": json_number(self.fid), "subsets": [s.to_dict() for s in self.subsets]}

    @classmethod
    def from_dict(cls, d: Mapping) -> "MethodResult":
        """A method's entry of a results file (`to_dict`), without its example frames."""
        return cls(method=d["method"], model=d.get("model"), fid=d.get("fid"),
                   subsets=[SubsetResult.from_dict(s) for s in d["subsets"]])


def load_results(path: str | os.PathLike) -> dict[str, MethodResult]:
    """The methods of a results file written by `ilat-video evaluate --out`, by name."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise IlatError(f"{path}: no such results file") from None
    except (OSError, ValueError) as error:
        raise IlatError(f"{path}: not a results file ({error})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise IlatError(f"{path}: not an ilat-video results file (expected schema {SCHEMA!r})")
    return {name: MethodResult.from_dict(entry) for name, entry in document["methods"].items()}


def mean_std(values: Sequence[float]) -> dict[str, float]:
    values = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if len(values) == 0:
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan}


def json_number(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def json_numbers(tree):
    if isinstance(tree, Mapping):
        return {k: json_numbers(v) for k, v in tree.items()}
    return json_number(tree)


def paired_difference(a: MethodResult, b: MethodResult, *, scope: str = "region", metric: str = "psnr") -> dict:
    """a minus b on the same pairs: per subset the mean of the per-pair differences, then mean and
    std (ddof 1) over the subsets, and the share of pairs where a is better (higher, or lower for
    MAE). Pairing removes the spread that comes from which pairs a subset holds."""
    if [s.seed for s in a.subsets] != [s.seed for s in b.subsets] or \
            [s.pairs for s in a.subsets] != [s.pairs for s in b.subsets]:
        raise ValueError("the two results are not on the same subsets")
    means, wins, counted = [], 0, 0
    for sa, sb in zip(a.subsets, b.subsets):
        if sa.per_pair is None or sb.per_pair is None:
            raise ValueError("per-pair values are missing")
        diff = np.asarray(sa.per_pair[scope][metric], np.float64) - np.asarray(sb.per_pair[scope][metric], np.float64)
        diff = diff[~np.isnan(diff)]
        if len(diff):
            means.append(float(diff.mean()))
            wins += int((diff < 0).sum() if metric == "mae" else (diff > 0).sum())
            counted += len(diff)
    stats = mean_std(means)
    return {"mean": stats["mean"], "std": stats["std"], "better_share": wins / counted if counted else math.nan,
            "pairs": counted}


def machine_info(device: str | torch.device | None = None) -> dict:
    """What the timings were measured on."""
    device = pick_device(device)
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "device": str(device), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    processor = cpu_name()
    if processor:
        info["cpu"] = processor
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def cpu_name() -> str | None:
    """The CPU's model name from /proc/cpuinfo, else what platform says (None if nothing)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def results_document(results: Sequence[MethodResult], *, data: str, pairs_per_subset: int, size: int,
                     settings: Mapping | None = None, machine: Mapping | None = None,
                     command: str | None = None) -> dict:
    """The JSON results: schema, when, command, machine, data, settings, one entry per method."""
    subset_seeds = [s.seed for s in results[0].subsets] if results else []
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "machine": dict(machine or machine_info()),
        "data": {"source": str(data), "split": "test", "pairs_per_subset": int(pairs_per_subset),
                 "subset_seeds": subset_seeds, "size": int(size)},
        "settings": dict(settings or {}),
        "metrics_note": ("PSNR (dB, capped at %g), SSIM (Gaussian window, sigma 1.5), MAE on [0, 1]; "
                         "mean over pairs per subset, then mean and std (ddof 1) over subsets" % PSNR_CAP_DB),
        "methods": {r.method: r.to_dict() for r in results},
        "paired": paired_table(results),
    }


def paired_table(results: Sequence[MethodResult], scope: str = "region") -> dict:
    """{"A - B": {metric: paired_difference}} of the first method against each other one."""
    out = {}
    if len(results) < 2 or any(r.subsets[0].per_pair is None for r in results):
        return out
    first = results[0]
    for other in results[1:]:
        out[f"{first.method} - {other.method}"] = {
            metric: json_numbers(paired_difference(first, other, scope=scope, metric=metric)) for metric in METRICS}
    return out


def _cell(stats: Mapping, digits: int) -> str:
    mean, std = stats.get("mean"), stats.get("std")
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


TABLE_COLUMNS = (  # (header, scope, metric, digits)
    ("region PSNR", "region", "psnr", 2), ("region SSIM", "region", "ssim", 3), ("region MAE", "region", "mae", 4),
    ("frame PSNR", "frame", "psnr", 2), ("frame SSIM", "frame", "ssim", 3), ("frame MAE", "frame", "mae", 4),
    ("outside PSNR", "outside", "psnr", 2),
)


def table_rows(document: Mapping) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the results table: one row per method, mean ± std over the subsets."""
    header = ["method", *[c[0] for c in TABLE_COLUMNS], "s/frame", "region rate", "FID"]
    rows = []
    for method, entry in document["methods"].items():
        row = [method]
        for _, scope, metric, digits in TABLE_COLUMNS:
            row.append(_cell(entry["metrics"].get(scope, {}).get(metric, {}), digits))
        row.append(_cell(entry["seconds_per_frame"], 4))
        rate = entry["region_rate"]["mean"]
        row.append("-" if rate is None else f"{100 * rate:.1f}%")
        row.append("-" if entry.get("fid") is None else f"{entry['fid']:.2f}")
        rows.append(row)
    return header, rows


def results_markdown(document: Mapping) -> str:
    """The results as a markdown table with the data, settings, machine and command."""
    header, rows = table_rows(document)
    data, machine = document["data"], document["machine"]
    lines = [
        f"Data: {data['source']} test split, {data['pairs_per_subset']} pairs x subsets {data['subset_seeds']}, "
        f"{data['size']}x{data['size']}. Mean ± std over the subsets.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if document.get("paired"):
        lines += ["", "Paired differences inside the region (same pairs; mean ± std over subsets; share of "
                      "pairs where the first method is better):", "",
                  "| difference | region PSNR | region SSIM | region MAE |", "|---|---:|---:|---:|"]
        for name, entry in document["paired"].items():
            cells = [f"{_cell(entry[m], d)} ({100 * entry[m]['better_share']:.0f}%)"
                     if entry[m]["mean"] is not None else "-" for m, d in (("psnr", 2), ("ssim", 3), ("mae", 4))]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Settings: " + ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                 for k, v in document["settings"].items() if v is not None) + ".",
        f"Machine: {machine.get('cpu', machine.get('platform'))}, device {machine['device']}, "
        f"torch {machine['torch']}, {machine['torch_threads']} threads.",
    ]
    if document.get("command"):
        lines.append(f"Command: `{document['command']}`")
    return "\n".join(lines) + "\n"


def write_json(path: str | os.PathLike, document: Mapping) -> Path:
    """Write `document` as JSON atomically (no partial file on error)."""
    return write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)
