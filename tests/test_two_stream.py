"""Two-stream convolution: Eq. 2-3 of the paper, any kernel / stride / padding, and no leak."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.nn.two_stream import TwoStreamConv2d, downsample_region, eq3_reference, leak_ring

conv_shapes = st.sampled_from([
    # (kernel, stride, padding, dilation)
    (1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 2, 1), (5, 2, 2, 1), (4, 2, 1, 1),
    (3, 1, 2, 2), (1, 2, 0, 1), ((3, 5), 1, (1, 2), 1), (2, 2, 0, 1), (4, 4, 0, 1),
])


def make_case(seed: int, shape, padding_mode: str = "zeros", size: int = 12, compact: bool = False):
    kernel, stride, padding, dilation = shape
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = TwoStreamConv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation,
                                padding_mode=padding_mode)
    features = torch.randn(2, 3, size, size, generator=g)
    rng = np.random.default_rng(seed)
    if compact:
        # A small box (anywhere, border included): the full stream is computed on its window only.
        region = torch.zeros(2, size, size, dtype=torch.bool)
        y0, x0 = rng.integers(0, size - 2, 2)
        hh, ww = rng.integers(1, 4, 2)
        region[int(rng.integers(0, 2)), y0:y0 + hh, x0:x0 + ww] = True
        return layer, features, region
    region = torch.from_numpy(rng.random((2, size, size)) < rng.choice([0.05, 0.2, 0.5]))
    region[0, :2, :3] = True  # always something at the border
    return layer, features, region


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=conv_shapes, padding_mode=st.sampled_from(["zeros", "reflect"]),
       compact=st.booleans())
def test_outside_outputs_ignore_the_region_content(seed, shape, padding_mode, compact):
    layer, features, region = make_case(seed, shape, padding_mode, compact=compact)
    other = torch.where(region[:, None], torch.randn(features.shape) * 5, features)
    with torch.no_grad():
        a, b = layer(features, region), layer(other, region)
    outside = ~layer.output_region(region)
    assert outside.shape == a.shape[:1] + a.shape[2:]
    assert torch.equal(a.permute(1, 0, 2, 3)[:, outside], b.permute(1, 0, 2, 3)[:, outside])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shape=conv_shapes, padding_mode=st.sampled_from(["zeros", "reflect"]),
       compact=st.booleans())
def test_matches_the_literal_eq3(seed, shape, padding_mode, compact):
    """Our form (full stream inside M_out, clean stream elsewhere, the full stream computed on the
    region's window when that is small) equals Eq. 3 (clean stream on the leak ring of Eq. 2, full
    stream elsewhere)."""
    layer, features, region = make_case(seed, shape, padding_mode, compact=compact)
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


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("shape", [(3, 1, 1, 1), (3, 2, 1, 1), (5, 2, 2, 1)])
def test_inside_outputs_keep_the_full_stream(shape, compact):
    """Inside the region the output is conv(F), so generated tokens still see their own pixels."""
    for seed in range(4):
        layer, features, region = make_case(seed, shape, compact=compact, size=16)
        with torch.no_grad():
            out, full = layer(features, region), layer.conv(features)
        inside = layer.output_region(region)[:, None].expand_as(out)
        assert torch.allclose(out[inside], full[inside], atol=1e-5)


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


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("shape", [(3, 1, 1, 1), (3, 2, 1, 1)])
def test_gradients_match_the_literal_eq3(shape, compact):
    """The in-place selection keeps autograd right: same gradients as the literal Eq. 3."""
    layer, features, region = make_case(5, shape, compact=compact, size=16)
    weights = torch.randn(layer(features, region).shape, generator=torch.Generator().manual_seed(0))
    grads = []
    for fn in (lambda x: layer(x, region), lambda x: eq3_reference(layer.conv, x, region)):
        x = features.clone().requires_grad_(True)
        layer.zero_grad()
        (fn(x) * weights).sum().backward()
        grads.append((x.grad, layer.conv.weight.grad.clone()))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-5)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-4)
