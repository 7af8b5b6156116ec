"""The decoder trained on what a transformer samples (`--sampled-from`; not in the paper).

For each batch of pairs: the LA transformer's greedy tokens and expected codes for the region, as
the pipeline samples them (`conditioning.model_inputs`, `sampling.sample_codes`), decoded by the
decoder being trained with Eq. 4 and composed as the pipeline composes them (the reference's own
pixels where the model kept the reference's token), against the pair's target. The decoder then
learns the inputs it gets at animation time, not only the codes of real images.
"""
from __future__ import annotations

import torch
from torch import nn

from ..conditioning import model_inputs
from ..errors import DatasetError
from ..nn.pretrained import unwrap
from ..regions import changed_region, paste_outside, region_mse
from ..sampling import region_codes, sample_codes


@torch.no_grad()
def sample_for_decoder(tokenizer: nn.Module, transformer: nn.Module, batch: dict[str, torch.Tensor],
                       device: torch.device) -> dict[str, torch.Tensor]:
    """What the pipeline hands the decoder for a batch of pairs: the transformer's greedy region
    tokens and expected codes (`sampling.sample_codes`, as the pipeline samples), the reference's clean
    features z and the changed region it pastes into, with the pair's target to learn.

    Returns reference, target (B, 3, S, S); region (B, S, S) bool; token_region (B, h, w); z
    (B, D, h, w); codes {"expected", "tokens"}: (B, D, h, w) each; changed (B, S, S) bool.
    """
    missing = {"reference", "target", "reference_pose", "target_pose", "region"} - set(batch)
    if missing:
        raise DatasetError(f"--sampled-from needs pairs with poses and a region; the data lacks {sorted(missing)}")
    model = unwrap(tokenizer)
    was_training = model.training
    model.eval()  # the quantizer's usage statistics follow training images only
    try:
        reference = batch["reference"].to(device)
        region = batch["region"].to(device).bool()
        inputs = model_inputs(model, reference, region, batch["target_pose"].to(device),
                              batch["reference_pose"].to(device),
                              needs_reference_pose=transformer.config.needs_reference_pose)
        tokens, expected = sample_codes(model, transformer, inputs, expected=True)
    finally:
        model.train(was_training)
    token_region = inputs.token_region
    return {
        "reference": reference, "target": batch["target"].to(device), "region": region,
        "token_region": token_region, "z": inputs.z,
        "codes": {"expected": expected, "tokens": region_codes(tokens, model.quantizer.codes(), token_region)},
        "changed": changed_region(region, tokens, inputs.condition, inputs.known),
    }


def sampled_loss(model: nn.Module, sampled: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The mean squared error inside the region (images mapped to [0, 1]) of the frames the
    pipeline composes from `sample_for_decoder`'s codes: the decoded frame (clamped to [-1, 1]) where
    the model changed a token, the reference's pixels elsewhere (`regions.paste_outside`), for the
    expected codes and for the tokens. Returns {"expected": mse, "tokens": mse} (differentiable in the decoder)."""
    losses = {}
    for name, codes in sampled["codes"].items():
        frames = unwrap(model).decode(codes, z=sampled["z"], region=sampled["token_region"]).float().clamp(-1, 1)
        composed = paste_outside(frames, sampled["reference"], sampled["changed"])
        losses[name] = region_mse(composed, sampled["target"], sampled["region"])
    return losses
