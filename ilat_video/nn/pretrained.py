"""Saving and loading model folders: `config.json` + `model.safetensors`, strictly, never pickled.

A model class that wants `save_pretrained` / `from_pretrained` derives from `PretrainedMixin`,
sets `config_class` to its config dataclass, and keeps that config as `self.config`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file

from ..errors import ModelFileError
from ..fileio import atomic_output

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

C = TypeVar("C")


def config_to_dict(config) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict (tuples become lists)."""
    return dataclasses.asdict(config)


def config_from_dict(config_class: type[C], values: dict[str, Any], source: str = "<dict>") -> C:
    """Build a config dataclass from a dict, refusing unknown fields and restoring tuples."""
    names = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ModelFileError(f"{source}: unknown config fields for {config_class.__name__}: {unknown}")
    fixed = {}
    for key, value in values.items():
        default = names[key].default
        if isinstance(value, list) and isinstance(default, tuple):
            value = tuple(value)
        fixed[key] = value
    try:
        return config_class(**fixed)
    except (TypeError, ValueError) as exc:  # a required field is missing, or a value is invalid
        raise ModelFileError(f"{source}: {exc}") from exc


def save_config(config, path: str | os.PathLike) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(config_to_dict(config), indent=2) + "\n")


def load_config(config_class: type[C], path: str | os.PathLike) -> C:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: missing config file")
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(values, dict):
        raise ModelFileError(f"{path}: expected a JSON object of config fields")
    return config_from_dict(config_class, values, source=str(path))


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module inside DistributedDataParallel / torch.compile wrappers."""
    while True:
        if hasattr(module, "module") and isinstance(module.module, torch.nn.Module):
            module = module.module
        elif hasattr(module, "_orig_mod"):
            module = module._orig_mod
        else:
            return module


def save_weights(module: torch.nn.Module, path: str | os.PathLike) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in unwrap(module).state_dict().items()}
    with atomic_output(path) as tmp:
        save_file(state, str(tmp))


def load_weights(module: torch.nn.Module, path: str | os.PathLike, *, missing_ok: tuple[str, ...] = ()) -> None:
    """Load safetensors weights strictly: every key present, no extra key, every shape equal.

    missing_ok: key prefixes the file may lack (a model grown by new parts, e.g. a transformer
    given pose maps); those parameters keep the module's own values.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: missing weights file")
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from exc
    expected = module.state_dict()
    missing = sorted(k for k in set(expected) - set(state) if not k.startswith(missing_ok))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in set(expected) & set(state)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if wrong_shape:
            parts.append(f"wrong shapes {wrong_shape}")
        raise ModelFileError(f"{path}: weights do not match the config: " + "; ".join(parts))
    module.load_state_dict(state, strict=not missing_ok)


class PretrainedMixin:
    """`save_pretrained(dir)` / `from_pretrained(dir)` for a module with a dataclass `config`."""

    config_class: type = None  # set by subclasses

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_config(self.config, folder / CONFIG_NAME)
        save_weights(self, folder / WEIGHTS_NAME)
        log.info("saved %s to %s", type(self).__name__, folder)
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, map_location: str | torch.device = "cpu"):
        folder = Path(folder)
        if not folder.is_dir():
            raise ModelFileError(f"{folder}: no such model folder")
        config = load_config(cls.config_class, folder / CONFIG_NAME)
        model = cls(config)
        load_weights(model, folder / WEIGHTS_NAME)
        model.to(map_location)
        model.eval()
        return model
