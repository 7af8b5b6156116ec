"""Accuracy of extracted poses against labelled people (COCO keypoints): PCK and matching."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pck(pred: np.ndarray, truth: np.ndarray, sides: np.ndarray, alpha: float = 0.2) -> float:
    """Percentage of correct keypoints: the fraction of labelled joints within alpha x side.

    pred: (N, J, >=2) predicted x, y; truth: (N, J, 3) labelled x, y and a flag (> 0 = labelled);
    sides: (N,) the larger side of each person's box. Returns nan when nothing is labelled.
    """
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    sides = np.asarray(sides, np.float64).reshape(-1, 1)
    labelled = truth[..., 2] > 0
    if not labelled.any():
        return float("nan")
    distance = np.linalg.norm(pred[..., :2] - truth[..., :2], axis=-1)
    return float((distance <= alpha * sides)[labelled].mean())


def match_people(pred: Sequence[np.ndarray], truth: np.ndarray, sides: np.ndarray,
                 gate: float = 0.5) -> list[tuple[int, int]]:
    """Pair predicted poses with labelled people one-to-one by distance.

    Cost of a pair = mean distance over the person's labelled joints / the person's box side;
    the assignment minimises the total cost (Hungarian); pairs costing more than `gate` are
    dropped (that labelled person was not found). Returns [(truth_index, pred_index), ...].
    """
    from scipy.optimize import linear_sum_assignment

    if len(pred) == 0 or len(truth) == 0:
        return []
    truth = np.asarray(truth, np.float64)
    cost = np.empty((len(truth), len(pred)))
    for i, person in enumerate(truth):
        labelled = person[:, 2] > 0
        for j, guess in enumerate(pred):
            cost[i, j] = np.linalg.norm(guess[labelled, :2] - person[labelled, :2], axis=1).mean() / sides[i]
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= gate]
