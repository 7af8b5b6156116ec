"""Temporal clean-up of pose sequences: One-Euro smoothing and interpolation of short gaps.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose cutoff rises
with speed: slow motion is smoothed hard (no jitter when standing still), fast motion lightly (little
lag when the arm swings). Per sample, with `dt` seconds since the previous one:

    alpha(cutoff) = 1 / (1 + 1 / (2 * pi * cutoff * dt))
    speed_hat     = lowpass(|x - x_hat_prev| / dt, alpha(d_cutoff))
    cutoff        = min_cutoff + beta * speed_hat
    x_hat         = lowpass(x, alpha(cutoff))

Here x is a joint's 2-D position and the speed is the length of its velocity, so both coordinates
of a joint share one cutoff. Positions are filtered in units of the frame's larger side, which
makes `beta` independent of the video's resolution.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from .sequence import PoseSequence

logger = logging.getLogger(__name__)

__all__ = ["OneEuroFilter", "one_euro", "smooth_poses", "fill_gaps",
           "DEFAULT_MIN_CUTOFF", "DEFAULT_BETA", "DEFAULT_D_CUTOFF", "GAP_CONFIDENCE"]

# Defaults chosen with `benchmarks/bench_extract.py --only filter` (real Penn Action motion plus
# synthetic jitter; see benchmarks/results/extract.md).
DEFAULT_MIN_CUTOFF = 0.5  # Hz: cutoff when a joint is still
DEFAULT_BETA = 200.0  # Hz per (frame sides / second): how fast the cutoff rises with speed
DEFAULT_D_CUTOFF = 1.0  # Hz: smoothing of the speed estimate itself

# Confidence factor for positions filled in by interpolation: they were not observed.
GAP_CONFIDENCE = 0.5


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Streaming One-Euro filter over points of shape (..., D); the speed is the norm over D.

    Call with one sample at a time: `filtered = f(x, dt)`. `reset()` forgets the past (use it
    after a gap, so the filter does not drag the new segment towards the old position).
    """

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF):
        if min_cutoff <= 0 or d_cutoff <= 0:
            raise ValueError(f"cutoffs must be positive, got min_cutoff={min_cutoff}, d_cutoff={d_cutoff}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def __call__(self, x: np.ndarray, dt: float) -> np.ndarray:
        """Filter one sample x (..., D) taken `dt` seconds after the previous one."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x = x.copy()
            self._speed = np.zeros(x.shape[:-1])
            return x.copy()
        if dt <= 0:
            raise ValueError(f"dt must be positive, got {dt}")
        speed = np.linalg.norm(x - self._x, axis=-1) / dt
        self._speed = self._speed + _alpha(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * self._speed
        a = _alpha(cutoff, dt)[..., None]
        self._x = self._x + a * (x - self._x)
        return self._x.copy()


def one_euro(values: np.ndarray, fps: float, *, valid: np.ndarray | None = None,
             min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
             d_cutoff: float = DEFAULT_D_CUTOFF) -> np.ndarray:
    """One-Euro filter a whole track: values (T, ..., D) sampled at `fps`; returns the same shape.

    valid: optional (T,) bool; invalid samples are returned unchanged and restart the filter,
        so each run of valid samples is filtered on its own.
    """
    values = np.asarray(values, dtype=np.float64)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    valid = np.ones(len(values), bool) if valid is None else np.asarray(valid, bool)
    if valid.shape != (len(values),):
        raise ValueError(f"valid must have shape ({len(values)},), got {valid.shape}")
    filt = OneEuroFilter(min_cutoff, beta, d_cutoff)
    out = values.copy()
    dt = 1.0 / fps
    for t in range(len(values)):
        if valid[t]:
            out[t] = filt(values[t], dt)
        else:
            filt.reset()
    return out


def smooth_poses(poses: PoseSequence, *, min_cutoff: float = DEFAULT_MIN_CUTOFF,
                 beta: float = DEFAULT_BETA, d_cutoff: float = DEFAULT_D_CUTOFF) -> PoseSequence:
    """One-Euro smoothing of every joint's (x, y); confidences are left as they are.

    Frames with no person are left empty and split the sequence into separately filtered runs.
    Coordinates are filtered in units of max(width, height).
    """
    if len(poses) == 0:
        return poses
    scale = float(max(poses.width, poses.height))
    xy = poses.xy.astype(np.float64) / scale
    smoothed = one_euro(xy, poses.fps, valid=poses.has_person, min_cutoff=min_cutoff, beta=beta,
                        d_cutoff=d_cutoff)
    out = poses.keypoints.copy()
    out[..., :2] = (smoothed * scale).astype(np.float32)
    out[~poses.has_person] = 0.0
    return poses.replace(keypoints=out)


def fill_gaps(poses: PoseSequence, max_gap: int) -> tuple[PoseSequence, np.ndarray]:
    """Interpolate runs of at most `max_gap` frames in which a joint is missing (confidence 0).

    Only runs with an observation on both sides are filled (nothing is extrapolated). Filled
    positions are linear in time between the two observations; their confidence is
    GAP_CONFIDENCE x the smaller of the two observed confidences, so they stay recognisable.
    Returns (filled poses, (T,) bool of frames that had no person before and have one now).
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0, got {max_gap}")
    kp = poses.keypoints.copy()
    had_person = poses.has_person
    if max_gap > 0 and len(poses) > 2:
        seen = kp[..., 2] > 0  # (T, J)
        for joint in range(kp.shape[1]):
            frames = np.flatnonzero(seen[:, joint])
            if len(frames) < 2:
                continue
            for a, b in zip(frames[:-1], frames[1:]):
                gap = b - a - 1
                if gap == 0 or gap > max_gap:
                    continue
                w = (np.arange(a + 1, b) - a)[:, None] / (b - a)  # (gap, 1)
                kp[a + 1 : b, joint, :2] = (1 - w) * kp[a, joint, :2] + w * kp[b, joint, :2]
                kp[a + 1 : b, joint, 2] = GAP_CONFIDENCE * min(kp[a, joint, 2], kp[b, joint, 2])
    filled = poses.replace(keypoints=kp)
    new_frames = filled.has_person & ~had_person
    if new_frames.any():
        logger.info("%s: interpolated %d frame(s) with no person from their neighbours: %s",
                    poses.source, int(new_frames.sum()), _ranges(np.flatnonzero(new_frames)))
    return filled, new_frames


def _ranges(indices: np.ndarray) -> str:
    """'3-5, 9' for [3, 4, 5, 9]."""
    if len(indices) == 0:
        return "none"
    parts, start, prev = [], int(indices[0]), int(indices[0])
    for i in map(int, indices[1:]):
        if i != prev + 1:
            parts.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = i
        prev = i
    parts.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ", ".join(parts)
