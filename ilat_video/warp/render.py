"""Drawing the prepared reference in a target pose: warp_to_pose and its WarpResult.

Each part's pixels are fetched backwards through its transform into one of two depth layers
(body; arms), mixed by coverage where the parts agree and by skinning weights where they overlap
and disagree, the arms over the body, and the confidence lowered at seams and bent joints. The
method: the package docstring (ilat_video/warp/__init__.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import IlatError
from ..pose.skeleton import L_HIP, R_HIP
from .blend import blended_source, grown_box, hip_blends
from .geometry import affine_inverse, shape_distance
from .parts import ARMS_LAYER, BODY_LAYER, L_THIGH, PART_LAYER, R_THIGH, TORSO, WarpConfig, torso_frame
from .reference import WarpReference, prepare_reference
from .transforms import PartTransform, part_transforms

logger = logging.getLogger(__name__)

_LOG_FLOOR = -70.0  # skinning logits are clipped here so float32 weights never underflow to 0
# The crotch is drawn in full where the hips' blend fetches it CROTCH_FROM x the thighs' radius lower
# down than the torso's own map, not at all CROTCH_RAMP less (`_crotch_from_below`).
CROTCH_FROM, CROTCH_RAMP = 0.08, 0.04
SKIN_STRIDE = 2  # skinning distances are computed on every 2nd pixel and interpolated


@dataclass
class WarpResult:
    """The reference person warped to a target pose (see the package docstring).

    image: uint8 (H, W, 3) straight (not premultiplied) RGB of the person, 0 where alpha is 0.
    alpha: float32 (H, W) in [0, 1], how much of the pixel the warped person covers.
    confidence: float32 (H, W) in [0, 1], <= alpha; how far the pixel can be trusted.
    part_labels: int8 (H, W), the part (index into PART_NAMES) that mostly drew each pixel, -1 none.
    skipped: {part name: why it was not drawn}.
    """

    image: np.ndarray
    alpha: np.ndarray
    confidence: np.ndarray
    part_labels: np.ndarray
    skipped: dict = field(default_factory=dict)

    def over(self, background: np.ndarray) -> np.ndarray:
        """The warped person composited over a uint8 (H, W, 3) background."""
        if background.shape != self.image.shape:
            raise IlatError(f"warp: the background must be {self.image.shape} like the warped "
                            f"frame, got {background.shape}")
        out = background.copy()
        rows, cols = np.flatnonzero(self.alpha.any(axis=1)), np.flatnonzero(self.alpha.any(axis=0))
        if not len(rows):
            return out
        box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # only where the person is: the rest is the background
        a = self.alpha[box][..., None]
        blend = self.image[box].astype(np.float32) * a + background[box].astype(np.float32) * (1 - a)
        out[box] = np.clip(np.round(blend), 0, 255).astype(np.uint8)
        return out


class _Layer:
    """Accumulators of one depth layer over its box (x0, y0, x1, y1) in the output."""

    def __init__(self, box, seam_box=None):
        self.box = box
        shape = (box[3] - box[1], box[2] - box[0])
        # Where the parts' seams between the arms and the body are given their own colours
        # (`reference._clean_seams`): their box (x0, y0, x1, y1, in the layer's pixels) or None, and
        # over it the changes to plain, skinned and best_colour, and the largest weight of a part
        # with a seam change (where it is the layer's best, the winner's change is its own)
        self.seam_box = seam_box
        if seam_box is not None:
            size = (seam_box[3] - seam_box[1], seam_box[2] - seam_box[0])
            self.seam = (np.zeros(size + (3,), np.float32), np.zeros(size + (3,), np.float32),
                         np.zeros(size + (3,), np.float32), np.zeros(size, np.float32))
        else:
            self.seam = None
        self.plain = np.zeros(shape + (3,), np.float32)   # sum colour * coverage
        self.covered = np.zeros(shape, np.float32)        # sum coverage
        self.skinned = np.zeros(shape + (3,), np.float32)  # sum S * colour * coverage
        self.weight = np.zeros(shape, np.float32)         # sum S * coverage
        self.primary = np.zeros(shape, np.float32)        # sum primary coverage
        self.single = np.zeros(shape, np.float32)         # max coverage of any one part
        self.su = np.zeros(shape + (2,), np.float32)      # sum coverage * source offset
        self.suu = np.zeros(shape, np.float32)            # ... * |source offset|^2
        self.trust = np.zeros(shape, np.float32)          # sum S * coverage * part trust
        self.best = np.zeros(shape, np.float32)
        self.best_colour = np.zeros(shape + (3,), np.float32)  # the colour of the part that weighs most
        self.best_covered = np.zeros(shape, np.float32)  # ... and its coverage
        self.label = np.full(shape, -1, np.int8)

    def finish(self, seam_pixels: float):
        """(colour (h, w, 3), alpha, confidence / alpha, labels, clean) over the layer's box; clean:
        ((rows, cols), colours (n, 3)), the pixels a seam change touches and their colour with the
        seams' own colours, or None.

        seam = exp(-(spread / seam_pixels)^2), spread = the coverage-weighted spread of the
        reference locations the parts fetch the pixel from. Colour: the coverage-weighted mean of the
        parts' colours where they agree (seam 1) or only share the pixel (coverages adding up to
        at most 1: antialiased borders), which is exact; where they overlap and disagree (a joint
        that bent, a limb over the torso), the colour of the part with the largest skinning weight,
        mixed with the skinning-weighted mean as far as that part does not cover the pixel.
        """
        covered = np.maximum(self.covered, 1e-30)
        weight = np.maximum(self.weight, 1e-30)
        mean_u = self.su / covered[..., None]
        spread2 = self.suu / covered
        spread2 -= mean_u[..., 0] ** 2
        spread2 -= mean_u[..., 1] ** 2
        np.maximum(spread2, 0.0, out=spread2)
        spread2 *= np.float32(-1.0 / seam_pixels ** 2)
        seam = np.exp(spread2)
        mix = np.clip(self.covered - 1.0, 0.0, 1.0)
        mix *= 1.0 - seam
        colour = self.plain / covered[..., None]
        # where they disagree, the part that weighs most, as far as it covers the pixel: a mean of
        # two parts that tie (a leg swung over the torso, along the leg's bone) is a ghost of both
        chosen = self.skinned / weight[..., None]
        chosen += self.best_covered[..., None] * (self.best_colour - chosen)
        colour += mix[..., None] * (chosen - colour)
        clean = None
        if self.seam is not None:  # the same colour from the sums with the seams' changes added
            plain, skinned, best, best_weight = self.seam
            rows, cols = np.nonzero(np.abs(plain).max(axis=2) > 0)  # where a seam changes anything
            at = (rows + self.seam_box[1], cols + self.seam_box[0])
            best = best[rows, cols] * (best_weight[rows, cols] >= self.best[at])[:, None]  # the winner's own
            chosen_change = skinned[rows, cols] / weight[at][:, None]
            chosen_change += self.best_covered[at][:, None] * (best - chosen_change)
            mix_at = mix[at][:, None]
            change = (1.0 - mix_at) * plain[rows, cols] / covered[at][:, None] + mix_at * chosen_change
            clean = (at, colour[at] + change)
        # the parts' own pixels partition the person (they add up); what a part draws beyond its own
        # (the overhang, the body an arm hides) only fills gaps, and along the line where a part's own
        # pixels meet its overhang the two halves of one part's coverage count as one
        alpha = np.maximum(np.minimum(self.primary, 1.0), self.single)
        trust = seam
        trust *= np.minimum(self.trust / weight, 1.0)
        empty = self.weight <= 0
        alpha[empty] = 0.0
        trust[empty] = 0.0
        return colour, alpha, trust, self.label, clean


def warp_to_pose(reference: WarpReference, target_pose: np.ndarray, *,
                 out_shape: tuple[int, int] | None = None, target_extras: np.ndarray | None = None,
                 follow=None, turned: bool | None = None) -> WarpResult:
    """The prepared reference warped to target_pose (13, 3), in a frame of out_shape = (H, W)
    (default: the reference's size); the target pose is in that frame's pixels.

    target_extras: optional (10, 3) hand and foot points of the target (pose.mapping.EXTRA_NAMES
    order, the same pixels): the hands and feet the reference shows on their own follow them where
    they are confident (the package docstring); None: every hand and foot rides on its limb.
    follow: in a video, the hands and feet its track lets follow their points in this frame
    (`steady_follow`; None: decided by this frame alone); turned: whether the person turned their
    back here (`steady_turns`; None: decided by this frame alone)."""
    config = reference.config
    if out_shape is None:
        out_shape = reference.image.shape[:2]
    height, width = int(out_shape[0]), int(out_shape[1])
    if height < 1 or width < 1:
        raise IlatError(f"warp: out_shape must be (H, W) with H, W >= 1, got {out_shape}")
    transforms, skipped = part_transforms(reference, target_pose, target_extras, follow=follow, turned=turned)
    if skipped:
        logger.info("warp: not drawn: %s", "; ".join(f"{k} ({v})" for k, v in skipped.items()))
    image = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.float32)
    confidence = np.zeros((height, width), np.float32)
    part_labels = np.full((height, width), -1, np.int8)

    boxes = _part_boxes(reference, transforms, height, width)
    drawn = [tr for tr in transforms if tr.part in boxes]
    blends = hip_blends(reference, drawn) if config.blend_hips else {}
    for part, part_blends in blends.items():
        boxes[part] = grown_box(boxes[part], part_blends, height, width)
    seam_targets = [_seam_target_box(reference, tr, boxes[tr.part], blends.get(tr.part)) for tr in drawn]
    layers: dict[int, _Layer] = {}
    for layer_id in (BODY_LAYER, ARMS_LAYER):
        inside = [boxes[tr.part] for tr in drawn if PART_LAYER[tr.part] == layer_id]
        if inside:
            box = _union(inside)
            seams = [(t[0] - box[0], t[1] - box[1], t[2] - box[0], t[3] - box[1])
                     for tr, t in zip(drawn, seam_targets) if t is not None and PART_LAYER[tr.part] == layer_id]
            layers[layer_id] = _Layer(box, _union(seams) if seams else None)
    if not layers:
        return WarpResult(image, alpha, confidence, part_labels, skipped)
    for tr, seam_target in zip(drawn, seam_targets):
        _draw_part(reference, tr, boxes[tr.part], layers[PART_LAYER[tr.part]], config, seam_target,
                   blends.get(tr.part))

    seam_pixels = config.seam_scale * reference.height
    (ux0, uy0, ux1, uy1), colour, a, trust, labels = _stack_layers(layers, seam_pixels, reference.seam_width)
    _joint_seams(reference, transforms, trust, (ux0, uy0), seam_pixels)
    covered = a > 0
    box = (slice(uy0, uy1), slice(ux0, ux1))
    image[box] = np.clip(np.round(colour), 0, 255).astype(np.uint8) * covered[..., None]
    alpha[box] = a
    confidence[box] = np.clip(trust * a, 0.0, a)
    part_labels[box] = np.where(covered, labels, -1)
    return WarpResult(image, alpha, confidence, part_labels, skipped)


def _part_boxes(reference: WarpReference, transforms: list[PartTransform], height: int,
                width: int) -> dict[int, tuple[int, int, int, int]]:
    """{part: (x0, y0, x1, y1)}: where each part's crop lands in the (height, width) output, for
    the parts that land in it at all."""
    boxes = {}
    for tr in transforms:
        crop = reference.crop_of(tr.part, tr.cut, tr.stand_in)
        ch, cw = crop.primary.shape
        corners = np.array([[crop.x0, crop.y0], [crop.x0 + cw, crop.y0], [crop.x0, crop.y0 + ch],
                            [crop.x0 + cw, crop.y0 + ch]], np.float64) - 0.5
        mapped = corners @ tr.matrix[:, :2].T + tr.matrix[:, 2]
        bx0, by0 = np.floor(mapped.min(0)).astype(int) - 1
        bx1, by1 = np.ceil(mapped.max(0)).astype(int) + 2
        bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, width), min(by1, height)
        if bx1 > bx0 and by1 > by0:
            boxes[tr.part] = (int(bx0), int(by0), int(bx1), int(by1))
    return boxes


def _stack_layers(layers: dict, seam_pixels: float, seam_width: float = 0.0):
    """The arms layer over the body layer, over the union of their boxes: (union box (x0, y0, x1,
    y1), colour float32 (h, w, 3), alpha (h, w), trust (h, w), labels int8 (h, w)). A layer's pixels
    with nothing of the other layer within about `seam_width` (+ 1) pixels take its clean colours
    (the seam between the arms and the body recoloured: `reference._clean_seams`): the photo mixed
    the two there, a dark line of denim along an arm held out against a wall, a rim of skin on the
    shorts where the hand had lain; beside the other layer they keep the photo's."""
    ux0, uy0, ux1, uy1 = _union([layer.box for layer in layers.values()])
    shape = (uy1 - uy0, ux1 - ux0)
    finished = {}
    for layer_id, layer in layers.items():
        x0, y0, x1, y1 = layer.box
        finished[layer_id] = ((slice(y0 - uy0, y1 - uy0), slice(x0 - ux0, x1 - ux0)),) + layer.finish(seam_pixels)
    reach = int(np.ceil(seam_width)) + 1
    for layer_id, other_id in ((BODY_LAYER, ARMS_LAYER), (ARMS_LAYER, BODY_LAYER)):
        if layer_id not in finished or finished[layer_id][5] is None:
            continue
        sl, colour_l = finished[layer_id][:2]
        (rows, cols), clean = finished[layer_id][5]
        if not len(rows):
            continue
        y0, x0 = sl[0].start + rows.min(), sl[1].start + cols.min()  # union pixels
        region = (x0, y0, sl[1].start + cols.max() + 1, sl[0].start + rows.max() + 1)
        away = ~_beside(finished.get(other_id), region, reach)[rows + sl[0].start - y0, cols + sl[1].start - x0]
        colour_l[rows[away], cols[away]] = clean[away]
    colour = np.zeros(shape + (3,), np.float32)
    a = np.zeros(shape, np.float32)
    trust = np.zeros(shape, np.float32)
    labels = np.full(shape, -1, np.int8)
    for layer_id in (BODY_LAYER, ARMS_LAYER):
        if layer_id not in finished:
            continue
        sl, colour_l, a_l, trust_l, labels_l, _clean = finished[layer_id]  # clean colours applied above
        colour[sl], a[sl], trust[sl] = _over(colour_l, a_l, trust_l, colour[sl], a[sl], trust[sl])
        labels[sl] = np.where(a_l >= 0.5, labels_l, labels[sl])
    return (ux0, uy0, ux1, uy1), colour, a, trust, labels


def _beside(other, region, reach: int) -> np.ndarray:
    """bool over `region` (x0, y0, x1, y1, union pixels): within `reach` pixels of the other layer's
    pixels of alpha >= 0.5; other: its finished tuple (slices in the union, colour, alpha, ...) or
    None (no such layer: nowhere)."""
    x0, y0, x1, y1 = region
    near = np.zeros((y1 - y0 + 2 * reach, x1 - x0 + 2 * reach), np.uint8)
    if other is not None:
        (rows, cols), _colour, alpha = other[:3]
        ty0, tx0 = max(y0 - reach, rows.start), max(x0 - reach, cols.start)
        ty1, tx1 = min(y1 + reach, rows.stop), min(x1 + reach, cols.stop)
        if ty1 > ty0 and tx1 > tx0:
            near[ty0 - y0 + reach:ty1 - y0 + reach, tx0 - x0 + reach:tx1 - x0 + reach] = \
                alpha[ty0 - rows.start:ty1 - rows.start, tx0 - cols.start:tx1 - cols.start] >= 0.5
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
    return (cv2.dilate(near, disc) > 0)[reach:near.shape[0] - reach, reach:near.shape[1] - reach]


def _over(front_colour, front_alpha, front_trust, back_colour, back_alpha, back_trust):
    """(colour, alpha, trust) of a front layer over a back one. Where their coverages add up to
    at most 1 they only share the pixel (the antialiased border between an arm and the body that
    moved alike): coverage-weighted means and the summed alpha, which are exact. Where they
    overlap (coverages summing to 2) the front one covers the back one ("over")."""
    total = front_alpha + back_alpha
    overlap = np.clip(total - 1.0, 0.0, 1.0)
    behind = (1.0 - front_alpha) * back_alpha
    over_alpha = front_alpha + behind
    share = front_alpha / np.maximum(total, 1e-30)  # the front's share of the colour, shared
    share += overlap * (front_alpha / np.maximum(over_alpha, 1e-30) - share)  # ... or over
    colour = back_colour + share[..., None] * (front_colour - back_colour)
    trust = back_trust + share * (front_trust - back_trust)
    return colour, np.minimum(total, 1.0), trust


def _joint_seams(reference: WarpReference, transforms: list[PartTransform], trust: np.ndarray,
                 origin, seam_pixels: float) -> None:
    """Lower `trust` (in place; origin = its top-left pixel in the output) around each joint whose
    two parts moved differently: by how far apart the two parts fetch the joint's rim (the circle
    of its overhang radius, reference pixels), 1 - exp(-(gap / seam_pixels)^2), fading with the
    distance to the joint in the target as a Gaussian of sigma 0.75 x the disc's radius there."""
    moved = {tr.part: tr for tr in transforms}
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ox, oy = origin
    h, w = trust.shape
    for a, b, centre, radius in reference.links:
        if a not in moved or b not in moved:
            continue
        ma, mb = moved[a].matrix, moved[b].matrix
        rim = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
        rim = np.vstack([centre, rim])
        target = rim @ ma[:, :2].T + ma[:, 2]  # where part a puts the rim
        inverse_b = affine_inverse(mb)
        fetched = target @ inverse_b[:, :2].T + inverse_b[:, 2]  # where part b fetches those from
        gap = float(np.linalg.norm(fetched - rim, axis=1).max())
        dip = 1.0 - np.exp(-(gap / seam_pixels) ** 2)
        if dip < 1e-3:
            continue
        cx, cy = (target[0] + (centre @ mb[:, :2].T + mb[:, 2])) / 2
        sigma = 0.75 * radius * np.sqrt(abs(np.linalg.det(ma[:, :2])))
        reach = 3.0 * sigma
        x0, x1 = max(int(cx - reach) - ox, 0), min(int(cx + reach) + 2 - ox, w)
        y0, y1 = max(int(cy - reach) - oy, 0), min(int(cy + reach) + 2 - oy, h)
        if x1 <= x0 or y1 <= y0:
            continue
        xs = np.arange(x0 + ox, x1 + ox, dtype=np.float32)[None, :] - np.float32(cx)
        ys = np.arange(y0 + oy, y1 + oy, dtype=np.float32)[:, None] - np.float32(cy)
        r2 = xs * xs + ys * ys
        bump = np.exp(r2 * np.float32(-0.5 / sigma ** 2))
        bump[r2 > reach * reach] = 0.0  # a disc: nothing changes beyond 3 sigma
        trust[y0:y1, x0:x1] *= 1.0 - np.float32(dip) * bump


def _union(boxes) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def _target_shape(reference: WarpReference, tr: PartTransform):
    """The part's bone(s) and torso polygon moved into the target."""
    linear, offset = tr.matrix[:, :2], tr.matrix[:, 2]
    segments = reference.segments_of(tr.part, tr.cut, tr.stand_in) @ linear.T + offset
    polygon = None
    if tr.part == TORSO and reference.polygon is not None:
        polygon = reference.polygon @ linear.T + offset
    return segments, polygon


def _skin(reference: WarpReference, tr: PartTransform, box, config: WarpConfig) -> np.ndarray:
    """Skinning weight of a part over its box: exp(-distance to its target bone / (radius x
    blend)), floored so it never underflows. Distances are smooth: computed on every SKIN_STRIDE-th
    pixel and interpolated (exactly for the straight parts of the field)."""
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    step = SKIN_STRIDE if min(bw, bh) > 4 * SKIN_STRIDE else 1
    xs = np.arange(bx0, bx1 + step - 1, step, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1 + step - 1, step, dtype=np.float32)[:, None]
    segments, polygon = _target_shape(reference, tr)
    radius = reference.radius_of(tr.part, tr.stand_in) * float(np.sqrt(abs(np.linalg.det(tr.matrix[:, :2]))))
    logit = shape_distance(xs, ys, segments, polygon)
    logit *= np.float32(-1.0 / (max(radius, 1e-3) * config.blend))
    np.maximum(logit, _LOG_FLOOR, out=logit)
    if step > 1:  # grid point k sits at pixel k * step: pixel u reads the grid at u / step
        matrix = np.array([[1.0 / step, 0, 0], [0, 1.0 / step, 0]])
        logit = cv2.warpAffine(logit, matrix, (bw, bh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
    return np.exp(logit)


def _draw_part(reference: WarpReference, tr: PartTransform, box, layer: _Layer,
               config: WarpConfig, seam_target: tuple | None = None, blends: list | None = None) -> None:
    """Adds one part, fetched backwards through its transform over its output `box`, to its layer's
    sums; seam_target: the box its seam change maps into (`_seam_target_box`), or None; blends: its
    hips' `blend.Blend`s (near them it fetches through a blend of its and the other part's maps)."""
    crop = reference.crop_of(tr.part, tr.cut, tr.stand_in)
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    xs = np.arange(bx0, bx1, dtype=np.float32)[None, :]
    ys = np.arange(by0, by1, dtype=np.float32)[:, None]
    full = np.vstack([tr.matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)
    source = None
    if blends:  # the reference pixel each target pixel fetches, as maps
        source = blended_source(tr.matrix, blends, box)
        map_x, map_y = source[0] - np.float32(crop.x0), source[1] - np.float32(crop.y0)
        prem = cv2.remap(crop.prem, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        primary = cv2.remap(crop.primary, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=0)
        ux, uy = source[0] - xs, source[1] - ys
        if crop.crotch is not None:
            _crotch_from_below(prem, crop.crotch, map_x, map_y, tr.matrix, inverse[:2], blends, reference)
    else:
        # target pixel (u, v) of the box -> reference crop pixel: inverse(matrix) (u + bx0, v + by0) - crop origin
        to_crop = np.array([[1.0, 0.0, -crop.x0], [0.0, 1.0, -crop.y0], [0.0, 0.0, 1.0]])
        from_box = np.array([[1.0, 0.0, bx0], [0.0, 1.0, by0], [0.0, 0.0, 1.0]])
        local = (to_crop @ inverse @ from_box)[:2]
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        prem = cv2.warpAffine(crop.prem, local, (bw, bh), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0)
        primary = cv2.warpAffine(crop.primary, local, (bw, bh), flags=flags,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # where each target pixel is fetched from, as an offset from itself (reference pixels)
        m = inverse[:2]
        ux = np.float32(m[0, 0] - 1.0) * xs + (np.float32(m[0, 1]) * ys + np.float32(m[0, 2]))
        uy = np.float32(m[1, 0]) * xs + (np.float32(m[1, 1] - 1.0) * ys + np.float32(m[1, 2]))
    covered = prem[..., 3]
    if not (covered > 0).any():
        return
    skin = _skin(reference, tr, box, config)
    weight = skin * covered
    lx0, ly0 = layer.box[:2]
    sl = (slice(by0 - ly0, by1 - ly0), slice(bx0 - lx0, bx1 - lx0))
    layer.plain[sl] += prem[..., :3]
    layer.covered[sl] += covered
    layer.skinned[sl] += prem[..., :3] * skin[..., None]
    layer.weight[sl] += weight
    layer.primary[sl] += primary
    np.maximum(layer.single[sl], covered, out=layer.single[sl])
    # Whether the parts agree is asked of every part that covers the pixel, however little its
    # skinning weight: weighted by that, a part drawn under a dominant one (a thigh swung over the
    # shorts) counted as agreeing, and the two were averaged into a ghost of both.
    wux, wuy = covered * ux, covered * uy
    layer.su[sl + (0,)] += wux
    layer.su[sl + (1,)] += wuy
    wux *= ux
    wuy *= uy
    wux += wuy
    layer.suu[sl] += wux
    layer.trust[sl] += weight * np.float32(tr.trust)
    better = weight > layer.best[sl]
    if layer.seam is not None and seam_target is not None:
        _draw_seam(crop.seam, seam_target, inverse, box, layer, skin, covered, weight, source)
    np.copyto(layer.best[sl], weight, where=better)
    # the winner's own colour, where it wins (its coverage is > 0 there)
    np.divide(prem[..., :3], covered[..., None], out=layer.best_colour[sl], where=better[..., None])
    np.copyto(layer.best_covered[sl], covered, where=better)
    np.copyto(layer.label[sl], np.int8(tr.part), where=better)


def _crotch_from_below(prem: np.ndarray, crotch: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                       matrix: np.ndarray, inverse: np.ndarray, blends: list, reference: WarpReference) -> None:
    """Takes the crotch (`reference._crotch`) out of the torso's fetched pixels `prem` (in place)
    when at the crotch its blended map fetches from higher up the body than its own map does. Legs
    spread apart pull the torso's pixels between the hips down after the thighs (it fetches from
    higher up): the shorts' crotch stretches into the V, and the thighs' inner hems, which the torso
    holds as its crotch, would hang below it as a second pair of teeth. Legs brought together push
    them up (it fetches from lower down), and there the crotch fills the crack that opens between
    the thighs. Decided once, at the middle of the hips moved half a thigh's radius down: drawn in
    full where it fetches from CROTCH_FROM x the thighs' radius lower down or more, not at all from
    CROTCH_RAMP x that less, faded in between, so that a video does not flicker between the two.
    Near the photo's own pose it is not drawn: there the crotch fetched the wall seen between
    `photo.jpg`'s thighs just below it, a grey blob, where the holes' fill carries the shorts on.
    matrix, inverse: the torso's move (2x3) and its inverse, target -> reference pixels."""
    pose = reference.pose
    down = torso_frame(pose)[1]
    down /= max(float(np.hypot(*down)), 1e-9)
    radius = float(np.mean([reference.radius_of(p) for p in (R_THIGH, L_THIGH)]))
    point = pose[[R_HIP, L_HIP], :2].astype(np.float64).mean(axis=0) + 0.5 * radius * down
    target = matrix[:, :2] @ point + matrix[:, 2]
    x, y = int(round(target[0])), int(round(target[1]))
    fetched = np.array([v[0, 0] for v in blended_source(matrix, blends, (x, y, x + 1, y + 1))], np.float64)
    own = inverse @ np.array([x, y, 1.0])
    lower = float(np.dot(fetched - own, down)) / radius
    higher = float(np.clip((CROTCH_FROM - lower) / CROTCH_RAMP, 0.0, 1.0))
    if higher <= 0.0:
        return
    cover = cv2.remap(crotch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    keep = 1.0 - np.float32(higher) * np.clip(cover / np.maximum(prem[..., 3], 1e-6), 0.0, 1.0)
    prem *= keep[..., None]


def _seam_target_box(reference: WarpReference, tr: PartTransform, box, blends: list | None = None) -> tuple | None:
    """The output box (x0, y0, x1, y1) within the part's `box` that its seam change
    (`_PartCrop.seam`) maps into under its transform, or None (no seam, or off the box); blends:
    its hips' `blend.Blend`s, which may move it up to twice their reach."""
    crop = reference.crop_of(tr.part, tr.cut, tr.stand_in)
    if crop.seam is None or reference.seam_width <= 0:
        return None
    sx0, sy0, change = crop.seam
    sh, sw = change.shape[:2]
    corners = np.array([[sx0, sy0, 1], [sx0 + sw, sy0, 1], [sx0, sy0 + sh, 1], [sx0 + sw, sy0 + sh, 1]], np.float64)
    mapped = corners @ np.asarray(tr.matrix, np.float64).T
    grow = 2 * max((blend.reach for blend in blends), default=0.0) if blends else 0.0
    bx0, by0, bx1, by1 = box
    tx0 = max(bx0, int(np.floor(mapped[:, 0].min() - grow)) - 1)
    ty0 = max(by0, int(np.floor(mapped[:, 1].min() - grow)) - 1)
    tx1 = min(bx1, int(np.ceil(mapped[:, 0].max() + grow)) + 2)
    ty1 = min(by1, int(np.ceil(mapped[:, 1].max() + grow)) + 2)
    return (tx0, ty0, tx1, ty1) if tx1 > tx0 and ty1 > ty0 else None


def _draw_seam(seam: tuple, target: tuple, inverse: np.ndarray, box, layer: _Layer, skin: np.ndarray,
               covered: np.ndarray, weight: np.ndarray, source: tuple | None = None) -> None:
    """Adds a part's seam change (`_PartCrop.seam`: x0, y0, change (h, w, 3) in the reference) to
    the layer's seam sums as `_draw_part` adds its colour to plain, skinned and best_colour: fetched
    backwards over `target`, the output box it maps into. skin, covered, weight: the part's skinning
    weights, coverage and their product, over its `box`; source: the reference pixels (x, y) it
    fetches over its box when it does not fetch through `inverse` alone (a blended hip), or None."""
    tx0, ty0, tx1, ty1 = target
    patch_x0, patch_y0, change = seam
    bx0, by0 = box[:2]
    part = (slice(ty0 - by0, ty1 - by0), slice(tx0 - bx0, tx1 - bx0))
    if source is not None:
        warped = cv2.remap(change, source[0][part] - np.float32(patch_x0), source[1][part] - np.float32(patch_y0),
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        to_patch = np.array([[1.0, 0.0, -patch_x0], [0.0, 1.0, -patch_y0], [0.0, 0.0, 1.0]])
        from_box = np.array([[1.0, 0.0, tx0], [0.0, 1.0, ty0], [0.0, 0.0, 1.0]])
        local = (to_patch @ inverse @ from_box)[:2]
        warped = cv2.warpAffine(change, local, (tx1 - tx0, ty1 - ty0),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=0)
    plain, skinned, best, best_weight = layer.seam
    lx0, ly0 = layer.box[:2]
    sx0, sy0 = layer.seam_box[:2]
    here = (slice(ty0 - ly0 - sy0, ty1 - ly0 - sy0), slice(tx0 - lx0 - sx0, tx1 - lx0 - sx0))
    plain[here] += warped
    skinned[here] += warped * skin[part][..., None]
    better = weight[part] > best_weight[here]
    np.copyto(best_weight[here], weight[part], where=better)
    np.divide(warped, covered[part][..., None], out=best[here], where=better[..., None])


def warp_person(reference: np.ndarray, reference_mask: np.ndarray, reference_pose: np.ndarray,
                target_pose: np.ndarray, *, out_shape: tuple[int, int] | None = None,
                reference_extras: np.ndarray | None = None, target_extras: np.ndarray | None = None,
                config: WarpConfig = WarpConfig()) -> WarpResult:
    """The reference person warped to target_pose in one call (prepare_reference + warp_to_pose).

    For many target poses of one reference, prepare it once and call warp_to_pose per pose.
    """
    prepared = prepare_reference(reference, reference_mask, reference_pose, reference_extras,
                                 config=config)
    return warp_to_pose(prepared, target_pose, out_shape=out_shape, target_extras=target_extras)
