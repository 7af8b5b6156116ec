"""Samplers: the cached local sampler is exact (same greedy tokens as recomputing everything, logits
equal to the teacher-forced forward, batched equals one by one), the vanilla baseline likewise,
decoding options, and a small model that learns a toy task through its conditioning."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.masks import causal_group
from ilat_video.nn.transformer import LATransformer, TransformerConfig
from ilat_video.sampling import choose_tokens, region_codes, sample_local, sample_naive, sample_vanilla

K = 16
QKV_SCALE = 6.0  # peaky attention: outputs depend strongly on individual earlier tokens


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and the machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sharp_model(seed: int, grid=(3, 3), use_reference_pose: bool = False, pose_map: bool = False) -> LATransformer:
    """A random tiny model whose logits are spread wide, so that argmax ties within float error
    (which would let two exact samplers disagree for no reason) are vanishingly rare, and whose
    attention is peaky, so that a stale cache entry changes the greedy tokens (at the default
    init, attention is near uniform over ~100 keys and one wrong key rarely flips an argmax).
    With pose_map, its projection is random (it starts at zero), so the maps change the outputs."""
    config = TransformerConfig(codebook_size=K, grid=grid, num_layers=2, num_heads=2, width=32, pose_hidden=32,
                               use_reference_pose=use_reference_pose, pose_map=pose_map)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LATransformer(config).eval()
    with torch.no_grad():
        model.head.weight.mul_(100.0)
        for block in model.blocks:
            block.attn.qkv.weight.mul_(QKV_SCALE)
        if pose_map:
            model.pose_map.proj.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed))
    return model


def random_batch(model: LATransformer, generator: torch.Generator, batch: int = 4):
    c = model.config
    n = c.num_tokens
    cond = torch.randint(0, K, (batch, n), generator=generator)
    target = torch.randint(0, K, (batch, n), generator=generator)
    pose = torch.rand(batch, 13, 3, generator=generator)
    rate = torch.rand(batch, 1, 1, generator=generator)  # a different region size per frame
    region = torch.rand(batch, *c.grid, generator=generator) < rate
    region[0] = False  # always one empty ...
    if batch > 1:
        region[1] = True  # ... and one full region in the batch
    ref = torch.rand(batch, 13, 3, generator=generator) if c.needs_reference_pose else None
    return cond, target, pose, region, ref


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), poses=st.sampled_from(["target", "reference tokens", "pose maps"]),
       grid=st.sampled_from([(3, 3), (2, 4), (4, 4)]))
def test_cached_local_equals_naive_and_teacher_forcing(seed, poses, grid):
    model = sharp_model(seed % 5, grid, use_reference_pose=poses == "reference tokens", pose_map=poses == "pose maps")
    g = torch.Generator().manual_seed(seed)
    cond, target, pose, region, ref = random_batch(model, g)
    tokens, step_logits = sample_local(model, cond, target, pose, region, reference_pose=ref, return_logits=True)
    naive = sample_naive(model, cond, target, pose, region, reference_pose=ref, mask="la")
    assert torch.equal(tokens, naive)
    flat = region.flatten(1)
    assert torch.equal(tokens[~flat], target[~flat])  # known tokens come back unchanged
    # Each step's logits equal the teacher-forced forward on the sampled tokens, and so do the
    # global positions' logits of the parallel pass.
    with torch.no_grad():
        forced = model(cond, tokens, pose, region, reference_pose=ref)
    exact = flat | ~causal_group(region)[:, :-1]
    assert (step_logits - forced)[exact].abs().max() < 1e-4
    # The placeholder ids inside the region do not matter.
    other = torch.where(flat, (target + 5) % K, target)
    assert torch.equal(sample_local(model, cond, other, pose, region, reference_pose=ref), tokens)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), pose_map=st.booleans())
def test_batch_equals_one_at_a_time(seed, pose_map):
    model = sharp_model(seed % 3, (4, 4), pose_map=pose_map)
    g = torch.Generator().manual_seed(seed)
    cond, target, pose, region, ref = random_batch(model, g, batch=5)
    batched = sample_local(model, cond, target, pose, region, reference_pose=ref)
    for i in range(5):
        one = sample_local(model, cond[i:i + 1], target[i:i + 1], pose[i:i + 1], region[i:i + 1],
                           reference_pose=None if ref is None else ref[i:i + 1])
        assert torch.equal(batched[i:i + 1], one)


def test_a_batch_pays_for_each_frames_own_steps():
    """Frames whose region is done leave the step loop: the steps run one row per frame and step
    after the parallel pass (which covers every frame's first step), not B rows per step of the
    largest region."""
    model = sharp_model(4, (4, 4))
    g = torch.Generator().manual_seed(5)
    cond, target, pose, region, _ = random_batch(model, g, batch=6)
    counts = region.flatten(1).sum(dim=1)
    assert len(set(counts.tolist())) > 2  # regions of several sizes, incl. empty and full
    rows_per_step = []
    step = model.step

    def counting_step(cache, positions, *args, **kwargs):
        rows_per_step.append(positions.shape[0])
        return step(cache, positions, *args, **kwargs)

    model.step = counting_step
    tokens = sample_local(model, cond, target, pose, region)
    del model.step
    assert sum(rows_per_step) == int((counts - 1).clamp_min(0).sum())
    assert len(rows_per_step) == int(counts.max()) - 1
    assert torch.equal(tokens, sample_naive(model, cond, target, pose, region, mask="la"))


def test_a_seed_draws_the_same_tokens_whatever_the_batch_order():
    """The cached sampler reorders frames by region size internally but draws in the caller's
    frame order, as the naive sampler does: a seed gives both samplers the same tokens."""
    model = sharp_model(1, (4, 4))
    with torch.no_grad():
        model.head.weight.div_(100.0)  # soft logits, so top-k sampling really draws
    g = torch.Generator().manual_seed(6)
    cond, target, pose, region, _ = random_batch(model, g, batch=4)
    region[2] = False
    region[2, 0, :3] = True  # a small region after a full one: the internal order differs
    kwargs = dict(greedy=False, top_k=4, temperature=1.5)
    first = sample_local(model, cond, target, pose, region, generator=torch.Generator().manual_seed(3), **kwargs)
    again = sample_local(model, cond, target, pose, region, generator=torch.Generator().manual_seed(3), **kwargs)
    assert torch.equal(first, again)
    # The naive sampler draws for all frames in input order at every step, like the cached one.
    naive = sample_naive(model, cond, target, pose, region, mask="la", generator=torch.Generator().manual_seed(3),
                         **kwargs)
    assert torch.equal(first, naive)


def test_sampled_logits_match_teacher_forcing_when_sampling():
    model = sharp_model(1, (4, 4))
    with torch.no_grad():
        model.head.weight.div_(100.0)  # soft logits, so top-k sampling really draws
    g = torch.Generator().manual_seed(1)
    cond, target, pose, region, _ = random_batch(model, g)
    tokens, logits = sample_local(model, cond, target, pose, region, greedy=False, top_k=4, temperature=1.5,
                                  generator=torch.Generator().manual_seed(2), return_logits=True)
    with torch.no_grad():
        forced = model(cond, tokens, pose, region)
    flat = region.flatten(1)
    assert (logits - forced)[flat].abs().max() < 1e-4
    # Every drawn token is among the top 4 of the logits it was drawn from.
    rank = (logits > logits.gather(2, tokens[..., None])).sum(-1)  # (B, N)
    assert (rank[flat] < 4).all()
    again = sample_local(model, cond, target, pose, region, greedy=False, top_k=4, temperature=1.5,
                         generator=torch.Generator().manual_seed(2))
    assert torch.equal(again, tokens)  # same seed, same tokens
    greedy = sample_local(model, cond, target, pose, region)
    assert not torch.equal(greedy, tokens)  # it did sample (with 4 candidates, a tie is unlikely)


def test_vanilla_cached_equals_naive_ar():
    model = sharp_model(2, (3, 3), use_reference_pose=True)
    g = torch.Generator().manual_seed(3)
    cond, target, pose, _, ref = random_batch(model, g, batch=3)
    tokens, logits = sample_vanilla(model, cond, pose, reference_pose=ref, return_logits=True)
    full = torch.ones(3, 3, 3, dtype=torch.bool)
    naive = sample_naive(model, cond, torch.zeros_like(cond), pose, full, reference_pose=ref, mask="ar")
    assert torch.equal(tokens, naive)
    with torch.no_grad():
        forced = model(cond, tokens, pose, full, reference_pose=ref, mask="ar")
    assert (logits - forced).abs().max() < 1e-4
    # With a full region the LA mask is the AR mask: the local sampler is the vanilla one.
    assert torch.equal(sample_local(model, cond, target, pose, full, reference_pose=ref), tokens)


def test_max_steps_stops_early():
    model = sharp_model(3, (3, 3))
    g = torch.Generator().manual_seed(4)
    cond, target, pose, _, _ = random_batch(model, g, batch=2)
    full = torch.ones(2, 9, dtype=torch.bool)
    first3 = sample_local(model, cond, target, pose, full, max_steps=3)
    whole = sample_local(model, cond, target, pose, full)
    assert torch.equal(first3[:, :3], whole[:, :3]) and torch.equal(first3[:, 3:], target[:, 3:])
    assert torch.equal(sample_vanilla(model, cond, pose, max_steps=3)[:, :3], whole[:, :3])
    assert torch.equal(sample_naive(model, cond, target, pose, full, max_steps=3), first3)


def test_decoding_rule():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    assert choose_tokens(logits).item() == 1
    g = torch.Generator().manual_seed(0)
    assert choose_tokens(logits, greedy=False, top_k=1, generator=g).item() == 1
    draws = torch.stack([choose_tokens(logits, greedy=False, top_k=2, generator=g) for _ in range(200)])
    assert set(draws.flatten().tolist()) == {1, 3}
    model = sharp_model(0)
    cond, target, pose, region, _ = random_batch(model, torch.Generator().manual_seed(0), batch=1)
    with pytest.raises(ValueError, match="greedy=False"):
        sample_local(model, cond, target, pose, region, top_k=5)
    with pytest.raises(ValueError, match="Generator"):
        sample_local(model, cond, target, pose, region, greedy=False)
    with pytest.raises(ValueError, match="temperature"):
        sample_local(model, cond, target, pose, region, greedy=False, temperature=0.0, generator=g)


def toy_batch(generator: torch.Generator, batch: int, codebook: int = 8, bins: int = 4):
    """Region tokens = (reference token at the same place + pose bin) mod K, on a 3x3 grid.

    The pose bin q in [0, bins) is written into every joint's x coordinate (with noise inside
    the bin), so the answer needs both the condition tokens and the pose tokens. Known target
    tokens are random, so they carry no hint.
    """
    cond = torch.randint(0, codebook, (batch, 9), generator=generator)
    q = torch.randint(0, bins, (batch,), generator=generator)
    pose = torch.rand(batch, 13, 3, generator=generator)
    pose[:, :, 0] = ((q.float() + 0.25 + 0.5 * torch.rand(batch, generator=generator)) / bins)[:, None]
    region = torch.rand(batch, 9, generator=generator) < 0.5
    answer = (cond + q[:, None]) % codebook
    target = torch.where(region, answer, torch.randint(0, codebook, (batch, 9), generator=generator))
    return cond, target, pose, region.view(batch, 3, 3), q


@pytest.mark.slow
def test_small_model_learns_through_its_conditioning():
    torch.manual_seed(1)
    model = LATransformer(TransformerConfig(codebook_size=8, grid=(3, 3), num_layers=2, num_heads=4, width=32,
                                            pose_hidden=32))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(2)
    losses = []
    for _ in range(1500):  # learns in ~500 steps; stop as soon as it has
        cond, target, pose, region, _ = toy_batch(g, 32)
        loss = model.loss(model(cond, target, pose, region), target, region)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if len(losses) >= 20 and sum(losses[-20:]) / 20 < 0.05:
            break
    assert sum(losses[:20]) / 20 > 1.9  # starts near ln 8 = 2.08 ...
    assert sum(losses[-20:]) / 20 < 0.05  # ... and falls
    model.eval()
    cond, target, pose, region, q = toy_batch(torch.Generator().manual_seed(99), 64)
    flat = region.flatten(1)
    placeholder = torch.where(flat, 0, target)
    out = sample_local(model, cond, placeholder, pose, region)
    assert (out[flat] == target[flat]).float().mean() > 0.95  # held-out answers reproduced
    # The answers follow the pose: move every sample to the next bin and they shift by one.
    shifted = pose.clone()
    shifted[:, :, 0] = ((q + 1) % 4).float()[:, None] / 4 + 0.125
    moved = sample_local(model, cond, placeholder, shifted, region)
    expected = (cond + ((q + 1) % 4)[:, None]) % 8
    assert (moved[flat] == expected[flat]).float().mean() > 0.95


def test_shared_reference_sampling_equals_the_full_pass():
    config = TransformerConfig(codebook_size=K, grid=(4, 4), num_layers=2, num_heads=2, width=32, pose_hidden=32,
                               shared_reference=True)
    with torch.random.fork_rng():
        torch.manual_seed(4)
        model = LATransformer(config).eval()
    with torch.no_grad():
        model.head.weight.mul_(100.0)
    g = torch.Generator().manual_seed(5)
    cond, target, pose, region, _ = random_batch(model, g)
    cond[:] = cond[:1]  # the frames of one video share the reference
    once = model.reference_kv(cond[:1])
    tokens, logits = sample_local(model, cond, target, pose, region, reference_kv=once, return_logits=True)
    assert torch.equal(tokens, sample_local(model, cond, target, pose, region))
    with torch.no_grad():
        forced = model(cond, tokens, pose, region)
    flat = region.flatten(1)
    assert (logits - forced)[flat].abs().max() < 1e-4


def test_region_codes_are_the_tokens_codes_or_their_expectation():
    g = torch.Generator().manual_seed(5)
    codebook = torch.randn(K, 4, generator=g)
    tokens = torch.randint(0, K, (2, 3, 3), generator=g)
    region = torch.rand(2, 3, 3, generator=g) < 0.5
    region[0, 0, 0], region[1, 2, 2] = True, False
    picked = codebook[tokens].permute(0, 3, 1, 2)  # (B, D, h, w)
    assert torch.equal(region_codes(tokens, codebook, region), picked)  # no logits: the tokens' codes

    logits = torch.randn(2, 9, K, generator=g)
    expected = region_codes(tokens, codebook, region, logits=logits)
    inside = region[:, None].expand_as(picked)
    assert torch.equal(expected[~inside], picked[~inside])  # outside the region: untouched
    probs = torch.softmax(logits, -1).view(2, 3, 3, K)
    assert torch.allclose(expected.permute(0, 2, 3, 1)[region], probs[region] @ codebook, atol=1e-6)
    # A sure model (one logit far above the rest) gives exactly its token's code back ...
    sure = torch.nn.functional.one_hot(tokens.flatten(1), K).float() * 1e4
    assert torch.allclose(region_codes(tokens, codebook, region, logits=sure), picked, atol=1e-6)
    # ... as does top_k=1 whatever the logits, with the likeliest code; equal logits give the mean code.
    top = region_codes(tokens, codebook, region, logits=logits, top_k=1)
    likeliest = codebook[logits.argmax(-1).view(2, 3, 3)].permute(0, 3, 1, 2)
    assert torch.allclose(top[inside], likeliest[inside])
    flat = region_codes(tokens, codebook, region, logits=torch.zeros(2, 9, K))
    assert torch.allclose(flat.permute(0, 2, 3, 1)[region], codebook.mean(0).expand(int(region.sum()), -1), atol=1e-6)
    # A higher temperature moves the expectation towards the mean code.
    hot = region_codes(tokens, codebook, region, logits=logits, temperature=100.0)
    mean = codebook.mean(0)[None, :, None, None]
    assert ((hot - mean)[inside].abs().sum() < (expected - mean)[inside].abs().sum())
    with pytest.raises(ValueError, match="do not fit"):
        region_codes(tokens, codebook, region, logits=logits[:, :8])
    with pytest.raises(ValueError, match="not both"):
        region_codes(tokens, codebook, region, logits=logits, expected=torch.zeros(2, 9, 4))
    # Expected codes given directly go where the region is, as the logits' would.
    means = torch.softmax(logits, -1) @ codebook  # (B, N, D)
    assert torch.allclose(region_codes(tokens, codebook, region, expected=means), expected, atol=1e-6)
    with pytest.raises(ValueError, match="expected codes .* do not fit"):
        region_codes(tokens, codebook, region, expected=means[..., :3])


@pytest.mark.parametrize("decoding", [dict(), dict(greedy=False, top_k=4, temperature=1.5)],
                         ids=["greedy", "top-k sampling"])
def test_sampler_expected_codes_equal_those_of_its_logits(decoding):
    """sample_local(..., codebook=) keeps (B, N, D) expected codes instead of (B, N, K) logits: the
    same tokens, and at region positions the expectation of the logits each token was drawn from."""
    model = sharp_model(2, (4, 4))
    with torch.no_grad():
        model.head.weight.div_(100.0)  # soft logits, so the expectation is not one code
    cond, target, pose, region, _ = random_batch(model, torch.Generator().manual_seed(3))
    codebook = torch.randn(K, 5, generator=torch.Generator().manual_seed(4))
    seed = dict(generator=torch.Generator().manual_seed(6)) if decoding else {}
    tokens, logits = sample_local(model, cond, target, pose, region, return_logits=True, **decoding, **seed)
    seed = dict(generator=torch.Generator().manual_seed(6)) if decoding else {}
    again, means = sample_local(model, cond, target, pose, region, codebook=codebook, **decoding, **seed)
    assert torch.equal(again, tokens)
    assert means.shape == (*tokens.shape, 5)
    flat = region.flatten(1)
    assert torch.equal(means[~flat], torch.zeros_like(means[~flat]))
    h, w = model.config.grid
    top_k, temperature = decoding.get("top_k"), decoding.get("temperature", 1.0)
    want = region_codes(tokens.view(-1, h, w), codebook, region, logits=logits, top_k=top_k, temperature=temperature)
    got = region_codes(tokens.view(-1, h, w), codebook, region, expected=means)
    assert flat.any() and torch.allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="codebook has 3 codes"):
        sample_local(model, cond, target, pose, region, codebook=codebook[:3])
