"""Metrics for whole frames of a video against the true frames: person-masked quality, the head box,
and flicker under the truth's optical flow (self-reenactment, `benchmarks/bench_reenact.py`).

    scores = frame_scores(out, truth, person_mask)           # {"frame"|"person"|"background": {psnr, ssim, mae}}
    revealed = revealed_background(reference_mask, person_mask)   # what the motion uncovers (a ghost's place)
    box = head_box(truth_pose, truth.shape[:2])               # (x0, y0, x1, y1) or None
    head = head_psnr(out, truth, truth_pose)
    hands = extremity_region(truth_pose, truth_extras, truth.shape[:2], "hands")   # bool (H, W) or None
    motion = truth_motion(truth_prev, truth)                  # the truth's flow t-1 -> t, occlusions masked
    flicker = warping_error(out_prev, out, motion)            # mean |out_t - warp(out_{t-1})| over valid pixels
    person_flicker = warping_error(out_prev, out, motion, person_mask)   # ... inside the person only

Conventions:
- Images uint8 (H, W, 3) RGB (or float in [0, 1]); every error is on the [0, 1] scale, as in
  `metrics.py` (PSNR with peak 1, MAE and the warping error in [0, 1]; x 255 for 8-bit levels).
- Masks bool (H, W), True = person (or = a pixel that counts).
- Flow (H, W, 2) float32 of (dx, dy) in pixels: `flow[y, x]` carries the pixel (x, y) of the
  first image to (x + dx, y + dy) in the second.

Flicker (the warping error of Lai et al. 2018, "Learning Blind Video Temporal Consistency", with
the occlusion test of Ruder et al. 2016): the output's frame t-1 is carried to frame t along the
motion of the *truth* (optical flow t -> t-1, computed on the true frames), and compared with the
output's frame t where that motion can be trusted. A video that moves like the truth and does not
flicker scores near 0; the truth's own value of the measure (`warping_error(truth_prev, truth, ...)`)
is its floor on that clip (what the flow's own errors cost). Pixels fail the forward-backward test
when the flow t -> t-1, followed by the flow t-1 -> t from where it lands, does not come back:
|b(x) + f(x + b(x))|^2 > FB_ALPHA (|b(x)|^2 + |f(x + b(x))|^2) + FB_BETA (occluded, or wrong); and
where x + b(x) leaves the frame.
"""
from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from ..pose.skeleton import HEAD, L_ANKLE, L_HIP, L_SHOULDER, L_WRIST, R_ANKLE, R_HIP, R_SHOULDER, R_WRIST
from .metrics import image_metrics, psnr, to_unit_float

__all__ = [
    "EXTREMITY_BOX_CONFIDENCE", "EXTREMITY_BOX_MARGIN", "FB_ALPHA", "FB_BETA", "HEAD_BOX_SHOULDERS", "HEAD_BOX_TORSO",
    "VIDEO_SCOPES", "TruthMotion", "consistency_mask", "extremity_region", "frame_scores", "head_box", "head_psnr",
    "optical_flow",
    "paired_comparison", "revealed_background", "truth_motion", "warp_backward", "warping_error",
]

VIDEO_SCOPES = ("frame", "person", "background")
# Forward-backward consistency (Ruder et al. 2016, Sundaram et al. 2010): the round trip may miss
# by 1% of the squared flow lengths plus half a squared pixel.
FB_ALPHA = 0.01
FB_BETA = 0.5
# The head box: a square centred on joint 0 (the nose), its side the larger of these shares of the
# torso's length (shoulder midpoint to hip midpoint) and of the shoulder width. For an upright adult
# seen from the front half the torso is about the head's height; the shoulder term holds it when the
# torso is foreshortened (bending over), the torso term when the shoulders are (side views).
HEAD_BOX_TORSO = 0.5
HEAD_BOX_SHOULDERS = 0.5
MIN_HEAD_BOX_PIXELS = 16
# The hand and foot boxes: the box of a hand's points (wrist, index and pinky knuckles, thumb) or a
# foot's (ankle, heel, toe), each grown on every side by EXTREMITY_BOX_MARGIN x the torso's length;
# a hand or foot counts when all its points have confidence > EXTREMITY_BOX_CONFIDENCE. Extras in
# pose.mapping.EXTRA_NAMES order: r/l index, r/l pinky, r/l thumb, r/l heel, r/l toe.
EXTREMITY_BOX_MARGIN = 0.2
EXTREMITY_BOX_CONFIDENCE = 0.5
_EXTREMITY_POINTS = {"hands": ((R_WRIST, (0, 2, 4)), (L_WRIST, (1, 3, 5))),
                     "feet": ((R_ANKLE, (6, 8)), (L_ANKLE, (7, 9)))}


# --- quality of one frame ------------------------------------------------------------------------

def frame_scores(pred, truth, person, revealed=None) -> dict[str, dict[str, float]]:
    """PSNR, SSIM and MAE over the whole frame, inside the truth's person mask and outside it, and
    optionally over the `revealed` background.

    pred, truth: (H, W, 3) uint8 or [0, 1] float; person: bool (H, W), True = the truth's person.
    revealed: bool (H, W), e.g. `revealed_background(reference_person, person)`: where a method that
    leaves the reference's person in place (a ghost) is wrong, which scores inside `person` can miss.
    Returns {"frame"|"person"|"background"[|"revealed"]: {"psnr", "ssim", "mae"}} (NaN for an empty
    scope). The settings are `metrics.py`'s (SSIM inside a mask: the mean of the SSIM map there).
    """
    scores = image_metrics(pred, truth, np.asarray(person, dtype=bool))
    out = {"frame": scores["frame"], "person": scores["region"], "background": scores["outside"]}
    if revealed is not None:
        out["revealed"] = image_metrics(pred, truth, np.asarray(revealed, dtype=bool))["region"]
    return out


def revealed_background(reference_person, truth_person) -> np.ndarray:
    """bool (H, W): where the reference shows its person and the truth shows background (what the
    motion uncovers: the plate's job). Both masks bool (H, W), True = person."""
    reference_person, truth_person = np.asarray(reference_person, bool), np.asarray(truth_person, bool)
    if reference_person.shape != truth_person.shape:
        raise ValueError(f"revealed background: masks {reference_person.shape} and {truth_person.shape} differ")
    return reference_person & ~truth_person


def head_box(pose: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The square around the head joint, clipped to an image of `shape` = (H, W).

    pose: (13, 3) x, y pixels (pixel centres) and confidence (> 0 = seen). The side is
    max(HEAD_BOX_TORSO x torso length, HEAD_BOX_SHOULDERS x shoulder width) over what is seen.
    Returns pixel bounds (x0, y0, x1, y1), x1 and y1 exclusive, or None when the head, or both
    the torso and the shoulders, are not seen, or when under MIN_HEAD_BOX_PIXELS pixels are in the frame.
    """
    pose = np.asarray(pose, dtype=np.float64)
    seen = pose[:, 2] > 0
    if not seen[HEAD]:
        return None
    sizes = []
    if seen[[R_SHOULDER, L_SHOULDER]].all():
        shoulders = pose[[R_SHOULDER, L_SHOULDER], :2]
        sizes.append(HEAD_BOX_SHOULDERS * float(np.linalg.norm(shoulders[0] - shoulders[1])))
        if seen[[R_HIP, L_HIP]].all():
            torso = shoulders.mean(axis=0) - pose[[R_HIP, L_HIP], :2].mean(axis=0)
            sizes.append(HEAD_BOX_TORSO * float(np.linalg.norm(torso)))
    if not sizes or max(sizes) <= 0:
        return None
    half = max(sizes) / 2.0
    cx, cy = float(pose[HEAD, 0]) + 0.5, float(pose[HEAD, 1]) + 0.5  # pixel-edge coordinates of the joint
    height, width = shape
    x0, x1 = max(0, round(cx - half)), min(width, round(cx + half))
    y0, y1 = max(0, round(cy - half)), min(height, round(cy + half))
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < MIN_HEAD_BOX_PIXELS:
        return None
    return x0, y0, x1, y1


def extremity_region(pose: np.ndarray, extras: np.ndarray | None, shape: tuple[int, int],
                     which: str) -> np.ndarray | None:
    """bool (H, W): the union of the boxes around both hands (`which` = "hands") or both feet
    ("feet") of a pose (13, 3) and its extras (10, 3), pixel centres, in an image of `shape` = (H, W)
    (see EXTREMITY_BOX_MARGIN); None when no hand or foot is seen confidently, the torso is not seen
    or the boxes lie outside the image."""
    if extras is None:
        return None
    pose, extras = np.asarray(pose, dtype=np.float64), np.asarray(extras, dtype=np.float64)
    if not (pose[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP], 2] > 0).all():
        return None
    torso = float(np.linalg.norm(pose[[R_SHOULDER, L_SHOULDER], :2].mean(0) - pose[[R_HIP, L_HIP], :2].mean(0)))
    margin = EXTREMITY_BOX_MARGIN * torso
    height, width = shape
    region = np.zeros(shape, dtype=bool)
    for joint, indices in _EXTREMITY_POINTS[which]:
        points = np.vstack([pose[joint], extras[list(indices)]])
        if not ((points[:, 2] > EXTREMITY_BOX_CONFIDENCE).all() and np.isfinite(points[:, :2]).all()):
            continue
        (x0, y0), (x1, y1) = points[:, :2].min(0) + 0.5 - margin, points[:, :2].max(0) + 0.5 + margin
        x0, x1 = max(0, round(x0)), min(width, round(x1))
        y0, y1 = max(0, round(y0)), min(height, round(y1))
        if x1 > x0 and y1 > y0:
            region[y0:y1, x0:x1] = True
    return region if region.any() else None


def head_psnr(pred, truth, pose: np.ndarray) -> float:
    """PSNR inside `head_box(pose)` (the truth's pose); NaN when there is no box."""
    truth = np.asarray(truth)
    box = head_box(pose, truth.shape[:2])
    if box is None:
        return math.nan
    x0, y0, x1, y1 = box
    region = np.zeros(truth.shape[:2], dtype=bool)
    region[y0:y1, x0:x1] = True
    return psnr(pred, truth, region)


# --- flicker ---------------------------------------------------------------------------------------

def _gray(image) -> np.ndarray:
    """uint8 (H, W) luma of an RGB image (uint8 or [0, 1] float)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.round(to_unit_float(array) * 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)


def optical_flow(first, second, *, method: str = "dis") -> np.ndarray:
    """Dense flow from `first` to `second` (images of one size): float32 (H, W, 2).

    method: "dis" (OpenCV's DIS, medium preset, with variational refinement) or "farneback".
    """
    a, b = _gray(first), _gray(second)
    if a.shape != b.shape:
        raise ValueError(f"optical flow: the images differ in size, {a.shape} and {b.shape}")
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(a, b, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)
    else:
        raise ValueError(f"optical flow: unknown method {method!r}; expected 'dis' or 'farneback'")
    return np.asarray(flow, dtype=np.float32)


def _sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp_backward(image, flow: np.ndarray) -> np.ndarray:
    """`image` sampled at x + flow(x) for every pixel x (bilinear; edge pixels repeated outside):
    with the flow t -> t-1 this carries frame t-1 to frame t. float64 images stay float64, others
    become float32; the image's shape."""
    array = np.asarray(image)
    array = array if array.dtype == np.float64 else array.astype(np.float32)
    map_x, map_y = _sample_grid(np.asarray(flow, dtype=np.float32))
    return cv2.remap(array, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(forward: np.ndarray, backward: np.ndarray, *, alpha: float = FB_ALPHA,
                     beta: float = FB_BETA) -> np.ndarray:
    """bool (H, W) over frame t: the pixels whose motion can be trusted.

    forward: flow t-1 -> t; backward: flow t -> t-1 (both (H, W, 2)). A pixel x of frame t passes
    when x + backward(x) lies inside the frame and the round trip comes back:
    |b + f'|^2 <= alpha (|b|^2 + |f'|^2) + beta, with f' = forward sampled at x + backward(x).
    """
    forward = np.asarray(forward, dtype=np.float32)
    backward = np.asarray(backward, dtype=np.float32)
    if forward.shape != backward.shape or forward.ndim != 3 or forward.shape[2] != 2:
        raise ValueError(f"consistency: expected two (H, W, 2) flows, got {forward.shape} and {backward.shape}")
    height, width = backward.shape[:2]
    there = warp_backward(forward, backward)  # f'(x) = forward(x + backward(x))
    round_trip = ((backward + there) ** 2).sum(axis=-1)
    lengths = (backward ** 2).sum(axis=-1) + (there ** 2).sum(axis=-1)
    map_x, map_y = _sample_grid(backward)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return inside & (round_trip <= alpha * lengths + beta)


@dataclasses.dataclass(frozen=True)
class TruthMotion:
    """The true video's motion from frame t-1 to frame t, computed once, shared by every method.

    backward: float32 (H, W, 2), flow t -> t-1 (where each pixel of frame t was in frame t-1);
    valid: bool (H, W), the pixels of frame t that pass the forward-backward check.
    """

    backward: np.ndarray
    valid: np.ndarray

    @property
    def valid_share(self) -> float:
        return float(self.valid.mean())


def truth_motion(truth_prev, truth, *, method: str = "dis") -> TruthMotion:
    """The flow between two true frames, both ways, and the pixels it can be trusted on."""
    forward = optical_flow(truth_prev, truth, method=method)
    backward = optical_flow(truth, truth_prev, method=method)
    return TruthMotion(backward, consistency_mask(forward, backward))


def warping_error(prev, frame, motion: TruthMotion, region=None) -> float:
    """Mean |frame - prev carried along motion.backward| over motion.valid pixels (and inside
    `region`, bool (H, W), when given) and channels, on the [0, 1] scale; NaN when no pixel counts.
    prev, frame: (H, W, 3) uint8 or [0, 1] float."""
    prev, frame = to_unit_float(prev, "previous frame"), to_unit_float(frame, "frame")
    if prev.shape != frame.shape or frame.shape[:2] != motion.valid.shape:
        raise ValueError(f"warping error: frames {prev.shape}, {frame.shape} and motion "
                         f"{motion.valid.shape} differ in size")
    counted = motion.valid
    if region is not None:
        region = np.asarray(region, dtype=bool)
        if region.shape != counted.shape:
            raise ValueError(f"warping error: region {region.shape} does not match the frames' {counted.shape}")
        counted = counted & region
    if not counted.any():
        return math.nan
    carried = warp_backward(prev, motion.backward)
    if carried.ndim == 2:
        carried = carried[..., None]
    return float(np.abs(frame - carried)[counted].mean())


# --- comparing two methods on the same frames ------------------------------------------------------

def paired_comparison(a, b, *, higher_is_better: bool = True) -> dict:
    """Method a against method b on the same frames (values in the same order; NaN pairs dropped):
    the mean of a - b, the share of frames where a is strictly better, of ties, and the frame count."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison: {a.shape} and {b.shape} values")
    keep = ~(np.isnan(a) | np.isnan(b))
    diff = a[keep] - b[keep]
    if not len(diff):
        return {"mean_difference": math.nan, "better_share": math.nan, "tie_share": math.nan, "frames": 0}
    better = diff > 0 if higher_is_better else diff < 0
    return {"mean_difference": float(diff.mean()), "better_share": float(better.mean()),
            "tie_share": float((diff == 0).mean()), "frames": len(diff)}
