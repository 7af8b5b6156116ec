"""LA transformer: no leakage under the LA mask (and the leak tests catching broken masks), the
loss, PointMLP's missing joints, presets and the save/load round trip."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.errors import ModelFileError
from ilat_video.masks import causal_group, flatten_region, holds_region, la_attention_mask
from ilat_video.nn.pointmlp import PointMLP
from ilat_video.nn.posemap import PoseMap
from ilat_video.nn.pretrained import load_weights
from ilat_video.nn.transformer import LATransformer, TransformerConfig, transformer_preset

K = 16


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and the machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(seed: int = 0, **overrides) -> LATransformer:
    """A random tiny model; with pose_map, its projection random too (it starts at zero)."""
    config = TransformerConfig(**{**dict(codebook_size=K, grid=(3, 3), num_layers=2, num_heads=2, width=32,
                                         pose_hidden=32), **overrides})
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LATransformer(config).eval()
        if config.pose_map:
            nn.init.normal_(model.pose_map.proj.weight)
        return model


def random_inputs(model: LATransformer, batch: int, generator: torch.Generator, region=None):
    c = model.config
    n = c.num_tokens
    cond = torch.randint(0, K, (batch, n), generator=generator)
    target = torch.randint(0, K, (batch, n), generator=generator)
    pose = torch.rand(batch, c.num_joints, 3, generator=generator)
    if region is None:
        region = torch.rand(batch, *c.grid, generator=generator) < 0.4
    ref = torch.rand(batch, c.num_joints, 3, generator=generator) if c.needs_reference_pose else None
    return cond, target, pose, region, ref


def perturb_region_tokens(target, where, generator):
    """target with every token at `where` (B, N) replaced by a different random id."""
    shift = torch.randint(1, K, target.shape, generator=generator)
    return torch.where(where, (target + shift) % K, target)


def leak_report(model, mask, cond, target, pose, region, ref, generator) -> tuple[bool, bool]:
    """(leak_a, leak_b) for one batch under `mask` (a kind or an explicit (B, L, L) mask).

    (a): some output predicting region token t_j changes when the region tokens t_m, m >= j change.
    (b): some output at a condition or global target position changes when region tokens change.
    """
    flat = flatten_region(region)
    b, n = flat.shape
    c = model.config.num_condition
    with torch.no_grad():
        base_logits = model(cond, target, pose, region, reference_pose=ref, mask=mask)
        base_feats = model.forward_features(cond, target, pose, region, reference_pose=ref, mask=mask)
        leak_a = False
        for j in range(n):
            if not flat[:, j].any():
                continue
            later = flat.clone()
            later[:, :j] = False  # region tokens t_m with m >= j
            changed = perturb_region_tokens(target, later, generator)
            logits = model(cond, changed, pose, region, reference_pose=ref, mask=mask)
            diff = (logits[:, j] - base_logits[:, j]).abs().amax(dim=-1)  # (B,)
            leak_a |= bool((diff[flat[:, j]] > 1e-5).any())
        changed = perturb_region_tokens(target, flat, generator)
        feats = model.forward_features(cond, changed, pose, region, reference_pose=ref, mask=mask)
        keep = torch.cat([torch.ones(b, c, dtype=torch.bool), ~causal_group(region)], dim=1)  # (B, L)
        diff = (feats - base_feats).abs().amax(dim=-1)  # (B, L)
        leak_b = bool((diff[keep] > 1e-5).any())
    return leak_a, leak_b


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), reference_pose=st.booleans(), pose_map=st.booleans())
def test_la_mask_does_not_leak(seed, reference_pose, pose_map):
    model = tiny_model(seed % 7, use_reference_pose=reference_pose, pose_map=pose_map)
    g = torch.Generator().manual_seed(seed)
    inputs = random_inputs(model, 3, g)
    assert leak_report(model, "la", *inputs, g) == (False, False)


def fig3b_batch(model, generator):
    region = torch.zeros(2, 9, dtype=torch.bool)
    region[:, [1, 2, 5, 7]] = True
    region[1] = torch.tensor([0, 0, 1, 1, 0, 0, 0, 1, 0], dtype=torch.bool)
    return random_inputs(model, 2, generator, region=region.view(2, 3, 3))


def test_leak_tests_catch_broken_masks():
    """The same checks fail where they must: the tests can tell a leaking mask from the LA mask."""
    model = tiny_model(1)
    g = torch.Generator().manual_seed(0)
    cond, target, pose, region, ref = fig3b_batch(model, g)
    length = model.config.seq_len
    c = model.config.num_condition
    assert leak_report(model, "la", cond, target, pose, region, ref, g) == (False, False)
    # Vanilla AR is causal, so (a) holds, but global outputs after a region token see it: (b) fails.
    assert leak_report(model, "ar", cond, target, pose, region, ref, g) == (False, True)
    # All ones: everything sees everything.
    ones = torch.ones(2, length, length, dtype=torch.bool)
    assert leak_report(model, ones, cond, target, pose, region, ref, g) == (True, True)
    # A subtle bug: the causal group without causality inside it. (b) holds, (a) catches it.
    broken = la_attention_mask(region, c).clone()
    causal = causal_group(region)
    broken[:, c:, c:] |= causal[:, :, None] & causal[:, None, :]
    assert leak_report(model, broken, cond, target, pose, region, ref, g) == (True, False)
    # Another: global positions allowed to see region tokens (C2T stays closed). (b) catches it.
    broken = la_attention_mask(region, c).clone()
    broken[:, c:, c:] |= holds_region(region)[:, None, :]
    assert leak_report(model, broken, cond, target, pose, region, ref, g)[1]


def test_forward_shapes_and_no_nan_for_extreme_regions():
    model = tiny_model(2)
    g = torch.Generator().manual_seed(2)
    cond, target, pose, _, _ = random_inputs(model, 3, g)
    for region in (torch.zeros(3, 3, 3, dtype=torch.bool), torch.ones(3, 3, 3, dtype=torch.bool)):
        for kind in ("la", "ar", "ae"):
            logits = model(cond, target, pose, region, mask=kind)
            assert logits.shape == (3, 9, K) and torch.isfinite(logits).all()


def test_loss_counts_region_tokens_only():
    model = tiny_model(3).train()
    g = torch.Generator().manual_seed(3)
    cond, target, pose, region, _ = random_inputs(model, 4, g)
    region[0] = True  # make sure the region is not empty
    logits = model(cond, target, pose, region)
    loss = model.loss(logits, target, region)
    flat = region.flatten(1)
    expected = torch.nn.functional.cross_entropy(logits[flat], target[flat])
    assert torch.allclose(loss, expected, atol=1e-6)
    # Logits outside the region do not matter.
    noisy = logits + torch.randn(logits.shape, generator=g) * (~flat)[..., None]
    assert torch.allclose(model.loss(noisy, target, region), loss, atol=1e-6)
    # Per-token weights give the weighted mean over the region; all-ones weights change nothing.
    assert torch.allclose(model.loss(logits, target, region, torch.ones(flat.shape)), loss, atol=1e-6)
    weights = torch.rand(flat.shape, generator=g) * 3
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
    expected = (ce * weights)[flat].sum() / weights[flat].sum()
    assert torch.allclose(model.loss(logits, target, region, weights), expected, atol=1e-5)
    with pytest.raises(ValueError, match="weights must be"):
        model.loss(logits, target, region, weights[:, :-1])
    # Empty region: zero loss, finite zero gradients, no NaN.
    empty = torch.zeros_like(region)
    logits = model(cond, target, pose, empty)
    loss = model.loss(logits, target, empty)
    loss.backward()
    assert loss.item() == 0.0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_pointmlp_invisible_joints():
    encoder = PointMLP(dim=16, hidden=8)
    g = torch.Generator().manual_seed(4)
    pose = torch.rand(2, 13, 3, generator=g)
    pose[0, 3, 2] = 0.0  # joint 3 of sample 0 is not visible ...
    garbage = pose.clone()
    garbage[0, 3, :2] = float("nan")  # ... so its coordinates can be anything, even NaN
    out, out_garbage = encoder(pose), encoder(garbage)
    assert torch.equal(out, out_garbage)
    # An invisible joint's token is the missing embedding plus its joint embedding.
    assert torch.allclose(out[0, 3], encoder.missing_embedding + encoder.joint_embedding[3])
    # Visible joints depend on their coordinates.
    moved = pose.clone()
    moved[1, 3, 0] += 0.5
    assert not torch.allclose(encoder(moved)[1, 3], out[1, 3])
    out_garbage.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in encoder.parameters())


def test_pose_reaches_the_output():
    model = tiny_model(5)
    g = torch.Generator().manual_seed(5)
    cond, target, pose, region, _ = random_inputs(model, 2, g)
    other = torch.rand(pose.shape, generator=g)
    with torch.no_grad():
        assert not torch.allclose(model(cond, target, pose, region), model(cond, target, other, region))


def test_reference_pose_is_checked():
    model = tiny_model(6)
    g = torch.Generator().manual_seed(6)
    cond, target, pose, region, _ = random_inputs(model, 1, g)
    with pytest.raises(ValueError, match="use_reference_pose"):
        model(cond, target, pose, region, reference_pose=pose)
    with_ref = tiny_model(6, use_reference_pose=True)
    with pytest.raises(ValueError, match="reference_pose"):
        with_ref(cond, target, pose, region)
    assert with_ref.config.num_condition == model.config.num_condition + 13
    with pytest.raises(ValueError, match="target_tokens"):
        model(cond, target.clamp_max(K - 1) + K, pose, region)


def test_save_load_round_trip(tmp_path):
    model = tiny_model(7, use_reference_pose=True)
    g = torch.Generator().manual_seed(7)
    inputs = random_inputs(model, 2, g)
    model.save_pretrained(tmp_path / "lat")
    loaded = LATransformer.from_pretrained(tmp_path / "lat")
    assert loaded.config == model.config and isinstance(loaded.config.grid, tuple)
    cond, target, pose, region, ref = inputs
    with torch.no_grad():
        assert torch.equal(model(cond, target, pose, region, reference_pose=ref),
                           loaded(cond, target, pose, region, reference_pose=ref))
    # A config that disagrees with the weights is refused with the offending keys named.
    bigger = tmp_path / "bigger"
    tiny_model(7, use_reference_pose=True, width=48).save_pretrained(bigger)
    (bigger / "config.json").write_text((tmp_path / "lat" / "config.json").read_text())
    with pytest.raises(ModelFileError, match="wrong shapes"):
        LATransformer.from_pretrained(bigger)


def test_presets():
    paper = transformer_preset("paper-256", codebook_size=1024)
    assert (paper.num_layers, paper.num_heads, paper.width, paper.grid) == (12, 12, 768, (16, 16))
    assert paper.seq_len == 1 + 256 + 13 + 257
    small = transformer_preset("small", codebook_size=1024)
    assert small.grid == (16, 16)
    with torch.device("meta"):
        params = sum(p.numel() for p in LATransformer(small).parameters())
    assert 3e6 <= params <= 6e6, params
    with torch.device("meta"):
        paper_params = sum(p.numel() for p in LATransformer(paper).parameters())
    assert math.isclose(paper_params, 86.5e6, rel_tol=0.05), paper_params
    assert transformer_preset("small", codebook_size=64, num_layers=2).num_layers == 2
    with pytest.raises(KeyError):
        transformer_preset("huge")


def test_shared_reference_keys_are_pose_independent_and_reusable():
    model = tiny_model(8, shared_reference=True, use_reference_pose=True)
    g = torch.Generator().manual_seed(8)
    cond, target, pose, region, ref = random_inputs(model, 3, g)
    cond[:] = cond[:1]  # one video: every frame has the same reference
    r = model.config.num_reference
    with torch.no_grad():
        feats = model.forward_features(cond, target, pose, region, reference_pose=ref)
        other = model.forward_features(cond, target, torch.rand(pose.shape, generator=g), region,
                                       reference_pose=torch.rand(ref.shape, generator=g))
        assert torch.equal(feats[:, :r], other[:, :r])  # the reference never sees a pose
        assert not torch.allclose(feats[:, r:], other[:, r:])  # the rest does
        # The pass with the reference's keys/values computed once equals the full pass.
        full = model.prefill(model.new_cache(3), cond, target, pose, region, reference_pose=ref)
        shared = model.reference_kv(cond[:1])
        reused = model.prefill(model.new_cache(3), cond, target, pose, region, reference_pose=ref,
                               reference=shared)
    assert (full - reused).abs().max() < 1e-5
    with pytest.raises(ValueError, match="shared_reference"):
        tiny_model(8).reference_kv(cond)


@pytest.mark.parametrize("shared", [False, True])
def test_prefill_for_chosen_outputs_fills_the_same_cache_and_logits(shared):
    # The sampler asks the pass for one position's logits per frame; the cache it leaves must be
    # the full pass's, and those logits the full pass's at the chosen positions.
    model = tiny_model(9, shared_reference=shared, num_layers=3)
    g = torch.Generator().manual_seed(9)
    cond, target, pose, region, _ = random_inputs(model, 3, g)
    reference = model.reference_kv(cond) if shared else None
    outputs = torch.randint(0, model.config.num_tokens, (3, 2), generator=g)
    with torch.no_grad():
        full_cache, some_cache = model.new_cache(3), model.new_cache(3)
        full = model.prefill(full_cache, cond, target, pose, region, reference=reference)
        some = model.prefill(some_cache, cond, target, pose, region, reference=reference, outputs=outputs)
    assert some.shape == (3, 2, K)
    want = full.gather(1, outputs[..., None].expand(-1, -1, K))
    assert (some - want).abs().max() < 1e-5
    for a, b in zip(full_cache.keys + full_cache.values, some_cache.keys + some_cache.values):
        assert (a - b).abs().max() < 1e-6
    with pytest.raises(ValueError, match="outputs"):
        model.prefill(model.new_cache(3), cond, target, pose, region, outputs=outputs + model.config.num_tokens)


# ------------------------------------------------------------------------------------------------
# pose maps (not in the paper; nn/posemap.py)

def pose_at(points: dict[int, tuple[float, float]], num_joints: int = 13) -> torch.Tensor:
    """(1, J, 3): the given joints at (x, y) in [0, 1], visible; every other joint invisible, with NaN
    coordinates (as detectors may leave them)."""
    pose = torch.full((1, num_joints, 3), float("nan"))
    pose[..., 2] = 0.0
    for j, (x, y) in points.items():
        pose[0, j] = torch.tensor([x, y, 1.0])
    return pose


@settings(max_examples=30, deadline=None)
@given(ax=st.floats(0, 1), ay=st.floats(0, 1), bx=st.floats(0, 1), by=st.floats(0, 1), h=st.integers(2, 8),
       w=st.integers(2, 8))
def test_pose_map_draws_each_bone_where_it_lies(ax, ay, bx, by, h, w):
    from ilat_video.pose.skeleton import BONES

    bone = 4  # any one bone: its joints visible, all others not
    a, b = BONES[bone]
    pose_map = PoseMap(8, (h, w))
    features = pose_map.features(pose_at({a: (ax, ay), b: (bx, by)}))[0]  # (N, bones + joints)
    assert features.shape == (h * w, len(BONES) + 13) and torch.isfinite(features).all()
    others = [k for k in range(len(BONES)) if k != bone] + [len(BONES) + j for j in range(13) if j not in (a, b)]
    assert features[:, others].abs().max() == 0  # invisible: nothing, even with NaN coordinates
    # The bone's channel is exp(-d^2 / 2 sigma^2) of each cell centre's distance to the segment (in
    # cells), brute-forced here from 2,001 points along it; its joints' channels from the joints.
    t = torch.linspace(0, 1, 2001)[:, None]
    line = (torch.tensor([ax, ay]) + t * torch.tensor([bx - ax, by - ay])) * torch.tensor([w, h])  # (P, 2)
    rows, cols = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    centres = torch.stack([cols, rows], -1).reshape(-1, 2)
    d2 = torch.cdist(centres, line).min(dim=1).values ** 2
    expected = torch.exp(-d2 / (2 * 0.75 ** 2))
    assert torch.allclose(features[:, bone], expected, atol=2e-3)
    d2_a = ((centres - torch.tensor([ax * w, ay * h])) ** 2).sum(-1)
    assert torch.allclose(features[:, len(BONES) + a], torch.exp(-d2_a / (2 * 0.75 ** 2)), atol=1e-5)
    assert features[:, bone].max() >= features[:, len(BONES) + a].max() - 1e-6  # a bone holds its ends


def test_pose_map_starts_at_zero_so_a_grown_model_computes_what_it_did(tmp_path):
    plain = tiny_model(8)
    plain.save_pretrained(tmp_path / "plain")
    grown = LATransformer(TransformerConfig(**{**plain.config.__dict__, "pose_map": True})).eval()
    with pytest.raises(ModelFileError, match="pose_map.proj.weight"):
        load_weights(grown, tmp_path / "plain" / "model.safetensors")  # strict by default
    load_weights(grown, tmp_path / "plain" / "model.safetensors", missing_ok=("pose_map.",))
    with pytest.raises(ModelFileError, match="missing keys"):  # other keys stay required
        load_weights(grown, tmp_path / "plain" / "model.safetensors", missing_ok=("ln_out.",))
    g = torch.Generator().manual_seed(8)
    cond, target, pose, region, _ = random_inputs(plain, 2, g)
    ref = torch.rand(pose.shape, generator=g)
    with torch.no_grad():
        assert torch.equal(plain(cond, target, pose, region), grown(cond, target, pose, region, reference_pose=ref))


def test_pose_maps_reach_the_reference_tokens_and_the_target_positions():
    """The reference pose's map goes onto the reference tokens, the target pose's onto the target
    positions: each pose changes the outputs, and under the LA mask the reference pose reaches a
    target output only through the condition block (checked by moving it with the tokens fixed)."""
    model = tiny_model(9, pose_map=True)
    g = torch.Generator().manual_seed(9)
    cond, target, pose, region, ref = random_inputs(model, 2, g)
    other = torch.rand(pose.shape, generator=g)
    c, n = model.config.num_condition, model.config.num_tokens
    with torch.no_grad():
        base = model.forward_features(cond, target, pose, region, reference_pose=ref)
        moved_target = model.forward_features(cond, target, other, region, reference_pose=ref)
        moved_ref = model.forward_features(cond, target, pose, region, reference_pose=other)
        assert not torch.allclose(base[:, c:c + n], moved_target[:, c:c + n])
        assert not torch.allclose(base[:, 1:1 + n], moved_ref[:, 1:1 + n])
        assert not torch.allclose(base[:, c:c + n], moved_ref[:, c:c + n])
        # The map itself: zero except the reference tokens and target positions 0 .. N-1.
        extra = model._pose_map_embedding(ref, pose)
        assert extra.shape == (2, model.config.seq_len, model.config.width)
        assert extra[:, 0].abs().max() == 0 and extra[:, 1 + n:c].abs().max() == 0 and extra[:, -1].abs().max() == 0
        assert torch.allclose(extra[:, 1:1 + n], model.pose_map(ref))
        assert torch.allclose(extra[:, c:c + n], model.pose_map(pose))


def test_pose_map_config_is_checked():
    with pytest.raises(ValueError, match="shared_reference"):
        TransformerConfig(codebook_size=K, grid=(3, 3), num_layers=1, num_heads=2, width=32, pose_map=True,
                          shared_reference=True)
    model = tiny_model(10, pose_map=True)
    assert model.config.needs_reference_pose and model.config.num_condition == tiny_model(10).config.num_condition
    g = torch.Generator().manual_seed(10)
    cond, target, pose, region, _ = random_inputs(model, 1, g)
    with pytest.raises(ValueError, match="reference_pose"):
        model(cond, target, pose, region)
    with pytest.raises(ValueError, match=r"pose must be \(B, 13, 3\)"):
        model.pose_map(pose[:, :5])
