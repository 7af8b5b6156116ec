"""Two-stream convolution (iLAT paper 3.1, Eq. 2-3; DESIGN.md section 4).

A region is a bool map, True = pixels to generate. With a region, a two-stream conv keeps every
output *outside* the region (at the output's resolution) a function of input values outside the
region only, so a stack of them never leaks the region's content into the tokens around it.

The paper's rule, for input features F and the region M' at the input's size:

    F_m = F * (1 - M')                                   the clean stream
    M_l = (conv_ones(M') > 0) and not M_out              the leak ring (Eq. 2)
    out = conv(F) off the ring, conv(F_m) on the ring    (Eq. 3)

where M_out is the region at the output size (max-pooled with the conv's stride: a cell is in the
region iff any of its pixels is). Off the ring and outside M_out, a receptive field holds no
region position, so there conv(F) and conv(F_m) see the same numbers. We therefore compute the
equivalent form

    out = conv(F) inside M_out, conv(F_m) everywhere else

which takes every outside output from the clean stream: the outside values then do not depend on
the region's content even at the level of floating-point rounding (a conv algorithm that mixes
neighbouring inputs, e.g. Winograd tiles, cannot reintroduce it). `eq3_reference` is the literal
Eq. 3 form, used by the tests to show the two agree.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TwoStreamConv2d", "RegionMasks", "downsample_region", "leak_ring", "eq3_reference"]


def downsample_region(region: torch.Tensor, factor: int) -> torch.Tensor:
    """The region at a `factor`-times coarser grid: a cell is in it iff any of its pixels is.

    region: (B, H, W) bool. Returns (B, ceil(H / factor), ceil(W / factor)) bool (cells at the
    bottom / right border cover fewer pixels, matching the output size of a stride-`factor` conv
    with "same"-style padding).
    """
    if factor == 1:
        return region
    pooled = F.max_pool2d(region[:, None].to(torch.float32), factor, factor, ceil_mode=True)
    return pooled[:, 0] > 0


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


class RegionMasks:
    """A region at one feature size plus what two-stream convs derive from it, computed once and
    shared by every conv at that size (the encoder makes one per resolution).

    region: (B, H, W) bool, True = generate.
    """

    def __init__(self, region: torch.Tensor):
        self.region = region.bool()
        self.any = bool(self.region.any())
        self._weights: dict = {}
        self._coarser: dict = {}
        self._box = None

    def coarser(self, factor: int) -> "RegionMasks":
        """The region max-pooled by `factor` (see `downsample_region`), cached."""
        if factor == 1:
            return self
        if factor not in self._coarser:
            self._coarser[factor] = RegionMasks(downsample_region(self.region, factor))
        return self._coarser[factor]

    def weights(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(keep, inside) as (B, 1, H, W) 0/1 tensors of `dtype`: keep = 1 outside the region."""
        if dtype not in self._weights:
            inside = self.region[:, None].to(dtype)
            self._weights[dtype] = (1 - inside, inside)
        return self._weights[dtype]

    def box(self) -> tuple[int, int, int, int]:
        """(row0, row1, col0, col1), end exclusive: the bounding box of the region over the batch."""
        if self._box is None:
            rows = torch.nonzero(self.region.any(2).any(0)).reshape(-1)
            cols = torch.nonzero(self.region.any(1).any(0)).reshape(-1)
            self._box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        return self._box


class TwoStreamConv2d(nn.Module):
    """An nn.Conv2d that, given a region, keeps its outputs outside the region leak-free.

    Any kernel size, stride, padding or dilation (groups too). Convs over non-overlapping patches
    (kernel = stride, no padding or dilation: 1x1 stride 1, or an f x f stride-f patch conv) cannot
    leak, since an output cell outside the region reads only its own pixels, none of them in the
    region; they take the one-stream path. Without a region (or with an empty one) it is exactly the
    wrapped conv. The weights live in `self.conv`, so state dicts match a model built with plain
    convs wrapped the same way.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode)
        self.stride = _pair(stride)
        if self.stride[0] != self.stride[1]:
            raise ValueError(f"two-stream conv needs a square stride, got {stride}")
        k = _pair(kernel_size)
        no_padding = not isinstance(padding, str) and _pair(padding) == (0, 0)
        self.patchwise = k == self.stride and no_padding and _pair(dilation) == (1, 1)

    def output_region(self, region: torch.Tensor) -> torch.Tensor:
        """The region at this conv's output size, (B, H, W) -> (B, H_out, W_out) bool."""
        return downsample_region(region, self.stride[0])

    def forward(self, features: torch.Tensor, region: torch.Tensor | RegionMasks | None = None) -> torch.Tensor:
        """features: (B, C_in, H, W); region: (B, H, W) bool at the features' size, True = generate
        (or its RegionMasks), or None. Returns (B, C_out, H_out, W_out); outside
        `output_region(region)` each value depends only on the features outside `region`."""
        if region is None or self.patchwise:
            return self.conv(features)
        masks = region if isinstance(region, RegionMasks) else RegionMasks(region)
        if not masks.any:
            return self.conv(features)
        if masks.region.shape != (features.shape[0], *features.shape[-2:]):
            raise ValueError(f"region {tuple(masks.region.shape)} does not match features {tuple(features.shape)}")
        keep, _ = masks.weights(features.dtype)
        clean = self.conv(features * keep)  # the clean stream, used everywhere outside the region
        out_masks = masks.coarser(self.stride[0])
        if out_masks.region.shape[-2:] != clean.shape[-2:]:
            raise ValueError(
                f"conv output {tuple(clean.shape[-2:])} is not the region pooled by the stride "
                f"{tuple(out_masks.region.shape[-2:])}: use 'same'-style padding"
            )
        _, inside = out_masks.weights(clean.dtype)
        # lerp with 0/1 weights selects exactly: clean + 0 * (full - clean) outside, full inside.
        r0, r1, c0, c1 = out_masks.box()
        h_out, w_out = clean.shape[-2:]
        # In place: clean is a fresh conv output that autograd does not keep, and a new map per
        # call costs page faults that matter on thin, memory-bound layers.
        if (r1 - r0) * (c1 - c0) > 0.7 * h_out * w_out:
            return clean.lerp_(self.conv(features), inside)
        # The full stream is needed only inside the region: compute it on the region's bounding
        # box (over the batch) when that box is clearly smaller than the map.
        full = self._conv_window(features, r0, r1, c0, c1)  # (B, C_out, r1 - r0, c1 - c0)
        clean[:, :, r0:r1, c0:c1].lerp_(full, inside[:, :, r0:r1, c0:c1])
        return clean

    def _conv_window(self, features: torch.Tensor, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
        """conv(features) at output rows r0:r1 and columns c0:c1 only, exactly as the full conv
        computes them (same padding), from the input window those outputs read."""
        conv = self.conv
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
        h, w = features.shape[-2:]
        # Input window in padded coordinates, then in unpadded ones (may run past the border).
        top, bottom = r0 * sh - ph, (r1 - 1) * sh + dh * (kh - 1) + 1 - ph
        left, right = c0 * sw - pw, (c1 - 1) * sw + dw * (kw - 1) + 1 - pw
        if conv.padding_mode == "zeros":
            window = features[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
            pads = (max(-left, 0), max(right - w, 0), max(-top, 0), max(bottom - h, 0))
            if any(pads):
                window = F.pad(window, pads)
        else:  # reflect / replicate / circular: pad the whole map the conv's way, then cut
            padded = F.pad(features, (pw, pw, ph, ph), mode=conv.padding_mode)
            window = padded[..., top + ph:bottom + ph, left + pw:right + pw]
        return F.conv2d(window, conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups)

def leak_ring(conv: nn.Conv2d, region: torch.Tensor) -> torch.Tensor:
    """Eq. 2: output positions whose receptive field touches the region but that lie outside the
    region at the output size. region: (B, H, W) bool at the input size -> (B, H_out, W_out) bool."""
    m = region[:, None].to(torch.float32)
    if conv.padding_mode != "zeros":
        ph, pw = _pair(conv.padding)
        m = F.pad(m, (pw, pw, ph, ph), mode=conv.padding_mode)
        padding = 0
    else:
        padding = conv.padding
    ones = torch.ones(1, 1, *conv.kernel_size)
    touched = F.conv2d(m, ones, stride=conv.stride, padding=padding, dilation=conv.dilation)[:, 0] > 0
    return touched & ~downsample_region(region, conv.stride[0])


def eq3_reference(conv: nn.Conv2d, features: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """The paper's Eq. 3 written out literally: conv(F) off the ring, conv(F * (1 - M')) on it."""
    keep = (~region)[:, None].to(features.dtype)
    ring = leak_ring(conv, region)[:, None]
    return torch.where(ring, conv(features * keep), conv(features))

