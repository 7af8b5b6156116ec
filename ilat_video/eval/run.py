"""Evaluating one method on test pairs: frames made, compared with the truth, timed."""
from __future__ import annotations

import logging
import math
import os
import time
from typing import Callable, Sequence

import numpy as np
import torch

from ..crop import tensor_to_image
from ..errors import DatasetError, IlatError
from ..nn.loading import check_fit, load_models, pick_device
from ..options import RenderOptions
from .methods import METHODS, MODEL_METHODS, generate
from .metrics import (
    METRICS,
    SCOPES,
    feature_statistics,
    frechet_distance,
    image_metrics,
)
from .pairs import resolve_subsets, stack_pairs
from .results import MethodResult, SubsetResult

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (pairs done, pairs in all) for one method
Features = Callable[[np.ndarray], np.ndarray]  # uint8 (n, S, S, 3) -> (n, d)


def evaluate_model(model, pairs, *, method: str = "ilat", options: RenderOptions | None = None,
                   seeds: Sequence[int] | None = None, count: int = 100,
                   tokenizer: str | os.PathLike | None = None, batch_size: int = 8,
                   device: str | torch.device | None = None, keep_examples: int = 0,
                   features: Features | None = None, progress: ProgressCallback | None = None) -> MethodResult:
    """Evaluate one method on test pairs; see the package docstring.

    model: a model folder (see `nn.loading.load_models`; `tokenizer` as there), a (tokenizer,
        transformer) pair (transformer may be None for "copy" and "reconstruction"), or None for
        "copy". For "vanilla" and "taming-la" it is the `ar`-trained baseline.
    pairs: {seed: [pair samples]} (see `pairs.pair_subsets`), a list of pair samples (the same
        pairs for every seed; then only the sampler's seed changes, which matters only when
        sampling), or "synthetic" / a Penn Action folder, from which `count` pairs per seed are made.
    options: `RenderOptions` (frame="square", the model's frames) for the local methods (views,
        personalising, keep-still) and the sampling ones (top_k, temperature); see `methods.generate`.
    seeds: the subsets' seeds (default: the mapping's keys, else 0, 1, 2); each also seeds the
        sampler when the options ask for sampling (greedy otherwise, as the paper).
    keep_examples: keep the first n result frames of the first subset (for picture strips).
    features: an optional extractor uint8 (n, S, S, 3) -> (n, d) for FID (e.g. `inception.InceptionFeatures`).
    """
    options = options or RenderOptions(frame="square")
    if method not in METHODS:
        raise IlatError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if batch_size < 1:
        raise IlatError(f"batch size must be at least 1, got {batch_size}")
    device = pick_device(device)
    tok, tr = _models_for(method, model, tokenizer, device)
    subsets = resolve_subsets(pairs, seeds, count, None if tok is None else tok.config.resolution)
    total = sum(len(p) for p in subsets.values())
    meter = _Meter(total, progress, features)
    warm = method == "copy"
    for seed, subset in subsets.items():
        if not subset:
            raise DatasetError(f"subset {seed} has no pairs")
        generator = torch.Generator(device=device).manual_seed(int(seed))
        meter.start_subset(keep_examples if seed == next(iter(subsets)) else 0)
        for start in range(0, len(subset), batch_size):
            batch = stack_pairs(subset[start:start + batch_size], device)
            if not warm:  # the first call pays one-off costs (allocations, kernel selection)
                generate(method, tok, tr, {k: v[:1] for k, v in batch.items()}, options,
                         generator=torch.Generator(device=device).manual_seed(0))
                warm = True
            _synchronize(device)
            started, cpu_started = time.perf_counter(), time.process_time()
            frames = generate(method, tok, tr, batch, options, generator=generator)
            _synchronize(device)
            meter.add(frames, batch, tok, time.perf_counter() - started, time.process_time() - cpu_started)
        meter.end_subset(int(seed), len(subset), method)
    fid = None
    if features is not None:
        fid = frechet_distance(*feature_statistics(np.concatenate(meter.predicted_features)),
                               *feature_statistics(np.concatenate(meter.true_features)))
    name = str(model) if isinstance(model, (str, os.PathLike)) else None
    return MethodResult(method=method, model=name, subsets=meter.results, fid=fid, examples=meter.examples)


def _models_for(method: str, model, tokenizer, device: torch.device):
    """(tokenizer, transformer) for `method` from a folder, a pair of models or None."""
    tok = tr = None
    if isinstance(model, (str, os.PathLike)):
        tok, tr = load_models(model, tokenizer=tokenizer, device=device,
                              transformer_required=method in MODEL_METHODS)
    elif model is not None:
        tok, tr = model
        tok = tok.to(device).eval()
        tr = None if tr is None else tr.to(device).eval()
        if tr is not None:
            check_fit(tok, tr, "<models>")
    if method != "copy" and tok is None:
        raise IlatError(f"method {method!r} needs a model")
    if method in MODEL_METHODS and tr is None:
        raise IlatError(f"method {method!r} needs a transformer")
    return tok, tr


class _Meter:
    """Per-pair metrics, timings, region rates, example frames and FID features, subset by subset."""

    def __init__(self, total: int, progress: ProgressCallback | None, features: Features | None):
        self.total, self.done, self.progress, self.features = total, 0, progress, features
        self.results: list[SubsetResult] = []
        self.examples: list[np.ndarray] = []
        self.predicted_features: list[np.ndarray] = []
        self.true_features: list[np.ndarray] = []

    def start_subset(self, keep_examples: int) -> None:
        self.per_pair = {scope: {m: [] for m in METRICS} for scope in SCOPES}
        self.seconds, self.cpu_seconds, self.rates, self.keep = 0.0, 0.0, [], keep_examples

    def add(self, frames: torch.Tensor, batch: dict[str, torch.Tensor], tokenizer, seconds: float,
            cpu_seconds: float) -> None:
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds
        predicted = [tensor_to_image(f) for f in frames]
        truths = [tensor_to_image(t) for t in batch["target"]]
        for pred, truth, region in zip(predicted, truths, batch["region"].bool().cpu().numpy()):
            numbers = image_metrics(pred, truth, region)
            for scope in SCOPES:
                for metric in METRICS:
                    self.per_pair[scope][metric].append(numbers[scope][metric])
        if tokenizer is not None:  # without a tokenizer ("copy" alone) there is no token grid
            self.rates.extend(tokenizer.token_region(batch["region"].bool()).flatten(1).float().mean(1).tolist())
        if len(self.examples) < self.keep:
            self.examples.extend(predicted[:self.keep - len(self.examples)])
        if self.features is not None:
            self.predicted_features.append(np.asarray(self.features(np.stack(predicted))))
            self.true_features.append(np.asarray(self.features(np.stack(truths))))
        self.done += len(predicted)
        if self.progress is not None:
            self.progress(self.done, self.total)

    def end_subset(self, seed: int, pairs: int, method: str) -> None:
        metrics, counts = {}, {}
        for scope in SCOPES:
            valid = ~np.isnan(np.asarray(self.per_pair[scope]["mae"], dtype=np.float64))
            counts[scope] = int(valid.sum())
            metrics[scope] = {m: float(np.mean(np.asarray(v, np.float64)[valid])) if valid.any() else math.nan
                              for m, v in self.per_pair[scope].items()}
        self.results.append(SubsetResult(seed=seed, pairs=pairs, metrics=metrics,
                                         seconds_per_frame=self.seconds / pairs,
                                         cpu_seconds_per_frame=self.cpu_seconds / pairs,
                                         region_rate=float(np.mean(self.rates)) if self.rates else math.nan,
                                         scope_pairs=counts, per_pair=self.per_pair))
        log.info("%s subset %d: region PSNR %.2f dB, %.4f s/frame", method, seed,
                 metrics["region"]["psnr"], self.seconds / pairs)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
