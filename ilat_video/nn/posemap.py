"""Pose maps: a pose drawn onto the token grid, as one embedding per token position.

Not in the paper. The paper gives the transformer the target pose as 13 PointMLP tokens only, so
to know that a forearm passes through token (r, c) it must learn to turn coordinates into grid
positions, and to find the reference's forearm it must do the same for the reference. The demo
transformers never learned either at CPU scale (`experiments/results/probe_tokens_v3.md`: of the
region tokens that must change, v3 gets 4.6% right and copies the reference on 78%). A pose map
hands both over as an input: for every token cell, how close each bone and each joint of the pose
passes to the cell's centre. Added to the reference's tokens (with the reference pose) and to the
target positions (with the target pose) through one shared projection, the same body part gets the
same direction in both, which attention can match.

Features per cell, for a pose of J joints and the skeleton's bones B: exp(-d^2 / (2 sigma^2)), with
d the distance, in cells, from the cell's centre to each bone segment (B features) and to each
joint (J features), 0 for a bone or joint that is not visible. The projection starts at zero, so a
model grown from one without pose maps starts out computing exactly what it did.
"""
from __future__ import annotations

import torch
from torch import nn

from ..pose.skeleton import BONES


class PoseMap(nn.Module):
    """Pose (B, J, 3) normalized (x / width, y / height, confidence) -> (B, h * w, dim), raster order."""

    def __init__(self, dim: int, grid: tuple[int, int], num_joints: int = 13,
                 bones: tuple[tuple[int, int], ...] = BONES, sigma: float = 0.75):
        super().__init__()
        if any(max(a, b) >= num_joints for a, b in bones):
            raise ValueError(f"bones {bones} name joints beyond num_joints={num_joints}")
        self.grid = tuple(int(g) for g in grid)
        self.num_joints = num_joints
        self.sigma = float(sigma)
        h, w = self.grid
        rows, cols = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
        # Cell centres in cells (x, y): (N, 2). Buffers, not weights: never saved.
        self.register_buffer("centres", torch.stack([cols, rows], dim=-1).reshape(-1, 2), persistent=False)
        self.register_buffer("bones", torch.tensor(bones, dtype=torch.long).reshape(-1, 2), persistent=False)
        self.num_features = len(bones) + num_joints
        self.proj = nn.Linear(self.num_features, dim, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.proj.weight)

    def features(self, pose: torch.Tensor) -> torch.Tensor:
        """(B, J, 3) -> (B, N, len(bones) + J) float32 in [0, 1]."""
        if pose.dim() != 3 or pose.shape[1:] != (self.num_joints, 3):
            raise ValueError(f"pose must be (B, {self.num_joints}, 3), got {tuple(pose.shape)}")
        pose = pose.float()
        h, w = self.grid
        visible = pose[..., 2] > 0  # (B, J)
        # Invisible joints may hold NaN or junk: zero them before any arithmetic.
        xy = torch.where(visible[..., None], pose[..., :2], torch.zeros_like(pose[..., :2]))
        xy = xy * torch.tensor([w, h], dtype=xy.dtype, device=xy.device)  # in cells
        p = self.centres.to(xy.dtype)[None, :, None]  # (1, N, 1, 2)
        a, b = xy[:, self.bones[:, 0]], xy[:, self.bones[:, 1]]  # (B, nb, 2)
        ab = (b - a)[:, None]  # (B, 1, nb, 2)
        t = ((p - a[:, None]) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-8)
        nearest = a[:, None] + t.clamp(0.0, 1.0)[..., None] * ab  # (B, N, nb, 2)
        d_bone = ((p - nearest) ** 2).sum(-1)  # squared, (B, N, nb)
        d_joint = ((p - xy[:, None]) ** 2).sum(-1)  # (B, N, J)
        bone_visible = visible[:, self.bones[:, 0]] & visible[:, self.bones[:, 1]]  # (B, nb)
        scale = 2.0 * self.sigma ** 2
        bones = torch.exp(-d_bone / scale) * bone_visible[:, None].to(xy.dtype)
        joints = torch.exp(-d_joint / scale) * visible[:, None].to(xy.dtype)
        return torch.cat([bones, joints], dim=-1)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(pose).to(self.proj.weight.dtype))
