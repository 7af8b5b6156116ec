"""Vector quantizer of the TS-VQGAN tokenizer (paper Eq. 1): nearest code, straight-through.

    z_q, indices, loss, stats = quantizer(z)        z: (B, D, h, w) continuous codes
    codes = quantizer.lookup(indices)               indices (B, h, w) long -> (B, D, h, w)

Loss = ||sg(z) - e||^2 + beta ||z - sg(e)||^2 (codebook + commitment, VQ-VAE's beta = 0.25).

Keeping the codebook in use: with `l2_normalize`, both the encoder output and the codes live on the
unit sphere, so nearest code = largest cosine and no code can drift far away from the data (the
trick of ViT-VQGAN's factorized, l2-normalized codes). Optionally, codes whose running usage
share falls under `dead_code_threshold / codebook_size` are restarted on the batch vectors that
the codebook fits worst; this is deterministic (no random draw) and identical on every DDP rank
(usage counts are summed over ranks, the replacements come from rank 0).
"""
from __future__ import annotations

import logging

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

__all__ = ["VectorQuantizer", "codebook_stats"]


def codebook_stats(indices: torch.Tensor, codebook_size: int) -> dict[str, torch.Tensor]:
    """Usage of a batch of indices (any shape, long): perplexity (exp of the entropy of the code
    histogram; codebook_size = uniform use, 1 = one code) and the number of codes used."""
    counts = torch.bincount(indices.reshape(-1), minlength=codebook_size).to(torch.float32)
    p = counts / counts.sum().clamp_min(1)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return {"perplexity": entropy.exp(), "used_codes": (counts > 0).sum()}


class VectorQuantizer(nn.Module):
    """K codes of dimension D. Parameters: `codebook` (K, D). Buffer: `usage` (K,), the running
    share of assignments per code (sums to about 1), which decides dead-code restarts."""

    def __init__(self, codebook_size: int, code_dim: int, *, beta: float = 0.25, l2_normalize: bool = True,
                 restart_dead_codes: bool = False, dead_code_threshold: float = 0.03,
                 usage_decay: float = 0.9):
        super().__init__()
        self.codebook_size, self.code_dim = codebook_size, code_dim
        self.beta, self.l2_normalize = beta, l2_normalize
        self.restart_dead_codes = restart_dead_codes
        self.dead_code_threshold, self.usage_decay = dead_code_threshold, usage_decay
        self.codebook = nn.Parameter(torch.empty(codebook_size, code_dim))
        if l2_normalize:
            nn.init.normal_(self.codebook)
        else:  # taming's init
            nn.init.uniform_(self.codebook, -1.0 / codebook_size, 1.0 / codebook_size)
        self.register_buffer("usage", torch.full((codebook_size,), 1.0 / codebook_size))

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        """The encoder output in code space: l2-normalized over channels when codes are. (B, D, h, w)."""
        return F.normalize(z, dim=1) if self.l2_normalize else z

    def codes(self) -> torch.Tensor:
        """The codebook as used: (K, D), l2-normalized rows when `l2_normalize`."""
        return F.normalize(self.codebook, dim=1) if self.l2_normalize else self.codebook

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (B, h, w) long -> code vectors (B, D, h, w)."""
        return F.embedding(indices, self.codes()).permute(0, 3, 1, 2)

    @torch.no_grad()
    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each position. z: (B, D, h, w) in code space -> (B, h, w)."""
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, self.code_dim).float()  # (B*h*w, D)
        # In fp32 even under autocast: bf16 keeps 8 bits of mantissa, which reorders codes whose
        # scores differ by under 1%, and a token must not depend on the training precision.
        with torch.autocast(z.device.type, enabled=False):
            codes = self.codes().detach().float()
            # ||z||^2 is the same for every code: argmin ||z - e||^2 = argmax (2 z.e - ||e||^2).
            score = 2 * flat @ codes.t() - codes.pow(2).sum(1)
        b, _, h, w = z.shape
        return score.argmax(1).reshape(b, h, w)

    def forward(self, z: torch.Tensor):
        """z: (B, D, h, w) in code space (see `normalize`).

        Returns z_q (B, D, h, w) with straight-through gradients to z, indices (B, h, w) long,
        the codebook + commitment loss (scalar), and usage stats (perplexity, used_codes,
        dead_codes, restarted)."""
        restarted = 0
        if self.training and self.restart_dead_codes:
            restarted = self._restart_dead_codes(z)
        indices = self.nearest(z)
        codes = self.lookup(indices).to(z.dtype)
        loss = F.mse_loss(codes.float(), z.detach().float()) + self.beta * F.mse_loss(z.float(), codes.detach().float())
        z_q = z + (codes - z).detach()
        stats = codebook_stats(indices, self.codebook_size)
        stats["dead_codes"] = (self.usage < self.dead_code_threshold / self.codebook_size).sum()
        stats["restarted"] = torch.tensor(restarted)
        return z_q, indices, loss, stats

    @torch.no_grad()
    def _restart_dead_codes(self, z: torch.Tensor) -> int:
        indices = self.nearest(z)
        counts = torch.bincount(indices.reshape(-1), minlength=self.codebook_size).to(self.usage.dtype)
        distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if distributed:
            dist.all_reduce(counts)
        self.usage.mul_(self.usage_decay).add_(counts / counts.sum().clamp_min(1), alpha=1 - self.usage_decay)
        dead = torch.nonzero(self.usage < self.dead_code_threshold / self.codebook_size).reshape(-1)
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, self.code_dim).float()  # (B*h*w, D)
        n = min(int(dead.numel()), flat.shape[0] // 4)  # keep most of the batch as it is
        if n == 0:
            return 0
        dead = dead[:n]
        # The vectors the codebook fits worst: each becomes a new code, exactly at that vector.
        error = (flat - self.codes().float()[indices.reshape(-1)]).pow(2).sum(1)
        new = flat[error.topk(n).indices].to(self.codebook.dtype)
        if distributed:
            dist.broadcast(new, src=0)
        self.codebook.data[dead] = new
        self.usage[dead] = 1.0 / self.codebook_size  # a grace period before it can count as dead again
        log.debug("restarted %d dead codes", n)
        return n
