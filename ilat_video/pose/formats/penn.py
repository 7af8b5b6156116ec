"""Penn Action label files (.mat): x, y, visibility per frame and joint, dimensions [height width frames].

Penn Action's joint order is ours (data/README.md explains why its README's names are swapped).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import PoseFileError
from ..sequence import PoseSequence
from ..skeleton import JOINT_NAMES, NUM_JOINTS
from .common import DEFAULT_FPS


def read_penn(path: Path) -> PoseSequence:
    """A Penn Action .mat as a validated PoseSequence (confidence = visibility, 0 or 1)."""
    # Lazy: scipy.io takes about 0.2 s to import, twice the rest of this package; only .mat needs it.
    import scipy.io

    if path.stat().st_size == 0:
        raise PoseFileError(f"{path}: the file is empty (expected Penn Action labels)")
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise PoseFileError(f"{path}: not a readable MATLAB .mat file ({exc})") from exc
    fields = _joint_fields(path, mat)
    width, height = _frame_size(path, mat, num_frames=fields["x"].shape[0])
    for key, value in fields.items():
        bad = ~np.isfinite(value)
        if bad.any():
            frame, joint = (int(v) for v in np.argwhere(bad)[0])
            raise PoseFileError(f"{path}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): field {key!r} "
                                f"is {value[frame, joint]} (expected a finite number)")
    vis = fields["visibility"]
    bad = (vis < 0) | (vis > 1)
    if bad.any():
        frame, joint = (int(v) for v in np.argwhere(bad)[0])
        raise PoseFileError(f"{path}: frame {frame}, joint {joint} ({JOINT_NAMES[joint]}): field 'visibility' "
                            f"must be 0 or 1, got {vis[frame, joint]:g}")
    keypoints = np.stack([fields["x"], fields["y"], vis], axis=-1).astype(np.float32)
    return PoseSequence(keypoints, width, height, DEFAULT_FPS, source=str(path))


def _joint_fields(path: Path, mat: dict) -> dict[str, np.ndarray]:
    """x, y and visibility as float64 (frames, 13) arrays of one shape."""
    fields = {}
    for key in ("x", "y", "visibility"):
        if key not in mat:
            raise PoseFileError(f"{path}: field {key!r} is missing (Penn Action labels have x, y, visibility, "
                                "dimensions)")
        value = np.asarray(mat[key])
        if value.dtype.kind not in "biuf":
            raise PoseFileError(f"{path}: field {key!r} must be numeric, got {value.dtype}")
        value = value.astype(np.float64)
        if value.ndim == 1:
            value = value[None]
        if value.ndim != 2 or value.shape[1] != NUM_JOINTS:
            raise PoseFileError(f"{path}: field {key!r} must be frames x {NUM_JOINTS} joints, got shape {value.shape}")
        fields[key] = value
    if not fields["x"].shape == fields["y"].shape == fields["visibility"].shape:
        raise PoseFileError(f"{path}: fields x, y and visibility differ in shape: "
                            f"{fields['x'].shape}, {fields['y'].shape}, {fields['visibility'].shape}")
    return fields


def _frame_size(path: Path, mat: dict, num_frames: int) -> tuple[int, int]:
    """(width, height) from 'dimensions' [height width frames], checked against the frame count."""
    if "dimensions" not in mat:
        raise PoseFileError(f"{path}: field 'dimensions' ([height width frames]) is missing")
    dims = np.asarray(mat["dimensions"]).ravel()
    if dims.size < 2 or not np.all(np.isfinite(dims[:2])) or np.any(dims[:2] <= 0):
        raise PoseFileError(f"{path}: field 'dimensions' must be [height width frames], got {dims.tolist()}")
    height, width = int(dims[0]), int(dims[1])
    if dims.size >= 3 and int(dims[2]) != num_frames:
        raise PoseFileError(f"{path}: field 'dimensions' says {int(dims[2])} frames but x, y hold {num_frames}")
    return width, height
