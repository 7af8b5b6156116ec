"""Checkpoints of a training run (`out/checkpoints/step-*`, the run folder's layout in `run.py`)
and its published model (`out/model/`, a model folder as inference loads it).

A checkpoint is written to a temporary folder, then renamed: it is complete or absent, and
`checkpoints/latest` names the newest. `state.pt` is our own dict of tensors and plain values,
written by `torch.save` and read back with `weights_only=True`: loading it never runs pickled code.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import ModelFileError
from ..fileio import atomic_output
from ..nn.pretrained import CONFIG_NAME, WEIGHTS_NAME, load_weights, save_config, save_weights, unwrap

STATE_NAME = "state.pt"
LATEST_NAME = "latest"


def checkpoint_dir(out: str | os.PathLike) -> Path:
    """Where a run keeps its checkpoints."""
    return Path(out) / "checkpoints"


def latest_checkpoint(out: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint folder of a run, or None.

    Reads `checkpoints/latest`; if it is missing or names a folder that is gone, falls back to the
    highest-numbered folder holding a state file (folders appear only when complete).
    """
    root = checkpoint_dir(out)
    pointer = root / LATEST_NAME
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / STATE_NAME).is_file():
            return candidate
    found = sorted(p for p in root.glob("step-*") if (p / STATE_NAME).is_file()) if root.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(
    out: str | os.PathLike,
    step: int,
    *,
    model: torch.nn.Module,
    state: dict[str, Any],
    extra_modules: dict[str, torch.nn.Module] | None = None,
    keep: int = 2,
) -> Path:
    """Write checkpoint `step` atomically (temp folder + rename), point `latest` at it, refresh
    `out/model/`, and delete all but the newest `keep` checkpoints. Returns the folder."""
    root = checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-step-{step:08d}-", dir=root))
    try:
        inner = unwrap(model)
        save_config(inner.config, tmp / CONFIG_NAME)
        save_weights(inner, tmp / WEIGHTS_NAME)
        for name, module in (extra_modules or {}).items():
            save_weights(module, tmp / f"{name}.safetensors")
        with atomic_output(tmp / STATE_NAME) as part:
            torch.save(state, part)
        if final.exists():  # the same step saved twice (e.g. a signal right after a periodic save)
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with atomic_output(root / LATEST_NAME) as part:
        part.write_text(final.name + "\n")
    publish_model(out, final)
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and p != final)
    for stale in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def publish_model(out: str | os.PathLike, checkpoint: Path) -> Path:
    """Copy a checkpoint's config + weights to `out/model/`, replacing the folder in one rename
    (there is a moment with no `model/`, never one with mixed files)."""
    out = Path(out)
    target = out / "model"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-model-", dir=out))
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copy2(checkpoint / name, tmp / name)
    old = out / ".model-old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(
    folder: Path,
    *,
    model: torch.nn.Module,
    extra_modules: dict[str, torch.nn.Module] | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint's weights into the (unwrapped) modules, strictly; return its state dict."""
    load_weights(unwrap(model), folder / WEIGHTS_NAME)
    for name, module in (extra_modules or {}).items():
        load_weights(unwrap(module), folder / f"{name}.safetensors")
    try:
        return torch.load(folder / STATE_NAME, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ModelFileError(f"{folder / STATE_NAME}: not a readable training state ({exc})") from exc
