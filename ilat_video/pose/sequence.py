"""PoseSequence: a person's 13 joints over time, in the pixels of the frames they belong to,
and optionally 10 hand and foot points beside them ("extras", mapping.EXTRA_NAMES)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ..errors import PoseFileError
from .mapping import EXTRA_FLIP_PERMUTATION, EXTRA_NAMES
from .skeleton import FLIP_PERMUTATION, JOINT_NAMES, NUM_JOINTS

logger = logging.getLogger(__name__)

NUM_EXTRAS = len(EXTRA_NAMES)


@dataclass(eq=False)
class PoseSequence:
    """Poses of one person over T frames.

    keypoints: float32 (T, 13, 3) = x, y in pixels of a `width` x `height` frame, and a
        confidence in [0, 1] (0 = joint not visible / not detected). Joint order: `skeleton.JOINT_NAMES`.
    A frame with no person has every confidence 0 (its coordinates are 0 and mean nothing);
    `has_person` says which frames have one. `source` names where the poses came from, for messages.
    extras: None (no hand/foot points known), or float32 (T, 10, 3) in the same pixels, points in
        `mapping.EXTRA_NAMES` order (per hand index, pinky, thumb; per foot heel, toe; right before
        left), confidence 0 = not seen. They never decide `has_person`, `bbox` or the body's size:
        the 13 joints do. Every method below either carries them along consistently (slicing,
        resample, rescaled, flipped, concatenate) or says that it drops them.
    """

    keypoints: np.ndarray
    width: int
    height: int
    fps: float = 30.0
    source: str = field(default="<memory>", compare=False)
    extras: np.ndarray | None = None

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float32)
        single = kp.ndim == 2 and kp.shape == (NUM_JOINTS, 3)
        if single:
            kp = kp[None]
        self.keypoints = kp
        if self.extras is not None:
            extras = np.asarray(self.extras, dtype=np.float32)
            if single and extras.shape == (NUM_EXTRAS, 3):
                extras = extras[None]
            self.extras = extras
        self.width = int(self.width)
        self.height = int(self.height)
        self.fps = float(self.fps)
        self.validate()

    def validate(self) -> None:
        """Raise PoseFileError naming the source, frame and field if anything is off."""
        kp = self.keypoints
        where = self.source
        if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 3):
            raise PoseFileError(
                f"{where}: keypoints must have shape (frames, {NUM_JOINTS}, 3), got {tuple(kp.shape)}"
            )
        if self.width <= 0 or self.height <= 0:
            raise PoseFileError(f"{where}: width and height must be positive, got {self.width}x{self.height}")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise PoseFileError(f"{where}: fps must be a positive number, got {self.fps}")
        bad = ~np.isfinite(kp).all(axis=(1, 2))
        if bad.any():
            frame = int(np.argmax(bad))
            joint = int(np.argmax(~np.isfinite(kp[frame]).all(axis=1)))
            raise PoseFileError(f"{where}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): "
                                f"coordinates or confidence not finite (NaN or inf): {kp[frame, joint].tolist()}")
        conf = kp[..., 2]
        bad = ((conf < 0) | (conf > 1)).any(axis=1)
        if bad.any():
            frame = int(np.argmax(bad))
            joint = int(np.argmax((conf[frame] < 0) | (conf[frame] > 1)))
            raise PoseFileError(
                f"{where}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): confidence must be in "
                f"[0, 1], got {conf[frame, joint]:g}"
            )
        if self.extras is not None:
            self._validate_extras()

    def _validate_extras(self) -> None:
        ex, where = self.extras, self.source
        if ex.shape != (len(self), NUM_EXTRAS, 3):
            raise PoseFileError(f"{where}: extras (hand and foot points) must have shape ({len(self)}, "
                                f"{NUM_EXTRAS}, 3) to match the joints, got {tuple(ex.shape)}")
        bad = ~np.isfinite(ex).all(axis=2)
        bad |= (ex[..., 2] < 0) | (ex[..., 2] > 1)
        if bad.any():
            frame = int(np.argmax(bad.any(axis=1)))
            point = int(np.argmax(bad[frame]))
            raise PoseFileError(f"{where}: frame {frame}, extra point {point} ({EXTRA_NAMES[point]}): expected "
                                f"finite x, y and a confidence in [0, 1], got {ex[frame, point].tolist()}")

    def __repr__(self) -> str:
        return (f"PoseSequence(frames={len(self)}, size={self.width}x{self.height}, fps={self.fps:g}, "
                f"with_person={int(self.has_person.sum())}, extras={self.has_extras}, source={self.source!r})")

    # --- basic access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def __getitem__(self, index):
        """An int gives that frame's (13, 3) joints (see `extras` for its hand/foot points); a slice
        gives a PoseSequence with the same frames of joints and extras."""
        if isinstance(index, slice):
            extras = None if self.extras is None else self.extras[index]
            return self.replace(keypoints=self.keypoints[index], extras=extras)
        return self.keypoints[index]

    def replace(self, **changes) -> "PoseSequence":
        """A copy with some fields changed (validated again).

        New `keypoints` without `extras=`: the extras stay only if the frame count is unchanged (they
        remain frame-aligned; gap filling of the joints keeps them as they were) and
        are dropped, with a debug log, if it changes. A caller that moves joints to other places
        must pass `extras=` (moved ones, or None) itself.
        """
        values = dict(keypoints=self.keypoints, width=self.width, height=self.height, fps=self.fps,
                      source=self.source, extras=self.extras)
        if "keypoints" in changes and "extras" not in changes and self.extras is not None:
            if np.shape(changes["keypoints"])[0] != len(self):
                logger.debug("%s: new joints for %d frames instead of %d: hand and foot points dropped",
                             self.source, np.shape(changes["keypoints"])[0], len(self))
                values["extras"] = None
        values.update(changes)
        return PoseSequence(**values)

    @property
    def has_extras(self) -> bool:
        """True if the sequence carries hand and foot points (`extras` is not None)."""
        return self.extras is not None

    def without_extras(self) -> "PoseSequence":
        """The same joints with the hand and foot points dropped."""
        return self.replace(extras=None)

    @property
    def xy(self) -> np.ndarray:
        """(T, 13, 2) pixel coordinates."""
        return self.keypoints[..., :2]

    @property
    def confidence(self) -> np.ndarray:
        """(T, 13) confidences."""
        return self.keypoints[..., 2]

    @property
    def has_person(self) -> np.ndarray:
        """(T,) bool: True where the frame has a person (any joint with confidence > 0)."""
        return (self.confidence > 0).any(axis=1)

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    # --- transforms ---------------------------------------------------------------------------
    def resample(self, fps: float) -> "PoseSequence":
        """The same motion at another frame rate, by linear interpolation in time.

        A joint is interpolated only between two frames where it is visible; a new frame whose
        neighbours do not both see the joint takes the nearest frame's value.
        """
        fps = float(fps)
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        n_old = len(self)
        if n_old == 0:
            return self.replace(fps=fps)
        n_new = max(1, int(round(n_old * fps / self.fps)))
        t = np.arange(n_new) * (self.fps / fps)
        t = np.clip(t, 0, n_old - 1)
        lo = np.floor(t).astype(int)
        hi = np.minimum(lo + 1, n_old - 1)
        w = (t - lo).astype(np.float32)[:, None]

        def interpolate(points: np.ndarray) -> np.ndarray:  # (T, P, 3) -> (n_new, P, 3)
            a, b = points[lo], points[hi]
            both = (a[..., 2] > 0) & (b[..., 2] > 0)
            mixed = a * (1 - w[..., None]) + b * w[..., None]
            nearest = np.where((w >= 0.5)[..., None], b, a)
            return np.where(both[..., None], mixed, nearest).astype(np.float32)

        extras = None if self.extras is None else interpolate(self.extras)
        return self.replace(keypoints=interpolate(self.keypoints), fps=fps, extras=extras)

    def normalized(self) -> np.ndarray:
        """(T, 13, 3): x / width, y / height in [0, 1] (for visible joints), confidence unchanged.

        Joints only: the extras are not part of the model's pose input."""
        out = self.keypoints.copy()
        out[..., 0] /= self.width
        out[..., 1] /= self.height
        out[..., :2] *= (out[..., 2:] > 0)
        return out

    def rescaled(self, width: int, height: int) -> "PoseSequence":
        """The poses in the pixels of a frame of another size (stretching each axis)."""
        def scale(points: np.ndarray) -> np.ndarray:
            out = points.copy()
            out[..., 0] *= width / self.width
            out[..., 1] *= height / self.height
            return out

        extras = None if self.extras is None else scale(self.extras)
        return self.replace(keypoints=scale(self.keypoints), width=width, height=height, extras=extras)

    def flipped(self) -> "PoseSequence":
        """Mirror left-right: x -> width - x and right joints <-> left joints (extras likewise)."""

        def mirror(points: np.ndarray, permutation: tuple[int, ...]) -> np.ndarray:
            out = points[:, permutation].copy()
            out[..., 0] = np.where(out[..., 2] > 0, self.width - out[..., 0], 0.0)
            return out

        extras = None if self.extras is None else mirror(self.extras, EXTRA_FLIP_PERMUTATION)
        return self.replace(keypoints=mirror(self.keypoints, FLIP_PERMUTATION), extras=extras)

    def bbox(self, frame: int) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the visible joints of a frame (extras not counted), or None if there
        is no person."""
        kp = self.keypoints[frame]
        visible = kp[:, 2] > 0
        if not visible.any():
            return None
        xy = kp[visible, :2]
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())

    # --- building ------------------------------------------------------------------------------
    @classmethod
    def empty(cls, num_frames: int, width: int, height: int, fps: float = 30.0) -> "PoseSequence":
        """A sequence of `num_frames` frames with no person in any (and no extras)."""
        return cls(np.zeros((num_frames, NUM_JOINTS, 3), np.float32), width, height, fps)

    @classmethod
    def from_frames(cls, frames: Iterable[np.ndarray | None], width: int, height: int, fps: float = 30.0,
                    source: str = "<memory>",
                    extras: Iterable[np.ndarray | None] | None = None) -> "PoseSequence":
        """Build a sequence from per-frame poses: each a (13, 3) array, or None for no person.

        extras: None (no hand/foot points), or one (10, 3) array or None (none seen) per frame.
        """
        rows = _stack_rows(frames, NUM_JOINTS, source, "pose")
        extra_rows = None if extras is None else _stack_rows(extras, NUM_EXTRAS, source, "extras")
        if extra_rows is not None and len(extra_rows) != len(rows):
            raise PoseFileError(f"{source}: {len(rows)} frames of joints but {len(extra_rows)} of extras")
        return cls(rows, width, height, fps, source, extras=extra_rows)

    @classmethod
    def concatenate(cls, sequences: Sequence["PoseSequence"]) -> "PoseSequence":
        """One sequence after another. All must share width, height and fps (rescale/resample first)."""
        if not sequences:
            raise ValueError("concatenate needs at least one sequence")
        first = sequences[0]
        for seq in sequences[1:]:
            if (seq.width, seq.height) != (first.width, first.height) or seq.fps != first.fps:
                raise PoseFileError(
                    f"{seq.source}: cannot follow {first.source}: it is {seq.width}x{seq.height} at "
                    f"{seq.fps:g} fps, expected {first.width}x{first.height} at {first.fps:g} fps "
                    "(use rescaled() / resample() first)")
        kp = np.concatenate([s.keypoints for s in sequences], axis=0)
        extras = None
        if any(s.has_extras for s in sequences):  # a part without them has none seen (confidence 0)
            extras = np.concatenate([s.extras if s.has_extras else np.zeros((len(s), NUM_EXTRAS, 3), np.float32)
                                     for s in sequences], axis=0)
        return first.replace(keypoints=kp, extras=extras)

    # --- comparing -------------------------------------------------------------------------------
    def same_as(self, other: "PoseSequence", *, atol: float = 0.0) -> bool:
        """True if both hold the same poses (within atol) at the same size and fps, and both have no
        extras or the same extras; source ignored."""
        if not (isinstance(other, PoseSequence) and self.keypoints.shape == other.keypoints.shape
                and (self.width, self.height, self.fps) == (other.width, other.height, other.fps)
                and bool(np.allclose(self.keypoints, other.keypoints, rtol=0.0, atol=atol))):
            return False
        if self.has_extras != other.has_extras:
            return False
        return not self.has_extras or bool(np.allclose(self.extras, other.extras, rtol=0.0, atol=atol))


def _stack_rows(rows: Iterable[np.ndarray | None], count: int, source: str, what: str) -> np.ndarray:
    """Per-frame (count, 3) arrays or None (nothing seen) -> float32 (T, count, 3)."""
    out = [np.zeros((count, 3), np.float32) if r is None else np.asarray(r, np.float32) for r in rows]
    for i, row in enumerate(out):
        if row.shape != (count, 3):
            raise PoseFileError(f"{source}: frame {i}: expected a ({count}, 3) {what}, got shape {row.shape}")
    return np.stack(out) if out else np.zeros((0, count, 3), np.float32)
