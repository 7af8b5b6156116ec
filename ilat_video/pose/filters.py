"""Temporal clean-up of pose sequences: smoothing and interpolation of short gaps.

Three smoothers; the first is the default (`smooth_poses`):

`smooth_track`, two-sided: a constant-velocity Kalman filter per point run over the whole
sequence forwards, then corrected backwards (the Rauch-Tung-Striebel smoother), so each estimate
uses the frames after it as well as those before. It does not trail a moving joint (no lag) and
weighs a sample that jumps against both its neighbours. Extraction always has the whole sequence
(poses are extracted before a frame is drawn), so nothing is lost by looking ahead.

`TrackingFilter`, causal (one frame at a time, for a live stream): the same model forwards only.
It predicts each joint from its estimated velocity, so a joint moving steadily is followed without
lag, and it weighs each observation by the landmarker's confidence in it: a joint the landmarker
is unsure of (usually the one that jumps) moves the estimate less. Per joint and frame, with `dt`
seconds since the previous frame, position p and velocity v:

    predict:  p = p + v dt;  P = F P F' + q [[dt^3/3, dt^2/2], [dt^2/2, dt]],  F = [[1, dt], [0, 1]]
    observe:  measurement variance r = 1 / confidence^confidence_power
              K = P[:, 0] / (P[0, 0] + r);  (p, v) += K (x - p);  P = (I - K [1, 0]) P

and backwards, for the two-sided smoother, from the last frame of a run to its first:

    C = P F' inv(P_predicted next);  (p, v) += C ((p, v)_smoothed next - (p, v)_predicted next)

The gains depend on the settings, the confidences and dt, never on the positions, so both are
linear: scaling or shifting the input does the same to the output, and neither the resolution nor
the person's size in the frame changes the smoothing. `acceleration_noise` q says how freely a
joint's velocity changes (per second^3), relative to the noise of a fully confident observation
(r = 1); lower = smoother. As the model runs in seconds, a low frame rate (a joint moves far
between frames) is smoothed less. A point with confidence 0 is not observed: it is passed through
and its track starts afresh when it is seen again. Both coordinates of a point share one gain.

`OneEuroFilter` (Casiez, Roussel and Vogel, CHI 2012), the default before the Kalman filters,
kept for callers that set its cutoffs: a causal low-pass filter whose cutoff rises with speed:

    alpha(cutoff) = 1 / (1 + 1 / (2 * pi * cutoff * dt))
    speed_hat     = lowpass(|x - x_hat_prev| / dt, alpha(d_cutoff))
    cutoff        = min_cutoff + beta * speed_hat
    x_hat         = lowpass(x, alpha(cutoff))

Here x is a joint's 2-D position in units of the frame's larger side.

Settings were chosen on synthetic people with exact joints, extracted by MediaPipe
(`benchmarks/bench_smoothing.py`, results in `benchmarks/results/smoothing.md`). On clips not used
to choose them the two-sided smoother takes off most of the frame-to-frame jitter (second
difference of the error) and lowers the error, with no lag; a causal filter cannot do both: the
tracking filter halves the jitter for a few percent more error and about two thirds of a frame of
lag (it trails moving joints), and the One-Euro filter tuned to halve it lags about a frame and
adds more error.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from .sequence import PoseSequence

logger = logging.getLogger(__name__)

__all__ = ["smooth_track", "TrackingFilter", "track", "OneEuroFilter", "one_euro", "smooth_poses", "fill_gaps",
           "SMOOTHING_METHODS", "DEFAULT_SMOOTHER_NOISE", "DEFAULT_SMOOTHER_POWER", "DEFAULT_ACCELERATION_NOISE",
           "DEFAULT_CONFIDENCE_POWER", "DEFAULT_MIN_CUTOFF", "DEFAULT_BETA", "DEFAULT_D_CUTOFF", "GAP_CONFIDENCE"]

SMOOTHING_METHODS = ("two_sided", "tracking", "one_euro")

# Two-sided smoother defaults, chosen with benchmarks/bench_smoothing.py on synthetic people and on
# real motion (Penn Action labels) given MediaPipe's errors: the least error on both, no error added.
DEFAULT_SMOOTHER_NOISE = 10000.0  # per second^3, relative to a confident joint's noise
DEFAULT_SMOOTHER_POWER = 2.0  # an observation's variance is 1 / confidence ** this
# A run's first velocity is unknown: its variance is this x the first sample's variance per frame^2
# (large enough to be diffuse, small enough to keep float64 precise).
_DIFFUSE = 1e8

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
        p00, p01, p11 = _predicted_covariance(p00, p01, p11, dt, q)
        # observe
        gain_x = p00 / (p00 + variance[go])
        gain_v = p01 / (p00 + variance[go])
        innovation = x[go] - pos
        self._x[go] = pos + gain_x[..., None] * innovation
        self._v[go] = self._v[go] + gain_v[..., None] * innovation
        self._p[go] = np.stack([(1 - gain_x) * p00, (1 - gain_x) * p01, p11 - gain_v * p01], -1)


def _all_or(mask: np.ndarray) -> np.ndarray | slice:
    """An index for the points in `mask`: every point (a slice, no gathering) when all are in it."""
    return slice(None) if mask.all() else mask


def _predicted_covariance(p00, p01, p11, dt: float, q: float):
    """One step of the constant-velocity model: the covariance (p00, p01, p11) of (position,
    velocity) dt seconds on, with white acceleration noise of density q."""
    return (p00 + 2 * dt * p01 + dt * dt * p11 + q * dt ** 3 / 3, p01 + dt * p11 + q * dt * dt / 2,
            p11 + q * dt)


def track(values: np.ndarray, fps: float, *, confidence: np.ndarray | None = None,
          acceleration_noise: float = DEFAULT_ACCELERATION_NOISE,
          confidence_power: float = DEFAULT_CONFIDENCE_POWER) -> np.ndarray:
    """Tracking-filter a whole track: values (T, ..., D) sampled at `fps`; returns the same shape.

    confidence: optional (T, ...) in [0, 1] (default all 1); a point with confidence 0 is
        returned unchanged and starts afresh when seen again.
    """
    values, confidence = _track_inputs(values, fps, confidence)
    filt = TrackingFilter(acceleration_noise, confidence_power)
    out = values.copy()
    for t in range(len(values)):
        out[t] = filt(values[t], 1.0 / fps, confidence[t])
    return out


def _track_inputs(values, fps: float, confidence) -> tuple[np.ndarray, np.ndarray]:
    """(values float64 (T, ..., D), confidence float64 (T, ...), all 1 when None), checked."""
    values = np.asarray(values, dtype=np.float64)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if confidence is None:
        confidence = np.ones(values.shape[:-1])
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != values.shape[:-1]:
        raise ValueError(f"confidence must have shape {values.shape[:-1]}, got {confidence.shape}")
    return values, confidence


def smooth_track(values: np.ndarray, fps: float, *, confidence: np.ndarray | None = None,
                 acceleration_noise: float = DEFAULT_SMOOTHER_NOISE,
                 confidence_power: float = DEFAULT_SMOOTHER_POWER) -> np.ndarray:
    """Two-sided smoothing of a whole track: values (T, ..., D) sampled at `fps`; the same shape.

    The constant-velocity Kalman filter of `TrackingFilter` run forwards over the track, then
    corrected backwards (Rauch-Tung-Striebel): each estimate uses the frames after it as well as
    those before, so a moving joint is not trailed (no lag), and a sample that jumps is weighed
    against both neighbours. The track's start has no velocity prior (diffuse), which makes the
    result the same whichever way time runs: reversing the track reverses the output. Needs the
    whole track (extraction has it; a live stream would use `track`).

    confidence: optional (T, ...) in [0, 1] (default all 1): an observation's variance is
        1 / confidence ** confidence_power; a point with confidence 0 is returned unchanged and
        splits its track: the runs on either side are smoothed on their own.
    Linear like `track`: scaling or shifting the input does the same to the output.
    """
    values, confidence = _track_inputs(values, fps, confidence)
    if not acceleration_noise > 0:
        raise ValueError(f"acceleration_noise must be positive, got {acceleration_noise}")
    if not confidence_power >= 0:
        raise ValueError(f"confidence_power must be >= 0, got {confidence_power}")
    if np.any(confidence < 0) or np.any(confidence > 1) or np.any(np.isnan(confidence)):
        raise ValueError("confidence must lie in [0, 1]")
    if len(values) == 0:
        return values.copy()
    steps, shape = len(values), values.shape[1:]
    x = values.reshape(steps, -1, shape[-1])  # (T, N, D)
    seen = confidence.reshape(steps, -1) > 0  # (T, N)
    variance = np.ones_like(confidence.reshape(steps, -1))
    variance[seen] = confidence.reshape(steps, -1)[seen] ** -confidence_power
    dt, q = 1.0 / fps, float(acceleration_noise)
    # forward: filtered state (pos, vel) and covariance (p00, p01, p11) per step, and the predicted
    # ones each step was updated from; `linked[t]`: step t continues the run of step t - 1
    pos, vel = np.zeros_like(x), np.zeros_like(x)
    cov = np.zeros(x.shape[:2] + (3,))
    pred_pos, pred_vel = np.zeros_like(x), np.zeros_like(x)
    pred_cov = np.zeros_like(cov)
    linked = np.zeros(seen.shape, bool)
    for t in range(steps):
        new = seen[t] if t == 0 else seen[t] & ~seen[t - 1]
        pos[t, new], vel[t, new] = x[t, new], 0.0
        cov[t, new] = np.stack([variance[t, new], np.zeros(new.sum()), _DIFFUSE * variance[t, new] / dt ** 2], -1)
        if t == 0:
            continue
        go = seen[t] & seen[t - 1]
        linked[t] = go
        if not go.any():
            continue
        go = _all_or(go)
        p00, p01, p11 = np.moveaxis(cov[t - 1, go], -1, 0)
        pp = pred_pos[t, go] = pos[t - 1, go] + vel[t - 1, go] * dt
        pred_vel[t, go] = vel[t - 1, go]
        p00, p01, p11 = _predicted_covariance(p00, p01, p11, dt, q)
        pred_cov[t, go] = np.stack([p00, p01, p11], -1)
        gain_x = p00 / (p00 + variance[t, go])
        gain_v = p01 / (p00 + variance[t, go])
        innovation = x[t, go] - pp
        pos[t, go] = pp + gain_x[:, None] * innovation
        vel[t, go] = vel[t - 1, go] + gain_v[:, None] * innovation
        cov[t, go] = np.stack([(1 - gain_x) * p00, (1 - gain_x) * p01, p11 - gain_v * p01], -1)
    # backward: where step t + 1 continues step t's run, correct t by what t + 1 learned later
    for t in range(steps - 2, -1, -1):
        go = linked[t + 1]
        if not go.any():
            continue
        go = _all_or(go)
        a, b, c = np.moveaxis(cov[t, go], -1, 0)  # filtered covariance at t
        p, r, s = np.moveaxis(pred_cov[t + 1, go], -1, 0)  # predicted covariance at t + 1
        det = p * s - r * r
        # C = P_t F' inv(P_pred), F = [[1, dt], [0, 1]]: P_t F' = [[a + b dt, b], [b + c dt, c]]
        m00, m01, m10, m11 = a + b * dt, b, b + c * dt, c
        c00, c01 = (m00 * s - m01 * r) / det, (m01 * p - m00 * r) / det
        c10, c11 = (m10 * s - m11 * r) / det, (m11 * p - m10 * r) / det
        dpos = pos[t + 1, go] - pred_pos[t + 1, go]
        dvel = vel[t + 1, go] - pred_vel[t + 1, go]
        pos[t, go] = pos[t, go] + c00[:, None] * dpos + c01[:, None] * dvel
        vel[t, go] = vel[t, go] + c10[:, None] * dpos + c11[:, None] * dvel
    out = x.copy()
    out[seen] = pos[seen]
    return out.reshape(values.shape)


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
                 acceleration_noise: float | None = None, confidence_power: float | None = None,
                 min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF) -> PoseSequence:
    """Smoothing of every joint's (x, y) over time; confidences and empty frames are left as they are.

    method: "two_sided" (`smooth_track`: the whole sequence, forwards and backwards; no lag),
        "tracking" (`TrackingFilter`: causal, frame by frame), both with acceleration_noise and
        confidence_power (None: each method's default), or "one_euro" (OneEuroFilter: min_cutoff,
        beta, d_cutoff, in units of max(width, height)). None (the default): "two_sided", unless a
        One-Euro setting other than its default is given, which asks for the One-Euro filter (so
        callers that tune its cutoffs keep getting it).
    The two Kalman methods smooth the hand and foot points (extras) the same way; the One-Euro
    filter leaves them as they are. Frames with no person split the sequence into separately
    smoothed runs; a point with confidence 0 is left as it is and its track starts afresh when it
    is seen again.
    """
    if method is None:
        one_euro_asked = (min_cutoff, beta, d_cutoff) != (DEFAULT_MIN_CUTOFF, DEFAULT_BETA, DEFAULT_D_CUTOFF)
        method = "one_euro" if one_euro_asked else "two_sided"
    if method not in SMOOTHING_METHODS:
        raise ValueError(f"method must be one of {', '.join(SMOOTHING_METHODS)}, got {method!r}")
    if len(poses) == 0:
        return poses
    if method == "one_euro":
        scale = float(max(poses.width, poses.height))
        out = poses.keypoints.copy()
        smoothed = one_euro(poses.xy.astype(np.float64) / scale, poses.fps, valid=poses.has_person,
                            min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
        out[..., :2] = (smoothed * scale).astype(np.float32)
        out[~poses.has_person] = 0.0
        return poses.replace(keypoints=out)
    if method == "two_sided":
        settings = (DEFAULT_SMOOTHER_NOISE if acceleration_noise is None else acceleration_noise,
                    DEFAULT_SMOOTHER_POWER if confidence_power is None else confidence_power)
        smoother = smooth_track
    else:
        settings = (DEFAULT_ACCELERATION_NOISE if acceleration_noise is None else acceleration_noise,
                    DEFAULT_CONFIDENCE_POWER if confidence_power is None else confidence_power)
        smoother = track

    def smoothed(points: np.ndarray) -> np.ndarray:  # (T, K, 3) -> the same, (x, y) smoothed
        out = points.copy()
        xy = smoother(points[..., :2], poses.fps, confidence=np.clip(points[..., 2], 0.0, 1.0),
                      acceleration_noise=settings[0], confidence_power=settings[1])
        out[..., :2] = xy.astype(np.float32)
        out[~poses.has_person] = 0.0
        return out

    extras = None if poses.extras is None else smoothed(poses.extras)
    return poses.replace(keypoints=smoothed(poses.keypoints), extras=extras)


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
