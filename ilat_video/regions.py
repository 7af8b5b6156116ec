"""Regions: which pixels (and tokens) the model generates. Pure functions, no state.

A *region* is a bool array, True = generate (the person's pixels and a margin around them), False =
keep (copied from the reference through the clean stream of the tokenizer). DESIGN.md section 8:

- `pose_region`: the skeleton drawn on the image canvas, bones as thick lines, joints as discs,
  the torso filled and the head as a larger disc, with a thickness proportional to the body's
  size (torso length), then dilated. Joints with confidence 0 are skipped.
- `union_region`: the animation / training region, the union of the reference pose's region and
  the target pose's region (the person is erased where they stood and drawn where they go).
- `token_region`: the region at the token grid by max-pooling: a token is in the region iff any
  of its pixels is.
- `free_form_mask`: random strokes and blobs, mixed in for the tokenizer's stage 2.
- `paste_outside`: a generated frame inside the region, the reference's pixels outside it
  (feathered), for output whose background is the source's, not the tokenizer's re-rendering.
- `moved_region` / `paste_still`: the parts of the body that moved between two poses, and the
  reference's own pixels on the parts that did not (ours, not in the paper).

The attention mask of the transformer is a different thing and lives in `masks.py`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .pose.skeleton import (
    BONES,
    HEAD,
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    NUM_JOINTS,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)

# Sizes relative to the torso length (shoulder midpoint to hip midpoint). A limb of an adult is
# about 0.2-0.3 torso lengths across and the head about 0.65; the margin covers loose clothes,
# hair, hands and feet that reach past the wrist and ankle joints, and a little pose error.
LIMB_WIDTH = 0.36  # line width of a bone (so radius 0.18)
HEAD_RADIUS = 0.42
DILATION = 0.12  # extra margin on every side, plus DILATION_PIXELS
DILATION_PIXELS = 1.0


def torso_length(pose: np.ndarray) -> float | None:
    """The body's size in pixels for one (13, 3) pose: its torso length, robust to foreshortening.

    The shoulder-midpoint to hip-midpoint distance shrinks when the person bends towards the
    camera, so this is the largest of the torso length and the torso lengths implied by the
    shoulder width (x 1.3), the thighs and the shins (x 1.15), each from the visible joints only.
    Falls back to 0.4 x the extent of the visible joints. None if fewer than 2 joints are visible.
    """
    pose = np.asarray(pose, dtype=np.float64)
    visible = pose[:, 2] > 0
    if visible.sum() < 2:
        return None
    xy = pose[:, :2]

    def dist(a, b):
        return float(np.hypot(*(xy[a] - xy[b])))

    estimates = []
    shoulders = [j for j in (R_SHOULDER, L_SHOULDER) if visible[j]]
    hips = [j for j in (R_HIP, L_HIP) if visible[j]]
    if shoulders and hips:
        estimates.append(float(np.hypot(*(xy[shoulders].mean(axis=0) - xy[hips].mean(axis=0)))))
    if visible[R_SHOULDER] and visible[L_SHOULDER]:
        estimates.append(1.3 * dist(R_SHOULDER, L_SHOULDER))
    for a, b in ((R_HIP, R_KNEE), (L_HIP, L_KNEE), (R_KNEE, R_ANKLE), (L_KNEE, L_ANKLE)):
        if visible[a] and visible[b]:
            estimates.append(1.15 * dist(a, b))
    length = max(estimates, default=0.0)
    if length > 1e-3:
        return length
    extent = float(max(np.ptp(xy[visible, 0]), np.ptp(xy[visible, 1])))
    return 0.4 * extent if extent > 1e-3 else None


def default_thickness(pose: np.ndarray) -> float:
    """The bone line width in pixels for a (13, 3) pose: LIMB_WIDTH x torso length (at least 2)."""
    length = torso_length(pose)
    return max(2.0, LIMB_WIDTH * length) if length is not None else 2.0


def pose_region(pose: np.ndarray, height: int, width: int, *, thickness: float | None = None,
                dilation: float | None = None, parts: np.ndarray | None = None) -> np.ndarray:
    """The pixels of one person: bool (height, width), True = generate.

    pose: (13, 3) x, y in pixels of this canvas and a confidence (0 = skip the joint).
    thickness: bone line width in pixels; default LIMB_WIDTH x torso length. Joints are discs of
        the same width, the head a disc of radius HEAD_RADIUS x torso length (scaled with
        `thickness` when it is given), the torso quadrilateral is filled.
    dilation: margin in pixels added on every side; default DILATION x torso length + 1 px.
        Growing a union of discs and capsules by d pixels is the same as drawing them with a
        radius d larger (Minkowski sum with a disc), which is what is done: exact and cheaper
        than a morphological pass.
    parts: (13,) bool, draw only the parts that touch these joints: the torso if any of its corners
        is among them, each bone with an end among them (with the discs of both its ends), and
        their own discs. Sizes still come from the whole pose, so the parts are exactly the pixels
        they cover in the full drawing. None (default): every part.
    A pose with no visible joint gives an empty region.
    """
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape != (NUM_JOINTS, 3):
        raise ValueError(f"pose must have shape ({NUM_JOINTS}, 3), got {pose.shape}")
    height, width = int(height), int(width)
    visible = (pose[:, 2] > 0) & np.isfinite(pose[:, :2]).all(axis=1)
    canvas = Image.new("L", (width, height), 0)
    if not visible.any():
        return np.zeros((height, width), dtype=bool)
    torso = torso_length(pose)
    scale = torso if torso is not None else 4.0  # a lone joint: a small disc
    if thickness is None:
        thickness = max(2.0, LIMB_WIDTH * scale)
        head_radius = HEAD_RADIUS * scale
    else:
        head_radius = thickness * HEAD_RADIUS / LIMB_WIDTH
    if dilation is None:
        dilation = DILATION * scale + DILATION_PIXELS
    radius = thickness / 2.0 + dilation
    head_radius = max(head_radius, thickness / 2.0) + dilation

    draw = ImageDraw.Draw(canvas)
    xy = pose[:, :2]

    def disc(center, r):
        x, y = center
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)

    chosen = np.ones(NUM_JOINTS, dtype=bool) if parts is None else np.asarray(parts, dtype=bool)
    if chosen.shape != (NUM_JOINTS,):
        raise ValueError(f"parts must have shape ({NUM_JOINTS},), got {chosen.shape}")
    discs = chosen & visible
    torso_corners = [j for j in (R_SHOULDER, L_SHOULDER, L_HIP, R_HIP) if visible[j]]
    if len(torso_corners) >= 3 and chosen[torso_corners].any():
        draw.polygon([tuple(xy[j]) for j in torso_corners], fill=255)
    line_width = max(1, int(round(2 * radius)))
    for a, b in BONES:
        if visible[a] and visible[b] and (chosen[a] or chosen[b]):
            draw.line([tuple(xy[a]), tuple(xy[b])], fill=255, width=line_width)
            discs[[a, b]] = True
    for j in np.flatnonzero(discs):
        disc(xy[j], head_radius if j == HEAD else radius)
    return np.asarray(canvas) > 0


def union_region(reference_pose: np.ndarray, target_pose: np.ndarray, height: int, width: int, *,
                 thickness: float | None = None) -> np.ndarray:
    """bool (height, width): pose_region(reference) | pose_region(target), True = generate.

    Each pose gets its own default thickness (its own torso length) unless `thickness` is given.
    """
    return (pose_region(reference_pose, height, width, thickness=thickness)
            | pose_region(target_pose, height, width, thickness=thickness))


def moved_joints(reference_pose: np.ndarray, target_pose: np.ndarray, tolerance: float) -> np.ndarray:
    """(13,) bool: the joints that moved more than `tolerance` pixels between two (13, 3) poses, or
    that are seen in one of them only (confidence 0 or not finite in the other)."""
    reference_pose, target_pose = np.asarray(reference_pose, np.float64), np.asarray(target_pose, np.float64)
    if tolerance < 0:
        raise ValueError(f"tolerance must be at least 0 pixels, got {tolerance}")
    seen = [(p[:, 2] > 0) & np.isfinite(p[:, :2]).all(axis=1) for p in (reference_pose, target_pose)]
    both = seen[0] & seen[1]
    distance = np.full(NUM_JOINTS, np.inf)
    distance[both] = np.hypot(*(reference_pose[both, :2] - target_pose[both, :2]).T)
    return (seen[0] | seen[1]) & (distance > tolerance)


def moved_region(reference_pose: np.ndarray, target_pose: np.ndarray, height: int, width: int, *,
                 tolerance: float) -> np.ndarray:
    """bool (height, width): the pixels of the body parts that moved (`moved_joints`), where they
    were and where they go: the parts touching a moved joint drawn in both poses, each at its own
    pose's size as in `union_region`. The rest of `union_region` holds parts that stayed put
    (within `tolerance` pixels), whose reference pixels are still right in the target frame."""
    moved = moved_joints(reference_pose, target_pose, tolerance)
    return (pose_region(reference_pose, height, width, parts=moved)
            | pose_region(target_pose, height, width, parts=moved))


def token_region(region, grid: tuple[int, int]):
    """Max-pool a pixel region (..., H, W) to the token grid (..., h, w).

    A token is in the region iff any of its pixels is (the rule the two-stream tokenizer relies
    on). When H is not a multiple of h, token i covers rows floor(i H / h) .. ceil((i + 1) H / h) - 1,
    the same windows as torch's adaptive_max_pool2d. Accepts a numpy array (returns numpy) or a
    torch tensor (returns a torch bool tensor on the same device).
    """
    h, w = int(grid[0]), int(grid[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"grid must be positive, got {grid}")
    if isinstance(region, torch.Tensor):
        if region.ndim < 2:
            raise ValueError(f"region must have shape (..., H, W), got {tuple(region.shape)}")
        lead = region.shape[:-2]
        flat = region.reshape(-1, 1, *region.shape[-2:]).to(torch.float32)
        pooled = torch.nn.functional.adaptive_max_pool2d(flat, (h, w))
        return (pooled > 0).reshape(*lead, h, w)

    region = np.asarray(region).astype(bool, copy=False)
    if region.ndim < 2:
        raise ValueError(f"region must have shape (..., H, W), got {region.shape}")
    H, W = region.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"grid {grid} is finer than the region {H}x{W}")
    if H % h == 0 and W % w == 0:
        blocks = region.reshape(*region.shape[:-2], h, H // h, w, W // w)
        return blocks.any(axis=(-3, -1))
    rows = np.stack([region[..., (i * H) // h: -(-((i + 1) * H) // h), :].any(axis=-2) for i in range(h)],
                    axis=-2)  # (..., h, W)
    return np.stack([rows[..., (j * W) // w: -(-((j + 1) * W) // w)].any(axis=-1) for j in range(w)],
                    axis=-1)


def feathered_weights(region, feather: int = 2):
    """Blend weights (B, 1, H, W) in [0, 1] for a pixel region (B, H, W) torch bool: 1 inside the
    region, falling linearly to 0 over `feather` pixels outside it (chessboard distance), 0 beyond.

    The mean of the region dilated 0, 1, ..., feather times by a 3x3 max-pool: a pixel at distance
    d <= feather from the region gets (feather + 1 - d) / (feather + 1).
    """
    if feather < 0:
        raise ValueError(f"feather must be non-negative, got {feather}")
    grown = region[:, None].to(torch.float32)  # (B, 1, H, W)
    total = grown.clone()
    for _ in range(feather):
        grown = torch.nn.functional.max_pool2d(grown, 3, stride=1, padding=1)
        total += grown
    return total / (feather + 1)


def paste_outside(generated, reference, region, feather: int = 2):
    """The generated frames inside the region and the reference's own pixels outside it, blended
    over `feather` pixels just outside the region's edge.

    generated: (B, C, H, W); reference: (B or 1, C, H, W); region: (B, H, W) bool (torch).
    Inside the region the result is `generated` exactly; beyond the feather it is `reference`
    exactly: what Eq. 4 re-renders from the clean features there, taken from the source instead.
    """
    weight = feathered_weights(region, feather).to(generated.dtype)
    return weight * generated + (1 - weight) * reference


def region_mse(frames: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """The mean squared error inside `region`, pooled over the batch, with images in [-1, 1]
    mapped to [0, 1]: what evaluation turns into region PSNR. frames, target: (B, C, H, W);
    region: (B, H, W) bool. 0 (with a graph) for an empty region."""
    inside = region[:, None].float()  # (B, 1, H, W)
    count = inside.sum().clamp_min(1) * frames.shape[1]
    return (((frames - target) / 2).pow(2) * inside).sum() / count


def paste_still(frames, reference, region, reference_poses, target_poses, *, tolerance: float, feather: int = 2):
    """`frames` with the reference's own pixels on the body parts that stayed put: inside the region,
    outside `moved_region` (the parts whose joints moved more than `tolerance` pixels, where they
    were and where they go), blended over `feather` pixels. Not in the paper: what did not move
    is shown as it was instead of re-drawn by the tokenizer, which can only lose detail there.

    frames: (B, C, H, W); reference: (B or 1, C, H, W); region: (B, H, W) bool (torch);
    reference_poses, target_poses: (B or 1, 13, 3) / (B, 13, 3) numpy, x, y in these pixels."""
    height, width = frames.shape[-2:]
    reference_poses = np.broadcast_to(reference_poses, np.shape(target_poses))
    moved = np.stack([moved_region(a, b, height, width, tolerance=tolerance)
                      for a, b in zip(reference_poses, target_poses)])
    redrawn = torch.from_numpy(moved).to(region.device) | ~region.bool()
    return paste_outside(frames, reference.to(frames.dtype), redrawn, feather)


def changed_region(region, tokens, *reference_tokens):
    """The part of a pixel region whose tokens the model changed: region pixels in token cells
    where `tokens` differs from every one of `reference_tokens` (torch).

    region: (B, H, W) bool; tokens: (B, h, w) generated; reference_tokens: maps (B or 1, h, w) of
    the reference's own tokens (the pipeline passes both of its encodings: alone, and with the
    region, whose tokens inside differ near the border). H, W must be multiples of h, w. Pasting
    the reference outside this narrower region (`paste_outside`) keeps the reference's exact pixels
    wherever the model kept one of the reference's tokens, instead of the tokenizer's lossy
    re-rendering of them.
    """
    (h, w), (H, W) = tokens.shape[-2:], region.shape[-2:]
    if H % h or W % w:
        raise ValueError(f"region {H}x{W} is not a whole number of {h}x{w} token cells")
    if not reference_tokens:
        raise ValueError("changed_region needs at least one map of reference tokens")
    changed = torch.ones_like(tokens, dtype=torch.bool)
    for reference in reference_tokens:
        changed &= tokens != reference  # (B, h, w)
    changed = changed.repeat_interleave(H // h, dim=-2).repeat_interleave(W // w, dim=-1)
    return region & changed


def free_form_mask(rng: np.random.Generator, height: int, width: int, *, max_strokes: int = 4,
                   max_blobs: int = 3, max_width_fraction: float = 0.12) -> np.ndarray:
    """A random free-form region, bool (height, width), True = generate.

    Brush strokes (random walks of thick lines with round joints, as in free-form inpainting
    masks) and blobs (ellipses), at least one of either. Sizes are relative to the image, so the
    coverage distribution does not depend on the resolution.
    """
    height, width = int(height), int(width)
    side = min(height, width)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    num_strokes = int(rng.integers(0, max_strokes + 1))
    num_blobs = int(rng.integers(0 if num_strokes else 1, max_blobs + 1))
    for _ in range(num_strokes):
        stroke_width = max(2.0, rng.uniform(0.03, max_width_fraction) * side)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        angle = rng.uniform(0, 2 * math.pi)
        points = [(x, y)]
        for _ in range(int(rng.integers(2, 7))):
            angle += rng.uniform(-1.2, 1.2)
            step = rng.uniform(0.08, 0.3) * side
            x = float(np.clip(x + step * math.cos(angle), 0, width - 1))
            y = float(np.clip(y + step * math.sin(angle), 0, height - 1))
            points.append((x, y))
        draw.line(points, fill=255, width=int(round(stroke_width)), joint="curve")
        r = stroke_width / 2
        for px, py in (points[0], points[-1]):
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    for _ in range(num_blobs):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(0.05, 0.25) * side, rng.uniform(0.05, 0.25) * side
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    return np.asarray(canvas) > 0


def region_rate(region) -> np.ndarray | float:
    """The fraction of True in a region (..., H, W): a float for one region, (...,) for a batch.

    Works on pixel and token regions alike (numpy or torch input; the result is numpy / float).
    """
    if isinstance(region, torch.Tensor):
        region = region.detach().cpu().numpy()
    region = np.asarray(region, dtype=bool)
    if region.ndim < 2:
        raise ValueError(f"region must have shape (..., H, W), got {region.shape}")
    rate = region.mean(axis=(-2, -1))
    return float(rate) if rate.ndim == 0 else rate
