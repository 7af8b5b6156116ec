"""PointMLP: a pose as one token per joint (paper section 3.2, Fig. 2).

Each joint's normalized (x, y, confidence) goes through 3 linear layers with ReLU between them;
a learned embedding per joint says which joint the token is. A joint that is not visible
(confidence <= 0) has no meaningful coordinates (detectors leave zeros, stale values or NaN), so
its MLP output is replaced by a learned "missing" embedding, and its coordinates never enter the
MLP at all (a NaN there would otherwise poison the gradients through 0 * NaN).
"""
from __future__ import annotations

import torch
from torch import nn


class PointMLP(nn.Module):
    """Pose (B, J, 3) -> joint tokens (B, J, dim).

    pose: float (B, J, 3) = x / width, y / height in [0, 1] and a confidence in [0, 1].
    """

    def __init__(self, dim: int, hidden: int, num_joints: int = 13):
        super().__init__()
        self.num_joints = num_joints
        self.mlp = nn.Sequential(
            nn.Linear(3, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, dim),
        )
        self.joint_embedding = nn.Parameter(torch.zeros(num_joints, dim))
        self.missing_embedding = nn.Parameter(torch.zeros(dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # The hidden layers keep PyTorch's default (Kaiming-uniform) init: with the small normal
        # init used for the rest of the transformer, three ReLU layers fed values in [0, 1] pass
        # on ~1e-5 of the coordinates and the pose hardly trains. The output layer and the
        # embeddings start at the scale of the token embeddings.
        for layer in self.mlp[:-1]:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        nn.init.normal_(self.mlp[-1].weight, std=0.02)
        nn.init.zeros_(self.mlp[-1].bias)
        nn.init.normal_(self.joint_embedding, std=0.02)
        nn.init.normal_(self.missing_embedding, std=0.02)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        if pose.dim() != 3 or pose.shape[1:] != (self.num_joints, 3):
            raise ValueError(f"pose must be (B, {self.num_joints}, 3), got {tuple(pose.shape)}")
        visible = pose[..., 2:3] > 0  # (B, J, 1); NaN confidence counts as not visible
        clean = torch.where(visible, torch.nan_to_num(pose, nan=0.0), torch.zeros_like(pose))
        features = self.mlp(clean)  # (B, J, dim)
        features = torch.where(visible, features, self.missing_embedding.to(features.dtype))
        return features + self.joint_embedding
