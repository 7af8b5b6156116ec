"""Inception-v3 pool3 features for FID, from local weights only (nothing is downloaded).

FID (Heusel et al., 2017) compares the statistics of the 2048-d average-pooled features of
Inception-v3 ("pool3") on real and generated images. Its reference numbers come from the
TensorFlow graph of 2015-12-05; the widely used PyTorch port of that graph ships its weights as a
state dict of torchvision's Inception3 layout with four blocks changed to match the graph:

- Mixed_5b/5c/5d and Mixed_6b..6e: the branch's 3x3 average pool leaves the padding out of the
  average (count_include_pad=False);
- Mixed_7b: the same in its average pool;
- Mixed_7c: a 3x3 max pool instead of the average pool in its pool branch.

This module builds that network (our code, from the published architecture) up to pool3 and loads
such a state dict from a safetensors file, strictly: every key of the network must be present with
its shape, and no key may be left over except the classifier's (fc.*, unused for pool3) and
BatchNorm's num_batches_tracked counters. To make the file from the port's .pth on a machine that
has it: `safetensors.torch.save_file(torch.load(PTH), "inception-fid.safetensors")`.

Input: uint8 (n, H, W, 3) images; resized to 299x299 (bilinear) and scaled to [-1, 1], as the port.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelFileError

log = logging.getLogger(__name__)

__all__ = ["InceptionPool3", "InceptionFeatures", "FEATURE_DIM"]

FEATURE_DIM = 2048
INPUT_SIZE = 299
IGNORED_KEY_PREFIXES = ("fc.", "AuxLogits.")


class BasicConv2d(nn.Module):
    """conv (no bias) + BatchNorm (eps 0.001) + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    """The pool branch's 3x3 average, stride 1, padding left out of the average (the TF graph)."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | pool-1x1 (64 + 64 + 96 + pool_features)."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg_pool(x)),
        ], dim=1)


class InceptionB(nn.Module):
    """35 -> 17 reduction: 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2 (384 + 96 + in)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], dim=1)


class InceptionC(nn.Module):
    """17x17 block with factorized 7x7 convs (192 x 4 channels out)."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], dim=1)


class InceptionD(nn.Module):
    """17 -> 8 reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2 (320 + 192 + in)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], dim=1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3 / 3x1 branches (320 + 768 + 768 + 192 = 2048 out).

    pool: "avg" (Mixed_7b, padding left out of the average) or "max" (Mixed_7c in the TF graph).
    """

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], dim=1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], dim=1)
        pooled = _avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], dim=1)


class InceptionPool3(nn.Module):
    """Inception-v3 as in FID's graph, up to the 2048-d global average pool.

    forward: (n, 3, 299, 299) float in [-1, 1] -> (n, 2048).
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (n, 64, 147, 147)
        x = F.max_pool2d(x, 3, stride=2)  # (n, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (n, 192, 71, 71)
        x = F.max_pool2d(x, 3, stride=2)  # (n, 192, 35, 35)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)  # ends (n, 2048, 8, 8)
        return x.mean(dim=(2, 3))  # (n, 2048)

    def load_strict(self, state: dict[str, torch.Tensor], source: str = "<state dict>") -> None:
        """Load a state dict: all of this network's keys with their shapes, nothing else but the
        classifier's keys and BatchNorm counters. ModelFileError naming the keys otherwise."""
        own = {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
        ignored = [k for k in state if k.startswith(IGNORED_KEY_PREFIXES) or k.endswith("num_batches_tracked")]
        wanted = {k: v for k, v in state.items() if k not in ignored}
        missing = sorted(set(own) - set(wanted))
        unexpected = sorted(set(wanted) - set(own))
        wrong = sorted(k for k in set(own) & set(wanted) if tuple(own[k].shape) != tuple(wanted[k].shape))
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing keys ({', '.join(missing[:5])}"
                            f"{' ...' if len(missing) > 5 else ''})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected keys ({', '.join(unexpected[:5])}"
                            f"{' ...' if len(unexpected) > 5 else ''})")
        if wrong:
            problems.append("wrong shapes: " + ", ".join(
                f"{k} {tuple(wanted[k].shape)} != {tuple(own[k].shape)}" for k in wrong[:5]))
        if problems:
            raise ModelFileError(f"{source}: not Inception-v3 FID weights: " + "; ".join(problems))
        counters = {k: v for k, v in self.state_dict().items() if k.endswith("num_batches_tracked")}
        self.load_state_dict({**wanted, **counters}, strict=True)


class InceptionFeatures:
    """Callable uint8 images (n, H, W, 3) -> float64 pool3 features (n, 2048), for `evaluate_model`."""

    def __init__(self, network: InceptionPool3, *, device: str | torch.device | None = None, batch_size: int = 32):
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.network = network.to(self.device).eval()
        self.batch_size = int(batch_size)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, device: str | torch.device | None = None,
                  batch_size: int = 32) -> "InceptionFeatures":
        """Load weights from a local safetensors file (see the module docstring)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such Inception weights file")
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from exc
        network = InceptionPool3()
        network.load_strict(state, str(path))
        log.info("Inception-v3 FID weights from %s", path)
        return cls(network, device=device, batch_size=batch_size)

    @torch.inference_mode()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected uint8 (n, H, W, 3) images, got {images.dtype} {images.shape}")
        out = []
        for start in range(0, len(images), self.batch_size):
            x = torch.from_numpy(images[start:start + self.batch_size]).to(self.device)
            x = x.permute(0, 3, 1, 2).float() / 255.0  # (n, 3, H, W) in [0, 1]
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
            out.append(self.network(2.0 * x - 1.0).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))
