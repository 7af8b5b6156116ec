"""Training the TS-VQGAN tokenizer (paper 3.1, "Implementation Details").

Stage 1 trains a plain VQGAN: no regions. Stage 2 (usually `init` from stage 1) trains with
regions, so the decoder learns Eq. 4: codebook vectors inside the region, the encoder's continuous
features outside. Regions in stage 2 are, per image, the data's pose region (the union of the
pair's two poses, DESIGN.md section 8) with probability `region_mix`, otherwise a random free-form
mask (strokes and blobs).

Per step:
1. generator: L1 + codebook term (+ perceptual) + GAN weight * hinge generator loss (after
   `gan_start`), Adam(0.5, 0.9), gradient clipping;
2. discriminator (after `gan_start`): hinge loss on real and reconstructed images in one batch.
The learning rate halves every `lr_decay_every` steps (the paper: 50k of 150k per stage).

    from ilat_video.train.tokenizer import TokenizerTrainConfig, train_tokenizer
    result = train_tokenizer(TokenizerTrainConfig(data="synthetic", preset="small-64", out="runs/tok1"))
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from ..errors import DatasetError, IlatError, ModelFileError
from ..nn.loading import load_transformer, model_folder, run_of
from ..nn.pretrained import CONFIG_NAME, WEIGHTS_NAME, load_config, load_weights, unwrap
from ..nn.tokenizer import TSVQGAN, TokenizerConfig
from ..regions import free_form_mask
from .checkpoints import latest_checkpoint
from .data_stream import BatchStream, check_data_arg, first_batch, open_batches, open_pairs_dataset, prepare_data_once
from .decoder_on_samples import sample_for_decoder, sampled_loss
from .discriminator import DiscriminatorConfig, PatchDiscriminator
from .distributed import DistributedContext, mean_over_ranks, setup_distributed, teardown_distributed, wrap_ddp
from .losses import (
    PerceptualLoss,
    adaptive_gan_weight,
    gan_factor,
    hinge_d_loss,
    hinge_g_loss,
    load_vgg16_features,
)
from .model_configs import codebook_size_of, image_size_of, tokenizer_config_from
from .monitoring import CodebookUsage, region_overlay, save_image_grid
from .precision import autocast, warn_if_cpu_bf16_is_emulated
from .run import Progress, TrainingRun, TrainResult, check_positive
from .schedules import StepDecay, set_lr
from .seeding import derive_seed, seeded_torch

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TokenizerTrainConfig:
    data: str = "synthetic"  # "synthetic", a Penn Action folder or a folder of videos
    out: str = "runs/tokenizer"
    preset: str = "small-64"  # a tokenizer preset name or a config.json path
    stage: int = 1  # 1: no regions; 2: pose regions + free-form masks, Eq. 4 reconstruction
    steps: int = 10_000
    batch_size: int = 16  # images per step and rank
    lr: float = 8e-5  # the paper's pose-guiding rate (2e-4 for faces)
    lr_decay_every: int | None = None  # None: steps // 3 (the paper: every 50k of 150k)
    lr_decay_factor: float = 0.5
    beta1: float = 0.5
    beta2: float = 0.9
    grad_clip: float | None = 1.0  # max gradient norm; None or 0 turns clipping off
    codebook_weight: float = 1.0
    gan_weight: float | None = None  # None: taming's adaptive weight; a number: fixed (paper: 0.1)
    gan_start: int | None = None  # None: steps // 5, or 0 when `init` brings a trained discriminator
    disc_lr: float | None = None  # None: same as lr
    disc_channels: int = 64
    disc_layers: int = 3
    perceptual_weight: float = 1.0  # used only with vgg_weights
    vgg_weights: str | None = None  # a local VGG16 .safetensors file; nothing downloads
    region_mix: float = 0.5  # stage 2: share of images with the data's pose region (else free-form)
    init: str | None = None  # a model folder (or a run folder) to start the weights from
    # The decoder's GroupNorm rule (nn/tokenizer.py, norm_group_channels) for the model built here,
    # overriding the preset's or init's; the weights' layout does not depend on it.
    norm_group_channels: int | None = None
    # Train the decoder only: the encoder and the codebook stay as they are, so every image keeps its
    # tokens and a transformer trained on them stays valid (a better decoder for a shipped model).
    decoder_only: bool = False
    # A wider or deeper decoder for the `init` model (TSVQGAN.with_decoder): added blocks start as the
    # identity, so with the same channels training goes on from the trained decoder.
    decoder_channels: int | None = None
    decoder_res_blocks: int | None = None
    # With decoder_only: also train the decoder on what this LA transformer (a model folder or run)
    # samples for each batch's pairs, greedy: the frame of its expected codes and the frame of its
    # tokens, each against the pair's target, as the pipeline composes them (`sampled_loss`; not
    # in the paper). The decoder then learns the inputs it gets at animation time, not only the
    # codes of real images.
    sampled_from: str | None = None
    sampled_weight: float = 100.0  # times the mean squared error (images in [0, 1]) inside the region
    resume: bool = False
    seed: int = 0
    num_workers: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    sample_every: int = 500
    sample_count: int = 4
    keep_checkpoints: int = 2
    max_minutes: float | None = None  # wall-clock budget; checkpoint and stop when spent
    stop_at: int | None = None  # stop after this step; the LR schedule still follows `steps`
    device: str | None = None  # None: CUDA if available, else CPU
    bf16: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    cpu_bf16: bool = False  # bf16 autocast on the CPU (opt-in: fast only with native bf16)
    data_segment_steps: int = 1000  # a streamed dataset is re-seeded every this many steps

    def validate(self) -> None:
        if self.stage not in (1, 2):
            raise IlatError(f"--stage must be 1 or 2, got {self.stage}")
        for name in ("steps", "batch_size", "lr", "sample_count", "data_segment_steps"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name))
        for name in ("codebook_weight", "perceptual_weight", "lr_decay_factor", "num_workers"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name), allow_zero=True)
        for name in ("lr_decay_every", "disc_lr"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name))
        for name in ("gan_weight", "gan_start", "grad_clip"):
            check_positive(f"--{name.replace('_', '-')}", getattr(self, name), allow_zero=True)
        if self.norm_group_channels is not None and self.norm_group_channels < 1:
            raise IlatError(f"--norm-group-channels must be >= 1, got {self.norm_group_channels}")
        for name in ("decoder_channels", "decoder_res_blocks"):
            value = getattr(self, name)
            if value is not None:
                check_positive(f"--{name.replace('_', '-')}", value)
                if self.init is None:
                    raise IlatError(f"--{name.replace('_', '-')} changes a trained decoder: it needs --init "
                                    "(to train a new tokenizer this size, set it in the preset's config.json)")
        check_positive("--sampled-weight", self.sampled_weight, allow_zero=True)
        if self.sampled_from is not None and not (self.decoder_only and self.stage == 2):
            raise IlatError("--sampled-from trains the decoder on a transformer's tokens: it needs --decoder-only "
                            "and --stage 2 (a trained encoder would change the tokens under the transformer)")
        if not 0.0 <= self.region_mix <= 1.0:
            raise IlatError(f"--region-mix must be in [0, 1], got {self.region_mix}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise IlatError(f"Adam betas must be in [0, 1), got ({self.beta1}, {self.beta2})")


# --------------------------------------------------------------------------------------------
# Building the pieces
# --------------------------------------------------------------------------------------------


def resolve_init(init: str | os.PathLike) -> tuple[Path, Path | None]:
    """(model folder, discriminator weights or None) for `--init`: a model folder, or a run folder
    whose `model/` and latest checkpoint's discriminator are used."""
    model_dir = model_folder(init)
    if model_dir is None or not (model_dir / WEIGHTS_NAME).is_file():
        raise ModelFileError(f"{init}: --init needs a model folder (config.json + model.safetensors) or a run folder")
    run_dir = run_of(model_dir)
    disc = None
    if run_dir is not None:
        checkpoint = latest_checkpoint(run_dir)
        if checkpoint is not None and (checkpoint / "discriminator.safetensors").is_file():
            disc = checkpoint / "discriminator.safetensors"
    return model_dir, disc


def build_tokenizer(config: TokenizerTrainConfig, seed: int) -> tuple[nn.Module, Path | None]:
    """The tokenizer to train (from the preset, or from `init`) and the discriminator weights that
    `init` brings, if any."""
    disc_weights = None
    overrides = {} if config.norm_group_channels is None else {"norm_group_channels": config.norm_group_channels}
    if config.init is not None:
        model_dir, disc_weights = resolve_init(config.init)
        model_config = dataclasses.replace(load_config(TokenizerConfig, model_dir / CONFIG_NAME), **overrides)
        with seeded_torch(seed):
            model = TSVQGAN(model_config)
        load_weights(model, model_dir / WEIGHTS_NAME)
        log.info("initialised the tokenizer from %s", model_dir)
        if config.decoder_channels is not None or config.decoder_res_blocks is not None:
            with seeded_torch(seed):
                model = model.with_decoder(channels=config.decoder_channels, res_blocks=config.decoder_res_blocks)
            log.info("decoder: %d channels, %d residual blocks per level",
                     model.config.decoder_channels, model.config.decoder_res_blocks)
    else:
        with seeded_torch(seed):
            model = TSVQGAN(dataclasses.replace(tokenizer_config_from(config.preset), **overrides))
    return model, disc_weights


def freeze_all_but_decoder(model: nn.Module) -> None:
    """Fix the encoder and the codebook (no gradients, no dead-code restarts): tokens stay as they are."""
    model = unwrap(model)
    model.encoder.requires_grad_(False)
    model.quantizer.requires_grad_(False)
    model.quantizer.restart_dead_codes = False


def indices_from_info(info: Any) -> torch.Tensor | None:
    """The codebook indices (B, h, w) reported by a tokenizer's forward, if any."""
    if isinstance(info, dict):
        for key in ("indices", "codes", "min_encoding_indices"):
            if isinstance(info.get(key), torch.Tensor):
                return info[key]
    if isinstance(info, torch.Tensor) and not info.is_floating_point():
        return info
    if isinstance(info, (tuple, list)):
        for item in info:
            if isinstance(item, torch.Tensor) and not item.is_floating_point():
                return item
    return None


@dataclasses.dataclass
class _Parts:
    """What the tokenizer's steps train and with what."""

    model: nn.Module  # the tokenizer
    discriminator: nn.Module
    perceptual: nn.Module | None
    sampler: nn.Module | None  # --sampled-from's transformer
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    schedule_g: StepDecay
    schedule_d: StepDecay
    gan_start: int
    # What the steps call: under torchrun the DDP wrappers, made after `run.start` has loaded the
    # checkpoint into the modules; else the modules themselves.
    train_model: nn.Module | None = None
    train_disc: nn.Module | None = None


def _build_parts(config: TokenizerTrainConfig, device: torch.device, model: nn.Module | None) -> _Parts:
    """The tokenizer (given, or built from the preset or `init`), its discriminator (from `init`'s
    run when it has one), the perceptual loss, the sampling transformer, optimizers and schedules."""
    disc_init = None
    if model is None:
        model, disc_init = build_tokenizer(config, derive_seed(config.seed, 0))
    model.to(device).train()
    if config.decoder_only:
        freeze_all_but_decoder(model)
    sampler = None
    if config.sampled_from is not None:
        sampler = load_transformer(config.sampled_from, unwrap(model), device=device)
        sampler.requires_grad_(False)
        log.info("decoder trained also on what %s samples", config.sampled_from)
    with seeded_torch(derive_seed(config.seed, 5)):
        discriminator = PatchDiscriminator(DiscriminatorConfig(
            base_channels=config.disc_channels, num_layers=config.disc_layers
        ))
    if disc_init is not None:
        load_weights(discriminator, disc_init)
        log.info("initialised the discriminator from %s", disc_init)
    discriminator.to(device).train()
    gan_start = config.gan_start
    if gan_start is None:
        gan_start = 0 if disc_init is not None else config.steps // 5
    perceptual = None
    if config.vgg_weights is not None and config.perceptual_weight > 0:
        perceptual = PerceptualLoss(load_vgg16_features(config.vgg_weights)).to(device)
    betas = (config.beta1, config.beta2)
    disc_lr = config.disc_lr or config.lr
    decay_every = config.lr_decay_every or max(1, config.steps // 3)
    return _Parts(
        model=model, discriminator=discriminator, perceptual=perceptual, sampler=sampler,
        opt_g=torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr, betas=betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=disc_lr, betas=betas),
        schedule_g=StepDecay(config.lr, decay_every, config.lr_decay_factor),
        schedule_d=StepDecay(disc_lr, decay_every, config.lr_decay_factor),
        gan_start=gan_start,
    )


def _sample_batch(config: TokenizerTrainConfig, size: int, dataset, ctx: DistributedContext) -> dict[str, torch.Tensor]:
    """A fixed small batch for the sample grids: the test split when there is one."""
    count = config.sample_count
    stream = None
    if dataset is None:
        try:
            mapped, make = open_pairs_dataset(
                config.data, size, split="test", seed=derive_seed(config.seed, 4), rank=0, world_size=1
            )
            stream = BatchStream(dataset=mapped, make_iterable=make, batch_size=count, seed=config.seed)
        except (DatasetError, TypeError):
            stream = None
    if stream is None:
        stream = open_batches(dataclasses.replace(config, num_workers=0, seed=config.seed + 1),
                              DistributedContext(device=ctx.device), size, dataset, batch_size=count)
    return first_batch(stream)


def images_and_regions(
    batch: dict[str, torch.Tensor], batch_size: int, stage: int, region_mix: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The step's images (B, 3, S, S) and, in stage 2, regions (B, S, S) bool.

    Pair samples give both their reference and target image (the same union region applies to
    both); samples with an "image" key (any image dataset) give that.
    """
    if "image" in batch:
        images, pose_regions = batch["image"], batch.get("region")
    else:
        # Interleaved (ref 0, target 0, ref 1, ...), so a trimmed batch still holds whole pairs.
        images = torch.stack([batch["reference"], batch["target"]], dim=1).flatten(0, 1)
        pose_regions = batch["region"].repeat_interleave(2, dim=0) if "region" in batch else None
    images = images[:batch_size]
    if stage == 1:
        return images, None
    _, _, height, width = images.shape
    regions = []
    for i in range(images.shape[0]):
        if pose_regions is not None and rng.random() < region_mix:
            regions.append(pose_regions[i].bool())
        else:
            regions.append(torch.from_numpy(free_form_mask(rng, height, width)))
    return images, torch.stack(regions)


def psnr(images: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
    """Mean PSNR in dB of images in [-1, 1] (peak 1 after mapping to [0, 1])."""
    mse = ((reconstructions.detach().float().clamp(-1, 1) - images.float()) / 2).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(1.0 / mse.clamp_min(1e-10))).mean()


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------

def train_tokenizer(
    config: TokenizerTrainConfig,
    *,
    model: nn.Module | None = None,
    dataset: Dataset | IterableDataset | Callable[[int], IterableDataset] | None = None,
    callback: Callable[[Progress], None] | None = None,
) -> TrainResult:
    """Train the tokenizer as configured; returns where the run stopped and its last log record.

    model: a tokenizer to train instead of building one from `preset` / `init` (it needs the
        TSVQGAN training interface: forward(image, region) -> (reconstruction, codebook_loss, info),
        `last_layer`, `config`).
    dataset: data instead of `config.data`: a map-style dataset, an endless IterableDataset, or a
        function segment -> IterableDataset. Samples are pair dicts or {"image", optional "region"}.
    callback: called on rank 0 after every step with a Progress (the CLI's progress bar).

    Under torchrun this trains with DDP; every rank must call it with the same config.
    Interrupting with SIGTERM / SIGINT checkpoints and returns with stopped_by="signal".
    """
    config.validate()
    if dataset is None and config.data != "synthetic":
        check_data_arg(config.data)  # before any model is built: bad input fails fast
    ctx = setup_distributed(config.device)
    try:
        result = _train(config, ctx, model, dataset, callback)
    except BaseException:
        teardown_distributed(ctx, clean=False)
        raise
    teardown_distributed(ctx)
    return result


def _train(config, ctx: DistributedContext, model, dataset, callback) -> TrainResult:
    device = ctx.device
    warn_if_cpu_bf16_is_emulated(device, config.cpu_bf16)
    parts = _build_parts(config, device, model)
    size = image_size_of(parts.model.config)
    run = TrainingRun.for_config(config, ctx, "tokenizer", callback)
    run.prepare_out()
    start = run.start(parts.model, {"discriminator": parts.discriminator},
                      {"generator": parts.opt_g, "discriminator": parts.opt_d})
    stream = None
    try:
        parts.train_model, parts.train_disc = wrap_ddp(parts.model, ctx), wrap_ddp(parts.discriminator, ctx)
        if dataset is None:
            prepare_data_once(ctx, config.data, size, config.seed)
        samples = _sample_batch(config, size, dataset, ctx) if ctx.is_main and config.sample_every else None
        # Our pair datasets give two images per sample (reference and target); other datasets may
        # give one ("image"), so they are asked for a full batch of samples.
        pairs_per_batch = math.ceil(config.batch_size / 2) if dataset is None else config.batch_size
        stream = open_batches(config, ctx, size, dataset, batch_size=pairs_per_batch, start_batch=start)
        usage = CodebookUsage(codebook_size_of(parts.model.config))
        step, reason = start, "steps"
        if start >= config.steps:
            log.info("the run already has %d of %d steps", start, config.steps)
        end = config.steps if config.stop_at is None else min(config.steps, config.stop_at)
        while step < end:
            lr_g, lr_d = parts.schedule_g(step), parts.schedule_d(step)
            set_lr(parts.opt_g, lr_g)
            set_lr(parts.opt_d, lr_d)
            batch = next(stream)
            images, regions = images_and_regions(
                batch, config.batch_size, config.stage, config.region_mix, run.numpy_rng
            )
            images = images.to(device, non_blocking=True)
            regions = None if regions is None else regions.to(device, non_blocking=True)
            sampled = None if parts.sampler is None else sample_for_decoder(parts.model, parts.sampler, batch, device)
            metrics = _step(config, parts, step, images, regions, ctx, usage, sampled)
            step += 1
            run.end_step(step, lr_g, metrics, extra=lambda: usage.summary(ctx))
            if run.wants_samples(step):
                _write_samples(run.sample_path(step), parts.model, samples, config, device)
            reason_now = run.stop_reason()
            if reason_now is not None:
                reason = reason_now
                break
        return run.finish(step, reason)
    finally:
        run.close()
        if stream is not None:
            stream.close()


def _step(config, parts: _Parts, step: int, images: torch.Tensor, regions: torch.Tensor | None,
          ctx: DistributedContext, usage: CodebookUsage, sampled=None) -> dict[str, torch.Tensor]:
    """One step: the generator (the tokenizer), then the discriminator once the GAN is on.
    images: (B, 3, S, S); regions: (B, S, S) bool or None (stage 1); sampled: `sample_for_decoder`'s."""
    gan_on = gan_factor(step, parts.gan_start) > 0
    reconstructions, info, metrics = _generator_step(config, parts, images, regions, gan_on, ctx, sampled)
    if gan_on:
        metrics.update(_discriminator_step(config, parts, images, reconstructions))
    indices = indices_from_info(info)
    if indices is not None:
        usage.update(indices)
    return metrics


def _generator_step(config, parts: _Parts, images, regions, gan_on: bool, ctx: DistributedContext,
                    sampled) -> tuple[torch.Tensor, Any, dict[str, torch.Tensor]]:
    """L1 + codebook term (+ perceptual, + the sampled frames' terms, + the weighted GAN term) and
    an Adam step of the tokenizer. Returns the reconstructions, the quantizer's info and the metrics."""
    device = images.device
    metrics: dict[str, torch.Tensor] = {}
    # The discriminator is used unwrapped and frozen here so that DDP's gradient hooks of the
    # discriminator fire only in its own update.
    parts.discriminator.requires_grad_(False)
    with autocast(device, config.bf16, cpu=config.cpu_bf16):
        reconstructions, codebook_loss, info = parts.train_model(images, regions)
        l1 = (reconstructions.float() - images.float()).abs().mean()
        rec_loss = l1
        if parts.perceptual is not None:
            p_loss = parts.perceptual(images, reconstructions)
            rec_loss = rec_loss + config.perceptual_weight * p_loss
            metrics["perceptual"] = p_loss.detach()
        loss = rec_loss + config.codebook_weight * codebook_loss
        if sampled is not None:
            for name, value in sampled_loss(parts.model, sampled).items():
                loss = loss + config.sampled_weight * value
                metrics[f"sampled_{name}_psnr"] = -10 * torch.log10(value.detach().clamp_min(1e-10))
        if gan_on:
            g_loss = hinge_g_loss(parts.discriminator(reconstructions).float())
            weight = _gan_weight(config, parts, rec_loss, g_loss, ctx)
            loss = loss + weight * g_loss
            metrics["g_loss"] = g_loss.detach()
            metrics["gan_weight"] = weight.detach()
    parts.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip:
        metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(parts.model.parameters(), config.grad_clip)
    parts.opt_g.step()
    parts.discriminator.requires_grad_(True)
    first = {"loss": loss.detach(), "l1": l1.detach(), "codebook": codebook_loss.detach().float(),
             "psnr": psnr(images, reconstructions)}
    return reconstructions, info, {**first, **metrics}


def _gan_weight(config, parts: _Parts, rec_loss: torch.Tensor, g_loss: torch.Tensor,
                ctx: DistributedContext) -> torch.Tensor:
    """The GAN term's weight: fixed (`gan_weight`), or taming's adaptive weight, the same on every rank."""
    if config.gan_weight is not None:
        return torch.tensor(float(config.gan_weight), device=rec_loss.device)
    weight = adaptive_gan_weight(rec_loss, g_loss, unwrap(parts.model).last_layer)
    # Ranks see different batches; one shared weight keeps their objectives equal.
    return mean_over_ranks(ctx, weight.reshape(1)).reshape(())


def _discriminator_step(config, parts: _Parts, images: torch.Tensor,
                        reconstructions: torch.Tensor) -> dict[str, torch.Tensor]:
    """Hinge loss on real and reconstructed images in one forward (one DDP forward per backward)
    and an Adam step of the discriminator."""
    with autocast(images.device, config.bf16, cpu=config.cpu_bf16):
        logits = parts.train_disc(torch.cat([images, reconstructions.detach().to(images.dtype)])).float()
        logits_real, logits_fake = logits.chunk(2)
        d_loss = hinge_d_loss(logits_real, logits_fake)
    parts.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(parts.discriminator.parameters(), config.grad_clip)
    parts.opt_d.step()
    return {"d_loss": d_loss.detach(), "logits_real": logits_real.detach().mean(),
            "logits_fake": logits_fake.detach().mean()}


@torch.no_grad()
def _write_samples(path: Path, model: nn.Module, samples, config, device) -> None:
    """Grid: input (region tinted in stage 2) | reconstruction, for the fixed sample batch.

    Stage 2 shows the data's pose regions (the animation case) where the data has them."""
    rng = np.random.default_rng(config.seed)  # the same regions at every sample step
    images, regions = images_and_regions(samples, config.sample_count, config.stage, 1.0, rng)
    images = images.to(device)
    regions = None if regions is None else regions.to(device)
    was_training = model.training
    model.eval()
    try:
        with autocast(device, config.bf16, cpu=config.cpu_bf16):
            reconstructions, _, _ = model(images, regions)
    finally:
        model.train(was_training)
    shown = images if regions is None else region_overlay(images, regions)
    save_image_grid(path, [shown, reconstructions.float()])
