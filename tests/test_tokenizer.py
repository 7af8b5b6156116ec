"""TS-VQGAN: the leak property, Eq. 4 decoding, presets and save/load (issue 3)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from ilat_video.errors import ModelFileError
from ilat_video.nn.pretrained import config_from_dict, config_to_dict
from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig, tokenizer_preset
from ilat_video.regions import token_region as reference_token_region

# Three levels (two stride-2 convs, f=4) so that "outside" changes resolution twice.
TINY = dict(resolution=32, base_channels=8, channel_mult=(1, 2, 2), num_res_blocks=1,
            codebook_size=16, code_dim=4)
_models: dict = {}


def tiny_model(two_stream: bool = True, **overrides) -> TSVQGAN:
    key = (two_stream, tuple(sorted(overrides.items())))
    if key not in _models:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            _models[key] = TSVQGAN(TokenizerConfig(**{**TINY, **overrides}, two_stream=two_stream)).eval()
    return _models[key]


def random_region(rng: np.random.Generator, batch: int, size: int) -> torch.Tensor:
    """Rectangles (often cut by the image border) plus scattered single pixels, per sample."""
    region = np.zeros((batch, size, size), bool)
    for b in range(batch):
        for _ in range(rng.integers(1, 4)):
            y0, x0 = rng.integers(-size // 4, size, 2)
            hh, ww = rng.integers(1, size // 2 + 1, 2)
            region[b, max(0, y0): max(0, y0 + hh), max(0, x0): max(0, x0 + ww)] = True
        region[b] |= rng.random((size, size)) < rng.choice([0.0, 0.002])
    return torch.from_numpy(region)


def leak(model: TSVQGAN, seed: int, region: torch.Tensor | None = None):
    """Encode an image and a copy whose region pixels are redrawn; return the largest change of z
    and the number of changed indices over the tokens outside the token region."""
    rng = np.random.default_rng(seed)
    size = model.config.resolution
    if region is None:
        region = random_region(rng, 2, size)
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(region.shape[0], 3, size, size, generator=g) * 2 - 1
    other = torch.rand(image.shape, generator=g) * 2 - 1
    edited = torch.where(region[:, None], other, image)
    with torch.no_grad():
        _, idx_a, z_a = model.encode(image, region)
        _, idx_b, z_b = model.encode(edited, region)
    outside = ~model.token_region(region)  # (B, h, w)
    z_change = (z_a - z_b).abs().amax(1)[outside]
    return (float(z_change.max()) if z_change.numel() else 0.0), int((idx_a != idx_b)[outside].sum()), outside


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_leak_property_two_stream(seed):
    z_change, index_changes, _ = leak(tiny_model(True), seed)
    assert z_change <= 1e-6
    assert index_changes == 0


@pytest.mark.parametrize("corner", ["top-left", "bottom-right", "left-edge", "full-row"])
def test_leak_property_at_the_border(corner):
    size = TINY["resolution"]
    region = torch.zeros(1, size, size, dtype=torch.bool)
    if corner == "top-left":
        region[0, :5, :3] = True
    elif corner == "bottom-right":
        region[0, -6:, -9:] = True
    elif corner == "left-edge":
        region[0, 10:20, :1] = True
    else:
        region[0, 13:17, :] = True
    z_change, index_changes, outside = leak(tiny_model(True), 7, region)
    assert outside.any()
    assert z_change <= 1e-6 and index_changes == 0


def test_leak_property_fails_on_the_plain_encoder():
    """The same check on the iLAT* encoder (vanilla convs, GroupNorm): the region leaks."""
    model = tiny_model(False)
    changes = [leak(model, seed)[0] for seed in range(5)]
    assert all(c > 1e-3 for c in changes), changes


def test_leak_property_fails_without_the_two_stream_rule():
    """Two-stream weights with the region withheld from the convs (LayerNorm kept): still leaks, so
    the test catches a missing two-stream rule and not only GroupNorm."""
    model = tiny_model(True)
    size = TINY["resolution"]
    region = torch.zeros(1, size, size, dtype=torch.bool)
    region[0, 8:16, 8:16] = True
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    edited = torch.where(region[:, None], -image, image)
    with torch.no_grad():
        z_a, z_b = model.encoder(image, None), model.encoder(edited, None)
    outside = ~model.token_region(region)
    assert (z_a - z_b).abs().amax(1)[outside].max() > 1e-3


def test_region_changes_only_the_inside_and_its_dependence():
    """With a region, tokens inside it still see their own pixels (the full stream is kept there)."""
    model = tiny_model(True)
    size = TINY["resolution"]
    region = torch.zeros(1, size, size, dtype=torch.bool)
    region[0, 8:20, 4:24] = True
    g = torch.Generator().manual_seed(3)
    image = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    edited = torch.where(region[:, None], -image, image)
    with torch.no_grad():
        _, _, z_a = model.encode(image, region)
        _, _, z_b = model.encode(edited, region)
    inside = model.token_region(region)
    assert (z_a - z_b).abs().amax(1)[inside].min() > 0


def test_empty_region_is_the_plain_encoding():
    model = tiny_model(True)
    g = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    empty = torch.zeros(2, 32, 32, dtype=torch.bool)
    with torch.no_grad():
        a, b = model.encode(image), model.encode(image, empty)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), h=st.sampled_from([8, 16, 32]), w=st.sampled_from([8, 16, 32]))
def test_token_region_matches_regions_module(seed, h, w):
    model = tiny_model(True)
    rng = np.random.default_rng(seed)
    region = torch.from_numpy(rng.random((2, h, w)) < rng.uniform(0, 0.1))
    ours = model.token_region(region)
    assert ours.shape == (2, h // 4, w // 4)
    assert torch.equal(ours, reference_token_region(region, (h // 4, w // 4)))


# --------------------------------------------------------------------------------------------
# Eq. 4 decoding
# --------------------------------------------------------------------------------------------


def encoded(seed=0, batch=2):
    model = tiny_model(True)
    rng = np.random.default_rng(seed)
    region = random_region(rng, batch, 32)
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, 32, 32, generator=g) * 2 - 1
    with torch.no_grad():
        z_q, indices, z = model.encode(image, region)
    return model, image, region, z_q, indices, z


def test_eq4_with_an_empty_region_decodes_the_continuous_features():
    model, _, region, z_q, _, z = encoded()
    empty = torch.zeros_like(region)
    with torch.no_grad():
        assert torch.equal(model.decode(z_q, z, empty), model.decoder(z))
        assert torch.equal(model.decode(z_q, z, torch.ones_like(region)), model.decode(z_q))


@pytest.mark.parametrize("seed", range(3))
def test_eq4_uses_codes_inside_and_features_outside(seed):
    """Perturbing z inside the token region or z_q outside it does not change the decoded image."""
    model, _, region, z_q, _, z = encoded(seed)
    inside = model.token_region(region)[:, None]
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(z.shape, generator=g)
    with torch.no_grad():
        base = model.decode(z_q, z, region)
        assert torch.equal(base, model.decode(torch.where(inside, z_q, noise), torch.where(inside, noise, z), region))
        # ... and token-sized regions mean the same as pixel regions.
        assert torch.equal(base, model.decode(z_q, z, model.token_region(region)))
        if inside.any() and (~inside).any():
            assert not torch.equal(base, model.decode(z_q, torch.where(inside, z, noise), region))


@pytest.mark.parametrize("seed", range(3))
def test_decode_indices_agrees_with_decoding_looked_up_codes(seed):
    model, _, region, z_q, indices, z = encoded(seed)
    g = torch.Generator().manual_seed(seed)
    new = torch.randint(0, model.config.codebook_size, indices.shape, generator=g)
    with torch.no_grad():
        # z_q carries straight-through rounding (z + (codes - z)), hence a tolerance here only.
        assert torch.allclose(model.decode_indices(indices, z, region), model.decode(z_q, z, region), atol=1e-5)
        assert torch.equal(model.decode_indices(indices, z, region),
                           model.decode(model.quantizer.lookup(indices), z, region))
        assert torch.equal(model.decode_indices(new), model.decode(model.quantizer.lookup(new)))
        assert torch.equal(model.decode_indices(new, z, region),
                           model.decode(model.quantizer.lookup(new), z, region))


def test_forward_uses_eq4_and_trains_both_paths():
    model = TSVQGAN(TokenizerConfig(**TINY))
    model.eval()  # no dead-code bookkeeping; gradients still flow
    _, image, region, _, _, _ = encoded(4)
    reconstruction, loss, info = model(image, region)
    with torch.no_grad():
        z_q, indices, z = model.encode(image, region)
        assert torch.allclose(reconstruction, model.decode(z_q, z, region), atol=1e-6)
    assert torch.equal(info["indices"], indices)
    assert torch.equal(info["token_region"], model.token_region(region))
    assert 1 <= float(info["perplexity"]) <= model.config.codebook_size
    ((reconstruction - image).abs().mean() + loss).backward()
    assert model.encoder.conv_in.conv.weight.grad.abs().sum() > 0
    assert model.quantizer.codebook.grad.abs().sum() > 0
    assert model.last_layer is model.decoder.conv_out.weight and model.last_layer.grad is not None
    reconstruction, loss, info = model(image)
    assert reconstruction.shape == image.shape and loss.ndim == 0 and "token_region" not in info


def test_bad_sizes_are_refused():
    model = tiny_model(True)
    with pytest.raises(ValueError, match="multiple"):
        model.encode(torch.zeros(1, 3, 30, 32))
    with pytest.raises(ValueError, match="region"):
        model.encode(torch.zeros(1, 3, 32, 32), torch.zeros(1, 16, 16, dtype=torch.bool))


# --------------------------------------------------------------------------------------------
# Presets, config, save / load
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,resolution,factor", [("paper-256", 256, 16), ("small-64", 64, 4), ("small-128", 128, 8)])
def test_presets(name, resolution, factor):
    config = tokenizer_preset(name)
    assert (config.resolution, config.downsample_factor, config.token_grid) == (resolution, factor, (16, 16))
    assert config_from_dict(TokenizerConfig, json.loads(json.dumps(config_to_dict(config)))) == config
    config.codebook_size = 3  # a copy: the preset itself is unchanged
    assert tokenizer_preset(name).codebook_size != 3
    with pytest.raises(KeyError):
        tokenizer_preset("nope")


def test_small_preset_shapes():
    model = TSVQGAN(tokenizer_preset("small-64")).eval()
    with torch.no_grad():
        z_q, indices, z = model.encode(torch.zeros(1, 3, 64, 64))
        assert indices.shape == (1, 16, 16) and indices.dtype == torch.long
        assert z.shape == z_q.shape == (1, model.config.code_dim, 16, 16)
        assert model.decode(z_q).shape == (1, 3, 64, 64)


def test_save_load_round_trip(tmp_path):
    model = TSVQGAN(TokenizerConfig(**TINY, restart_dead_codes=True))
    _, image, region, _, _, _ = encoded(5)
    model.save_pretrained(tmp_path / "tok")
    loaded = TSVQGAN.from_pretrained(tmp_path / "tok")
    assert loaded.config == model.config
    model.eval()
    with torch.no_grad():
        for a, b in zip(model.encode(image, region), loaded.encode(image, region)):
            assert torch.equal(a, b)
        assert torch.equal(model(image, region)[0], loaded(image, region)[0])


def test_load_names_wrong_and_missing_keys(tmp_path):
    model = TSVQGAN(TokenizerConfig(**TINY))
    folder = model.save_pretrained(tmp_path / "tok")
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    state["decoder.conv_out.weight"] = torch.zeros(3, 5, 3, 3)
    del state["quantizer.codebook"]
    save_file(state, str(weights))
    with pytest.raises(ModelFileError) as info:
        TSVQGAN.from_pretrained(folder)
    assert "quantizer.codebook" in str(info.value) and "decoder.conv_out.weight" in str(info.value)


def test_two_stream_and_plain_share_parameter_names():
    """The iLAT* ablation loads the same weight files (LayerNorm and GroupNorm have the same keys)."""
    a = TSVQGAN(TokenizerConfig(**TINY, two_stream=True)).state_dict()
    b = TSVQGAN(TokenizerConfig(**TINY, two_stream=False)).state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    assert dataclasses.replace(TokenizerConfig(**TINY)).two_stream


def test_a_grown_codebook_keeps_the_trained_parts_and_restarts_the_new_codes():
    model = tiny_model()
    grown = model.with_codebook_size(64)
    assert grown.config == dataclasses.replace(model.config, codebook_size=64)
    old, new = model.state_dict(), grown.state_dict()
    for key in old:
        if not key.startswith("quantizer."):
            assert torch.equal(old[key], new[key]), key
    k = model.config.codebook_size
    assert torch.equal(new["quantizer.codebook"][:k], old["quantizer.codebook"])
    assert torch.equal(new["quantizer.usage"][:k], old["quantizer.usage"])
    assert (new["quantizer.usage"][k:] == 0).all()  # dead at once: the first steps restart them
    # After one training pass on data the new codes are in use (they were restarted onto it).
    _, image, region, _, _, _ = encoded(5)
    assert grown.config.restart_dead_codes
    with torch.no_grad():
        grown.train()(image, region)  # a training pass restarts dead codes
        _, _, info = grown.eval()(image, region)
    assert (info["indices"] >= k).any()
    shrunk = model.with_codebook_size(8)
    assert torch.equal(shrunk.state_dict()["quantizer.codebook"], old["quantizer.codebook"][:8])


def test_a_deeper_decoder_decodes_as_before_and_then_learns_with_its_new_blocks(tmp_path):
    """Added residual blocks start as the identity: same tokens, same images; yet they are on the
    path (a change to one moves the output), and the grown model saves and loads as such."""
    model = tiny_model(True, linear_path=True, norm_group_channels=2)
    deeper = model.with_decoder(res_blocks=4).eval()
    assert deeper.config.decoder_res_blocks == 4 and deeper.config.decoder_channels == 8
    _, image, region, _, _, _ = encoded(7)
    with torch.no_grad():
        z_q, indices, z = model.encode(image, region)
        z_q2, indices2, z2 = deeper.encode(image, region)
        assert torch.equal(indices, indices2) and torch.equal(z, z2)
        before = model.decode_indices(indices, z, region)
        after = deeper.decode_indices(indices, z, region)
        assert torch.allclose(before, after, atol=1e-5)
        added = [level[3] for level in deeper.decoder.levels]  # blocks 0-1 were there, 2-3 are new
        assert all(float(block.conv2.weight.abs().sum()) == 0 for block in added)
        torch.nn.init.normal_(added[-1].conv2.weight, std=0.1)
        assert not torch.allclose(deeper.decode_indices(indices, z, region), before, atol=1e-3)
    deeper.save_pretrained(tmp_path / "deeper")
    loaded = TSVQGAN.from_pretrained(tmp_path / "deeper").eval()
    with torch.no_grad():
        assert torch.equal(loaded.decode_indices(indices, z, region), deeper.decode_indices(indices, z, region))
    with pytest.raises(ValueError, match="only growing"):
        deeper.with_decoder(res_blocks=2)


def test_a_wider_decoder_keeps_the_tokens_and_the_linear_path():
    model = tiny_model(True, linear_path=True, norm_group_channels=2)
    wider = model.with_decoder(channels=16).eval()
    assert wider.config == dataclasses.replace(model.config, decoder_channels=16, decoder_res_blocks=2)
    old, new = model.state_dict(), wider.state_dict()
    for key in old:
        if key.startswith(("encoder.", "quantizer.", "decoder.linear.")):
            assert torch.equal(old[key], new[key]), key
    assert new["decoder.conv_in.weight"].shape[0] == 2 * old["decoder.conv_in.weight"].shape[0]
    _, image, region, _, _, _ = encoded(8)
    with torch.no_grad():
        assert torch.equal(wider.encode(image, region)[1], model.encode(image, region)[1])
        assert wider.decode_indices(*wider.encode(image, region)[1:], region).shape == image.shape


@pytest.mark.parametrize("group_channels", [1, 2, 4, 8])
def test_norm_groups_keep_the_asked_channels_and_the_weight_layout(group_channels):
    """norm_group_channels sets the fewest channels per GroupNorm group (decoder and plain encoder)
    without changing a single weight's name or shape, so trained weights load under either rule."""
    config = TokenizerConfig(**TINY, norm_group_channels=group_channels)
    for two_stream in (True, False):
        model = TSVQGAN(dataclasses.replace(config, two_stream=two_stream))
        norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
        assert norms and all(n.num_channels // n.num_groups >= min(group_channels, n.num_channels) for n in norms)
        # The most groups that rule allows (up to 32): VQGAN's own rule when group_channels is 1.
        for n in norms:
            assert n.num_groups == max(g for g in (32, 16, 8, 4, 2, 1)
                                       if n.num_channels % g == 0 and n.num_channels // g >= group_channels)
        if two_stream:  # the leak-free encoder normalises per position: no GroupNorm there
            assert not any(name.startswith("encoder") for name, m in model.named_modules()
                           if isinstance(m, torch.nn.GroupNorm))
    plain = TSVQGAN(TokenizerConfig(**TINY)).state_dict()
    wide = TSVQGAN(config).state_dict()
    assert {k: v.shape for k, v in plain.items()} == {k: v.shape for k, v in wide.items()}


def test_instance_norm_decoder_cannot_see_a_global_colour_shift_and_wider_groups_can():
    """Why norm_group_channels exists: with one channel per group, a colour added to the whole
    feature map before the last norm cannot reach the output; with 4 channels per group it does."""
    torch.manual_seed(0)
    h = torch.randn(1, 8, 16, 16)
    shift = torch.zeros(1, 8, 1, 1)
    shift[0, 0] = 3.0
    outputs = {}
    for group_channels in (1, 4):
        decoder = TSVQGAN(TokenizerConfig(**TINY, norm_group_channels=group_channels)).decoder
        with torch.no_grad():
            outputs[group_channels] = [decoder.conv_out(torch.nn.functional.silu(decoder.norm_out(x)))
                                       for x in (h, h + shift)]
    assert torch.allclose(*outputs[1], atol=1e-5)
    assert (outputs[4][0] - outputs[4][1]).abs().mean() > 0.01


def test_old_configs_load_with_the_old_norms(tmp_path):
    model = TSVQGAN(TokenizerConfig(**TINY))
    folder = model.save_pretrained(tmp_path / "tok")
    config = json.loads((folder / "config.json").read_text())
    del config["norm_group_channels"]  # a config written before the field existed
    (folder / "config.json").write_text(json.dumps(config))
    loaded = TSVQGAN.from_pretrained(folder)
    assert loaded.config.norm_group_channels == 1 and loaded.decoder.norm_out.num_groups == 8
    with pytest.raises(ValueError, match="norm_group_channels"):
        TokenizerConfig(**TINY, norm_group_channels=0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_leak_property_with_the_linear_path(seed):
    z_change, index_changes, _ = leak(tiny_model(True, linear_path=True), seed)
    assert z_change <= 1e-6 and index_changes == 0


def test_the_linear_path_is_a_patch_conv_in_and_a_pixel_shuffle_out():
    model = TSVQGAN(TokenizerConfig(**TINY, linear_path=True)).eval()
    f, d = model.downsample_factor, TINY["code_dim"]
    with torch.no_grad():  # silence the deep networks: what is left is the linear path alone
        for conv in (model.encoder.conv_out.conv, model.decoder.conv_out):
            conv.weight.zero_()
            conv.bias.zero_()
    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    z = torch.randn(2, d, 32 // f, 32 // f, generator=g)
    patch, unpatch = model.encoder.linear.conv, model.decoder.linear[0]
    with torch.no_grad():
        assert torch.allclose(model.encoder(image), F.conv2d(image, patch.weight, patch.bias, stride=f), atol=1e-6)
        expected = F.pixel_shuffle(F.conv2d(z, unpatch.weight, unpatch.bias), f)
        assert torch.allclose(model.decoder(z), expected, atol=1e-6)
    # Without the option there are no such weights: shipped models load as trained.
    assert not any(".linear." in key for key in TSVQGAN(TokenizerConfig(**TINY)).state_dict())
