"""Square frames: iLAT draws the whole person in the model's square crop (the paper's setting).

The reference crop is encoded once per test-time view; per batch of frames, each frame's region is
the union of the reference pose's and the target pose's skeletons, `conditioning.model_inputs`
gives the transformer's inputs, the LA transformer samples the region's tokens (cached local AR)
and the tokenizer decodes with Eq. 4; `RenderOptions` chooses the background, the decoding, the
views, the tuning on the reference and keep-still (all measured in `docs/results.md`).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import numpy as np
import torch

from .conditioning import model_inputs
from .crop import image_to_tensor, tensor_to_image
from .options import RenderOptions
from .personalize import personalize_decoder
from .personalize import personalize_transformer as tune_transformer
from .regions import (
    changed_region,
    paste_outside,
    paste_still,
    token_region,
    union_region,
)
from .sampling import sample_and_decode
from .views import View, average_views, view_list


@torch.inference_mode()
def square_frames(tokenizer, transformer, reference_crop: np.ndarray, reference_pose_crop: np.ndarray,
                  target_crop: np.ndarray, options: RenderOptions, *, batch_size: int = 8, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """uint8 (S, S, 3) frames of the reference crop's person in each target pose, in order.

    reference_crop: uint8 (S, S, 3); reference_pose_crop: (13, 3) and target_crop: (T, 13, 3) in
    its pixels. Frames are made `batch_size` at a time; `seed` seeds the sampler and the tuning.
    """
    device = next(tokenizer.parameters()).device
    size = reference_crop.shape[0]
    generator = torch.Generator(device=device).manual_seed(int(seed))
    reference = image_to_tensor(reference_crop)[None].to(device)  # (1, 3, S, S)
    reference_pose = torch.from_numpy(reference_pose_crop)[None].to(device)  # (1, 13, 3) pixels
    # The transformer, then the decoder, tuned on this reference, or the shipped ones.
    transformer = tune_transformer(tokenizer, transformer, reference, reference_pose,
                                   steps=options.personalize_transformer, seed=seed)
    tokenizer = personalize_decoder(tokenizer, transformer, reference, reference_pose,
                                    steps=options.personalize, seed=seed)
    views = {view: _ViewOfReference.encode(tokenizer, transformer, view, reference, reference_pose)
             for view in view_list(options.views, tokenizer.downsample_factor // 2)}
    sampling = options.sampling(generator)
    total = len(target_crop)
    for start in range(0, total, batch_size):
        poses = target_crop[start:start + batch_size]  # (B, 13, 3)
        region = np.stack([union_region(reference_pose_crop, p, size, size) for p in poses])
        region = torch.from_numpy(region).to(device)  # (B, S, S)
        target = torch.from_numpy(poses).to(device)
        images = average_views(
            lambda view: views[view].render(tokenizer, transformer, region, target, options, sampling),
            list(views))
        if options.keep_still is not None:
            images = paste_still(images, reference, region, reference_pose_crop[None], poses,
                                 tolerance=options.keep_still)
        for image in images:
            yield tensor_to_image(image)
        if progress is not None:
            progress(min(start + len(poses), total), total)


@dataclasses.dataclass(frozen=True)
class _ViewOfReference:
    """The reference as one test-time view sees it, encoded once per video: the image, its tokens
    encoded alone, its pose in pixels and, for a shared-reference model, the keys and values of its
    positions (they see nothing else)."""

    view: View
    image: torch.Tensor  # (1, 3, S, S)
    condition: torch.Tensor  # (1, h, w)
    pose: torch.Tensor  # (1, 13, 3) pixels
    reference_kv: object

    @classmethod
    def encode(cls, tokenizer, transformer, view: View, reference: torch.Tensor,
               reference_pose: torch.Tensor) -> "_ViewOfReference":
        image = view.images(reference)
        _, condition, _ = tokenizer.encode(image)  # (1, h, w)
        kv = transformer.reference_kv(condition.flatten(1)) if transformer.config.shared_reference else None
        return cls(view, image, condition, view.poses(reference_pose, reference.shape[-1]), kv)

    def render(self, tokenizer, transformer, region: torch.Tensor, target_poses: torch.Tensor,
               options: RenderOptions, sampling: dict) -> torch.Tensor:
        """The batch's frames (B, 3, S, S) made from the inputs as this view sees them."""
        b, size = len(target_poses), self.image.shape[-1]
        region = self.view.images(region)
        inputs = model_inputs(tokenizer, self.image.expand(b, -1, -1, -1), region,
                              self.view.poses(target_poses, size), self.pose.expand(b, -1, -1),
                              needs_reference_pose=transformer.config.needs_reference_pose,
                              condition=self.condition.expand(b, -1, -1))
        tokens, images = sample_and_decode(tokenizer, transformer, inputs, expected=options.decode == "expected",
                                           reference_kv=self.reference_kv, **sampling)  # (B, h, w), (B, 3, S, S)
        if options.background == "unchanged":
            return paste_outside(images, self.image, changed_region(region, tokens, self.condition, inputs.known))
        if options.background == "reference":
            return paste_outside(images, self.image, region)
        return images


def token_region_rate(reference_pose: np.ndarray, pose: np.ndarray, size: int, grid) -> float:
    """The share of the token grid that a frame's region covers."""
    return float(token_region(union_region(reference_pose, pose, size, size), tuple(grid)).mean())
