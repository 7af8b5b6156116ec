"""Vector quantizer: nearest code, straight-through, losses, lookup, usage and dead-code restarts."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.nn.quantizer import VectorQuantizer, codebook_stats


def make(seed: int, l2: bool, k: int = 12, d: int = 5, **kwargs):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        vq = VectorQuantizer(k, d, l2_normalize=l2, **kwargs)
        if not l2:  # taming's tiny init puts all codes near 0; spread them for a meaningful test
            torch.nn.init.normal_(vq.codebook)
    g = torch.Generator().manual_seed(seed + 1)
    z = vq.normalize(torch.randn(2, d, 3, 4, generator=g))
    return vq, z


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), l2=st.booleans())
def test_indices_are_the_nearest_codes(seed, l2):
    vq, z = make(seed, l2)
    _, indices, _, _ = vq(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, vq.code_dim)  # (B*h*w, D)
    distances = torch.cdist(flat.double(), vq.codes().double())  # (B*h*w, K)
    chosen = distances.gather(1, indices.reshape(-1, 1))[:, 0]
    assert torch.all(chosen <= distances.min(1).values + 1e-6)
    if l2:
        assert torch.allclose(vq.codes().norm(dim=1), torch.ones(vq.codebook_size))
        assert torch.allclose(z.norm(dim=1), torch.ones(z.shape[0], *z.shape[2:]))


@pytest.mark.parametrize("l2", [True, False])
def test_straight_through_values_gradients_and_losses(l2):
    vq, z = make(3, l2)
    z = z.detach().requires_grad_(True)
    z_q, indices, loss, _ = vq(z)
    codes = vq.lookup(indices)
    assert torch.allclose(z_q, codes, atol=1e-6)
    assert torch.equal(vq.lookup(indices), codes)
    # Forward value: codebook term + beta * commitment term, both the same squared error.
    mse = F.mse_loss(codes, z)
    assert torch.allclose(loss, (1 + vq.beta) * mse, rtol=1e-5)
    # Straight-through: d(sum z_q)/dz = 1 everywhere.
    grad_z, = torch.autograd.grad(z_q.sum(), z, retain_graph=True)
    assert torch.allclose(grad_z, torch.ones_like(z))
    # The commitment term pulls z (scaled by beta); the codebook term pulls the codes.
    grad_z, grad_codebook = torch.autograd.grad(loss, [z, vq.codebook])
    expected_z = vq.beta * 2 * (z - codes) / z.numel()
    assert torch.allclose(grad_z, expected_z, atol=1e-6)
    unused = torch.ones(vq.codebook_size, dtype=torch.bool)
    unused[indices.unique()] = False
    assert torch.all(grad_codebook[unused] == 0) and grad_codebook[~unused].abs().sum() > 0


def test_lookup_then_nearest_is_identity():
    vq, _ = make(5, True, k=32, d=8)
    indices = torch.arange(32).reshape(2, 4, 4)
    assert torch.equal(vq.nearest(vq.lookup(indices)), indices)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 64), n=st.integers(1, 200), seed=st.integers(0, 1000))
def test_perplexity_bounds(k, n, seed):
    g = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, k, (n,), generator=g)
    stats = codebook_stats(indices, k)
    used = int(stats["used_codes"])
    assert used == indices.unique().numel()
    assert 1 - 1e-4 <= float(stats["perplexity"]) <= used + 1e-4


def test_perplexity_extremes():
    assert math.isclose(float(codebook_stats(torch.arange(16), 16)["perplexity"]), 16, rel_tol=1e-5)
    assert math.isclose(float(codebook_stats(torch.zeros(16, dtype=torch.long), 16)["perplexity"]), 1, rel_tol=1e-5)


def test_dead_codes_are_restarted_on_the_worst_fit_vectors():
    vq, _ = make(0, True, k=8, d=4, restart_dead_codes=True, dead_code_threshold=0.5, usage_decay=0.5)
    g = torch.Generator().manual_seed(0)
    # All data near one code: the other codes are never chosen, their usage decays and they die.
    z = vq.normalize(vq.codes()[0].detach().reshape(1, 4, 1, 1) + 0.3 * torch.randn(1, 4, 8, 8, generator=g))
    vq.train()
    initial = vq.codebook.detach().clone()
    restarted = 0
    for _ in range(6):
        _, _, _, stats = vq(z)
        restarted += int(stats["restarted"])
    changed = (vq.codebook.detach() != initial).any(1)
    assert restarted >= int(changed.sum()) > 0
    assert not changed[0]  # the code in use is kept
    # Restarted codes sit exactly on data vectors.
    flat = z.permute(0, 2, 3, 1).reshape(-1, 4)  # (64, D)
    distance_to_data = (vq.codebook.detach()[:, None] - flat[None]).norm(dim=-1).min(1).values
    assert torch.all(distance_to_data[changed] == 0)
    _, indices, _, _ = vq(z)
    assert indices.unique().numel() > 1  # the restarted codes now take part
    vq.eval()
    before = vq.codebook.detach().clone()
    vq(z)
    assert torch.equal(before, vq.codebook.detach())  # no restarts outside training


def test_no_restart_without_the_option():
    vq, z = make(0, True)
    vq.train()
    before = vq.codebook.detach().clone()
    for _ in range(3):
        vq(z)
    assert torch.equal(before, vq.codebook.detach())


def _restart_worker(rank: int, world: int, store_file: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store_file}", rank=rank, world_size=world)
    try:
        vq, _ = make(0, True, k=16, d=4, restart_dead_codes=True, dead_code_threshold=0.5, usage_decay=0.5)
        vq.train()
        g = torch.Generator().manual_seed(100 + rank)  # each rank sees different data
        total = 0
        for _ in range(4):
            z = vq.normalize(vq.codes()[0].detach().reshape(1, 4, 1, 1) + 0.5 * torch.randn(2, 4, 4, 4, generator=g))
            total += int(vq(z)[3]["restarted"])
        torch.save({"codebook": vq.codebook.detach(), "usage": vq.usage, "restarted": total}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_restarts_stay_identical_across_ddp_ranks(tmp_path):
    """Usage is summed over ranks and replacements come from rank 0: codebooks never diverge."""
    import torch.multiprocessing as mp

    mp.spawn(_restart_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    assert a["restarted"] == b["restarted"] > 0
    assert torch.equal(a["codebook"], b["codebook"]) and torch.equal(a["usage"], b["usage"])


def test_code_search_is_exact_under_bf16_autocast():
    # Many near-duplicate l2 codes (4096 of 32 dims, as the demo model has): bf16 products keep 8
    # bits of mantissa and would pick a wrong neighbour for some vectors; the search must not.
    torch.manual_seed(0)
    vq = VectorQuantizer(4096, 32, l2_normalize=True)
    base = F.normalize(torch.randn(64, 32), dim=1)
    with torch.no_grad():
        vq.codebook.copy_(base.repeat_interleave(64, 0) + 0.01 * torch.randn(4096, 32))
    z = vq.normalize(base[torch.arange(256) % 64].reshape(4, 8, 8, 32).permute(0, 3, 1, 2)
                     + 0.01 * torch.randn(4, 32, 8, 8))
    exact = vq.nearest(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 32)
    codes = vq.codes()
    rough = (2 * flat.bfloat16() @ codes.bfloat16().t() - codes.pow(2).sum(1).bfloat16()).argmax(1)
    assert (rough != exact.reshape(-1)).any(), "bf16 scores no longer misorder these codes: the test needs new ones"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(vq.nearest(z), exact)
        _, indices, _, _ = vq(z)
    assert torch.equal(indices, exact)
