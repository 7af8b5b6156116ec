"""Sampling target tokens from an LA transformer (DESIGN.md section 6).

- `sample_local`: iLAT's local AR sampler with a key/value cache. One parallel pass over the whole
  sequence fills the cache (condition and global positions are final after it: they never see a
  region token), then cached steps through the causal positions in raster order, with their rows
  of the same LA mask used in training. A step runs the position that predicts the next region
  token, together with the one holding the previous run's last region token when there is one
  (`masks.sampling_steps`), so a frame takes one sequential step per region token after the
  first (which the pass already predicts), not N. Frames with different regions run as one
  batch, the step loop padded to the longest.
- `sample_vanilla`: the vanilla AR baseline (the paper's Taming): every token, causal mask,
  cached too, so that speed comparisons are fair.
- `sample_naive`: recomputes the whole sequence at every step (no cache), generating the region
  tokens in raster order under a chosen mask. The reference for tests, and the speed of the
  official code's approach.

Decoding rule, the same for all three: greedy argmax by default (`greedy=True`, the paper's
setting; `top_k=1` is greedy too). `greedy=False` samples from softmax(logits / temperature),
restricted to the `top_k` most likely ids when `top_k` is given, drawing from `generator`, which
is then required so that the same inputs and seed give the same tokens.

Decoding what was sampled: the paper decodes the picked tokens. `region_codes` also gives the
other choice the Animator and `evaluate` offer, the *expected* code at each region position: the
mean of the codebook under the distribution the token was drawn from (softmax(logits /
temperature), over the `top_k` most likely ids when given), which the decoder turns into an image
closer in squared error to the truth than any one token's when the model is unsure (not in the
paper; measured in `experiments/results/probe_soft.md`). `sample_local(..., codebook=)` computes
those codes as it samples, so that nobody keeps every position's logits for them ((B, N, D) floats
instead of (B, N, K): 1/128 of the memory for the demo model's 4096 codes of 32 dims).

All samplers take `max_steps` for benchmarks only: stop after that many sequential steps, the
region tokens not reached yet keep their input ids.
"""
from __future__ import annotations

import logging

import torch

from .conditioning import ModelInputs
from .masks import flatten_region, sampling_steps
from .nn.transformer import LATransformer, ReferenceKV

log = logging.getLogger(__name__)


def _check_decoding(greedy: bool, top_k: int | None, temperature: float, generator) -> None:
    if greedy:
        if top_k not in (None, 1) or temperature != 1.0:
            raise ValueError("top_k > 1 and temperature apply to sampling: pass greedy=False")
        return
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if generator is None:
        raise ValueError("greedy=False needs an explicit torch.Generator (same seed, same tokens)")


def choose_tokens(logits: torch.Tensor, *, greedy: bool = True, top_k: int | None = None,
                  temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, K) logits -> (B,) token ids by the module's decoding rule."""
    if greedy or top_k == 1:
        return logits.argmax(dim=-1)
    probs = torch.softmax(_filtered(logits, top_k, temperature), dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def _filtered(logits: torch.Tensor, top_k: int | None, temperature: float) -> torch.Tensor:
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits


def expected_codes(logits: torch.Tensor, codebook: torch.Tensor, *, top_k: int | None = None,
                   temperature: float = 1.0) -> torch.Tensor:
    """(..., K) logits -> (..., D) float: sum_k p_k e_k, p = softmax(logits / temperature) over the
    `top_k` most likely ids (all when None), e = the (K, D) codebook."""
    probs = torch.softmax(_filtered(logits, top_k, temperature), dim=-1)
    return probs @ codebook.float()


def region_codes(tokens: torch.Tensor, codebook: torch.Tensor, region: torch.Tensor, *,
                 logits: torch.Tensor | None = None, expected: torch.Tensor | None = None,
                 top_k: int | None = None, temperature: float = 1.0) -> torch.Tensor:
    """The code vectors to decode, (B, D, h, w): each token's code, and with `logits` or `expected`
    the expected code inside the region instead.

    tokens: (B, h, w) long; codebook: (K, D) codes as the quantizer uses them; region: (B, h, w)
    bool, True = generated. Either logits: (B, N, K), N = h * w, as `sample_local(...,
    return_logits=True)` gives them (at region positions, those each token was drawn from), turned
    into expected codes by `expected_codes` with `top_k` and `temperature`; or expected: (B, N, D)
    those codes already, as `sample_local(..., codebook=...)` gives them. Outside the region the
    tokens' own codes (Eq. 4 replaces them by z there anyway).
    """
    if logits is not None and expected is not None:
        raise ValueError("pass logits or expected codes, not both")
    b, h, w = tokens.shape
    k, d = codebook.shape
    codes = torch.nn.functional.embedding(tokens, codebook)  # (B, h, w, D)
    given, size = (logits, k) if logits is not None else (expected, d)
    if given is None:
        return codes.permute(0, 3, 1, 2)
    if given.shape != (b, h * w, size):
        raise ValueError(f"{'logits' if logits is not None else 'expected codes'} {tuple(given.shape)} do not "
                         f"fit tokens {tuple(tokens.shape)} and a codebook of {k} codes of {d} dims")
    where = region.reshape(b, h * w).bool()
    inside = given[where]  # (M, K) or (M, D)
    if logits is not None:
        inside = expected_codes(inside, codebook, top_k=top_k, temperature=temperature)
    codes = codes.reshape(b, h * w, d).clone()
    codes[where] = inside.to(codes.dtype)
    return codes.view(b, h, w, d).permute(0, 3, 1, 2)


def sample_codes(tokenizer, model: LATransformer, inputs: ModelInputs, *, expected: bool = False,
                 top_k: int | None = None, temperature: float = 1.0, **sampling) -> tuple[torch.Tensor, torch.Tensor]:
    """The region's tokens by `sample_local` and the codes the pipeline decodes from them.

    inputs: `conditioning.model_inputs` with the known tokens (the reference's tokens encoded with
    the region, kept outside it). expected: the expected code inside the region (`region_codes`)
    instead of the picked token's. `top_k`, `temperature` and the rest (greedy, generator,
    reference_kv) go to `sample_local`. Returns the tokens (B, h, w) and the codes (B, D, h, w).
    """
    codebook = tokenizer.quantizer.codes()
    known, token_region = inputs.known, inputs.token_region
    sampled = sample_local(model, inputs.cond, known.flatten(1), inputs.target_pose, token_region,
                           reference_pose=inputs.reference_pose, top_k=top_k, temperature=temperature,
                           codebook=codebook if expected else None, **sampling)
    tokens, means = sampled if expected else (sampled, None)  # (B, N), (B, N, D)
    tokens = tokens.view_as(known)
    return tokens, region_codes(tokens, codebook, token_region, expected=means)


def sample_and_decode(tokenizer, model: LATransformer, inputs: ModelInputs,
                      **options) -> tuple[torch.Tensor, torch.Tensor]:
    """`sample_codes` and their frames by Eq. 4: the codes inside the token region, the reference's
    clean features `inputs.z` outside it. What the Animator and evaluation both run. Returns the
    tokens (B, h, w) and the frames (B, 3, H, W) float in [-1, 1]."""
    tokens, codes = sample_codes(tokenizer, model, inputs, **options)
    return tokens, tokenizer.decode(codes, z=inputs.z, region=inputs.token_region).float().clamp(-1, 1)


def _prepare(model, cond_tokens, target_tokens, region, greedy, top_k, temperature, generator):
    _check_decoding(greedy, top_k, temperature, generator)
    if model.training:
        log.warning("sampling from a model in training mode (dropout is active); call model.eval()")
    return target_tokens.clone(), flatten_region(region).to(target_tokens.device)


def _held_tokens(model: LATransformer, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Ids held by target positions (B, Q): t_s at 0, else t_{j-1} from tokens (B, N)."""
    previous = tokens.gather(1, (positions - 1).clamp_min(0))
    return torch.where(positions == 0, torch.full_like(previous, model.target_start_id), previous)


@torch.inference_mode()
def sample_local(model: LATransformer, cond_tokens: torch.Tensor, target_tokens: torch.Tensor,
                 target_pose: torch.Tensor, region: torch.Tensor, *, reference_pose: torch.Tensor | None = None,
                 greedy: bool = True, top_k: int | None = None, temperature: float = 1.0,
                 generator: torch.Generator | None = None, return_logits: bool = False,
                 codebook: torch.Tensor | None = None, max_steps: int | None = None,
                 reference_kv: ReferenceKV | None = None):
    """Generate the region's tokens with the cached local AR sampler.

    cond_tokens, target_tokens: (B, N) long; target_tokens outside the region are the known
        tokens (returned unchanged), inside it any placeholder.
    target_pose, reference_pose: (B, 13, 3) normalized poses, as `LATransformer.forward`.
    region: (B, h, w) or (B, N) bool, True = generate; frames may have different regions.
    reference_kv: for shared-reference models, `model.reference_kv(cond_tokens[:1])` computed once
        per video (all frames share the reference): the pass then skips those 1 + N positions.
    Returns (B, N) long tokens, and with `return_logits` also (B, N, K) logits: at region
    positions the logits each token was drawn from; elsewhere those of the parallel pass, which
    are exact for global positions only (a causal position predicting a known token saw
    placeholders). With a (K, D) `codebook`, also (after the logits when both are asked for) the
    (B, N, D) float expected codes: at region positions `expected_codes` of the logits each token
    was drawn from (same `top_k` and `temperature`), zeros elsewhere. What `--decode expected`
    renders, at D / K of the logits' memory, and the parallel pass still computes the head for one
    position per frame only.
    """
    tokens, flat = _prepare(model, cond_tokens, target_tokens, region, greedy, top_k, temperature, generator)
    b = tokens.shape[0]
    # Frames run in order of falling region size, so the frames still sampling at any step are a
    # prefix of the batch and later steps run on a narrower view of the cache: a batch pays for
    # each frame's own steps, not B times its largest region's. Results come back in input order.
    counts = flat.sum(dim=1)  # (B,) region tokens = steps per frame
    order = torch.sort(counts, descending=True, stable=True).indices
    unsort = torch.argsort(order)
    cond_tokens, tokens, target_pose, flat = cond_tokens[order], tokens[order], target_pose[order], flat[order]
    if reference_pose is not None:
        reference_pose = reference_pose[order]
    if reference_kv is not None and reference_kv.keys[0].shape[0] > 1:
        reference_kv = ReferenceKV([k[order] for k in reference_kv.keys], [v[order] for v in reference_kv.values])
    sorted_counts = counts[order].tolist()
    rows = torch.arange(b, device=tokens.device)
    schedule = sampling_steps(flat)  # positions, valid: (B, S, 2); slot 1 predicts
    cache = model.new_cache(b, device=tokens.device)
    total = schedule.positions.shape[1]
    # 1. One parallel pass: condition and global positions are final, the cache is full length.
    # Its only logits in use are the first predictor's, so unless all are asked for, the pass
    # computes those alone (the last layer's queries and the head for one position per frame).
    first = schedule.positions[:, :1, 1] if total and not return_logits else None  # (B, 1)
    logits_all = model.prefill(cache, cond_tokens, tokens, target_pose, flat, reference_pose=reference_pose,
                               mask="la", reference=reference_kv, outputs=first)  # (B, N or 1, K)
    if codebook is not None:
        if codebook.shape[0] != logits_all.shape[-1]:
            raise ValueError(f"codebook has {codebook.shape[0]} codes, the model {logits_all.shape[-1]}")
        means = torch.zeros(b, tokens.shape[1], codebook.shape[1], device=tokens.device)
    steps = total if max_steps is None else min(max_steps, total)
    active = b
    for s in range(steps):
        while sorted_counts[active - 1] <= s:  # frames whose region is done leave the batch
            active -= 1
        n = active
        pair = schedule.positions[:n, s]  # (n, 2); slot 1 is valid for every active frame
        positions = pair[:, 1]
        if s == 0:
            # The first causal position holds a known token and sees no region token: the pass
            # above already computed it exactly.
            logits = logits_all[:n, 0] if first is not None else logits_all[rows[:n], positions]
        else:
            # 2. Up to two positions per frame against the cache, keys/values written in place.
            view = cache if n == b else cache.narrow(n)
            logits = model.step(view, pair, _held_tokens(model, tokens[:n], pair), schedule.valid[:n, s])[:, 1]
        if greedy:
            picked = choose_tokens(logits, greedy=True)
        else:
            # Draws for all B frames in input order, whichever are still active, so that a seed
            # gives each frame the same random stream as before frames were reordered.
            padded = torch.cat([logits, logits.new_zeros(b - n, logits.shape[-1])]) if n < b else logits
            picked = choose_tokens(padded[unsort], greedy=False, top_k=top_k, temperature=temperature,
                                   generator=generator)[order][:n]
        tokens[rows[:n], positions] = picked
        if return_logits:
            logits_all[rows[:n], positions] = logits.to(logits_all.dtype)
        if codebook is not None:
            means[rows[:n], positions] = expected_codes(logits, codebook, top_k=top_k, temperature=temperature)
    tokens = tokens[unsort]
    out = [tokens]
    if return_logits:
        out.append(logits_all[unsort])
    if codebook is not None:
        out.append(means[unsort])
    return tuple(out) if len(out) > 1 else tokens


@torch.inference_mode()
def sample_vanilla(model: LATransformer, cond_tokens: torch.Tensor, target_pose: torch.Tensor, *,
                   reference_pose: torch.Tensor | None = None, greedy: bool = True, top_k: int | None = None,
                   temperature: float = 1.0, generator: torch.Generator | None = None,
                   return_logits: bool = False, max_steps: int | None = None):
    """Generate all N target tokens with the vanilla AR mask, cached: the Taming baseline.

    A parallel pass over the condition block and t_s, then N - 1 single-token steps. Returns
    (B, N) long (and the (B, N, K) logits with `return_logits`).
    """
    c = model.config
    b, n = cond_tokens.shape
    tokens, _ = _prepare(model, cond_tokens, torch.zeros_like(cond_tokens), torch.ones(b, n, dtype=torch.bool),
                         greedy, top_k, temperature, generator)
    full = torch.ones(b, n, dtype=torch.bool, device=tokens.device)
    cache = model.new_cache(b, device=tokens.device)
    logits = model.prefill(cache, cond_tokens, tokens, target_pose, full, reference_pose=reference_pose,
                           mask="ar", length=c.num_condition + 1)[:, 0]  # (B, K), predicts t_0
    all_logits = [logits] if return_logits else None
    steps = n if max_steps is None else min(max_steps, n)
    for j in range(steps):
        if j > 0:
            positions = torch.full((b,), j, dtype=torch.long, device=tokens.device)
            logits = model.step(cache, positions, tokens[:, j - 1])
            if return_logits:
                all_logits.append(logits)
        tokens[:, j] = choose_tokens(logits, greedy=greedy, top_k=top_k, temperature=temperature,
                                     generator=generator)
    if not return_logits:
        return tokens
    out = torch.zeros(b, n, c.codebook_size, dtype=logits.dtype, device=tokens.device)
    out[:, :len(all_logits)] = torch.stack(all_logits, dim=1)
    return tokens, out


@torch.inference_mode()
def sample_naive(model: LATransformer, cond_tokens: torch.Tensor, target_tokens: torch.Tensor,
                 target_pose: torch.Tensor, region: torch.Tensor, *, reference_pose: torch.Tensor | None = None,
                 mask: str = "la", greedy: bool = True, top_k: int | None = None, temperature: float = 1.0,
                 generator: torch.Generator | None = None, return_logits: bool = False,
                 max_steps: int | None = None):
    """Generate the region's tokens in raster order, re-running the whole sequence every step.

    Arguments as `sample_local`; `mask` is "la" or "ar" (with a full region, "ar" is the vanilla
    baseline without a cache). Step s runs a full forward and takes, per frame, the logits of
    its s-th region token; frames with fewer region tokens idle through the padding.
    """
    if mask not in ("la", "ar"):
        raise ValueError(f"mask must be 'la' or 'ar', got {mask!r}")
    tokens, flat = _prepare(model, cond_tokens, target_tokens, region, greedy, top_k, temperature, generator)
    b, n = flat.shape
    rows = torch.arange(b, device=tokens.device)
    counts = flat.sum(dim=1)  # (B,)
    # Region positions in raster order, padded: a stable sort puts them first.
    order = torch.sort((~flat).to(torch.uint8), dim=1, stable=True).indices  # (B, N)
    logits_all = None
    steps = int(counts.max()) if b else 0
    steps = steps if max_steps is None else min(max_steps, steps)
    for s in range(steps):
        active = counts > s
        positions = order[:, s]
        logits_full = model(cond_tokens, tokens, target_pose, flat, reference_pose=reference_pose, mask=mask)
        if return_logits and logits_all is None:
            logits_all = logits_full.clone()
        logits = logits_full[rows, positions]  # (B, K)
        picked = choose_tokens(logits, greedy=greedy, top_k=top_k, temperature=temperature, generator=generator)
        tokens[rows, positions] = torch.where(active, picked, tokens[rows, positions])
        if return_logits:
            logits_all[rows[active], positions[active]] = logits[active]
    if not return_logits:
        return tokens
    if logits_all is None:
        logits_all = model(cond_tokens, tokens, target_pose, flat, reference_pose=reference_pose, mask=mask)
    return tokens, logits_all
