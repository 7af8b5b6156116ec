"""Two-stream convolution: Eq. 2-3 of the paper, any kernel / stride / padding, and no leak."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.nn.two_stream import TwoStreamConv2d, downsample_region, eq3_reference, leak_ring

conv_shapes = st.sampled_from([
    # (kernel, stride, padding, dilation)
    (1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 1), (5, 2, 2, 1), (4, 2, 1, 1),
    (3, 1, 2, 2), (1, 2, 0, 1), ((3, 5), 1, (1, 2), 1), (2, 2, 0, 1),
])


def make_case(seed: int, shape, padding_mode: str = "zeros", size: int = 12):
    kernel, stride, padding, dilation = shape
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = TwoStreamConv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation,
                                padding_mode=padding_mode)
    features = torch.randn(2, 3, size, size, generator=g)
    rng = np.random.default_rng(seed)
    region = torch.from_numpy(rng.random((2, size, size)) < rng.choice([0.05, 0.2, 0.5]))
    region[0, :2, :3] = True  # always something at the border
    return layer, features, region


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=conv_shapes, padding_mode=st.sampled_from(["zeros", "reflect"]))
def test_outside_outputs_ignore_the_region_content(seed, shape, padding_mode):
    layer, features, region = make_case(seed, shape, padding_mode)
    other = torch.where(region[:, None], torch.randn(features.shape) * 5, features)
    with torch.no_grad():
        a, b = layer(features, region), layer(other, region)
    outside = ~layer.output_region(region)
    assert outside.shape == a.shape[:1] + a.shape[2:]
    assert torch.equal(a.permute(1, 0, 2, 3)[:, outside], b.permute(1, 0, 2, 3)[:, outside])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=conv_shapes, padding_mode=st.sampled_from(["zeros", "reflect"]))
def test_matches_the_literal_eq3(seed, shape, padding_mode):
    """Our form (full stream inside M_out, clean stream elsewhere) equals Eq. 3 (clean stream on
    the leak ring of Eq. 2, full stream elsewhere)."""
    layer, features, region = make_case(seed, shape, padding_mode)
    with torch.no_grad():
        assert torch.allclose(layer(features, region), eq3_reference(layer.conv, features, region), atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=conv_shapes)
def test_plain_conv_leaks_on_the_ring(seed, shape):
    """The ring of Eq. 2 is exactly where a plain conv would leak: the check above can fail."""
    layer, features, region = make_case(seed, shape)
    other = torch.where(region[:, None], features + 1.0, features)
    with torch.no_grad():
        changed = (layer.conv(features) - layer.conv(other)).abs().amax(1) > 1e-6  # (B, H_out, W_out)
    ring = leak_ring(layer.conv, region)
    assert torch.equal(changed & ~layer.output_region(region), ring)


def test_without_region_it_is_the_conv():
    layer, features, region = make_case(0, (3, 2, 1, 1))
    with torch.no_grad():
        expected = layer.conv(features)
        assert torch.equal(layer(features), expected)
        assert torch.equal(layer(features, torch.zeros_like(region)), expected)


def test_inside_outputs_keep_the_full_stream():
    """Inside the region the output is conv(F), so generated tokens still see their own pixels."""
    layer, features, region = make_case(1, (3, 1, 1, 1))
    with torch.no_grad():
        out, full = layer(features, region), layer.conv(features)
    inside = layer.output_region(region)[:, None].expand_as(out)
    assert torch.equal(out[inside], full[inside])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), factor=st.sampled_from([2, 4]), size=st.integers(3, 17))
def test_downsample_region_is_any_pixel(seed, factor, size):
    region = torch.from_numpy(np.random.default_rng(seed).random((1, size, size)) < 0.1)
    pooled = downsample_region(region, factor)
    n = -(-size // factor)
    assert pooled.shape == (1, n, n)
    for i in range(n):
        for j in range(n):
            cell = region[0, i * factor:(i + 1) * factor, j * factor:(j + 1) * factor]
            assert bool(pooled[0, i, j]) == bool(cell.any())
    # Pooling twice by 2 is pooling once by 4 (the encoder pools level by level).
    assert torch.equal(downsample_region(downsample_region(region, 2), 2), downsample_region(region, 4))


def test_gradients_flow_through_both_streams():
    layer, features, region = make_case(2, (3, 1, 1, 1))
    features.requires_grad_(True)
    layer(features, region).sum().backward()
    assert layer.conv.weight.grad is not None and features.grad.abs().sum() > 0
