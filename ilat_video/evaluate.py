"""Evaluation on pairs with ground truth: the paper's Table 1 (quality) and Table 2 (time).

For every test pair (reference, target pose, ground-truth target frame of the same video) a method
makes the target from the reference and the target pose, and the result is compared with the
ground truth:

    subsets = pair_subsets("synthetic", size=64, count=100, seeds=(0, 1, 2))
    result = evaluate_model("models/demo", subsets, method="ilat")
    result.summary()["region"]["psnr"]   # {"mean": ..., "std": ...} over the subsets

Methods (`METHODS`):
- "ilat": the paper's inference, as the Animator with `background="model"`: condition tokens from
  the reference encoded without a region; the reference encoded with the pair's union region for the known tokens and the clean
  features z outside; `sample_local` (cached local AR, greedy unless top_k / temperature);
  `decode_indices` with Eq. 4 (codes inside the token region, z outside).
- "ilat-paste": "ilat" with the reference's own pixels outside the region (`regions.paste_outside`),
  as the Animator's default `background="reference"`: the same inside the region, by construction.
- "ilat-unchanged": "ilat" with the reference's own pixels wherever the model kept the reference's
  token: outside the region, and inside it in the token cells where the generated token is the
  reference's own there, encoded alone or with the region (`regions.changed_region`, then
  `paste_outside`), as the Animator's default `background="unchanged"`. Not in the paper: Eq. 4
  re-renders those cells through the decoder.
- "ilat-expected": "ilat-unchanged" with the expected code rendered at each region position
  instead of the picked token's (`sampling.region_codes`), as the Animator's `decode="expected"`;
  the picked (greedy) tokens still decide the unchanged cells. Not in the paper.
With `views` > 1 the local methods ("ilat*", "taming-la") average that many test-time views of
each pair (mirrored and shifted inputs, `views.py`), as the Animator's `views`. Not in the paper.
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

Metrics (`image_metrics`), on uint8 frames as the user gets them, scaled to [0, 1]:
- PSNR = 10 log10(1 / MSE), capped at PSNR_CAP_DB when the MSE is 0 (so means and JSON stay finite);
- SSIM: scikit-image's `structural_similarity` with Wang et al.'s settings (11x11 Gaussian window,
  sigma 1.5, population covariances, K1 0.01, K2 0.03), averaged over RGB channels. Whole frame:
  scikit-image's mean (the border where the window does not fit is left out, as there). Inside or
  outside the region: the mean of the SSIM map over those pixels (the map is reflect-padded at the
  image border);
- MAE: mean absolute error over pixels and channels, in [0, 1] (the paper's Table 1 scale);
each over the whole frame ("frame"), inside the pair's pixel region ("region": masked MSE / MAE /
SSIM map) and outside it ("outside": what Eq. 4 should keep). Per pair, then averaged over a
subset's pairs (a pair with no region pixel is left out of that scope's mean); `summary()` gives
the mean and the sample standard deviation (ddof 1) over the subsets.

Seconds per frame: the wall time of encoding, sampling and decoding (not of the metrics) divided
by the frames, after one untimed warm-up pair; batches of `batch_size` pairs as the Animator runs.
Also this process's CPU time per frame, which other jobs on a shared machine disturb far less
(on one torch thread it is the work done; on a GPU it is only the host's part).

FID (optional): only with an explicit feature extractor (see `inception.py`, which needs local
Inception weights; nothing is downloaded). Features of all subsets' results against those of
their ground truths, Frechet distance by `frechet_distance`.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .errors import DatasetError, IlatError, ModelFileError
from .personalize import check_personalize
from .regions import check_keep_still
from .views import check_views

log = logging.getLogger(__name__)

__all__ = [
    "METHODS", "SCOPES", "METRICS", "PSNR_CAP_DB", "SCHEMA",
    "to_unit_float", "mse", "psnr", "mae", "ssim", "ssim_map", "image_metrics",
    "feature_statistics", "frechet_distance",
    "load_models", "load_transformer", "pair_subsets", "generate", "evaluate_model", "SubsetResult", "MethodResult",
    "paired_difference", "load_results",
    "results_document", "results_markdown", "write_json", "write_text",
    "comparison_strip", "save_strip",
]

METHODS = ("ilat", "ilat-paste", "ilat-unchanged", "ilat-expected", "vanilla", "taming-la", "copy",
           "reconstruction", "reconstruction-unchanged")
# cached local sampling, Eq. 4
LOCAL_METHODS = ("ilat", "ilat-paste", "ilat-unchanged", "ilat-expected", "taming-la")
BASELINE_METHODS = ("vanilla", "taming-la")  # need an ar-trained transformer
MODEL_METHODS = LOCAL_METHODS + ("vanilla",)  # need a transformer
# Methods that need --model's own transformer (the baseline methods bring theirs).
MAIN_MODEL_METHODS = tuple(m for m in MODEL_METHODS if m not in BASELINE_METHODS)
SCOPES = ("frame", "region", "outside")
METRICS = ("psnr", "ssim", "mae")
PSNR_CAP_DB = 100.0  # above any real 8-bit error at our sizes (one level on one value of 128x128x3: 95 dB)
SCHEMA = "ilat-video/evaluation/1"
SSIM_SIGMA = 1.5

# --------------------------------------------------------------------------------------------
# Metrics on images
# --------------------------------------------------------------------------------------------


def to_unit_float(image, name: str = "image") -> np.ndarray:
    """uint8 (H, W[, C]) or float in [0, 1] -> float64 (H, W, C) in [0, 1]."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"{name}: expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name}: expected uint8 or float in [0, 1], got {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: has NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"{name}: float images must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
    return np.clip(array, 0.0, 1.0)


def _prepare(pred, target, region):
    pred, target = to_unit_float(pred, "prediction"), to_unit_float(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} differ in shape")
    if region is not None:
        region = np.asarray(region)
        if region.shape != pred.shape[:2]:
            raise ValueError(f"region {region.shape} does not match the images' {pred.shape[:2]}")
        region = region.astype(bool)
    return pred, target, region


def _masked_mean(values: np.ndarray, region: np.ndarray | None) -> float:
    """Mean of (H, W, C) values over the pixels of region (all of them when None); NaN if empty."""
    if region is None:
        return float(values.mean())
    if not region.any():
        return math.nan
    return float(values[region].mean())


def _psnr_from_mse(value: float, cap: float) -> float:
    if math.isnan(value):
        return math.nan
    if value <= 0.0:
        return cap
    return min(cap, 10.0 * math.log10(1.0 / value))


def mse(pred, target, region=None) -> float:
    """Mean squared error on [0, 1] images, over region pixels (bool (H, W)) when given; NaN if
    the region is empty."""
    pred, target, region = _prepare(pred, target, region)
    return _masked_mean((pred - target) ** 2, region)


def psnr(pred, target, region=None, *, cap: float = PSNR_CAP_DB) -> float:
    """PSNR in dB with peak 1 (255 for uint8), from the (masked) MSE; `cap` when the MSE is 0."""
    return _psnr_from_mse(mse(pred, target, region), cap)


def mae(pred, target, region=None) -> float:
    """Mean absolute error on [0, 1] images (over region pixels when given), in [0, 1]."""
    pred, target, region = _prepare(pred, target, region)
    return _masked_mean(np.abs(pred - target), region)


def _ssim(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    from skimage.metrics import structural_similarity

    if min(pred.shape[:2]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels (its window), got {pred.shape[:2]}")
    value, full = structural_similarity(
        pred, target, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=SSIM_SIGMA,
        use_sample_covariance=False, full=True,
    )
    return float(value), full  # full: (H, W, C)


def ssim_map(pred, target) -> np.ndarray:
    """The SSIM map (H, W, C) of two images (see the module docstring for the settings)."""
    pred, target, _ = _prepare(pred, target, None)
    return _ssim(pred, target)[1]


def ssim(pred, target, region=None) -> float:
    """SSIM of the whole frame (scikit-image's mean), or the mean of the SSIM map over region
    pixels when a region is given (NaN if it is empty)."""
    pred, target, region = _prepare(pred, target, region)
    value, full = _ssim(pred, target)
    return value if region is None else _masked_mean(full, region)


def image_metrics(pred, target, region=None, *, cap: float = PSNR_CAP_DB) -> dict[str, dict[str, float]]:
    """{scope: {"psnr", "ssim", "mae"}} for scopes "frame", and with a region "region" and "outside".

    pred, target: uint8 or [0, 1] float (H, W, 3); region: bool (H, W), True = generated.
    Computes the SSIM map once for all scopes.
    """
    pred, target, region = _prepare(pred, target, region)
    squared, absolute = (pred - target) ** 2, np.abs(pred - target)
    frame_ssim, full = _ssim(pred, target)
    out = {"frame": {"psnr": _psnr_from_mse(float(squared.mean()), cap), "ssim": frame_ssim,
                     "mae": float(absolute.mean())}}
    if region is not None:
        for scope, pixels in (("region", region), ("outside", ~region)):
            out[scope] = {"psnr": _psnr_from_mse(_masked_mean(squared, pixels), cap),
                          "ssim": _masked_mean(full, pixels), "mae": _masked_mean(absolute, pixels)}
    return out


# --------------------------------------------------------------------------------------------
# Frechet distance (FID on Inception features)
# --------------------------------------------------------------------------------------------


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) features -> their mean (d,) and covariance (d, d) (ddof 1, as FID's reference code)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need (n, d) features with n >= 2, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2, *, eps: float = 1e-6) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):
    |mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))."""
    import scipy.linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched statistics: means {mu1.shape}, {mu2.shape}; "
                         f"covariances {sigma1.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # A singular product (fewer samples than dimensions): regularize as FID's reference code does.
        log.warning("Frechet distance: singular covariance product; adding %g to the diagonals", eps)
        offset = np.eye(mu1.size) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"Frechet distance: imaginary part {np.abs(covmean.imag).max():.3g} in the matrix root")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


# --------------------------------------------------------------------------------------------
# Models and test pairs
# --------------------------------------------------------------------------------------------


def _model_subfolder(folder: Path) -> Path | None:
    """A model folder (config.json + model.safetensors) at `folder` or `folder/model` (a run)."""
    for candidate in (folder, folder / "model"):
        if (candidate / "config.json").is_file():
            return candidate
    return None


def _config_kind(folder: Path) -> str:
    """"tokenizer" or "transformer": what a model folder's config.json describes."""
    import json

    try:
        keys = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{folder / 'config.json'}: not a readable JSON config ({exc})") from exc
    if isinstance(keys, dict) and "resolution" in keys:
        return "tokenizer"
    if isinstance(keys, dict) and "num_layers" in keys:
        return "transformer"
    raise ModelFileError(f"{folder / 'config.json'}: neither a tokenizer nor a transformer config")


def load_models(folder: str | os.PathLike, *, tokenizer: str | os.PathLike | None = None,
                device: str | torch.device | None = "cpu", transformer_required: bool = True):
    """(tokenizer, transformer) in eval mode from model folders.

    folder: a shipped model folder (tokenizer/ and transformer/, as `Animator.from_pretrained`);
    or a transformer model folder or training run folder (holding model/), with `tokenizer` naming
    the tokenizer's; or, when `transformer_required` is False, a tokenizer's folder or run alone
    (the transformer is then None: enough for "copy" and "reconstruction"). `tokenizer` overrides
    a shipped folder's own tokenizer. Raises ModelFileError when a part is missing or the two do
    not fit together.
    """
    from .nn.tokenizer import TSVQGAN
    from .nn.transformer import LATransformer

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no such model folder")
    tokenizer_dir = transformer_dir = None
    if (folder / "transformer").is_dir() or (folder / "tokenizer").is_dir():
        transformer_dir = _model_subfolder(folder / "transformer")
        tokenizer_dir = _model_subfolder(folder / "tokenizer")
    else:
        single = _model_subfolder(folder)
        if single is None:
            raise ModelFileError(f"{folder}: not a model folder (expected tokenizer/ and transformer/, "
                                 "config.json, or a run's model/config.json)")
        if _config_kind(single) == "tokenizer":
            tokenizer_dir = single
        else:
            transformer_dir = single
    if tokenizer is not None:
        tokenizer_dir = _model_subfolder(Path(tokenizer))
        if tokenizer_dir is None or _config_kind(tokenizer_dir) != "tokenizer":
            raise ModelFileError(f"{tokenizer}: not a tokenizer model folder or run")
    if tokenizer_dir is None:
        raise ModelFileError(f"{folder}: no tokenizer (config.json + model.safetensors); "
                             "a transformer-only folder needs --tokenizer")
    if transformer_dir is None and transformer_required:
        raise ModelFileError(f"{folder}: no transformer; only 'copy' and 'reconstruction' run without one")
    tok = TSVQGAN.from_pretrained(tokenizer_dir)
    tr = None if transformer_dir is None else LATransformer.from_pretrained(transformer_dir)
    if tr is not None:
        _check_fit(tok, tr, f"{tokenizer_dir} + {transformer_dir}")
    device = torch.device(device) if device is not None else None
    return tok.to(device).eval(), None if tr is None else tr.to(device).eval()


def load_transformer(folder: str | os.PathLike, tokenizer, *, device: str | torch.device | None = "cpu"):
    """The LA transformer, in eval mode, of a shipped model folder (its transformer/), a transformer
    model folder or a training run, checked against `tokenizer` (ModelFileError when there is none
    or it does not fit)."""
    from .nn.transformer import LATransformer

    folder = Path(folder)
    found = _model_subfolder(folder / "transformer") or _model_subfolder(folder)
    if found is None or _config_kind(found) != "transformer":
        raise ModelFileError(f"{folder}: no transformer (a model folder with transformer/, a transformer's "
                             "config.json + model.safetensors, or its run)")
    transformer = LATransformer.from_pretrained(found)
    _check_fit(tokenizer, transformer, f"{found} + the tokenizer")
    return transformer.to(torch.device(device) if device is not None else None).eval()


def _check_fit(tokenizer, transformer, name: str) -> None:
    tok, tr = tokenizer.config, transformer.config
    if tr.codebook_size != tok.codebook_size:
        raise ModelFileError(f"{name}: the transformer expects {tr.codebook_size} codes, the tokenizer has "
                             f"{tok.codebook_size}")
    if tuple(tr.grid) != tuple(tok.token_grid):
        raise ModelFileError(f"{name}: the transformer expects a {tuple(tr.grid)} token grid, the tokenizer "
                             f"makes {tuple(tok.token_grid)}")


def pair_subsets(data: str | os.PathLike, size: int, *, count: int, seeds: Sequence[int] = (0, 1, 2)
                 ) -> dict[int, list[dict]]:
    """Fixed test pairs: {seed: `count` pair samples} (deterministic for the same arguments).

    data: "synthetic" (SyntheticPairs of the test split: identities and backgrounds never used in
    training; each seed its own videos, one pair per video), or a Penn Action layout folder (its
    test split; pairs spread over the videos round-robin, frames and crops picked by the seed).
    """
    if count < 1:
        raise IlatError(f"--pairs must be at least 1, got {count}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise IlatError(f"seeds must be distinct and at least one, got {list(seeds)}")
    out = {}
    if str(data) == "synthetic":
        from .data.synth import SyntheticPairs

        for seed in seeds:
            stream = SyntheticPairs(size, split="test", seed=int(seed), max_videos=count)
            out[int(seed)] = list(stream)
        return out
    from .data.penn_action import PennActionPairs

    root = Path(data)
    if not root.is_dir():
        raise DatasetError(f"{root}: --data must be 'synthetic' or a dataset folder in the Penn Action layout")
    for seed in seeds:
        probe = PennActionPairs(root, size, split="test", seed=int(seed))
        videos = len(probe.videos)
        if videos == 0:
            raise DatasetError(f"{root}: no test-split videos (labels with train = -1)")
        per_video = -(-count // videos)
        dataset = PennActionPairs(root, size, split="test", seed=int(seed), pairs_per_video=per_video)
        # Item k of video v is index v * per_video + k: go round the videos first.
        indices = [(i % videos) * per_video + i // videos for i in range(count)]
        out[int(seed)] = [dataset[i] for i in indices]
    return out


# --------------------------------------------------------------------------------------------
# Generation, one method
# --------------------------------------------------------------------------------------------


def _stack(pairs: Sequence[dict], device) -> dict[str, torch.Tensor]:
    keys = ("reference", "target", "reference_pose", "target_pose", "region")
    return {k: torch.stack([torch.as_tensor(p[k]) for p in pairs]).to(device) for k in keys}


@torch.inference_mode()
def generate(method: str, tokenizer, transformer, batch: dict[str, torch.Tensor], *, top_k: int | None = None,
             temperature: float | None = None, generator: torch.Generator | None = None,
             views: int = 1, personalize: int = 0, personalize_transformer: int = 0,
             keep_still: float | None = None) -> torch.Tensor:
    """The target frames (B, 3, S, S) in [-1, 1] that `method` makes for a batch of pair samples
    (tensors stacked, on the models' device). See the module docstring for the methods. views:
    for the local methods, the mean of that many test-time views (`views.py`; 1 = the frame
    itself); the other methods make one frame whatever it is. personalize: for the local methods,
    decode each pair with a copy of the decoder tuned that many steps on its reference alone
    (`personalize.py`, as the Animator's `personalize`; 0 = off); personalize_transformer: likewise
    with a copy of the transformer tuned on pairs of the reference's views, first. keep_still: for
    the local methods, show the reference's own pixels on the body parts whose joints moved at
    most this many pixels (`regions.paste_still`; None = off)."""
    from .regions import changed_region, paste_outside, paste_still
    from .sampling import sample_vanilla
    from .train.transformer import normalize_pose
    from .views import average_views, view_list

    reference = batch["reference"]
    if method == "copy":
        return reference.clone()
    size = reference.shape[-1]
    region = batch["region"].bool()  # (B, S, S)
    if method in ("reconstruction", "reconstruction-unchanged"):
        _, known_indices, z = tokenizer.encode(reference, region)  # z: the clean reference features outside
        _, target_indices, _ = tokenizer.encode(batch["target"], region)  # what training targets
        images = tokenizer.decode_indices(target_indices, z=z, region=tokenizer.token_region(region)).clamp(-1, 1)
        if method == "reconstruction":
            return images
        _, reference_indices, _ = tokenizer.encode(reference)
        changed = changed_region(region, target_indices, reference_indices, known_indices)
        return paste_outside(images.float(), reference, changed)
    greedy = top_k is None and temperature is None
    sampling = dict(greedy=greedy, top_k=top_k, temperature=temperature or 1.0, generator=generator)
    if method == "vanilla":
        _, cond_indices, _ = tokenizer.encode(reference)  # condition tokens: no region
        cond = cond_indices.flatten(1)  # (B, N)
        target_pose = normalize_pose(batch["target_pose"].float(), size)
        reference_pose = (normalize_pose(batch["reference_pose"].float(), size)
                          if transformer.config.needs_reference_pose else None)
        tokens = sample_vanilla(transformer, cond, target_pose, reference_pose=reference_pose, **sampling)
        return tokenizer.decode_indices(tokens.view_as(cond_indices)).clamp(-1, 1)  # all tokens, no z
    if method not in LOCAL_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if personalize or personalize_transformer:  # each pair its own models, tuned on its own reference
        from .personalize import personalize_decoder
        from .personalize import personalize_transformer as tune_transformer

        frames = []
        for i in range(len(reference)):
            one = {k: v[i:i + 1] for k, v in batch.items()}
            pose = one["reference_pose"].float()
            tr = tune_transformer(tokenizer, transformer, one["reference"], pose, steps=personalize_transformer)
            tok = personalize_decoder(tokenizer, tr, one["reference"], pose, steps=personalize)
            frames.append(generate(method, tok, tr, one, top_k=top_k, temperature=temperature,
                                   generator=generator, views=views))
        frames = torch.cat(frames)
    else:
        def render(view):
            seen = {"reference": view.images(reference), "region": view.images(region),
                    "reference_pose": view.poses(batch["reference_pose"].float(), size),
                    "target_pose": view.poses(batch["target_pose"].float(), size)}
            return _local_frames(method, tokenizer, transformer, seen, sampling)

        frames = average_views(render, view_list(views, tokenizer.downsample_factor // 2))
    if keep_still is None:
        return frames
    return paste_still(frames, reference, region, batch["reference_pose"].cpu().numpy(),
                       batch["target_pose"].cpu().numpy(), tolerance=keep_still)


def _local_frames(method: str, tokenizer, transformer, batch: dict[str, torch.Tensor], sampling: dict):
    """`generate` for one of LOCAL_METHODS on one view of the batch."""
    from .regions import changed_region, paste_outside
    from .sampling import sample_and_decode
    from .train.transformer import normalize_pose

    reference, region = batch["reference"], batch["region"].bool()
    size = reference.shape[-1]
    _, cond_indices, _ = tokenizer.encode(reference)  # condition tokens: no region
    cond = cond_indices.flatten(1)  # (B, N)
    target_pose = normalize_pose(batch["target_pose"].float(), size)
    reference_pose = (normalize_pose(batch["reference_pose"].float(), size)
                      if transformer.config.needs_reference_pose else None)
    _, indices, z = tokenizer.encode(reference, region)  # (B, h, w), z clean outside the region
    token_region = tokenizer.token_region(region)  # (B, h, w)
    tokens, images = sample_and_decode(tokenizer, transformer, cond, indices, z, target_pose, token_region,
                                       expected=method == "ilat-expected", reference_pose=reference_pose,
                                       **sampling)  # (B, h, w), (B, 3, S, S)
    if method in ("ilat-unchanged", "ilat-expected"):
        return paste_outside(images, reference, changed_region(region, tokens, cond_indices, indices))
    return paste_outside(images, reference, region) if method == "ilat-paste" else images


@dataclasses.dataclass
class SubsetResult:
    """One subset's numbers: metrics[scope][metric] = mean over its pairs."""

    seed: int
    pairs: int
    metrics: dict[str, dict[str, float]]
    seconds_per_frame: float  # wall time
    region_rate: float  # mean share of tokens in the token region
    scope_pairs: dict[str, int]  # pairs that count in each scope (a pair with no region pixel does not)
    cpu_seconds_per_frame: float = math.nan  # this process's CPU time: steadier than wall time on a busy machine
    per_pair: dict[str, dict[str, list[float]]] | None = None  # scope -> metric -> value per pair (NaN: none)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "pairs": self.pairs, "scope_pairs": self.scope_pairs,
                "metrics": json_numbers(self.metrics), "seconds_per_frame": json_number(self.seconds_per_frame),
                "cpu_seconds_per_frame": json_number(self.cpu_seconds_per_frame),
                "region_rate": json_number(self.region_rate),
                "per_pair": None if self.per_pair is None else {
                    scope: {m: [json_number(v) for v in values] for m, values in metrics.items()}
                    for scope, metrics in self.per_pair.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> "SubsetResult":
        """The inverse of `to_dict` (null numbers come back as NaN)."""
        def num(v):
            return math.nan if v is None else float(v)

        per_pair = d.get("per_pair")
        return cls(seed=int(d["seed"]), pairs=int(d["pairs"]), scope_pairs=d["scope_pairs"],
                   metrics={scope: {m: num(v) for m, v in ms.items()} for scope, ms in d["metrics"].items()},
                   seconds_per_frame=num(d["seconds_per_frame"]), region_rate=num(d["region_rate"]),
                   cpu_seconds_per_frame=num(d.get("cpu_seconds_per_frame")),
                   per_pair=None if per_pair is None else {
                       scope: {m: [num(v) for v in values] for m, values in ms.items()}
                       for scope, ms in per_pair.items()})


@dataclasses.dataclass
class MethodResult:
    """A method's results over the subsets; `examples`: its first frames (uint8) of the first subset."""

    method: str
    model: str | None
    subsets: list[SubsetResult]
    fid: float | None = None
    examples: list[np.ndarray] = dataclasses.field(default_factory=list, repr=False)

    def summary(self) -> dict:
        """{"metrics": {scope: {metric: {"mean", "std"}}}, "seconds_per_frame": {...}, "region_rate": {...}}."""
        metrics = {scope: {metric: _mean_std([s.metrics[scope][metric] for s in self.subsets])
                           for metric in METRICS} for scope in self.subsets[0].metrics}
        return {"metrics": metrics,
                "seconds_per_frame": _mean_std([s.seconds_per_frame for s in self.subsets]),
                "cpu_seconds_per_frame": _mean_std([s.cpu_seconds_per_frame for s in self.subsets]),
                "region_rate": _mean_std([s.region_rate for s in self.subsets])}

    def to_dict(self) -> dict:
        summary = self.summary()
        return {"method": self.method, "model": self.model, "pairs": sum(s.pairs for s in self.subsets),
                "metrics": json_numbers(summary["metrics"]),
                "seconds_per_frame": json_numbers(summary["seconds_per_frame"]),
                "cpu_seconds_per_frame": json_numbers(summary["cpu_seconds_per_frame"]),
                "region_rate": json_numbers(summary["region_rate"]),
                "fid": json_number(self.fid), "subsets": [s.to_dict() for s in self.subsets]}

    @classmethod
    def from_dict(cls, d: Mapping) -> "MethodResult":
        """A method's entry of a results file (`to_dict`), without its example frames."""
        return cls(method=d["method"], model=d.get("model"), fid=d.get("fid"),
                   subsets=[SubsetResult.from_dict(s) for s in d["subsets"]])


def load_results(path: str | os.PathLike) -> dict[str, MethodResult]:
    """The methods of a results file written by `ilat-video evaluate --out`, by name."""
    import json

    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise IlatError(f"{path}: no such results file") from None
    except (OSError, ValueError) as error:
        raise IlatError(f"{path}: not a results file ({error})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise IlatError(f"{path}: not an ilat-video results file (expected schema {SCHEMA!r})")
    return {name: MethodResult.from_dict(entry) for name, entry in document["methods"].items()}


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    values = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if len(values) == 0:
        return {"mean": math.nan, "std": math.nan}
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan}


def json_number(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def json_numbers(tree):
    if isinstance(tree, Mapping):
        return {k: json_numbers(v) for k, v in tree.items()}
    return json_number(tree)


ProgressCallback = Callable[[int, int], None]  # (pairs done, pairs in all) for one method


def evaluate_model(model, pairs, *, method: str = "ilat", seeds: Sequence[int] | None = None, count: int = 100,
                   tokenizer: str | os.PathLike | None = None, batch_size: int = 8,
                   device: str | torch.device | None = None, top_k: int | None = None,
                   temperature: float | None = None, views: int = 1, personalize: int = 0,
                   personalize_transformer: int = 0, keep_still: float | None = None, keep_examples: int = 0,
                   features: Callable[[np.ndarray], np.ndarray] | None = None,
                   progress: ProgressCallback | None = None) -> MethodResult:
    """Evaluate one method on test pairs; see the module docstring.

    model: a model folder (see `load_models`; `tokenizer` as there), a (tokenizer, transformer)
        pair (transformer may be None for "copy" and "reconstruction"), or None for "copy".
        For "vanilla" and "taming-la" it is the `ar`-trained baseline.
    pairs: {seed: [pair samples]} (see `pair_subsets`), a list of pair samples (the same pairs for
        every seed; then only the sampler's seed changes, which matters only when sampling), or
        "synthetic" / a Penn Action folder, from which `count` pairs per seed are made.
    seeds: the subsets' seeds (default: the mapping's keys, else 0, 1, 2); each also seeds the
        sampler when top_k / temperature ask for sampling (greedy otherwise, as the paper).
    views: test-time views averaged per frame by the local methods (`views.py`; 1 = none).
    personalize, personalize_transformer: decoder / transformer tuning steps per pair on its
    reference for the local methods (0 = none).
    keep_still: the local methods show the reference's pixels on body parts whose joints moved at
    most this many pixels (`regions.paste_still`; None = off).
    keep_examples: keep the first n result frames of the first subset (for picture strips).
    features: an optional extractor uint8 (n, S, S, 3) -> (n, d) for FID (e.g. `inception.InceptionFeatures`).
    """
    from .data.pairs import tensor_to_image
    from .pipeline import pick_device

    if method not in METHODS:
        raise IlatError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if batch_size < 1:
        raise IlatError(f"batch size must be at least 1, got {batch_size}")
    if top_k is not None and top_k < 1:
        raise IlatError(f"top-k must be at least 1, got {top_k}")
    if temperature is not None and temperature <= 0:
        raise IlatError(f"temperature must be positive, got {temperature}")
    check_views(views)
    check_personalize(personalize)
    check_personalize(personalize_transformer)
    check_keep_still(keep_still)
    device = pick_device(device)
    name = None
    tok = tr = None
    if isinstance(model, (str, os.PathLike)):
        name = str(model)
        tok, tr = load_models(model, tokenizer=tokenizer, device=device,
                              transformer_required=method in MODEL_METHODS)
    elif model is not None:
        tok, tr = model
        tok = tok.to(device).eval()
        tr = None if tr is None else tr.to(device).eval()
        if tr is not None:
            _check_fit(tok, tr, "<models>")
    if method != "copy" and tok is None:
        raise IlatError(f"method {method!r} needs a model")
    if method in MODEL_METHODS and tr is None:
        raise IlatError(f"method {method!r} needs a transformer")

    subsets = _resolve_subsets(pairs, seeds, count, None if tok is None else tok.config.resolution)
    total = sum(len(p) for p in subsets.values())
    done = 0
    results, examples = [], []
    predicted_features, true_features = [], []
    warm = method == "copy"
    for seed, subset in subsets.items():
        if not subset:
            raise DatasetError(f"subset {seed} has no pairs")
        generator = torch.Generator(device=device).manual_seed(int(seed))
        per_pair = {scope: {m: [] for m in METRICS} for scope in SCOPES}
        seconds, cpu_seconds, rates = 0.0, 0.0, []
        for start in range(0, len(subset), batch_size):
            chunk = subset[start:start + batch_size]
            batch = _stack(chunk, device)
            if not warm:  # the first call pays one-off costs (allocations, kernel selection)
                generate(method, tok, tr, {k: v[:1] for k, v in batch.items()}, top_k=top_k,
                         temperature=temperature, generator=torch.Generator(device=device).manual_seed(0),
                         views=views, personalize=personalize,
                         personalize_transformer=personalize_transformer, keep_still=keep_still)
                warm = True
            _synchronize(device)
            started, cpu_started = time.perf_counter(), time.process_time()
            frames = generate(method, tok, tr, batch, top_k=top_k, temperature=temperature, generator=generator,
                              views=views, personalize=personalize,
                              personalize_transformer=personalize_transformer, keep_still=keep_still)
            _synchronize(device)
            seconds += time.perf_counter() - started
            cpu_seconds += time.process_time() - cpu_started
            predicted = [tensor_to_image(f) for f in frames]
            truths = [tensor_to_image(t) for t in batch["target"]]
            regions = batch["region"].bool().cpu().numpy()
            for pred, truth, region in zip(predicted, truths, regions):
                numbers = image_metrics(pred, truth, region)
                for scope in SCOPES:
                    for metric in METRICS:
                        per_pair[scope][metric].append(numbers[scope][metric])
            if tok is not None:  # without a tokenizer ("copy" alone) there is no token grid
                rates.extend(tok.token_region(batch["region"].bool()).flatten(1).float().mean(1).tolist())
            if len(examples) < keep_examples and seed == next(iter(subsets)):
                examples.extend(predicted[:keep_examples - len(examples)])
            if features is not None:
                predicted_features.append(np.asarray(features(np.stack(predicted))))
                true_features.append(np.asarray(features(np.stack(truths))))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        metrics, counts = {}, {}
        for scope in SCOPES:
            valid = ~np.isnan(np.asarray(per_pair[scope]["mae"], dtype=np.float64))
            counts[scope] = int(valid.sum())
            metrics[scope] = {m: float(np.mean(np.asarray(v, np.float64)[valid])) if valid.any() else math.nan
                              for m, v in per_pair[scope].items()}
        results.append(SubsetResult(seed=int(seed), pairs=len(subset), metrics=metrics,
                                    seconds_per_frame=seconds / len(subset),
                                    cpu_seconds_per_frame=cpu_seconds / len(subset),
                                    region_rate=float(np.mean(rates)) if rates else math.nan,
                                    scope_pairs=counts, per_pair=per_pair))
        log.info("%s subset %d: region PSNR %.2f dB, %.4f s/frame", method, seed,
                 metrics["region"]["psnr"], seconds / len(subset))
    fid = None
    if features is not None:
        fid = frechet_distance(*feature_statistics(np.concatenate(predicted_features)),
                               *feature_statistics(np.concatenate(true_features)))
    return MethodResult(method=method, model=name, subsets=results, fid=fid, examples=examples)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def paired_difference(a: MethodResult, b: MethodResult, *, scope: str = "region", metric: str = "psnr") -> dict:
    """a minus b on the same pairs: per subset the mean of the per-pair differences, then mean and
    std (ddof 1) over the subsets, and the share of pairs where a is better (higher, or lower for
    MAE). Pairing removes the spread that comes from which pairs a subset holds."""
    if [s.seed for s in a.subsets] != [s.seed for s in b.subsets] or \
            [s.pairs for s in a.subsets] != [s.pairs for s in b.subsets]:
        raise ValueError("the two results are not on the same subsets")
    means, wins, counted = [], 0, 0
    for sa, sb in zip(a.subsets, b.subsets):
        if sa.per_pair is None or sb.per_pair is None:
            raise ValueError("per-pair values are missing")
        diff = np.asarray(sa.per_pair[scope][metric], np.float64) - np.asarray(sb.per_pair[scope][metric], np.float64)
        diff = diff[~np.isnan(diff)]
        if len(diff):
            means.append(float(diff.mean()))
            wins += int((diff < 0).sum() if metric == "mae" else (diff > 0).sum())
            counted += len(diff)
    stats = _mean_std(means)
    return {"mean": stats["mean"], "std": stats["std"], "better_share": wins / counted if counted else math.nan,
            "pairs": counted}


def _resolve_subsets(pairs, seeds, count, size) -> dict[int, list[dict]]:
    if isinstance(pairs, Mapping):
        subsets = {int(k): list(v) for k, v in pairs.items()}
        if seeds is not None:
            missing = [s for s in seeds if int(s) not in subsets]
            if missing:
                raise IlatError(f"no pairs for seeds {missing}")
            subsets = {int(s): subsets[int(s)] for s in seeds}
        return subsets
    seeds = tuple(seeds) if seeds is not None else (0, 1, 2)
    if isinstance(pairs, (str, os.PathLike)):
        if size is None:
            raise IlatError("pairs from a data source need a model to know the image size")
        return pair_subsets(pairs, size, count=count, seeds=seeds)
    pairs = list(pairs)
    return {int(s): pairs for s in seeds}


# --------------------------------------------------------------------------------------------
# Reports: JSON document, markdown table, picture strip
# --------------------------------------------------------------------------------------------


def machine_info(device: str | torch.device | None = None) -> dict:
    """What the timings were measured on."""
    from .pipeline import pick_device

    device = pick_device(device)
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "device": str(device), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    processor = _cpu_name()
    if processor:
        info["cpu"] = processor
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def results_document(results: Sequence[MethodResult], *, data: str, pairs_per_subset: int, size: int,
                     settings: Mapping | None = None, machine: Mapping | None = None,
                     command: str | None = None) -> dict:
    """The JSON results: schema, when, command, machine, data, settings, one entry per method."""
    subset_seeds = [s.seed for s in results[0].subsets] if results else []
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "machine": dict(machine or machine_info()),
        "data": {"source": str(data), "split": "test", "pairs_per_subset": int(pairs_per_subset),
                 "subset_seeds": subset_seeds, "size": int(size)},
        "settings": dict(settings or {}),
        "metrics_note": ("PSNR (dB, capped at %g), SSIM (Gaussian window, sigma 1.5), MAE on [0, 1]; "
                         "mean over pairs per subset, then mean and std (ddof 1) over subsets" % PSNR_CAP_DB),
        "methods": {r.method: r.to_dict() for r in results},
        "paired": paired_table(results),
    }


def paired_table(results: Sequence[MethodResult], scope: str = "region") -> dict:
    """{"A - B": {metric: paired_difference}} of the first method against each other one."""
    out = {}
    if len(results) < 2 or any(r.subsets[0].per_pair is None for r in results):
        return out
    first = results[0]
    for other in results[1:]:
        out[f"{first.method} - {other.method}"] = {
            metric: json_numbers(paired_difference(first, other, scope=scope, metric=metric)) for metric in METRICS}
    return out


def _cell(stats: Mapping, digits: int) -> str:
    mean, std = stats.get("mean"), stats.get("std")
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


TABLE_COLUMNS = (  # (header, scope, metric, digits)
    ("region PSNR", "region", "psnr", 2), ("region SSIM", "region", "ssim", 3), ("region MAE", "region", "mae", 4),
    ("frame PSNR", "frame", "psnr", 2), ("frame SSIM", "frame", "ssim", 3), ("frame MAE", "frame", "mae", 4),
    ("outside PSNR", "outside", "psnr", 2),
)


def table_rows(document: Mapping) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the results table: one row per method, mean ± std over the subsets."""
    header = ["method", *[c[0] for c in TABLE_COLUMNS], "s/frame", "region rate", "FID"]
    rows = []
    for method, entry in document["methods"].items():
        row = [method]
        for _, scope, metric, digits in TABLE_COLUMNS:
            row.append(_cell(entry["metrics"].get(scope, {}).get(metric, {}), digits))
        row.append(_cell(entry["seconds_per_frame"], 4))
        rate = entry["region_rate"]["mean"]
        row.append("-" if rate is None else f"{100 * rate:.1f}%")
        row.append("-" if entry.get("fid") is None else f"{entry['fid']:.2f}")
        rows.append(row)
    return header, rows


def results_markdown(document: Mapping) -> str:
    """The results as a markdown table with the data, settings, machine and command."""
    header, rows = table_rows(document)
    data, machine = document["data"], document["machine"]
    lines = [
        f"Data: {data['source']} test split, {data['pairs_per_subset']} pairs x subsets {data['subset_seeds']}, "
        f"{data['size']}x{data['size']}. Mean ± std over the subsets.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if document.get("paired"):
        lines += ["", "Paired differences inside the region (same pairs; mean ± std over subsets; share of "
                      "pairs where the first method is better):", "",
                  "| difference | region PSNR | region SSIM | region MAE |", "|---|---:|---:|---:|"]
        for name, entry in document["paired"].items():
            cells = [f"{_cell(entry[m], d)} ({100 * entry[m]['better_share']:.0f}%)"
                     if entry[m]["mean"] is not None else "-" for m, d in (("psnr", 2), ("ssim", 3), ("mae", 4))]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Settings: " + ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                 for k, v in document["settings"].items() if v is not None) + ".",
        f"Machine: {machine.get('cpu', machine.get('platform'))}, device {machine['device']}, "
        f"torch {machine['torch']}, {machine['torch_threads']} threads.",
    ]
    if document.get("command"):
        lines.append(f"Command: `{document['command']}`")
    return "\n".join(lines) + "\n"


def write_json(path: str | os.PathLike, document: Mapping) -> Path:
    """Write `document` as JSON atomically (no partial file on error)."""
    import json

    return write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> Path:
    from .fileio import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def comparison_strip(pairs: Sequence[dict], columns: Mapping[str, Sequence[np.ndarray]], *, scale: int = 2,
                     labels: bool = True) -> np.ndarray:
    """A picture grid, one row per pair: reference | target pose (skeleton on black) | each
    column's image | ground truth. columns: {title: uint8 (S, S, 3) images, one per pair (at
    least as many as pairs)}. scale: nearest-neighbour enlargement. Returns uint8 (H, W, 3)."""
    from PIL import Image, ImageDraw

    from .data.pairs import tensor_to_image
    from .pose.draw import draw_pose

    if not pairs:
        raise ValueError("no pairs to draw")
    for title, images in columns.items():
        if len(images) < len(pairs):
            raise ValueError(f"column {title!r} has {len(images)} images for {len(pairs)} pairs")
    rows = []
    for i, pair in enumerate(pairs):
        reference = tensor_to_image(torch.as_tensor(pair["reference"]))
        truth = tensor_to_image(torch.as_tensor(pair["target"]))
        skeleton = draw_pose(np.zeros_like(reference), np.asarray(pair["target_pose"], np.float32))
        cells = [reference, skeleton, *[np.asarray(images[i]) for images in columns.values()], truth]
        rows.append(np.concatenate(cells, axis=1))
    grid = np.concatenate(rows, axis=0)
    if scale > 1:
        grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    if not labels:
        return grid
    titles = ["reference", "target pose", *columns, "ground truth"]
    cell = grid.shape[1] // len(titles)
    band = Image.new("RGB", (grid.shape[1], 14), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    for k, title in enumerate(titles):
        draw.text((k * cell + 2, 1), title[: max(1, cell // 6)], fill=(0, 0, 0))
    return np.concatenate([np.asarray(band), grid], axis=0)


def save_strip(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, 3) picture as PNG atomically."""
    from PIL import Image

    from .fileio import atomic_output

    with atomic_output(path) as tmp:
        Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format="PNG")
    return Path(path)
