"""Training the LA transformer (paper 3.2-3.3, "Implementation Details").

The tokenizer is frozen. For a pair (reference, target) from one video with region = the union of
both poses' regions (DESIGN.md section 8), `conditioning.model_inputs` gives what inference gives
the transformer, and training adds the target's tokens to learn:
    condition tokens c = encode(reference) indices                       (no region)
    token region       = tokenizer.token_region(region)                  (B, h, w)
    poses              = (x / S, y / S, confidence), S the crop size      (B, 13, 3) in [0, 1]
    target tokens    t = encode(target, region) indices                  (clean outside the region)
The transformer sees [c, pose | t] under the LA attention mask and is trained with cross-entropy
on the outputs that predict region tokens only. `mask="ar"` trains the vanilla AR baseline (the
paper's Taming): plain causal attention over the target block and a loss on every target token.

AdamW(0.9, 0.95), weight decay 0.01 on matrices only, linear warmup then linear decay to 0 at the
last step (the paper: 10k warmup, 300k steps, lr 5e-5, batch 16).

    from ilat_video.train.transformer import TransformerTrainConfig, train_transformer
    train_transformer(TransformerTrainConfig(data="synthetic", tokenizer="runs/tok2/model", out="runs/lat"))
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from ..conditioning import model_inputs
from ..errors import DatasetError, IlatError, ModelFileError
from ..masks import flatten_region
from ..nn.loading import load_tokenizer, model_folder
from ..nn.pretrained import CONFIG_NAME, WEIGHTS_NAME, load_weights, unwrap
from ..nn.transformer import LATransformer
from ..regions import changed_region, paste_outside, region_mse
from ..sampling import region_codes, sample_local, sample_vanilla
from .data_stream import check_data_arg, first_batch, open_batches, prepare_data_once
from .distributed import DistributedContext, setup_distributed, teardown_distributed, wrap_ddp
from .model_configs import codebook_size_of, image_size_of, transformer_config_from
from .monitoring import CodebookUsage, region_overlay, save_image_grid
from .precision import autocast, warn_if_cpu_bf16_is_emulated
from .run import Progress, TrainingRun, TrainResult, check_positive
from .schedules import WarmupLinearDecay, set_lr
from .seeding import derive_seed, seeded_torch

log = logging.getLogger(__name__)

MASKS = ("la", "ar")


@dataclasses.dataclass
class TransformerTrainConfig:
    data: str = "synthetic"  # "synthetic", a Penn Action folder or a folder of videos
    tokenizer: str = "models/demo/tokenizer"  # a trained tokenizer's model folder (frozen here)
    out: str = "runs/transformer"
    preset: str = "small"  # a transformer preset name or a config.json path
    mask: str = "la"  # "la": local AR (iLAT); "ar": the vanilla AR baseline
    reference_pose: bool = False  # also feed the reference pose as condition tokens (official code)
    # Add both poses drawn onto the token grid to the token embeddings (`nn/posemap.py`; not in the
    # paper). With `init` from a model without them, the model grows them, starting at zero.
    pose_map: bool = False
    # Loss weight of the region tokens whose true target differs from the reference's token at the
    # same position (the ones that must change); 1 is the paper's plain mean. Not in the paper: the
    # demo transformers learned to copy the reference (benchmarks/results/probe_tokens_v3.md).
    changed_weight: float = 1.0
    # Also train the expected code that `--decode expected` renders: add this weight times the mean
    # squared distance, over the region, between sum_k p_k e_k (p the model's distribution, e the
    # tokenizer's codes) and the target token's code. 0 is the paper's plain cross-entropy. Not in
    # the paper (benchmarks/results/probe_soft.md).
    expected_weight: float = 0.0
    # Also train the frame `--decode expected` shows: add this weight times the squared error inside
    # the region (images in [0, 1]) of the expected codes under teacher forcing, decoded by the frozen
    # tokenizer with Eq. 4, with the reference's pixels where the model's pick is one of the
    # reference's tokens (as the pipeline composes it). 0: off. Not in the paper.
    decoded_weight: float = 0.0
    init: str | None = None  # start from this transformer (a model folder or a run folder) instead of the preset
    steps: int = 10_000
    batch_size: int = 16  # pairs per step and rank
    lr: float = 5e-5  # the paper's rate
    warmup_steps: int | None = None  # None: steps / 30 (the paper: 10k of 300k)
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 0.01
    grad_clip: float | None = 1.0
    resume: bool = False
    seed: int = 0
    num_workers: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    sample_every: int = 500
    sample_count: int = 4
    keep_checkpoints: int = 2
    max_minutes: float | None = None
    stop_at: int | None = None  # stop after this step; the LR schedule still follows `steps`
    device: str | None = None
    bf16: bool = True  # bf16 autocast on CUDA for the transformer (the tokenizer runs in fp32)
    cpu_bf16: bool = False  # the same on the CPU (opt-in: fast only with native bf16)
    data_segment_steps: int = 1000

    @property
    def needs_reference_pose(self) -> bool:
        """Whether the model takes the reference pose (as tokens, or for its pose maps)."""
        return self.reference_pose or self.pose_map

    def validate(self) -> None:
        if self.mask not in MASKS:
            raise IlatError(f"--mask must be one of {', '.join(MASKS)}, got {self.mask!r}")
        for name in ("steps", "batch_size", "lr", "sample_count", "data_segment_steps", "changed_weight"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name))
        for name in ("warmup_steps", "weight_decay", "grad_clip", "num_workers", "expected_weight",
                     "decoded_weight"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name), allow_zero=True)
        if self.decoded_weight and self.mask != "la":
            raise IlatError("--decoded-weight trains the frame the local pipeline composes (Eq. 4 around the "
                            "region): it needs --mask la")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise IlatError(f"AdamW betas must be in [0, 1), got ({self.beta1}, {self.beta2})")


def load_frozen_tokenizer(folder: str | os.PathLike, device: torch.device) -> nn.Module:
    """A trained tokenizer in eval mode with gradients off. `folder` is a model folder or a run
    folder holding `model/`."""
    return load_tokenizer(folder, device=device, what="a tokenizer").requires_grad_(False)


@torch.no_grad()
def tokenize_batch(tokenizer: nn.Module, batch: dict[str, torch.Tensor], device: torch.device, *,
                   needs_reference_pose: bool, known: bool = False) -> dict[str, torch.Tensor]:
    """The transformer's inputs for a batch of pairs and the target tokens it learns (see the module
    docstring): "cond", "target" (B, N); "token_region" (B, h, w); "target_pose", "reference_pose"
    (normalized; None unless needs_reference_pose); "region" (B, S, S); "target_z"; the images
    "reference_image", "target_image". known: also the reference encoded with the region ("known"
    tokens (B, h, w), "reference_z"), what the pipeline decodes around the region and pastes back
    where the model kept a reference token."""
    reference = batch["reference"].to(device, non_blocking=True)
    target = batch["target"].to(device, non_blocking=True)
    region = batch["region"].to(device, non_blocking=True).bool()
    reference_pose = batch["reference_pose"].to(device) if needs_reference_pose else None
    inputs = model_inputs(tokenizer, reference, region, batch["target_pose"].to(device), reference_pose,
                          needs_reference_pose=needs_reference_pose, known=known)
    _, target_tokens, target_z = tokenizer.encode(target, region)  # (B, h, w): clean outside the region
    out = {
        "cond": inputs.cond,  # (B, N)
        "target": target_tokens.flatten(1),  # (B, N)
        "target_z": target_z,
        "region": region,
        "token_region": inputs.token_region,
        "target_pose": inputs.target_pose,
        "reference_image": reference,
        "target_image": target,
        "reference_pose": inputs.reference_pose,
    }
    if known:
        out["known"], out["reference_z"] = inputs.known, inputs.z
    return out


def _sample_batch(config, size, dataset, ctx) -> dict[str, torch.Tensor]:
    """A fixed small batch for the sample grids: the test split when there is one."""
    single = DistributedContext(device=ctx.device)
    cfg = dataclasses.replace(config, num_workers=0)
    if dataset is None:
        try:
            return first_batch(open_batches(cfg, single, size, None, batch_size=config.sample_count, split="test",
                                            seed_part=4))
        except (DatasetError, TypeError):
            pass
    return first_batch(open_batches(cfg, single, size, dataset, batch_size=config.sample_count, seed_part=4))


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and embeddings (dim >= 2), not on biases and norm gains."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_transformer(config: TransformerTrainConfig, tokenizer: nn.Module, seed: int) -> nn.Module:
    """The transformer to train: from the preset, or from `init`'s weights (a warm start, e.g. after
    the tokenizer was trained further: its code indices keep their meaning, so the weights transfer)."""
    if config.init is None:
        model_config = transformer_config_from(config.preset, tokenizer.config, config.reference_pose,
                                               config.pose_map)
        with seeded_torch(seed):
            return LATransformer(model_config)
    folder = model_folder(config.init)
    if folder is None:
        raise ModelFileError(f"{config.init}: --init needs a transformer model folder (config.json + "
                             "model.safetensors) or a run folder")
    # It must fit the tokenizer and the reference-pose setting; pose maps may be added (not removed).
    init_config = transformer_config_from(folder / CONFIG_NAME, tokenizer.config, config.reference_pose)
    if config.pose_map and not init_config.pose_map:
        # Grow pose maps: every weight from `folder`, the new projection at zero (see posemap.py).
        with seeded_torch(seed):
            model = LATransformer(dataclasses.replace(init_config, pose_map=True))
        load_weights(model, folder / WEIGHTS_NAME, missing_ok=("pose_map.",))
        log.info("initialised the transformer from %s, adding pose maps", folder)
        return model
    if init_config.pose_map and not config.pose_map:
        raise IlatError(f"{folder} has pose maps: train it on with --pose-map")
    model = LATransformer.from_pretrained(folder)
    log.info("initialised the transformer from %s", folder)
    return model


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


def train_transformer(
    config: TransformerTrainConfig,
    *,
    model: nn.Module | None = None,
    tokenizer: nn.Module | None = None,
    dataset: Dataset | IterableDataset | Callable[[int], IterableDataset] | None = None,
    callback: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train the LA transformer (or the AR baseline) on a frozen tokenizer.

    model / tokenizer: modules to use instead of building them from `preset` / loading `tokenizer`.
    dataset: pair data instead of `config.data` (map-style, endless iterable, or segment -> iterable).
    callback: called on rank 0 after every step with a Progress.
    Under torchrun this trains with DDP. SIGTERM / SIGINT checkpoint and return stopped_by="signal".
    """
    config.validate()
    if dataset is None and config.data != "synthetic":
        check_data_arg(config.data)  # before any model is built: bad input fails fast
    ctx = setup_distributed(config.device)
    try:
        result = _train(config, ctx, model, tokenizer, dataset, callback)
    except BaseException:
        teardown_distributed(ctx, clean=False)
        raise
    teardown_distributed(ctx)
    return result


def _train(config, ctx: DistributedContext, model, tokenizer, dataset, callback) -> TrainResult:
    device = ctx.device
    warn_if_cpu_bf16_is_emulated(device, config.cpu_bf16)
    tokenizer, model = _networks(config, device, model, tokenizer)
    size = image_size_of(tokenizer.config)
    opt = torch.optim.AdamW(
        _param_groups(model, config.weight_decay), lr=config.lr, betas=(config.beta1, config.beta2)
    )
    warmup = config.warmup_steps if config.warmup_steps is not None else max(1, round(config.steps / 30))
    schedule = WarmupLinearDecay(config.lr, warmup, config.steps)
    run = TrainingRun.for_config(config, ctx, "transformer", callback)
    run.prepare_out()
    start = run.start(model, {}, {"transformer": opt})
    stream = None
    try:
        # Some parameters (reference-pose embeddings, say) may sit idle for a configuration.
        train_model = wrap_ddp(model, ctx, find_unused_parameters=True)
        if dataset is None:
            prepare_data_once(ctx, config.data, size, config.seed)
        samples = _sample_batch(config, size, dataset, ctx) if ctx.is_main and config.sample_every else None
        stream = open_batches(config, ctx, size, dataset, batch_size=config.batch_size, start_batch=start)
        usage = CodebookUsage(codebook_size_of(tokenizer.config))
        wants_codes = bool(config.expected_weight or config.decoded_weight)
        codebook = tokenizer.quantizer.codes().detach().float() if wants_codes else None  # (K, D)
        step, reason = start, "steps"
        end = config.steps if config.stop_at is None else min(config.steps, config.stop_at)
        while step < end:
            lr = schedule(step)
            set_lr(opt, lr)
            inputs = tokenize_batch(tokenizer, next(stream), device, needs_reference_pose=config.needs_reference_pose,
                                    known=bool(config.decoded_weight))
            inputs["codebook"] = codebook
            metrics = _step(config, train_model, model, opt, inputs, tokenizer)
            usage.update(inputs["target"])
            step += 1
            run.end_step(step, lr, metrics, extra=lambda: {
                f"target_{k}": v for k, v in usage.summary(ctx).items()
            })
            if run.wants_samples(step):
                _write_samples(run.sample_path(step), model, tokenizer, samples, config, device)
            reason_now = run.stop_reason()
            if reason_now is not None:
                reason = reason_now
                break
        return run.finish(step, reason)
    finally:
        run.close()
        if stream is not None:
            stream.close()


def _networks(config, device: torch.device, model, tokenizer) -> tuple[nn.Module, nn.Module]:
    """The frozen tokenizer and the transformer to train (given, or loaded / built), on `device`."""
    if tokenizer is None:
        tokenizer = load_frozen_tokenizer(config.tokenizer, device)
    tokenizer.to(device).eval().requires_grad_(False)
    if model is None:
        model = build_transformer(config, tokenizer, derive_seed(config.seed, 0))
    model.to(device).train()
    return tokenizer, model


def _loss_region(config, token_region: torch.Tensor) -> torch.Tensor:
    # The AR baseline generates every target token, so it learns every token.
    return torch.ones_like(token_region) if config.mask == "ar" else token_region


def expected_code_loss(logits: torch.Tensor, target_tokens: torch.Tensor, region: torch.Tensor,
                       codebook: torch.Tensor) -> torch.Tensor:
    """Mean over region positions of ||sum_k p_k e_k - e_t||^2 / D: the squared distance between the
    expected code under softmax(logits) and the target token's code, per code dimension.

    logits: (B, N, K); target_tokens: (B, N) long; region: (B, h, w) or (B, N) bool; codebook:
    (K, D). 0, with a graph, for an empty region."""
    where = flatten_region(region).to(logits.device)  # (B, N)
    if not where.any():
        return logits.sum() * 0.0
    probs = torch.softmax(logits[where].float(), dim=-1)  # (M, K)
    return (probs @ codebook - codebook[target_tokens[where]]).pow(2).mean()


def decoded_frame_loss(tokenizer: nn.Module, logits: torch.Tensor, inputs: dict[str, torch.Tensor],
                       codebook: torch.Tensor) -> torch.Tensor:
    """The mean squared error inside the pixel region (images mapped to [0, 1]) of the frame
    `--decode expected` composes, here under teacher forcing: at every region position the expected
    code under softmax(logits), decoded by the frozen tokenizer with Eq. 4 around the reference's
    clean features, and the reference's own pixels in the cells whose most likely token is one of
    the reference's (`regions.changed_region`, `paste_outside`). Differentiable in the logits.

    logits: (B, N, K); inputs: `tokenize_batch(..., known=True)`; codebook: (K, D)."""
    token_region = inputs["token_region"]  # (B, h, w)
    b, h, w = token_region.shape
    picks = torch.where(token_region.flatten(1), logits.detach().argmax(-1), inputs["target"]).view(b, h, w)
    expected = torch.softmax(logits.float(), dim=-1) @ codebook  # (B, N, D)
    codes = region_codes(picks, codebook, token_region, expected=expected)
    frames = tokenizer.decode(codes, z=inputs["reference_z"], region=token_region).float().clamp(-1, 1)
    changed = changed_region(inputs["region"], picks, inputs["cond"].view(b, h, w), inputs["known"])
    composed = paste_outside(frames, inputs["reference_image"], changed)
    return region_mse(composed, inputs["target_image"], inputs["region"])


def _step(config, train_model, model, opt, inputs, tokenizer=None) -> dict[str, torch.Tensor]:
    device = inputs["cond"].device
    with autocast(device, config.bf16, cpu=config.cpu_bf16):
        logits = train_model(
            inputs["cond"], inputs["target"], inputs["target_pose"], inputs["token_region"],
            reference_pose=inputs["reference_pose"], mask=config.mask,
        )  # (B, N, K)
        loss_region = _loss_region(config, inputs["token_region"])
        changed = inputs["target"] != inputs["cond"]  # (B, N): the tokens the model must not copy
        weights = None if config.changed_weight == 1.0 else 1.0 + (config.changed_weight - 1.0) * changed.float()
        loss = unwrap(model).loss(logits.float(), inputs["target"], loss_region, weights=weights)
        metrics = {"loss": loss.detach()}
        if config.expected_weight:
            expected = expected_code_loss(logits, inputs["target"], loss_region, inputs["codebook"])
            metrics.update(ce_loss=loss.detach(), expected_loss=expected.detach())
            loss = loss + config.expected_weight * expected
            metrics["loss"] = loss.detach()
        if config.decoded_weight:
            decoded = decoded_frame_loss(tokenizer, logits, inputs, inputs["codebook"])
            metrics.setdefault("ce_loss", metrics["loss"])
            metrics["decoded_loss"] = decoded.detach()
            loss = loss + config.decoded_weight * decoded
            metrics["loss"] = loss.detach()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip:
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    opt.step()
    with torch.no_grad():
        where = loss_region.flatten(1)
        hits = (logits.detach().argmax(-1) == inputs["target"]) & where
        metrics["token_accuracy"] = hits.sum().float() / where.sum().clamp_min(1)
        # Accuracy on the tokens that differ from the reference's: copying scores 0 here.
        metrics["changed_accuracy"] = (hits & changed).sum().float() / (where & changed).sum().clamp_min(1)
        metrics["region_rate"] = inputs["token_region"].float().mean()
    return metrics


@torch.no_grad()
def _write_samples(path: Path, model: nn.Module, tokenizer: nn.Module, samples, config, device) -> None:
    """Grid: reference | target (region tinted) | greedy sample decoded with Eq. 4.

    LA: the region's tokens are sampled with the cached local sampler, the rest are the target's
    (encoded with the region, as in training). AR: every token is sampled (the baseline)."""
    inputs = tokenize_batch(tokenizer, samples, device, needs_reference_pose=config.needs_reference_pose)
    was_training = model.training
    model.eval()
    try:
        if config.mask == "ar":
            tokens = sample_vanilla(model, inputs["cond"], inputs["target_pose"],
                                    reference_pose=inputs["reference_pose"])  # (B, N)
        else:
            tokens = sample_local(model, inputs["cond"], inputs["target"], inputs["target_pose"],
                                  inputs["token_region"], reference_pose=inputs["reference_pose"])  # (B, N)
    finally:
        model.train(was_training)
    b, h, w = inputs["token_region"].shape
    if config.mask == "ar":
        generated = tokenizer.decode_indices(tokens.view(b, h, w))
    else:
        generated = tokenizer.decode_indices(tokens.view(b, h, w), z=inputs["target_z"], region=inputs["region"])
    save_image_grid(path, [
        inputs["reference_image"],
        region_overlay(inputs["target_image"], inputs["region"]),
        generated.float(),
    ])
