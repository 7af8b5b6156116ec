"""Personalising the decoder on the reference: a few steps of test-time fine-tuning. Not in the paper.

The tokenizer's decoder was trained on many people; the one being animated is in the reference
image. Before the first frame, a copy of the decoder is tuned on that image alone: the transformer
is asked for the reference's own pose inside the reference's own skeleton region, and its expected
codes there (what `--decode expected` renders), with the reference's clean features around them
(Eq. 4), are decoded and pulled towards the reference's pixels inside the region (squared error),
over the test-time views of the reference (`views.py`). The encoder, the codebook and the
transformer are untouched, so every token the pipeline samples stays the same; only how the codes
are drawn changes, towards this person's colours and edges. Measured in `docs/history.md`
("Personalising on the reference").

    tuned = personalize_decoder(tokenizer, transformer, reference, reference_pose, steps=50)
    frames = tuned.decode(codes, z=z, region=token_region)

The transformer can be personalised too (`personalize_transformer`, before the decoder): a copy is
tuned with its own training loss (cross-entropy on the region's tokens, teacher forced, LA mask)
on pairs made from the reference alone: one test-time view as the reference, another as the
target (the mirrored view is a real change of pose, left and right swapped; the shifted ones move
the person by part of a token), so it sees this person's tokens in a pose it was not shown.
"""
from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from .conditioning import model_inputs
from .errors import IlatError
from .options import MAX_TUNING_STEPS
from .regions import region_mse, union_region
from .sampling import sample_codes
from .views import view_list

log = logging.getLogger(__name__)

DEFAULT_LEARNING_RATE = 1e-4
TRANSFORMER_LEARNING_RATE = 1e-5
TRANSFORMER_BATCH = 8
DEFAULT_TUNE_VIEWS = 8


def tuning_examples(tokenizer, transformer, reference: torch.Tensor, reference_pose: torch.Tensor, *,
                    views: int = DEFAULT_TUNE_VIEWS) -> list[tuple[torch.Tensor, ...]]:
    """Per test-time view of the reference: (codes (1, D, h, w), clean features z (1, D, h, w), token
    region (1, h, w), target image (1, 3, S, S), pixel region (1, S, S)); the codes are the
    transformer's expected codes for the reference's own pose, decoded with Eq. 4 as
    `tokenizer.decode(codes, z=z, region=token_region)` (the reference's clean features outside).

    reference: (1, 3, S, S) in [-1, 1]; reference_pose: (1, 13, 3) in its pixels."""
    size = reference.shape[-1]
    pose = reference_pose[0].detach().cpu().numpy().astype(np.float32)
    region = torch.from_numpy(union_region(pose, pose, size, size))[None].to(reference.device)  # (1, S, S)
    if not region.any():
        raise IlatError("cannot personalize: the reference pose has no joint inside the image")
    examples = []
    with torch.no_grad():
        for view in view_list(views, tokenizer.downsample_factor // 2):
            ref, reg = view.images(reference), view.images(region)
            seen_pose = view.poses(reference_pose.float(), size)
            inputs = model_inputs(tokenizer, ref, reg, seen_pose, seen_pose,
                                  needs_reference_pose=transformer.config.needs_reference_pose)
            _, codes = sample_codes(tokenizer, transformer, inputs, expected=True)
            examples.append((codes.float(), inputs.z.float(), inputs.token_region, ref.float(), reg))
    return examples


def personalize_decoder(tokenizer, transformer, reference: torch.Tensor, reference_pose: torch.Tensor, *,
                        steps: int, lr: float = DEFAULT_LEARNING_RATE, views: int = DEFAULT_TUNE_VIEWS,
                        seed: int = 0):
    """A copy of `tokenizer` whose decoder was tuned `steps` Adam steps (learning rate `lr`, one view
    of the reference per step, in an order `seed` fixes) on the reference alone; `tokenizer` itself
    is left as it was. steps 0 returns `tokenizer`.

    reference: (1, 3, S, S) in [-1, 1]; reference_pose: (1, 13, 3) in its pixels (x, y, confidence).
    Runs with gradients even when called under `torch.inference_mode()`."""
    if not _wanted(steps, reference):
        return tokenizer
    with torch.inference_mode(False), torch.enable_grad():
        # Tensors made under inference mode cannot take part in autograd: work on clones.
        reference, reference_pose = reference.clone(), reference_pose.clone()
        examples = [tuple(t.clone() for t in e)
                    for e in tuning_examples(tokenizer, transformer, reference, reference_pose, views=views)]
        tuned = copy.deepcopy(tokenizer)
        order = torch.randint(len(examples), (steps,), generator=torch.Generator().manual_seed(int(seed)))

        def loss(step):
            codes, z, cells, target, region = examples[order[step]]
            return region_mse(tuned.decode(codes, z=z, region=cells).float(), target, region)

        first, last = _adam(tuned, tuned.decoder, loss, steps, lr)
    log.info("personalized the decoder: %d steps, region error %.5f -> %.5f", steps, first, last)
    return tuned


def view_pair_examples(tokenizer, transformer, reference: torch.Tensor, reference_pose: torch.Tensor, *,
                       views: int = DEFAULT_TUNE_VIEWS) -> dict[str, torch.Tensor]:
    """The transformer's teacher-forcing inputs for every ordered pair (A, B) of distinct test-time
    views of the reference: view A as the reference (condition tokens, reference pose), view B as
    the target (its tokens encoded with the union region of both poses, its pose). Returns stacked
    "cond" (P, N), "target" (P, N), "target_pose" (P, 13, 3) and "reference_pose" (P, 13, 3)
    (normalized) and "region" (P, h, w), P = views * (views - 1)."""
    if views < 2:
        raise ValueError(f"personalizing the transformer needs at least 2 views, got {views}")
    size = reference.shape[-1]
    chosen = view_list(views, tokenizer.downsample_factor // 2)
    with torch.no_grad():
        images = [view.images(reference) for view in chosen]
        poses = [view.poses(reference_pose.float(), size) for view in chosen]
        alone = [tokenizer.encode(image)[1] for image in images]
        parts = {"cond": [], "target": [], "target_pose": [], "reference_pose": [], "region": []}
        for a in range(len(chosen)):
            for b in range(len(chosen)):
                if a == b:
                    continue
                region = union_region(poses[a][0].cpu().numpy(), poses[b][0].cpu().numpy(), size, size)
                region = torch.from_numpy(region)[None].to(reference.device)
                inputs = model_inputs(tokenizer, images[a], region, poses[b], poses[a], needs_reference_pose=True,
                                      condition=alone[a], known=False)
                _, tokens, _ = tokenizer.encode(images[b], region)
                parts["cond"].append(inputs.cond)
                parts["target"].append(tokens.flatten(1))
                parts["target_pose"].append(inputs.target_pose)
                parts["reference_pose"].append(inputs.reference_pose)
                parts["region"].append(inputs.token_region)
    return {k: torch.cat(v) for k, v in parts.items()}


def personalize_transformer(tokenizer, transformer, reference: torch.Tensor, reference_pose: torch.Tensor, *,
                            steps: int, lr: float = TRANSFORMER_LEARNING_RATE, batch_size: int = TRANSFORMER_BATCH,
                            views: int = DEFAULT_TUNE_VIEWS, seed: int = 0):
    """A copy of `transformer` tuned `steps` Adam steps (learning rate `lr`, `batch_size` view
    pairs a step, drawn as `seed` fixes) on pairs of the reference's own views
    (`view_pair_examples`) with its training loss; `transformer` itself is left as it was. steps 0
    returns `transformer`. reference, reference_pose: as `personalize_decoder`."""
    if not _wanted(steps, reference):
        return transformer
    with torch.inference_mode(False), torch.enable_grad():
        reference, reference_pose = reference.clone(), reference_pose.clone()
        examples = {k: v.clone() for k, v in
                    view_pair_examples(tokenizer, transformer, reference, reference_pose, views=views).items()}
        tuned = copy.deepcopy(transformer)
        generator = torch.Generator().manual_seed(int(seed))
        needs_pose = tuned.config.needs_reference_pose

        def loss(step):
            pick = torch.randperm(len(examples["cond"]), generator=generator)[:batch_size].to(reference.device)
            ex = {k: v[pick] for k, v in examples.items()}
            logits = tuned(ex["cond"], ex["target"], ex["target_pose"], ex["region"], mask="la",
                           reference_pose=ex["reference_pose"] if needs_pose else None)
            return tuned.loss(logits, ex["target"], ex["region"])

        first, last = _adam(tuned, tuned, loss, steps, lr)
    log.info("personalized the transformer: %d steps, loss %.4f -> %.4f", steps, first, last)
    return tuned


def _adam(model, part, loss, steps: int, lr: float) -> tuple[float, float]:
    """Train `part` (a module of `model`, or all of it) `steps` Adam steps on loss(step) (call under
    grad mode), the rest of `model` frozen; leave every weight frozen and the model in eval mode.
    Returns the first and the last step's loss."""
    for p in model.parameters():
        p.requires_grad_(False)
    params = list(part.parameters())
    for p in params:
        p.requires_grad_(True)
    part.train()
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for step in range(steps):
        value = loss(step)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        losses.append(float(value.detach()))
    for p in params:
        p.requires_grad_(False)
    model.eval()
    return losses[0], losses[-1]


def _wanted(steps: int, reference) -> bool:
    """Whether to tune at all (steps > 0), after checking the request."""
    if not 0 <= steps <= MAX_TUNING_STEPS:
        raise IlatError(f"personalize steps must be between 0 (off) and {MAX_TUNING_STEPS}, got {steps}")
    if steps and (reference.dim() != 4 or reference.shape[0] != 1):
        raise ValueError(f"personalize one reference (1, 3, S, S) at a time, got {tuple(reference.shape)}")
    return steps > 0
