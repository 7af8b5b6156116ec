"""Pure 2-D geometry of the warp: distances to bones and shapes, and the 2x3 affines that move parts."""
from __future__ import annotations

import cv2
import numpy as np


def distance_from(pixels: np.ndarray) -> np.ndarray:
    """float32 (h, w): each pixel's Euclidean distance to the nearest of `pixels` (bool), 0 on them
    (very large where there are none). `<= r` is the pixels within a disc of radius r of them, in
    time that does not grow with r: a 24 MP photo's discs of hundreds of pixels, dilated with
    OpenCV's elliptic kernel, took tens of seconds each."""
    return cv2.distanceTransform((~pixels).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def grown_by(pixels: np.ndarray, radius: float) -> np.ndarray:
    """bool (h, w): `pixels` dilated by a disc of `radius` (`distance_from`)."""
    return distance_from(pixels) <= radius


def closed_by(pixels: np.ndarray, radius: float) -> np.ndarray:
    """bool (h, w): `pixels` closed by a disc of `radius` (dilated, then eroded: the gaps and dents
    narrower than the disc filled), past the picture's edge as if nothing were there to dilate and
    nothing to erode (pad the picture by `radius` for the other way round)."""
    return distance_from(~grown_by(pixels, radius)) > radius


def segment_distance(xs: np.ndarray, ys: np.ndarray, a, b) -> np.ndarray:
    """Distance from points (xs, ys) (broadcastable float arrays) to the segment a-b."""
    ax, ay = float(a[0]), float(a[1])
    dx, dy = float(b[0]) - ax, float(b[1]) - ay
    px, py = xs - ax, ys - ay
    length2 = dx * dx + dy * dy
    if length2 < 1e-12:
        return np.sqrt(px * px + py * py)
    t = np.clip((px * dx + py * dy) * (1.0 / length2), 0.0, 1.0)
    ex, ey = px - t * dx, py - t * dy
    return np.sqrt(ex * ex + ey * ey)


def shape_distance(xs: np.ndarray, ys: np.ndarray, segments: np.ndarray,
                   polygon: np.ndarray | None) -> np.ndarray:
    """Distance to a union of segments (S, 2, 2); with a polygon (K, 2), 0 inside it and the
    distance to its edges outside (xs: (1, W), ys: (H, 1) pixel coordinates of a grid)."""
    if polygon is not None:
        edges = [(polygon[i], polygon[(i + 1) % len(polygon)]) for i in range(len(polygon))]
        d = np.minimum.reduce([segment_distance(xs, ys, a, b) for a, b in edges])
        d[inside_polygon(xs, ys, edges)] = 0.0
        return d
    return np.minimum.reduce([segment_distance(xs, ys, a, b) for a, b in segments])


def inside_polygon(xs: np.ndarray, ys: np.ndarray, edges: list) -> np.ndarray:
    """bool (H, W): the grid points inside the polygon of `edges`, by the even-odd rule (a ray to
    the right crosses its edges an odd number of times). Exact on any grid: a raster fill of the
    polygon assumed pixels one apart, and the skinning grid's are two."""
    inside = np.zeros(np.broadcast_shapes(xs.shape, ys.shape), bool)
    for (ax, ay), (bx, by) in edges:
        if ay == by:
            continue
        spans = (ay > ys) != (by > ys)  # (H, 1): the rows this edge crosses
        crossing_x = ax + (bx - ax) * (ys - ay) / (by - ay)
        inside ^= spans & (xs < crossing_x)
    return inside


def limb_matrix(a, b, a2, b2, across: float, min_stretch: float = 0.15) -> np.ndarray:
    """The 2x3 affine that maps bone a->b onto bone a2->b2: a onto a2, rotated with the bone,
    stretched along it by |a2 b2| / |a b| (at least min_stretch x across), scaled by `across`
    perpendicular to it. Orientation-preserving (no mirroring)."""
    a, b, a2, b2 = (np.asarray(p, np.float64)[:2] for p in (a, b, a2, b2))
    v, v2 = b - a, b2 - a2
    length, length2 = np.hypot(*v), np.hypot(*v2)
    if length < 1e-6:
        raise ValueError("limb_matrix: the reference bone has zero length")
    e1 = v / length
    e2 = v2 / length2 if length2 > 1e-6 else e1
    n1, n2 = np.array([-e1[1], e1[0]]), np.array([-e2[1], e2[0]])
    along = max(length2 / length, min_stretch * across)
    linear = along * np.outer(e2, e1) + across * np.outer(n2, n1)
    return np.hstack([linear, (a2 - linear @ a)[:, None]])


def fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine mapping points src (N, 2) onto dst (N, 2), N >= 3."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    design = np.hstack([src, np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T


def similarity_matrix(angle: float, scale: float, src_point, dst_point) -> np.ndarray:
    """2x3 rotation by `angle` (radians) and uniform `scale` that maps src_point onto dst_point."""
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    linear = np.array([[c, -s], [s, c]])
    return np.hstack([linear, (np.asarray(dst_point, np.float64)[:2]
                               - linear @ np.asarray(src_point, np.float64)[:2])[:, None]])


def smoothstep(x):
    """0 below 0, 1 above 1, 3x^2 - 2x^3 in between (x a float or an array, kept in its dtype)."""
    s = np.clip(x, 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def affine_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine, as a 2x3 affine."""
    return np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
