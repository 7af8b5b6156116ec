"""Finding and loading trained models: device choice, model and run folders, fit checks.

Three kinds of folder hold a trained network:
- a *model folder*: `config.json` + `model.safetensors` (one network);
- a *run folder*: what training writes, with the published model in `model/`;
- a *shipped model*: `tokenizer/` and `transformer/`, each a model folder (or a run), as
  `models/demo/`.
`model_folder` tells the first two apart; everything that takes a path to a network goes through it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import ModelFileError
from .pretrained import CONFIG_NAME, WEIGHTS_NAME
from .tokenizer import TSVQGAN
from .transformer import LATransformer


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: the one asked for, else CUDA, then MPS, then the CPU."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_folder(folder: str | os.PathLike) -> Path | None:
    """The model folder (config.json + model.safetensors) at `folder`, or in `folder/model` when
    `folder` is a training run; None when neither holds a config."""
    folder = Path(folder)
    for candidate in (folder, folder / "model"):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return None


def run_of(model_dir: Path) -> Path | None:
    """The training run a model folder was published from (`RUN/model`), or None."""
    return model_dir.parent if model_dir.name == "model" else None


def config_kind(folder: Path) -> str:
    """"tokenizer" or "transformer": what a model folder's config.json describes."""
    try:
        keys = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{folder / CONFIG_NAME}: not a readable JSON config ({exc})") from exc
    if isinstance(keys, dict) and "resolution" in keys:
        return "tokenizer"
    if isinstance(keys, dict) and "num_layers" in keys:
        return "transformer"
    raise ModelFileError(f"{folder / CONFIG_NAME}: neither a tokenizer nor a transformer config")


def check_fit(tokenizer, transformer, name: str) -> None:
    """ModelFileError unless the transformer samples the tokenizer's codes on its token grid."""
    tok, tr = tokenizer.config, transformer.config
    if tr.codebook_size != tok.codebook_size:
        raise ModelFileError(f"{name}: the transformer expects {tr.codebook_size} codes, the tokenizer has "
                             f"{tok.codebook_size}")
    if tuple(tr.grid) != tuple(tok.token_grid):
        raise ModelFileError(f"{name}: the transformer expects a {tuple(tr.grid)} token grid, the tokenizer "
                             f"makes {tuple(tok.token_grid)}")


def load_tokenizer(folder: str | os.PathLike, *, device: str | torch.device | None = "cpu",
                   what: str = "a tokenizer") -> TSVQGAN:
    """The TS-VQGAN of a model folder or run, in eval mode. `what` names the folder in the error."""
    found = model_folder(folder)
    if found is None or config_kind(found) != "tokenizer":
        raise ModelFileError(f"{folder}: not {what} model folder ({CONFIG_NAME} + {WEIGHTS_NAME}) or its run")
    return TSVQGAN.from_pretrained(found).to(_device(device)).eval()


def load_transformer(folder: str | os.PathLike, tokenizer, *,
                     device: str | torch.device | None = "cpu") -> LATransformer:
    """The LA transformer, in eval mode, of a shipped model folder (its transformer/), a transformer
    model folder or a training run, checked against `tokenizer` (ModelFileError when there is none
    or it does not fit)."""
    folder = Path(folder)
    found = model_folder(folder / "transformer") or model_folder(folder)
    if found is None or config_kind(found) != "transformer":
        raise ModelFileError(f"{folder}: no transformer (a model folder with transformer/, a transformer's "
                             "config.json + model.safetensors, or its run)")
    transformer = LATransformer.from_pretrained(found)
    check_fit(tokenizer, transformer, f"{found} + the tokenizer")
    return transformer.to(_device(device)).eval()


def load_models(folder: str | os.PathLike, *, tokenizer: str | os.PathLike | None = None,
                device: str | torch.device | None = "cpu", transformer_required: bool = True):
    """(tokenizer, transformer) in eval mode from model folders.

    folder: a shipped model folder (tokenizer/ and transformer/, as `Animator.from_pretrained`);
    or a transformer model folder or training run folder (holding model/), with `tokenizer` naming
    the tokenizer's; or, when `transformer_required` is False, a tokenizer's folder or run alone
    (the transformer is then None: enough for "copy" and "reconstruction"). `tokenizer` overrides
    a shipped folder's own tokenizer. Raises ModelFileError when a part is missing or the two do
    not fit together.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no such model folder")
    tokenizer_dir = transformer_dir = None
    if (folder / "transformer").is_dir() or (folder / "tokenizer").is_dir():
        transformer_dir = model_folder(folder / "transformer")
        tokenizer_dir = model_folder(folder / "tokenizer")
    else:
        single = model_folder(folder)
        if single is None:
            raise ModelFileError(f"{folder}: not a model folder (expected tokenizer/ and transformer/, "
                                 "config.json, or a run's model/config.json)")
        if config_kind(single) == "tokenizer":
            tokenizer_dir = single
        else:
            transformer_dir = single
    if tokenizer is not None:
        tokenizer_dir = model_folder(tokenizer)
        if tokenizer_dir is None or config_kind(tokenizer_dir) != "tokenizer":
            raise ModelFileError(f"{tokenizer}: not a tokenizer model folder or run")
    if tokenizer_dir is None:
        raise ModelFileError(f"{folder}: no tokenizer (config.json + model.safetensors); "
                             "a transformer-only folder needs --tokenizer")
    if transformer_dir is None and transformer_required:
        raise ModelFileError(f"{folder}: no transformer; only 'copy' and 'reconstruction' run without one")
    tok = TSVQGAN.from_pretrained(tokenizer_dir)
    tr = None if transformer_dir is None else LATransformer.from_pretrained(transformer_dir)
    if tr is not None:
        check_fit(tok, tr, f"{tokenizer_dir} + {transformer_dir}")
    device = _device(device)
    return tok.to(device).eval(), None if tr is None else tr.to(device).eval()


def load_shipped(folder: str | os.PathLike) -> tuple[TSVQGAN, LATransformer]:
    """`folder/tokenizer` and `folder/transformer` (each config.json + model.safetensors), on the CPU,
    as `Animator.from_pretrained` takes them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no such model folder")
    for part in ("tokenizer", "transformer"):
        if not (folder / part).is_dir():
            raise ModelFileError(f"{folder}: missing the {part}/ subfolder (config.json + model.safetensors)")
    return TSVQGAN.from_pretrained(folder / "tokenizer"), LATransformer.from_pretrained(folder / "transformer")


def _device(device: str | torch.device | None) -> torch.device | None:
    return torch.device(device) if device is not None else None
