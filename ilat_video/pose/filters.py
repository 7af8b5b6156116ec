"""Temporal clean-up of pose sequences: causal smoothing and interpolation of short gaps.

Two causal (streaming, one frame at a time) smoothers:

`TrackingFilter`, the default: a Kalman filter per joint with a constant-velocity model. It
predicts each joint from its estimated velocity, so a joint moving steadily is followed without
lag, and it weighs each observation by the landmarker's confidence in it: a joint the landmarker
is unsure of (usually the one that jumps) moves the estimate less. Per joint and frame, with `dt`
seconds since the previous frame, position p and velocity v:

    predict:  p = p + v dt;  P = F P F' + q [[dt^3/3, dt^2/2], [dt^2/2, dt]]
    observe:  measurement variance r = 1 / confidence^confidence_power
              K = P[:, 0] / (P[0, 0] + r);  (p, v) += K (x - p);  P = (I - K [1, 0]) P

The gains depend on the settings, the confidences and dt, never on the positions, so the filter is
linear: scaling or shifting the input does the same to the output, and neither the resolution nor
the person's size in the frame changes the smoothing. `acceleration_noise` q says how freely a
joint's velocity changes (per second^3), relative to the noise of a fully confident observation
(r = 1); lower = smoother and later. As the model runs in seconds, a low frame rate (a joint
moves far between frames) is smoothed less. A joint with confidence 0 is not observed: it is
passed through and its track starts afresh when it is seen again. Both coordinates of a joint
share one gain.

`OneEuroFilter` (Casiez, Roussel and Vogel, CHI 2012), the previous default, kept for comparison
and for callers that set its cutoffs: a low-pass filter whose cutoff rises with speed:

    alpha(cutoff) = 1 / (1 + 1 / (2 * pi * cutoff * dt))
    speed_hat     = lowpass(|x - x_hat_prev| / dt, alpha(d_cutoff))
    cutoff        = min_cutoff + beta * speed_hat
    x_hat         = lowpass(x, alpha(cutoff))

Here x is a joint's 2-D position in units of the frame's larger side.

The tracking defaults were chosen on synthetic people with exact joints, extracted by MediaPipe
(`benchmarks/bench_smoothing.py`, results in `benchmarks/results/smoothing.md`): on clips not used
to choose them it halves the frame-to-frame jitter (second difference of the error) with a lag of
about two thirds of a frame, for a few percent more mean error (a causal filter trails moving
joints a little). The One-Euro defaults take off a tenth of the jitter; tuned to halve it, the
One-Euro filter lags about a frame and adds more error.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from .sequence import PoseSequence

logger = logging.getLogger(__name__)

__all__ = ["TrackingFilter", "track", "OneEuroFilter", "one_euro", "smooth_poses", "fill_gaps",
           "SMOOTHING_METHODS", "DEFAULT_ACCELERATION_NOISE", "DEFAULT_CONFIDENCE_POWER",
           "DEFAULT_MIN_CUTOFF", "DEFAULT_BETA", "DEFAULT_D_CUTOFF", "GAP_CONFIDENCE"]

SMOOTHING_METHODS = ("tracking", "one_euro")

# Tracking filter defaults, chosen with benchmarks/bench_smoothing.py (synthetic people with exact
# joints, extracted by MediaPipe; see benchmarks/results/smoothing.md).
DEFAULT_ACCELERATION_NOISE = 2000.0  # per second^3, relative to a confident joint's noise
DEFAULT_CONFIDENCE_POWER = 2.0  # an observation's variance is 1 / confidence ** this

# One-Euro defaults, chosen with `benchmarks/bench_extract.py --only filter` (real Penn Action motion
# plus white synthetic jitter; see benchmarks/results/extract.md).
DEFAULT_MIN_CUTOFF = 0.5  # Hz: cutoff when a joint is still
DEFAULT_BETA = 200.0  # Hz per (frame sides / second): how fast the cutoff rises with speed
DEFAULT_D_CUTOFF = 1.0  # Hz: smoothing of the speed estimate itself

# Confidence factor for positions filled in by interpolation: they were not observed.
GAP_CONFIDENCE = 0.5


class TrackingFilter:
    """Streaming constant-velocity Kalman filter over points of shape (..., D) (module docstring).

    Call with one sample at a time: `filtered = f(x, dt, confidence)`. Points whose confidence is
    0 (not seen) are returned unchanged and forgotten: they start afresh when seen again, as all
    do after `reset()`.
    """

    def __init__(self, acceleration_noise: float = DEFAULT_ACCELERATION_NOISE,
                 confidence_power: float = DEFAULT_CONFIDENCE_POWER):
        if not acceleration_noise > 0:
            raise ValueError(f"acceleration_noise must be positive, got {acceleration_noise}")
        if not confidence_power >= 0:
            raise ValueError(f"confidence_power must be >= 0, got {confidence_power}")
        self.acceleration_noise = float(acceleration_noise)
        self.confidence_power = float(confidence_power)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None  # (..., D) position
        self._v: np.ndarray | None = None  # (..., D) velocity per second
        self._p: np.ndarray | None = None  # (..., 3) covariance entries p00, p01, p11 (shared over D)
        self._seen: np.ndarray | None = None  # (...,) bool: the point has a state

    def __call__(self, x: np.ndarray, dt: float, confidence: np.ndarray | float = 1.0) -> np.ndarray:
        """Filter one sample x (..., D) taken `dt` seconds after the previous one.

        confidence: (...,) or a scalar in [0, 1]; 0 = not seen (passed through, state forgotten).
        """
        x = np.asarray(x, dtype=np.float64)
        conf = np.broadcast_to(np.asarray(confidence, dtype=np.float64), x.shape[:-1])
        if np.any(conf < 0) or np.any(conf > 1) or np.any(np.isnan(conf)):
            raise ValueError("confidence must lie in [0, 1]")
        if self._x is None or self._x.shape != x.shape:
            self._x, self._v = x.copy(), np.zeros_like(x)
            self._p = np.zeros(x.shape[:-1] + (3,))
            self._seen = np.zeros(x.shape[:-1], bool)
        elif not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        seen = conf > 0
        variance = np.ones_like(conf)
        variance[seen] = conf[seen] ** -self.confidence_power
        new = seen & ~self._seen  # first sight: the estimate is the sample itself
        self._x[new], self._v[new] = x[new], 0.0
        self._p[new] = np.stack([variance[new], np.zeros(new.sum()), variance[new] / dt ** 2], -1)
        go = seen & self._seen
        if go.any():
            self._update(go, x, dt, variance)
        self._seen = seen
        out = x.copy()
        out[seen] = self._x[seen]
        return out

    def _update(self, go: np.ndarray, x: np.ndarray, dt: float, variance: np.ndarray) -> None:
        if go.all():  # the usual case: every point seen now and before; no gathering
            go = (...,)
        q = self.acceleration_noise
        p00, p01, p11 = np.moveaxis(self._p[go], -1, 0)
        pos = self._x[go] + self._v[go] * dt
        # predict: constant velocity, white acceleration noise of density q
        p00 = p00 + 2 * dt * p01 + dt * dt * p11 + q * dt ** 3 / 3
        p01 = p01 + dt * p11 + q * dt * dt / 2
        p11 = p11 + q * dt
        # observe
        gain_x = p00 / (p00 + variance[go])
        gain_v = p01 / (p00 + variance[go])
        innovation = x[go] - pos
        self._x[go] = pos + gain_x[..., None] * innovation
        self._v[go] = self._v[go] + gain_v[..., None] * innovation
        self._p[go] = np.stack([(1 - gain_x) * p00, (1 - gain_x) * p01, p11 - gain_v * p01], -1)


def track(values: np.ndarray, fps: float, *, confidence: np.ndarray | None = None,
          acceleration_noise: float = DEFAULT_ACCELERATION_NOISE,
          confidence_power: float = DEFAULT_CONFIDENCE_POWER) -> np.ndarray:
    """Tracking-filter a whole track: values (T, ..., D) sampled at `fps`; returns the same shape.

    confidence: optional (T, ...) in [0, 1] (default all 1); a point with confidence 0 is
        returned unchanged and starts afresh when seen again.
    """
    values = np.asarray(values, dtype=np.float64)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if confidence is None:
        confidence = np.ones(values.shape[:-1])
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != values.shape[:-1]:
        raise ValueError(f"confidence must have shape {values.shape[:-1]}, got {confidence.shape}")
    filt = TrackingFilter(acceleration_noise, confidence_power)
    out = values.copy()
    for t in range(len(values)):
        out[t] = filt(values[t], 1.0 / fps, confidence[t])
    return out


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


def smooth_poses(poses: PoseSequence, *, method: str | None = None,
                 acceleration_noise: float = DEFAULT_ACCELERATION_NOISE,
                 confidence_power: float = DEFAULT_CONFIDENCE_POWER,
                 min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF) -> PoseSequence:
    """Causal smoothing of every joint's (x, y); confidences and empty frames are left as they are.

    method: "tracking" (TrackingFilter: acceleration_noise, confidence_power) or "one_euro"
        (OneEuroFilter: min_cutoff, beta, d_cutoff, in units of max(width, height)). None (the
        default): "tracking", unless a One-Euro setting other than its default is given, which
        asks for the One-Euro filter (so callers that tune its cutoffs keep getting it).
    Frames with no person split the sequence into separately filtered runs; a joint with
    confidence 0 is left as it is and its track starts afresh when it is seen again.
    """
    if method is None:
        one_euro_asked = (min_cutoff, beta, d_cutoff) != (DEFAULT_MIN_CUTOFF, DEFAULT_BETA, DEFAULT_D_CUTOFF)
        method = "one_euro" if one_euro_asked else "tracking"
    if method not in SMOOTHING_METHODS:
        raise ValueError(f"method must be one of {', '.join(SMOOTHING_METHODS)}, got {method!r}")
    if len(poses) == 0:
        return poses
    out = poses.keypoints.copy()
    if method == "tracking":
        smoothed = track(poses.xy, poses.fps, confidence=np.clip(poses.confidence, 0.0, 1.0),
                         acceleration_noise=acceleration_noise, confidence_power=confidence_power)
        out[..., :2] = smoothed.astype(np.float32)
    else:
        scale = float(max(poses.width, poses.height))
        xy = poses.xy.astype(np.float64) / scale
        smoothed = one_euro(xy, poses.fps, valid=poses.has_person, min_cutoff=min_cutoff, beta=beta,
                            d_cutoff=d_cutoff)
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
