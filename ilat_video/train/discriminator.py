"""PatchGAN discriminator (Isola et al. 2017, as used by VQGAN): one real/fake logit per patch.

Kept with the training code: inference never builds it.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..nn.pretrained import PretrainedMixin


@dataclasses.dataclass
class DiscriminatorConfig:
    in_channels: int = 3
    base_channels: int = 64
    num_layers: int = 3  # stride-2 convs: 3 gives 70x70 receptive fields
    # "group": per-sample statistics, so one image's logits never depend on the rest of the batch
    # (real and fake go through in one batch, see TokenizerTrainer) and DDP has no buffers to sync.
    # "batch" is taming's choice; "none" for tiny test models.
    norm: str = "group"

    def __post_init__(self):
        if self.norm not in ("group", "batch", "none"):
            raise ValueError(f"norm must be 'group', 'batch' or 'none', got {self.norm!r}")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(32, channels // 4) or 1, channels)
    return nn.Identity()


class PatchDiscriminator(PretrainedMixin, nn.Module):
    """images (B, C, H, W) in [-1, 1] -> logits (B, 1, H', W'), one per overlapping patch."""

    config_class = DiscriminatorConfig

    def __init__(self, config: DiscriminatorConfig | None = None):
        super().__init__()
        self.config = config = config or DiscriminatorConfig()
        ch = config.base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(config.in_channels, ch, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for n in range(1, config.num_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < config.num_layers else 1  # the last block keeps the resolution
            layers += [
                nn.Conv2d(ch * prev, ch * mult, 4, stride=stride, padding=1, bias=config.norm == "none"),
                _norm(config.norm, ch * mult),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers.append(nn.Conv2d(ch * mult, 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*layers)
        self.apply(_init_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


def _init_weights(module: nn.Module) -> None:
    # DCGAN initialisation, as in pix2pix / taming.
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
