"""The methods evaluation compares: how each makes a target frame from a pair's reference and poses.

- "ilat": the paper's inference, as the Animator with `background="model"`: condition tokens from
  the reference encoded without a region; the reference encoded with the pair's union region for
  the known tokens and the clean features z outside (`conditioning.model_inputs`); `sample_local`
  (cached local AR, greedy unless top_k / temperature); Eq. 4 (codes inside the token region, z
  outside).
- "ilat-paste": "ilat" with the reference's own pixels outside the region (`regions.paste_outside`),
  as the Animator's `background="reference"`: the same inside the region, by construction.
- "ilat-unchanged": "ilat" with the reference's own pixels wherever the model kept the reference's
  token: outside the region, and inside it in the token cells where the generated token is the
  reference's own there, encoded alone or with the region (`regions.changed_region`, then
  `paste_outside`), as the Animator's default `background="unchanged"`. Not in the paper: Eq. 4
  re-renders those cells through the decoder.
- "ilat-expected": "ilat-unchanged" with the expected code rendered at each region position
  instead of the picked token's (`sampling.region_codes`), as the Animator's `decode="expected"`;
  the picked (greedy) tokens still decide the unchanged cells. Not in the paper.
- "vanilla": the paper's Taming: an `ar`-mask transformer samples all N tokens with
  `sample_vanilla` and all of them are decoded (no Eq. 4, no z outside).
- "taming-la": the paper's Taming*: the same `ar`-trained transformer sampled with the LA mask
  (`sample_local`) and decoded with Eq. 4, as "ilat".
- "copy": the reference itself (no model): the baseline a model must beat.
- "reconstruction": the tokenizer's bound: the true target tokens (the target encoded with the
  region, as in training) decoded with Eq. 4 and the reference's z outside, i.e. what a perfect
  transformer would give at inference.
- "reconstruction-unchanged": the same bound for "ilat-unchanged": the true target tokens, with the
  reference's own pixels wherever they are the reference's tokens (so a target equal to the
  reference comes out as the reference itself).

The local methods ("ilat*", "taming-la") take the Animator's `RenderOptions` for views,
personalising and keep-still; the method itself decides the background and the decoding.
"""
from __future__ import annotations

import torch

from ..conditioning import model_inputs
from ..options import RenderOptions
from ..personalize import personalize_decoder
from ..personalize import personalize_transformer as tune_transformer
from ..regions import changed_region, paste_outside, paste_still
from ..sampling import sample_and_decode, sample_vanilla
from ..views import average_views, view_list

METHODS = ("ilat", "ilat-paste", "ilat-unchanged", "ilat-expected", "vanilla", "taming-la", "copy",
           "reconstruction", "reconstruction-unchanged")
# cached local sampling, Eq. 4
LOCAL_METHODS = ("ilat", "ilat-paste", "ilat-unchanged", "ilat-expected", "taming-la")
BASELINE_METHODS = ("vanilla", "taming-la")  # need an ar-trained transformer
MODEL_METHODS = LOCAL_METHODS + ("vanilla",)  # need a transformer
# Methods that need --model's own transformer (the baseline methods bring theirs).
MAIN_MODEL_METHODS = tuple(m for m in MODEL_METHODS if m not in BASELINE_METHODS)


@torch.inference_mode()
def generate(method: str, tokenizer, transformer, batch: dict[str, torch.Tensor],
             options: RenderOptions | None = None, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """The target frames (B, 3, S, S) in [-1, 1] that `method` makes for a batch of pair samples
    (tensors stacked, on the models' device). See the module docstring for the methods. options:
    for the local methods, the views, personalising (each pair its own copies, tuned on its own
    reference) and keep-still of `RenderOptions`, and for the sampling methods top_k / temperature
    (greedy when neither); the other methods make one frame whatever they are."""
    options = options or RenderOptions(frame="square")
    reference = batch["reference"]
    if method == "copy":
        return reference.clone()
    if method in ("reconstruction", "reconstruction-unchanged"):
        return _reconstruction(method, tokenizer, batch)
    sampling = options.sampling(generator)
    if method == "vanilla":
        return _vanilla(tokenizer, transformer, batch, sampling)
    if method not in LOCAL_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if options.personalize or options.personalize_transformer:
        pairs = ({k: v[i:i + 1] for k, v in batch.items()} for i in range(len(reference)))
        frames = torch.cat([_personalized_frame(method, tokenizer, transformer, one, options, sampling) for one in pairs])
    else:
        frames = _local_views(method, tokenizer, transformer, batch, options.views, sampling)
    if options.keep_still is None:
        return frames
    return paste_still(frames, reference, batch["region"].bool(), batch["reference_pose"].cpu().numpy(),
                       batch["target_pose"].cpu().numpy(), tolerance=options.keep_still)


def _reconstruction(method: str, tokenizer, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    reference, region = batch["reference"], batch["region"].bool()
    _, known_indices, z = tokenizer.encode(reference, region)  # z: the clean reference features outside
    _, target_indices, _ = tokenizer.encode(batch["target"], region)  # what training targets
    images = tokenizer.decode_indices(target_indices, z=z, region=tokenizer.token_region(region)).clamp(-1, 1)
    if method == "reconstruction":
        return images
    _, reference_indices, _ = tokenizer.encode(reference)
    changed = changed_region(region, target_indices, reference_indices, known_indices)
    return paste_outside(images.float(), reference, changed)


def _vanilla(tokenizer, transformer, batch: dict[str, torch.Tensor], sampling: dict) -> torch.Tensor:
    inputs = model_inputs(tokenizer, batch["reference"], batch["region"], batch["target_pose"],
                          batch["reference_pose"], needs_reference_pose=transformer.config.needs_reference_pose,
                          known=False)
    tokens = sample_vanilla(transformer, inputs.cond, inputs.target_pose, reference_pose=inputs.reference_pose,
                            **sampling)
    return tokenizer.decode_indices(tokens.view_as(inputs.condition)).clamp(-1, 1)  # all tokens, no z


def _personalized_frame(method: str, tokenizer, transformer, one: dict[str, torch.Tensor], options: RenderOptions,
                        sampling: dict) -> torch.Tensor:
    """One pair's frame with copies of the models tuned on its own reference."""
    pose = one["reference_pose"].float()
    tuned_transformer = tune_transformer(tokenizer, transformer, one["reference"], pose,
                                         steps=options.personalize_transformer)
    tuned_tokenizer = personalize_decoder(tokenizer, tuned_transformer, one["reference"], pose,
                                          steps=options.personalize)
    return _local_views(method, tuned_tokenizer, tuned_transformer, one, options.views, sampling)


def _local_views(method: str, tokenizer, transformer, batch: dict[str, torch.Tensor], views: int,
                 sampling: dict) -> torch.Tensor:
    """A local method's frames, averaged over `views` test-time views (`views.py`)."""
    size = batch["reference"].shape[-1]

    def render(view):
        return _local_frames(method, tokenizer, transformer, view.images(batch["reference"]),
                             view.images(batch["region"].bool()), view.poses(batch["reference_pose"].float(), size),
                             view.poses(batch["target_pose"].float(), size), sampling)

    return average_views(render, view_list(views, tokenizer.downsample_factor // 2))


def _local_frames(method: str, tokenizer, transformer, reference: torch.Tensor, region: torch.Tensor,
                  reference_pose: torch.Tensor, target_pose: torch.Tensor, sampling: dict) -> torch.Tensor:
    """A local method's frames (B, 3, S, S) for one view of the batch."""
    inputs = model_inputs(tokenizer, reference, region, target_pose, reference_pose,
                          needs_reference_pose=transformer.config.needs_reference_pose)
    tokens, images = sample_and_decode(tokenizer, transformer, inputs, expected=method == "ilat-expected",
                                       **sampling)  # (B, h, w), (B, 3, S, S)
    if method in ("ilat-unchanged", "ilat-expected"):
        return paste_outside(images, reference, changed_region(region, tokens, inputs.condition, inputs.known))
    return paste_outside(images, reference, region) if method == "ilat-paste" else images
