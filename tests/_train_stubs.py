"""Tiny stand-ins for the training tests: a pair dataset, a VQ tokenizer and a transformer with
the interfaces the training loops use. They keep the loop tests fast and independent of the real
networks' sizes; tests of the real networks at tiny configs live beside them when available.
"""
from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from ilat_video.nn.pretrained import PretrainedMixin


class TinyPairs(Dataset):
    """Deterministic pairs: a coloured square ("person") on a gradient, moved between frames.

    Sample i is a pure function of (seed, i), so any sampler order gives reproducible data.
    """

    def __init__(self, size: int = 16, length: int = 32, seed: int = 0):
        self.size, self.length, self.seed = size, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s] / max(1, s - 1)
        base = np.stack([xx, yy, 1 - xx], 0) * rng.uniform(0.3, 1.0, (3, 1, 1)) * 2 - 1
        colour = rng.uniform(-1, 1, (3, 1, 1))
        side = max(2, s // 4)
        images, poses, region = [], [], np.zeros((s, s), bool)
        for _ in range(2):
            x0, y0 = rng.integers(0, s - side, 2)
            img = base.copy()
            img[:, y0 : y0 + side, x0 : x0 + side] = colour
            images.append(img.astype(np.float32))
            pose = np.zeros((13, 3), np.float32)
            pose[:, 0] = x0 + rng.uniform(0, side, 13)
            pose[:, 1] = y0 + rng.uniform(0, side, 13)
            pose[:, 2] = 1.0
            poses.append(pose)
            region[max(0, y0 - 1) : y0 + side + 1, max(0, x0 - 1) : x0 + side + 1] = True
        return {
            "reference": torch.from_numpy(images[0]),
            "target": torch.from_numpy(images[1]),
            "reference_pose": torch.from_numpy(poses[0]),
            "target_pose": torch.from_numpy(poses[1]),
            "region": torch.from_numpy(region),
        }


class TinyPairStream(IterableDataset):
    """An endless stream over TinyPairs indices drawn from a seeded generator (like SyntheticPairs)."""

    def __init__(self, size: int = 16, seed: int = 0):
        self.size, self.seed = size, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id
        rng = np.random.default_rng([self.seed, worker])
        pairs = TinyPairs(self.size, length=1 << 30, seed=self.seed)
        while True:
            yield pairs[int(rng.integers(0, 1 << 30))]


@dataclasses.dataclass
class TinyTokenizerConfig:
    image_size: int = 16
    codebook_size: int = 16
    channels: int = 8
    factor: int = 4


class TinyTokenizer(PretrainedMixin, nn.Module):
    """A VQ autoencoder with the TSVQGAN training interface (no two-stream convs: not leak-free)."""

    config_class = TinyTokenizerConfig

    def __init__(self, config: TinyTokenizerConfig | None = None):
        super().__init__()
        self.config = config = config or TinyTokenizerConfig()
        c, f = config.channels, config.factor
        self.encoder = nn.Sequential(nn.Conv2d(3, c, f, stride=f), nn.ReLU(), nn.Conv2d(c, c, 1))
        self.codebook = nn.Embedding(config.codebook_size, c)
        nn.init.uniform_(self.codebook.weight, -1, 1)
        self.decoder = nn.Sequential(nn.ConvTranspose2d(c, c, f, stride=f), nn.ReLU())
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    @property
    def last_layer(self) -> torch.Tensor:
        return self.out.weight

    @property
    def quantizer(self):
        """What the training code reads of TSVQGAN's quantizer: the codes as used, (K, c)."""
        return types.SimpleNamespace(codes=lambda: self.codebook.weight)

    def token_region(self, region: torch.Tensor) -> torch.Tensor:
        grid = self.config.image_size // self.config.factor
        return F.adaptive_max_pool2d(region[:, None].float(), grid)[:, 0] > 0

    def _quantize(self, z):
        flat = z.permute(0, 2, 3, 1)  # (B, h, w, c)
        dist = (flat.unsqueeze(-2) - self.codebook.weight).pow(2).sum(-1)  # (B, h, w, K)
        indices = dist.argmin(-1)
        z_q = self.codebook(indices).permute(0, 3, 1, 2)
        return z_q, indices

    def encode(self, image, region=None):
        z = self.encoder(image)
        z_q, indices = self._quantize(z)
        return z_q, indices, z

    def decode(self, z_q, z=None, region=None):
        if region is not None and z is not None:
            m = self.token_region(region)[:, None].to(z_q.dtype)
            z_q = z_q * m + z * (1 - m)
        return torch.tanh(self.out(self.decoder(z_q)))

    def decode_indices(self, indices, z=None, region=None):
        return self.decode(self.codebook(indices).permute(0, 3, 1, 2), z, region)

    def forward(self, image, region=None):
        z_q, indices, z = self.encode(image, region)
        loss = F.mse_loss(z_q, z.detach()) + 0.25 * F.mse_loss(z, z_q.detach())
        z_st = z + (z_q - z).detach()
        return self.decode(z_st, z, region), loss, {"indices": indices}


@dataclasses.dataclass
class TinyTransformerConfig:
    codebook_size: int = 16
    num_tokens: int = 16
    width: int = 32
    dropout: float = 0.1


class TinyTransformer(PretrainedMixin, nn.Module):
    """Predicts each target token from the condition, the pose and the previous target token."""

    config_class = TinyTransformerConfig

    def __init__(self, config: TinyTransformerConfig | None = None):
        super().__init__()
        self.config = config = config or TinyTransformerConfig()
        w = config.width
        self.token = nn.Embedding(config.codebook_size + 1, w)  # + a start token
        self.cond = nn.Embedding(config.codebook_size, w)
        self.pose = nn.Linear(39, w)
        self.position = nn.Parameter(torch.zeros(config.num_tokens, w))
        self.mlp = nn.Sequential(nn.LayerNorm(w), nn.Linear(w, 2 * w), nn.GELU(), nn.Dropout(config.dropout),
                                 nn.Linear(2 * w, config.codebook_size))

    def forward(self, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None, mask="la"):
        b, n = target_tokens.shape
        start = torch.full((b, 1), self.config.codebook_size, dtype=torch.long, device=target_tokens.device)
        previous = torch.cat([start, target_tokens[:, :-1]], 1)
        h = self.token(previous) + self.cond(cond_tokens) + self.position + self.pose(target_pose.flatten(1))[:, None]
        return self.mlp(h)  # (B, N, K)

    def loss(self, logits, target_tokens, region, weights=None):
        from ilat_video.nn.transformer import LATransformer

        return LATransformer.loss(logits, target_tokens, region, weights)  # the real loss: a pure function


def seeded_tokenizer(seed: int = 0, **config) -> TinyTokenizer:
    """A TinyTokenizer whose initial weights depend only on `seed`."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TinyTokenizer(TinyTokenizerConfig(**config))


def seeded_transformer(seed: int = 0, **config) -> TinyTransformer:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TinyTransformer(TinyTransformerConfig(**config))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each training test on one intra-op thread. The 2 cores here are shared by several
    sessions; with 2 threads per process, tiny ops spend most of their time waiting for each other
    (measured: a 3-step tiny TS-VQGAN run took 21 s on 2 threads, 3.4 s on 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
