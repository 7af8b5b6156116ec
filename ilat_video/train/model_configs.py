"""The networks' configs as training builds and reads them: from a preset name or a config.json,
and the sizes a tokenizer's config fixes for the transformer trained on it (image size, codebook
size, token grid)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import IlatError, ModelFileError
from ..nn.pretrained import load_config
from ..nn.tokenizer import TokenizerConfig, tokenizer_preset
from ..nn.transformer import TransformerConfig, transformer_preset


def tokenizer_config_from(preset: str | os.PathLike) -> TokenizerConfig:
    """A TokenizerConfig from a preset name or a config.json path (IlatError if neither)."""
    path = Path(preset)
    if path.suffix == ".json" or path.is_file():
        return load_config(TokenizerConfig, path)
    try:
        return tokenizer_preset(str(preset))
    except (KeyError, ValueError) as exc:
        raise IlatError(f"unknown tokenizer preset {preset!r} ({exc})") from exc


def image_size_of(config) -> int:
    """The square input size of a tokenizer config."""
    for name in ("image_size", "resolution", "size"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
        if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
            return int(value[0])
    raise ModelFileError(f"cannot tell the image size from the tokenizer config {config!r}")


def codebook_size_of(config) -> int:
    """The number of codes of a tokenizer config."""
    for name in ("codebook_size", "num_codes", "n_embed"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise ModelFileError(f"cannot tell the codebook size from the tokenizer config {config!r}")


def transformer_config_from(preset: str | os.PathLike, tokenizer_config, reference_pose: bool,
                            pose_map: bool | None = None) -> TransformerConfig:
    """A TransformerConfig from a preset name or a config.json path, sized for the tokenizer
    (codebook size and token grid) and with the reference-pose tokens and pose maps on or off as
    asked (a config.json must agree; pose_map None: whatever the file says)."""
    codebook_size = codebook_size_of(tokenizer_config)
    grid = getattr(tokenizer_config, "token_grid", None)
    path = Path(preset)
    if path.suffix == ".json" or path.is_file():
        config = load_config(TransformerConfig, path)
        if config.use_reference_pose != reference_pose:
            raise IlatError(
                f"{path} has use_reference_pose={config.use_reference_pose} but the run asks for "
                f"{'--reference-pose' if reference_pose else '--no-reference-pose'}"
            )
        if pose_map is not None and config.pose_map != pose_map:
            raise IlatError(
                f"{path} has pose_map={config.pose_map} but the run asks for "
                f"{'--pose-map' if pose_map else '--no-pose-map'}"
            )
    else:
        overrides = {"use_reference_pose": reference_pose}
        if pose_map is not None:
            overrides["pose_map"] = pose_map
        if grid is not None:
            overrides["grid"] = tuple(grid)
        try:
            config = transformer_preset(str(preset), codebook_size=codebook_size, **overrides)
        except KeyError as exc:
            raise IlatError(f"unknown transformer preset {preset!r} ({exc})") from exc
    if config.codebook_size != codebook_size:
        raise ModelFileError(f"{preset}: the transformer config has codebook_size {config.codebook_size}, "
                             f"the tokenizer {codebook_size}")
    if grid is not None and tuple(config.grid) != tuple(grid):
        raise ModelFileError(f"{preset}: the transformer config has a {tuple(config.grid)} token grid, "
                             f"the tokenizer {tuple(grid)}")
    return config
