"""The transformer's inputs from images, regions and poses: one step that inference, evaluation,
test-time tuning and training all take.

For a batch of references (B, 3, S, S) in [-1, 1], the pixel regions to generate (B, S, S) and the
poses (B, 13, 3) in crop pixels, `model_inputs` gives:
- the condition tokens: the reference encoded alone (no region), the first block of the
  transformer's sequence (DESIGN.md section 5);
- the known tokens and the clean features z: the reference encoded *with* the region, so that
  outside it every token and feature depends only on pixels outside it (the two-stream property,
  DESIGN.md section 4). The sampler keeps the known tokens outside the region; the decoder's Eq. 4
  takes z there;
- the token region: the pixel region max-pooled to the token grid (True = generate);
- the poses normalized to [0, 1] as the PointMLP reads them; the reference pose only for a model
  that takes it.
"""
from __future__ import annotations

import dataclasses

import torch


def normalize_pose(pose: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 13, 3) x, y in pixels of the SxS crop + confidence -> x / S, y / S in [0, 1] (joints off
    the crop are clamped to its border), confidence unchanged."""
    xy = (pose[..., :2] / float(size)).clamp(0.0, 1.0)
    return torch.cat([xy, pose[..., 2:3]], dim=-1)


@dataclasses.dataclass(frozen=True)
class ModelInputs:
    """What the LA transformer and Eq. 4 need for a batch (see the module docstring)."""

    condition: torch.Tensor  # (B, h, w) long: the reference's tokens, encoded without a region
    token_region: torch.Tensor  # (B, h, w) bool, True = generate
    target_pose: torch.Tensor  # (B, 13, 3) normalized
    reference_pose: torch.Tensor | None  # (B, 13, 3) normalized, or None for a model without it
    known: torch.Tensor | None = None  # (B, h, w) long: the reference's tokens encoded with the region
    z: torch.Tensor | None = None  # (B, D, h, w): the reference's clean features, encoded with the region

    @property
    def cond(self) -> torch.Tensor:
        """The condition tokens as the transformer's sequence takes them, (B, N)."""
        return self.condition.flatten(1)


def model_inputs(tokenizer, reference: torch.Tensor, region: torch.Tensor, target_pose: torch.Tensor,
                 reference_pose: torch.Tensor, *, needs_reference_pose: bool,
                 condition: torch.Tensor | None = None, known: bool = True) -> ModelInputs:
    """The transformer's inputs for references, regions and poses.

    reference: (B, 3, S, S) in [-1, 1]; region: (B, S, S) bool pixel region (True = generate);
    target_pose, reference_pose: (B, 13, 3) x, y in crop pixels + confidence. needs_reference_pose:
    whether the transformer reads the reference pose (`config.needs_reference_pose`). condition:
    the reference's tokens encoded alone, when the caller already has them (the Animator encodes
    its one reference once a video). known: also encode the reference with the region (the known
    tokens and z; training, which encodes its target instead, leaves this off).
    """
    size = reference.shape[-1]
    region = region.bool()
    if condition is None:
        _, condition, _ = tokenizer.encode(reference)  # (B, h, w): no region
    known_tokens = z = None
    if known:
        # The clean stream: outside the region, tokens and features see only outside pixels.
        _, known_tokens, z = tokenizer.encode(reference, region)  # (B, h, w), (B, D, h, w)
    return ModelInputs(
        condition=condition,
        token_region=tokenizer.token_region(region),
        target_pose=normalize_pose(target_pose.float(), size),
        reference_pose=normalize_pose(reference_pose.float(), size) if needs_reference_pose else None,
        known=known_tokens,
        z=z,
    )
