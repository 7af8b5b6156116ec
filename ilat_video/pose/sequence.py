"""PoseSequence: a person's 13 joints over time, in the pixels of the frames they belong to."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ..errors import PoseFileError
from .skeleton import FLIP_PERMUTATION, JOINT_NAMES, NUM_JOINTS


@dataclass(eq=False)
class PoseSequence:
    """Poses of one person over T frames.

    keypoints: float32 (T, 13, 3) = x, y in pixels of a `width` x `height` frame, and a
        confidence in [0, 1] (0 = joint not visible / not detected). Joint order: `skeleton.JOINT_NAMES`.
    A frame with no person has every confidence 0 (its coordinates are 0 and mean nothing);
    `has_person` says which frames have one. `source` names where the poses came from, for messages.
    """

    keypoints: np.ndarray
    width: int
    height: int
    fps: float = 30.0
    source: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints, dtype=np.float32)
        if kp.ndim == 2 and kp.shape == (NUM_JOINTS, 3):
            kp = kp[None]
        self.keypoints = kp
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

    def __repr__(self) -> str:
        return (f"PoseSequence(frames={len(self)}, size={self.width}x{self.height}, fps={self.fps:g}, "
                f"with_person={int(self.has_person.sum())}, source={self.source!r})")

    # --- basic access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def __getitem__(self, index):
        """An int gives that frame's (13, 3) array; a slice gives a PoseSequence."""
        if isinstance(index, slice):
            return self.replace(keypoints=self.keypoints[index])
        return self.keypoints[index]

    def replace(self, **changes) -> "PoseSequence":
        values = dict(keypoints=self.keypoints, width=self.width, height=self.height, fps=self.fps, source=self.source)
        values.update(changes)
        return PoseSequence(**values)

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
        a, b = self.keypoints[lo], self.keypoints[hi]
        both = (a[..., 2] > 0) & (b[..., 2] > 0)
        mixed = a * (1 - w[..., None]) + b * w[..., None]
        nearest = np.where((w >= 0.5)[..., None], b, a)
        out = np.where(both[..., None], mixed, nearest).astype(np.float32)
        return self.replace(keypoints=out, fps=fps)

    def normalized(self) -> np.ndarray:
        """(T, 13, 3): x / width, y / height in [0, 1] (for visible joints), confidence unchanged."""
        out = self.keypoints.copy()
        out[..., 0] /= self.width
        out[..., 1] /= self.height
        out[..., :2] *= (out[..., 2:] > 0)
        return out

    def rescaled(self, width: int, height: int) -> "PoseSequence":
        """The poses in the pixels of a frame of another size (stretching each axis)."""
        out = self.keypoints.copy()
        out[..., 0] *= width / self.width
        out[..., 1] *= height / self.height
        return self.replace(keypoints=out, width=width, height=height)

    def flipped(self) -> "PoseSequence":
        """Mirror left-right: x -> width - x and right joints <-> left joints."""
        out = self.keypoints[:, FLIP_PERMUTATION].copy()
        visible = out[..., 2] > 0
        out[..., 0] = np.where(visible, self.width - out[..., 0], 0.0)
        return self.replace(keypoints=out)

    def bbox(self, frame: int) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the visible joints of a frame, or None if there is no person."""
        kp = self.keypoints[frame]
        visible = kp[:, 2] > 0
        if not visible.any():
            return None
        xy = kp[visible, :2]
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())

    # --- building ------------------------------------------------------------------------------
    @classmethod
    def empty(cls, num_frames: int, width: int, height: int, fps: float = 30.0) -> "PoseSequence":
        """A sequence of `num_frames` frames with no person in any."""
        return cls(np.zeros((num_frames, NUM_JOINTS, 3), np.float32), width, height, fps)

    @classmethod
    def from_frames(cls, frames: Iterable[np.ndarray | None], width: int, height: int, fps: float = 30.0,
                    source: str = "<memory>") -> "PoseSequence":
        """Build a sequence from per-frame poses: each a (13, 3) array, or None for no person."""
        rows = [np.zeros((NUM_JOINTS, 3), np.float32) if f is None else np.asarray(f, np.float32)
                for f in frames]
        for i, row in enumerate(rows):
            if row.shape != (NUM_JOINTS, 3):
                raise PoseFileError(f"{source}: frame {i}: expected a ({NUM_JOINTS}, 3) pose, got shape {row.shape}")
        kp = np.stack(rows) if rows else np.zeros((0, NUM_JOINTS, 3), np.float32)
        return cls(kp, width, height, fps, source)

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
        return first.replace(keypoints=kp)

    # --- comparing -------------------------------------------------------------------------------
    def same_as(self, other: "PoseSequence", *, atol: float = 0.0) -> bool:
        """True if both hold the same poses (within atol) at the same size and fps; source ignored."""
        return (isinstance(other, PoseSequence) and self.keypoints.shape == other.keypoints.shape
                and (self.width, self.height, self.fps) == (other.width, other.height, other.fps)
                and bool(np.allclose(self.keypoints, other.keypoints, rtol=0.0, atol=atol)))
