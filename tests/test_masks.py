"""Attention masks: the paper's Fig. 3(b) example, the rule against a loop-by-loop reading of it,
no empty rows, and the sampler's schedule."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.masks import (
    ae_attention_mask,
    ar_attention_mask,
    attention_mask,
    causal_group,
    causal_positions,
    la_attention_mask,
    predicts_region,
    sampling_steps,
)


def fig3b_region() -> torch.Tensor:
    region = torch.zeros(1, 3, 3, dtype=torch.bool)
    for t in (1, 2, 5, 7):
        region.view(1, 9)[0, t] = True
    return region


def test_fig3b_groups_and_mask():
    """3x3 tokens, region {t1, t2, t5, t7}: global t_s, t3, t8; causal t0, t1, t2, t4, t5, t6, t7."""
    region = fig3b_region()
    held = ["ts", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"]  # target position j holds
    causal = causal_group(region)[0]
    assert [h for h, c in zip(held, causal) if c] == ["t0", "t1", "t2", "t4", "t5", "t6", "t7"]
    assert [h for h, c in zip(held, causal) if not c] == ["ts", "t3", "t8"]
    # The T2T block of Fig. 3(b): rows are queries, columns keys, both in the order of `held`.
    expected_t2t = torch.tensor([
        [1, 0, 0, 0, 1, 0, 0, 0, 0, 1],  # ts (global)
        [1, 1, 0, 0, 1, 0, 0, 0, 0, 1],  # t0
        [1, 1, 1, 0, 1, 0, 0, 0, 0, 1],  # t1
        [1, 1, 1, 1, 1, 0, 0, 0, 0, 1],  # t2
        [1, 0, 0, 0, 1, 0, 0, 0, 0, 1],  # t3 (global)
        [1, 1, 1, 1, 1, 1, 0, 0, 0, 1],  # t4
        [1, 1, 1, 1, 1, 1, 1, 0, 0, 1],  # t5
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 1],  # t6
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # t7
        [1, 0, 0, 0, 1, 0, 0, 0, 0, 1],  # t8 (global)
    ], dtype=torch.bool)
    c = 1 + 9 + 13
    mask = la_attention_mask(region, num_condition=c)[0]
    assert mask.shape == (c + 10, c + 10)
    assert torch.equal(mask[c:, c:], expected_t2t)
    assert mask[:c, :c].all() and mask[c:, :c].all()  # C2C and T2C all ones
    assert not mask[:c, c:].any()  # C2T all zeros
    # The outputs that predict region tokens sit at the positions holding t0, t1, t4, t6.
    assert [h for h, p in zip(held, predicts_region(region)[0]) if p] == ["t0", "t1", "t4", "t6"]


def test_fig3b_schedule():
    """The sampler steps through causal positions up to the last predicting one (t6 -> t7)."""
    schedule = causal_positions(fig3b_region())
    assert schedule.positions.tolist() == [[1, 2, 3, 5, 6, 7]]  # hold t0, t1, t2, t4, t5, t6
    assert schedule.predicts.tolist() == [[True, True, False, True, False, True]]
    assert schedule.valid.all()


def test_fig3b_sampling_steps():
    """One step per region token; t2 (holding the run's last token t1) runs with t4's step."""
    steps = sampling_steps(fig3b_region())
    held = lambda p: f"t{p - 1}"  # noqa: E731, target position p holds t_{p-1}
    got = [[held(p) if v else "-" for p, v in zip(pair, valid)]
           for pair, valid in zip(steps.positions[0].tolist(), steps.valid[0].tolist())]
    assert got == [["-", "t0"], ["-", "t1"], ["t2", "t4"], ["t5", "t6"]]


def reference_la(region_flat: list[bool], c: int) -> torch.Tensor:
    """The LA rule read literally, one entry at a time (slow, for comparison)."""
    n = len(region_flat)
    t = n + 1
    holds = [False] + list(region_flat)  # position j holds t_{j-1}
    predicts = list(region_flat) + [False]  # position j predicts t_j
    causal = [h or p for h, p in zip(holds, predicts)]
    mask = torch.zeros(c + t, c + t, dtype=torch.bool)
    for q in range(c + t):
        for k in range(c + t):
            if q < c:
                mask[q, k] = k < c
            elif k < c:
                mask[q, k] = True
            else:
                qi, ki = q - c, k - c
                mask[q, k] = (not causal[ki]) or (causal[qi] and causal[ki] and ki <= qi)
    return mask


regions = st.integers(1, 4).flatmap(
    lambda h: st.integers(1, 4).flatmap(
        lambda w: st.lists(st.lists(st.booleans(), min_size=h * w, max_size=h * w), min_size=1, max_size=3)
        .map(lambda rows: torch.tensor(rows, dtype=torch.bool).view(len(rows), h, w))
    )
)


@settings(max_examples=60, deadline=None)
@given(region=regions, c=st.integers(1, 5))
def test_la_matches_literal_rule(region, c):
    mask = la_attention_mask(region, c)
    for b in range(region.shape[0]):
        assert torch.equal(mask[b], reference_la(region[b].flatten().tolist(), c))


@settings(max_examples=60, deadline=None)
@given(region=regions, c=st.integers(1, 5), kind=st.sampled_from(["la", "ar", "ae"]))
def test_no_empty_row_and_condition_blocks(region, c, kind):
    mask = attention_mask(kind, region, c)
    n = region[0].numel()
    assert mask.shape == (region.shape[0], c + n + 1, c + n + 1)
    assert mask.any(dim=-1).all()  # softmax never sees an all-masked row
    assert mask[:, :c, :c].all() and not mask[:, :c, c:].any() and mask[:, c:, :c].all()


@settings(max_examples=60, deadline=None)
@given(region=regions, c=st.integers(1, 5))
def test_global_rows_never_see_region_tokens(region, c):
    mask = la_attention_mask(region, c)
    flat = region.flatten(1)
    causal = causal_group(region)
    holds = torch.cat([torch.zeros_like(flat[:, :1]), flat], dim=1)  # (B, N + 1)
    t2t = mask[:, c:, c:]
    for b in range(region.shape[0]):
        rows = t2t[b][~causal[b]]  # global queries
        assert not rows[:, holds[b]].any()
        # A causal query never sees a region token held at or after the one it predicts.
        for q in range(t2t.shape[1]):
            later = holds[b].clone()
            later[: q + 1] = False  # positions > q hold t_q, t_{q+1}, ...
            assert not t2t[b, q, later].any()


def test_extreme_regions():
    c = 4
    empty = torch.zeros(2, 3, 3, dtype=torch.bool)
    full = torch.ones(2, 3, 3, dtype=torch.bool)
    # Empty region: every target position is global, the target block is fully visible.
    assert la_attention_mask(empty, c)[:, c:, c:].all()
    assert causal_positions(empty).positions.shape == (2, 0)
    # Full region: the LA mask is the vanilla AR mask and the sampler walks positions 0 .. N-1.
    assert torch.equal(la_attention_mask(full, c), ar_attention_mask(full, c))
    assert causal_positions(full).positions.tolist() == [list(range(9))] * 2
    # AE with a full region: target positions see only t_s among target positions.
    ae = ae_attention_mask(full, c)[:, c:, c:]
    assert ae[:, :, 0].all() and not ae[:, :, 1:].any()


@settings(max_examples=40, deadline=None)
@given(region=regions)
def test_schedule_is_the_causal_group_in_order(region):
    schedule = causal_positions(region)
    causal = causal_group(region)
    pred = predicts_region(region)
    for b in range(region.shape[0]):
        steps = schedule.positions[b][schedule.valid[b]].tolist()
        assert steps == sorted(steps)
        assert all(causal[b, p] for p in steps)
        # Every predicting position is scheduled; nothing after the last one is.
        predicting = pred[b].nonzero().flatten().tolist()
        assert set(predicting) <= set(steps)
        if predicting:
            expected = [p for p in causal[b].nonzero().flatten().tolist() if p <= predicting[-1]]
            assert steps == expected
        assert torch.equal(schedule.predicts[b][schedule.valid[b]], pred[b, steps])


def test_region_shapes_and_errors():
    region = fig3b_region()
    assert torch.equal(la_attention_mask(region, 3), la_attention_mask(region.flatten(1), 3))
    with pytest.raises(ValueError):
        attention_mask("causal", region, 3)
    with pytest.raises(ValueError):
        la_attention_mask(region, 0)
    with pytest.raises(ValueError):
        la_attention_mask(region[0, 0], 3)


@settings(max_examples=30, deadline=None)
@given(region=regions, c=st.integers(1, 6), kind=st.sampled_from(["la", "ar", "ae"]), data=st.data())
def test_shared_prefix_only_closes_the_reference_rows(region, c, kind, data):
    shared = data.draw(st.integers(0, c))
    base = attention_mask(kind, region, c)
    mask = attention_mask(kind, region, c, shared_prefix=shared)
    assert not mask[:, :shared, shared:].any()  # the reference sees only itself ...
    assert mask[:, :shared, :shared].all()
    assert torch.equal(mask[:, shared:], base[:, shared:])  # ... and nothing else changes
    assert mask.any(dim=-1).all()


@settings(max_examples=40, deadline=None)
@given(region=regions)
def test_sampling_steps_cover_the_schedule_one_step_per_region_token(region):
    steps = sampling_steps(region)
    schedule = causal_positions(region)
    pred = predicts_region(region)
    flat = region.flatten(1)
    assert steps.positions.shape[1] == int(flat.sum(1).max())
    for b in range(region.shape[0]):
        valid = steps.valid[b]
        assert int(valid[:, 1].sum()) == int(flat[b].sum())  # one step per region token
        covered = steps.positions[b][valid].tolist()  # row-major: slot 0 before slot 1
        assert covered == schedule.positions[b][schedule.valid[b]].tolist()
        assert all(pred[b, p] for p in steps.positions[b, :, 1][valid[:, 1]].tolist())
        assert not any(pred[b, p] for p in steps.positions[b, :, 0][valid[:, 0]].tolist())
        # Padding never collides with a valid position of the same step.
        for pair, ok in zip(steps.positions[b].tolist(), valid.tolist()):
            assert pair[0] != pair[1]
