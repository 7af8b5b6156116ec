"""Following the main person from frame to frame: the largest one when tracking starts, then the
candidate nearest to the last tracked pose (none when all are farther than MATCH_GATE body sizes),
the largest again after `reacquire_after` frames without them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A candidate continues the track if its joints lie on average within this many body sizes
# (the diagonal of the last tracked pose's box) of the last tracked joints.
MATCH_GATE = 0.75


def body_size(joints: np.ndarray) -> float:
    """Diagonal of the box around a (13, 3) pose's joints (its confident ones when there are 3+)."""
    sure = joints[:, 2] >= 0.5
    xy = joints[sure, :2] if sure.sum() >= 3 else joints[:, :2]
    extent = xy.max(axis=0) - xy.min(axis=0)
    return float(np.hypot(*extent)) + 1e-6


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean joint distance between two (13, 3) poses, in units of b's body size."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean()) / body_size(b)


class MainPersonTracker:
    """Chooses, frame by frame, which detected person is the one being followed."""

    def __init__(self, reacquire_after: int):
        self.reacquire_after = max(1, int(reacquire_after))
        self.last: np.ndarray | None = None
        self.missing = 0
        self.switches = 0

    def choose(self, candidates: Sequence[np.ndarray]) -> np.ndarray | None:
        if not candidates:
            self.missing += 1
            return None
        if self.last is None or self.missing > self.reacquire_after:
            if self.last is not None:
                self.switches += 1
            chosen = max(candidates, key=body_size)
        else:
            distances = [pose_distance(c, self.last) for c in candidates]
            best = int(np.argmin(distances))
            if distances[best] > MATCH_GATE:
                self.missing += 1
                return None
            chosen = candidates[best]
        self.last = chosen
        self.missing = 0
        return chosen
