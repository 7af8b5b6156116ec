"""Attention masks of the LA transformer (paper section 3.2, DESIGN.md section 5). Pure functions.

Two masks, two names, never mixed up:

- a *region* is a bool tensor over the token grid, (B, h, w) or flattened (B, N): True = this
  target token is generated, False = it is known (copied from the reference through the tokenizer's
  clean stream). Pose -> pixel region -> token region lives in `regions.py`.
- an *attention mask* is a bool tensor (B, L, L): True = the query (row) may attend the key
  (column), the convention of `torch.nn.functional.scaled_dot_product_attention`.

Sequence layout (L = C + N + 1 positions for N = h * w tokens per image)::

    [ c_s  c_0 .. c_{N-1}  p_0 .. p_12  (r_0 .. r_12) | t_s  t_0 .. t_{N-2}  t_{N-1} ]
      condition block, C = num_condition positions    | target block, N + 1 positions

Target position j holds t_{j-1} (t_s at j = 0) and its output predicts t_j (for j < N). The last
target position holds t_{N-1} and predicts nothing, but it is kept: when t_{N-1} is known it is a
global position that every causal position may read, exactly like t8 in the paper's Fig. 3(b).

The LA mask (Eq. 7): condition -> condition all, condition -> target none, target -> condition all,
target -> target the local-autoregressive rule. Target positions fall into two groups:

- causal: positions holding a region token, and positions whose output predicts a region token;
- global: all other target positions.

Query q may attend target key k iff k is global, or q and k are both causal and k <= q. Global
positions therefore never see a region token, and a causal position sees the region tokens before
the one it predicts plus every known token, ahead or behind. Every row sees the condition block,
so no row is empty and softmax never yields NaN.

The paper's Fig. 3(b), 3x3 tokens, region = {t1, t2, t5, t7}:

    target position  0    1   2   3   4   5   6   7   8   9
    holds            t_s  t0  t1  t2  t3  t4  t5  t6  t7  t8
    predicts         t0   t1  t2  t3  t4  t5  t6  t7  t8  -
    group            G    C   C   C   G   C   C   C   C   G

causal t0, t1, t2, t4, t5, t6, t7 (t0, t1, t4, t6 predict the region tokens t1, t2, t5, t7; t1,
t2, t5, t7 are region tokens); global t_s, t3, t8. Row t4 (position 5) sees t_s, t3, t8 and t0,
t1, t2, t4; row t3 (position 4, global) sees t_s, t3, t8 only.

Shared-reference variant (optional, `shared_prefix` = 1 + N): the reference image's tokens (c_s,
c_0 .. c_{N-1}) attend only each other, while pose tokens and targets still see them. Their keys
and values then do not depend on the target pose, so a video computes them once, not per frame.

Baselines: `ar` is plain causal attention over the target block (the vanilla AR model the paper
calls Taming; it generates every token); `ae` lets every target position see every position that
holds a known token and none that holds a region token (one-shot prediction).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

MASK_KINDS = ("la", "ar", "ae")


def flatten_region(region: torch.Tensor) -> torch.Tensor:
    """A token region as (B, N) bool in raster order, from (B, h, w) or (B, N)."""
    if region.dim() == 3:
        region = region.flatten(1)  # (B, N)
    elif region.dim() != 2:
        raise ValueError(f"region must be (B, h, w) or (B, N), got shape {tuple(region.shape)}")
    return region.bool()


def holds_region(region: torch.Tensor) -> torch.Tensor:
    """(B, N + 1) bool: target position j holds a region token (t_{j-1} is in the region)."""
    region = flatten_region(region)
    start = torch.zeros_like(region[:, :1])  # t_s is never a region token
    return torch.cat([start, region], dim=1)


def predicts_region(region: torch.Tensor) -> torch.Tensor:
    """(B, N + 1) bool: the output at target position j predicts a region token (t_j in the region).

    The last position (j = N) predicts nothing. `predicts_region(r)[:, :N]` equals the flattened
    region, which is why the loss can weight logits (B, N, K) by the region directly.
    """
    region = flatten_region(region)
    end = torch.zeros_like(region[:, :1])
    return torch.cat([region, end], dim=1)


def causal_group(region: torch.Tensor) -> torch.Tensor:
    """(B, N + 1) bool: target positions in the causal group (the rest form the global group)."""
    return holds_region(region) | predicts_region(region)


class CausalSchedule(NamedTuple):
    """The target positions a local AR sampler steps through, per sample, padded to the longest.

    positions: (B, S) long, target positions in raster order (padding repeats the last one, or 0).
    valid: (B, S) bool, False on padding.
    predicts: (B, S) bool, the step's output predicts a region token (False on padding).
    """

    positions: torch.Tensor
    valid: torch.Tensor
    predicts: torch.Tensor


def causal_positions(region: torch.Tensor) -> CausalSchedule:
    """The causal positions a sampler must run, in order, up to the last one that predicts.

    Trailing causal positions (the one holding the last region token when it predicts a known
    token, and position N) are left out: no later step reads them and they predict nothing to
    sample. An empty region gives S = 0.
    """
    region = flatten_region(region)
    causal = causal_group(region)  # (B, N + 1)
    predicts = predicts_region(region)
    b, n1 = causal.shape
    index = torch.arange(n1, device=region.device)
    # Last predicting position per sample (-1 if none): causal positions after it are not needed.
    last = torch.where(predicts, index, torch.full_like(index, -1)).amax(dim=1)  # (B,)
    needed = causal & (index <= last[:, None])  # (B, N + 1)
    counts = needed.sum(dim=1)  # (B,)
    steps = int(counts.max().item()) if b else 0
    if steps == 0:
        empty = torch.zeros(b, 0, dtype=torch.long, device=region.device)
        return CausalSchedule(empty, empty.bool(), empty.bool())
    # Stable sort puts needed positions first, in raster order.
    order = torch.sort((~needed).to(torch.uint8), dim=1, stable=True).indices[:, :steps]  # (B, S)
    valid = torch.arange(steps, device=region.device)[None, :] < counts[:, None]  # (B, S)
    fill = order.gather(1, (counts - 1).clamp_min(0)[:, None]).expand(-1, steps)
    positions = torch.where(valid, order, fill)
    step_predicts = predicts.gather(1, positions) & valid
    return CausalSchedule(positions, valid, step_predicts)


class SamplingSteps(NamedTuple):
    """The causal positions grouped into one sampler step per region token, padded to the longest.

    positions: (B, S, 2) long. Slot 1 is the position whose output predicts the step's region
        token. Slot 0, when valid, is the causal position just before it in the schedule, which
        holds the last token of the previous region run and predicts a known token: its input
        was sampled at the previous step, so it can run in the same step as slot 1 (it only
        refreshes its keys/values, which slot 1 and later positions read).
    valid: (B, S, 2) bool. Invalid slots point at slot 1's position + 1 (never a duplicate of a
        valid slot in the same step), so a cached step may leave their cache entries unwritten.
    """

    positions: torch.Tensor
    valid: torch.Tensor


def sampling_steps(region: torch.Tensor) -> SamplingSteps:
    """Group `causal_positions(region)` into steps that each end at a predicting position.

    In raster order, a causal position that predicts a known token is always followed by one that
    predicts a region token (the next run's predictor), so every group holds at most two
    positions, and S = the number of region tokens: one step per sampled token. For Fig. 3(b):
    steps [-, t0] [-, t1] [t2, t4] [t5, t6] (by the tokens the positions hold).
    """
    schedule = causal_positions(region)
    b, s = schedule.positions.shape
    device = schedule.positions.device
    counts = schedule.predicts.sum(dim=1)  # (B,) region tokens per sample
    steps = int(counts.max().item()) if b else 0
    if steps == 0:
        empty = torch.zeros(b, 0, 2, dtype=torch.long, device=device)
        return SamplingSteps(empty, empty.bool())
    # Schedule index of each predicting entry, in order, padded by repeating the last one.
    order = torch.sort((~schedule.predicts).to(torch.uint8), dim=1, stable=True).indices[:, :steps]  # (B, S)
    valid_step = torch.arange(steps, device=device)[None, :] < counts[:, None]  # (B, S)
    last = order.gather(1, (counts - 1).clamp_min(0)[:, None]).expand(-1, steps)
    order = torch.where(valid_step, order, last)
    predictor = schedule.positions.gather(1, order)  # (B, S)
    before = (order - 1).clamp_min(0)
    has_before = valid_step & (order > 0) & ~schedule.predicts.gather(1, before) & schedule.valid.gather(1, before)
    refresh = torch.where(has_before, schedule.positions.gather(1, before), predictor + 1)
    positions = torch.stack([refresh, predictor], dim=2)  # (B, S, 2)
    valid = torch.stack([has_before, valid_step], dim=2)
    return SamplingSteps(positions, valid)


def _with_condition(target_to_target: torch.Tensor, num_condition: int, shared_prefix: int) -> torch.Tensor:
    """Eq. 7: wrap a (B, T, T) target mask into the full (B, C + T, C + T) mask."""
    b, t, _ = target_to_target.shape
    c = num_condition
    full = torch.zeros(b, c + t, c + t, dtype=torch.bool, device=target_to_target.device)
    full[:, :c, :c] = True  # C -> C: all
    full[:, :shared_prefix, shared_prefix:c] = False  # ... unless the reference attends only itself
    full[:, c:, :c] = True  # T -> C: all (C -> T stays none)
    full[:, c:, c:] = target_to_target
    return full


def _check_condition(num_condition: int, shared_prefix: int = 0) -> None:
    if num_condition < 1:
        raise ValueError(f"num_condition must be >= 1 (the start token c_s), got {num_condition}")
    if not 0 <= shared_prefix <= num_condition:
        raise ValueError(f"shared_prefix must be in [0, {num_condition}], got {shared_prefix}")


def la_attention_mask(region: torch.Tensor, num_condition: int, *, shared_prefix: int = 0) -> torch.Tensor:
    """The LA attention mask (B, L, L), L = num_condition + N + 1; True = query may attend key.

    region: (B, h, w) or (B, N) bool, True = generate. See the module docstring for the rule and
    the paper's 3x3 example. shared_prefix: the first condition positions that attend only each
    other (0 = none, the paper's mask; 1 + N = the shared-reference variant).
    """
    _check_condition(num_condition, shared_prefix)
    causal = causal_group(region)  # (B, T), T = N + 1
    t = causal.shape[1]
    lower = torch.ones(t, t, dtype=torch.bool, device=causal.device).tril()  # k <= q
    see_global = (~causal)[:, None, :]  # (B, 1, T): every query sees global keys
    both_causal = causal[:, :, None] & causal[:, None, :] & lower  # (B, T, T)
    return _with_condition(see_global | both_causal, num_condition, shared_prefix)


def ar_attention_mask(region: torch.Tensor, num_condition: int, *, shared_prefix: int = 0) -> torch.Tensor:
    """The vanilla AR mask (B, L, L): causal over the whole target block; the region only sets B, N."""
    _check_condition(num_condition, shared_prefix)
    region = flatten_region(region)
    b, n = region.shape
    lower = torch.ones(n + 1, n + 1, dtype=torch.bool, device=region.device).tril()
    return _with_condition(lower.expand(b, -1, -1), num_condition, shared_prefix)


def ae_attention_mask(region: torch.Tensor, num_condition: int, *, shared_prefix: int = 0) -> torch.Tensor:
    """The AE mask (B, L, L): every target position sees every position holding a known token."""
    _check_condition(num_condition, shared_prefix)
    known = ~holds_region(region)  # (B, T)
    t = known.shape[1]
    return _with_condition(known[:, None, :].expand(-1, t, -1), num_condition, shared_prefix)


def attention_mask(kind: str, region: torch.Tensor, num_condition: int, *, shared_prefix: int = 0) -> torch.Tensor:
    """The (B, L, L) attention mask of `kind` in {"la", "ar", "ae"}."""
    builders = {"la": la_attention_mask, "ar": ar_attention_mask, "ae": ae_attention_mask}
    if kind not in builders:
        raise ValueError(f"mask kind must be one of {MASK_KINDS}, got {kind!r}")
    return builders[kind](region, num_condition, shared_prefix=shared_prefix)
