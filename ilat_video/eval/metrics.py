"""Image metrics on uint8 frames as the user gets them, scaled to [0, 1], and the Frechet distance.

- PSNR = 10 log10(1 / MSE), capped at PSNR_CAP_DB when the MSE is 0 (so means and JSON stay finite);
- SSIM: scikit-image's `structural_similarity` with Wang et al.'s settings (11x11 Gaussian window,
  sigma 1.5, population covariances, K1 0.01, K2 0.03), averaged over RGB channels. Whole frame:
  scikit-image's mean (the border where the window does not fit is left out, as there). Inside or
  outside the region: the mean of the SSIM map over those pixels (the map is reflect-padded at the
  image border);
- MAE: mean absolute error over pixels and channels, in [0, 1] (the paper's Table 1 scale);
each over the whole frame ("frame"), inside the pair's pixel region ("region": masked MSE / MAE /
SSIM map) and outside it ("outside": what Eq. 4 should keep).
"""
from __future__ import annotations

import logging
import math

import numpy as np
import scipy.linalg
from skimage.metrics import structural_similarity

log = logging.getLogger(__name__)

SCOPES = ("frame", "region", "outside")
METRICS = ("psnr", "ssim", "mae")
PSNR_CAP_DB = 100.0  # above any real 8-bit error at our sizes (one level on one value of 128x128x3: 95 dB)
SSIM_SIGMA = 1.5


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
