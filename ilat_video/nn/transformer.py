"""The LA transformer: a decoder-only transformer over [condition | target] tokens (paper 3.2).

Sequence (DESIGN.md section 5, `masks.py` for the exact layout and the attention rule)::

    [ c_s  c_0 .. c_{N-1}  p_0 .. p_12  (r_0 .. r_12) | t_s  t_0 .. t_{N-1} ]

c are the reference image's token ids, p the target pose's PointMLP tokens, r (optional) the
reference pose's, t the target image's token ids. One token embedding table serves condition and
target tokens (they come from the same codebook), with two extra ids for the start tokens c_s and
t_s; learned position embeddings tell the blocks apart. With `pose_map` (not in the paper;
`posemap.py`), the reference pose drawn onto the token grid is added to c_0 .. c_{N-1} and the target
pose's to the target positions that predict t_0 .. t_{N-1}. Pre-norm blocks; attention is
`F.scaled_dot_product_attention` with a boolean (B, 1, L, L) mask, True = may attend.

Besides the parallel `forward`, the model can run one target position per sample against a
key/value cache (`new_cache`, `prefill`, `step`): this is what makes local AR sampling cost one
single-token step per region token (`sampling.py`).
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..masks import attention_mask, flatten_region
from .pointmlp import PointMLP
from .posemap import PoseMap
from .pretrained import PretrainedMixin


@dataclasses.dataclass
class TransformerConfig:
    codebook_size: int = 1024  # K, the tokenizer's codebook size
    grid: tuple[int, int] = (16, 16)  # (h, w) tokens per image
    num_layers: int = 12
    num_heads: int = 12
    width: int = 768
    mlp_ratio: float = 4.0
    dropout: float = 0.0  # embedding, attention and residual dropout while training
    num_joints: int = 13
    use_reference_pose: bool = False  # also feed the reference pose as 13 condition tokens
    pose_hidden: int = 256  # PointMLP hidden width
    # The shared-reference variant: c_s and the reference tokens attend only each other, so their
    # keys/values are computed once per video (`reference_kv`) instead of once per frame.
    shared_reference: bool = False
    # Not in the paper: add both poses drawn onto the token grid (`posemap.py`) to the reference's
    # tokens and to the target positions. Needs the reference pose as an input.
    pose_map: bool = False

    def __post_init__(self):
        self.grid = tuple(int(g) for g in self.grid)
        if self.pose_map and self.shared_reference:
            raise ValueError("pose_map adds the reference pose to the reference tokens, so their keys/values "
                             "differ per pose and cannot be shared (shared_reference)")
        if self.width % self.num_heads:
            raise ValueError(f"width {self.width} is not divisible by num_heads {self.num_heads}")
        if len(self.grid) != 2 or min(self.grid) < 1:
            raise ValueError(f"grid must be (h, w) with h, w >= 1, got {self.grid}")

    @property
    def num_tokens(self) -> int:
        """N = h * w tokens per image."""
        return self.grid[0] * self.grid[1]

    @property
    def num_condition(self) -> int:
        """C: c_s, N reference tokens, the target pose's joints (and the reference pose's)."""
        poses = 2 if self.use_reference_pose else 1
        return 1 + self.num_tokens + poses * self.num_joints

    @property
    def needs_reference_pose(self) -> bool:
        """Whether the model takes the reference pose (as tokens, or for its pose map)."""
        return self.use_reference_pose or self.pose_map

    @property
    def num_reference(self) -> int:
        """R = 1 + N: c_s and the reference image's tokens, the start of the condition block."""
        return 1 + self.num_tokens

    @property
    def seq_len(self) -> int:
        """L = C + N + 1 (the target block holds t_s, t_0 .. t_{N-1})."""
        return self.num_condition + self.num_tokens + 1


_PRESETS = {
    # The official code's size: 12 layers, 12 heads, width 768, 16x16 tokens.
    "paper-256": dict(grid=(16, 16), num_layers=12, num_heads=12, width=768, pose_hidden=256),
    # CPU-trainable at 16x16 tokens (see benchmarks/results/sampling.md for its step time).
    "small": dict(grid=(16, 16), num_layers=4, num_heads=4, width=256, pose_hidden=128),
    # For tests and smoke runs.
    "tiny": dict(grid=(4, 4), num_layers=2, num_heads=2, width=32, pose_hidden=32),
}


def transformer_preset(name: str, codebook_size: int = 1024, **overrides) -> TransformerConfig:
    """A TransformerConfig by preset name ("paper-256", "small", "tiny"), fields overridable."""
    if name not in _PRESETS:
        raise KeyError(f"unknown transformer preset {name!r}; known: {sorted(_PRESETS)}")
    return TransformerConfig(codebook_size=codebook_size, **{**_PRESETS[name], **overrides})


class KVCache:
    """Keys and values of every layer for B sequences of length L, and the attention mask in use.

    keys[i], values[i]: (B, nh, L, hs) for layer i. mask: (B, L, L) bool, set by `prefill`.
    """

    def __init__(self, num_layers: int, batch: int, num_heads: int, length: int, head_size: int,
                 device: torch.device, dtype: torch.dtype):
        shape = (batch, num_heads, length, head_size)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(num_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(num_layers)]
        self.mask: torch.Tensor | None = None
        # (B, N + 1, W) or None: what `prefill` added to the target positions' embeddings besides
        # their tokens and positions (the target pose map), for `step` to add again.
        self.target_extra: torch.Tensor | None = None

    def narrow(self, batch: int) -> "KVCache":
        """The first `batch` sequences, as views: writes through it land in this cache."""
        view = KVCache.__new__(KVCache)
        view.keys = [k[:batch] for k in self.keys]
        view.values = [v[:batch] for v in self.values]
        view.mask = None if self.mask is None else self.mask[:batch]
        view.target_extra = None if self.target_extra is None else self.target_extra[:batch]
        return view


class ReferenceKV:
    """Keys and values of c_s and the reference tokens for every layer, from `reference_kv`.

    keys[i], values[i]: (B or 1, nh, R, hs), R = 1 + N. Valid only for shared-reference models,
    whose reference positions attend nothing else; one per video, reused for every frame.
    """

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor]):
        self.keys, self.values = keys, values


class SelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.proj = nn.Linear(config.width, config.width)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: tuple | None = None,
                rows: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T, W); mask: (B, 1, T, S) bool.

        cache: None (keys = this x), or (keys, values, write) with keys/values (B, nh, S, hs) of
        the whole sequence and write(cache_tensor, new (B, nh, T, hs)) storing this x's entries
        into the cache before attending over all S positions.
        rows: (B, Q) long indices into T, or None: keys/values come from all T positions, but only
        these rows query, so the output is (B, Q, W) instead of (B, T, W).
        """
        b, t, width = x.shape
        if rows is not None:
            # Queries of the chosen rows only: project them separately from keys and values.
            w_q, w_kv = self.qkv.weight.split([width, 2 * width])
            b_q, b_kv = self.qkv.bias.split([width, 2 * width])
            k, v = F.linear(x, w_kv, b_kv).split(width, dim=2)
            q = F.linear(x.gather(1, rows[..., None].expand(-1, -1, width)), w_q, b_q)
            mask = mask.gather(2, rows[:, None, :, None].expand(-1, mask.shape[1], -1, mask.shape[-1]))
            t = rows.shape[1]
        else:
            q, k, v = self.qkv(x).split(width, dim=2)
        k = k.view(b, x.shape[1], self.num_heads, -1).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(b, x.shape[1], self.num_heads, -1).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(b, t, self.num_heads, -1).transpose(1, 2)  # (B, nh, T or Q, hs)
        if cache is not None:
            keys, values, write = cache
            write(keys, k)
            write(values, v)
            k, v = keys, values  # (B, nh, S, hs)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(b, t, width)  # (B, T, W)
        return self.resid_dropout(self.proj(y))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        hidden = int(round(config.mlp_ratio * config.width))
        self.ln_attn = nn.LayerNorm(config.width)
        self.attn = SelfAttention(config)
        self.ln_mlp = nn.LayerNorm(config.width)
        self.mlp = nn.Sequential(
            nn.Linear(config.width, hidden), nn.GELU(), nn.Linear(hidden, config.width),
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: tuple | None = None,
                rows: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T, W), mask: (B, 1, T, S) bool; cache and rows as in `SelfAttention.forward`
        (with rows, the output is those rows' only: (B, Q, W))."""
        attended = self.attn(self.ln_attn(x), mask, cache, rows)
        if rows is not None:
            x = x.gather(1, rows[..., None].expand(-1, -1, x.shape[-1]))
        x = x + attended
        return x + self.mlp(self.ln_mlp(x))


class LATransformer(PretrainedMixin, nn.Module):
    """The iLAT transformer. See the module docstring and `masks.py` for the sequence layout."""

    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        k, width = config.codebook_size, config.width
        self.cond_start_id, self.target_start_id = k, k + 1
        self.token_embedding = nn.Embedding(k + 2, width)
        self.position_embedding = nn.Parameter(torch.zeros(config.seq_len, width))
        self.pose_encoder = PointMLP(width, config.pose_hidden, config.num_joints)
        self.pose_map = PoseMap(width, config.grid, config.num_joints) if config.pose_map else None
        self.embed_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.ln_out = nn.LayerNorm(width)
        self.head = nn.Linear(width, k, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear) and module is not self.head:
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
        self.pose_encoder.reset_parameters()  # its own init (see PointMLP)
        if self.pose_map is not None:
            self.pose_map.reset_parameters()  # zero: see posemap.py
        nn.init.normal_(self.position_embedding, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        # Residual projections scaled down with depth (GPT-2) so the residual stream starts tame.
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * self.config.num_layers))

    # ---------------------------------------------------------------------------------------
    # inputs

    def _check(self, cond_tokens, target_tokens, target_pose, region, reference_pose) -> torch.Tensor:
        """Validate shapes (and token ranges); return the region flattened to (B, N)."""
        c = self.config
        n = c.num_tokens
        b = cond_tokens.shape[0]
        if cond_tokens.shape != (b, n) or target_tokens.shape != (b, n):
            raise ValueError(f"cond_tokens and target_tokens must be (B, {n}) for grid {c.grid}, got "
                             f"{tuple(cond_tokens.shape)} and {tuple(target_tokens.shape)}")
        for name, tokens in (("cond_tokens", cond_tokens), ("target_tokens", target_tokens)):
            if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= c.codebook_size):
                raise ValueError(f"{name} must lie in [0, {c.codebook_size}), got "
                                 f"[{int(tokens.min())}, {int(tokens.max())}]")
        if target_pose.shape != (b, c.num_joints, 3):
            raise ValueError(f"target_pose must be (B, {c.num_joints}, 3), got {tuple(target_pose.shape)}")
        if c.needs_reference_pose:
            if reference_pose is None:
                raise ValueError("this model was built with use_reference_pose or pose_map: pass reference_pose")
            if reference_pose.shape != (b, c.num_joints, 3):
                raise ValueError(f"reference_pose must be (B, {c.num_joints}, 3), got {tuple(reference_pose.shape)}")
        elif reference_pose is not None:
            raise ValueError("reference_pose given but this model takes none (neither use_reference_pose nor pose_map)")
        flat = flatten_region(region)
        if flat.shape != (b, n):
            raise ValueError(f"region must be (B, {c.grid[0]}, {c.grid[1]}) or (B, {n}), got {tuple(region.shape)}")
        return flat

    def target_inputs(self, target_tokens: torch.Tensor) -> torch.Tensor:
        """(B, N) target ids -> (B, N + 1) ids held by the target block: t_s, t_0 .. t_{N-1}."""
        start = torch.full_like(target_tokens[:, :1], self.target_start_id)
        return torch.cat([start, target_tokens], dim=1)

    def _embed(self, cond_tokens, target_tokens, target_pose, reference_pose,
               pose_maps: torch.Tensor | None = None) -> torch.Tensor:
        """The whole input sequence with position embeddings: (B, L, W). pose_maps: the
        `_pose_map_embedding` of these poses when the caller already has it (pose-map models)."""
        start = torch.full_like(cond_tokens[:, :1], self.cond_start_id)
        parts = [self.token_embedding(torch.cat([start, cond_tokens], dim=1)),
                 self.pose_encoder(target_pose.to(self.position_embedding.dtype))]
        if self.config.use_reference_pose:
            parts.append(self.pose_encoder(reference_pose.to(self.position_embedding.dtype)))
        parts.append(self.token_embedding(self.target_inputs(target_tokens)))
        x = torch.cat(parts, dim=1)  # (B, L, W)
        if self.pose_map is not None:
            if pose_maps is None:
                pose_maps = self._pose_map_embedding(reference_pose, target_pose)
            x = x + pose_maps
        return self.embed_dropout(x + self.position_embedding)

    def _pose_map_embedding(self, reference_pose, target_pose) -> torch.Tensor:
        """(B, L, W): the reference pose's map on c_0 .. c_{N-1}, the target pose's on target
        positions 0 .. N-1 (position j predicts t_j, at cell j), zero elsewhere."""
        c = self.config
        ref, tgt = self.pose_map(reference_pose), self.pose_map(target_pose)  # (B, N, W)
        b, w = ref.shape[0], ref.shape[-1]
        gap = c.num_condition - 1 - c.num_tokens  # the pose tokens
        zeros = ref.new_zeros
        return torch.cat([zeros(b, 1, w), ref, zeros(b, gap, w), tgt, zeros(b, 1, w)], dim=1)

    def build_mask(self, region: torch.Tensor, mask: str | torch.Tensor = "la") -> torch.Tensor:
        """The (B, L, L) bool attention mask for `region`: a kind ("la", "ar", "ae") or a given mask."""
        if isinstance(mask, str):
            shared = self.config.num_reference if self.config.shared_reference else 0
            return attention_mask(mask, region, self.config.num_condition, shared_prefix=shared)
        b, length = flatten_region(region).shape[0], self.config.seq_len
        if mask.dtype != torch.bool or mask.shape[-2:] != (length, length):
            raise ValueError(f"an explicit mask must be bool (B, {length}, {length}), got "
                             f"{mask.dtype} {tuple(mask.shape)}")
        return mask.expand(b, length, length)

    # ---------------------------------------------------------------------------------------
    # parallel pass (training, teacher forcing)

    def forward_features(self, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None,
                         mask: str | torch.Tensor = "la") -> torch.Tensor:
        """Final-normalized hidden states of every position: (B, L, W). Arguments as `forward`."""
        self._check(cond_tokens, target_tokens, target_pose, region, reference_pose)
        attn_mask = self.build_mask(region, mask).to(cond_tokens.device)[:, None]  # (B, 1, L, L)
        x = self._embed(cond_tokens, target_tokens, target_pose, reference_pose)
        for block in self.blocks:
            x = block(x, attn_mask)
        return self.ln_out(x)

    def forward(self, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None,
                mask: str | torch.Tensor = "la") -> torch.Tensor:
        """Teacher-forced logits (B, N, K): logits[:, j] predicts t_j.

        cond_tokens: (B, N) long, the reference image's token ids.
        target_tokens: (B, N) long, the target image's ids (any placeholder inside the region at
            sampling time: the mask keeps every output from seeing the tokens it must not).
        target_pose: (B, 13, 3) float, (x / width, y / height, confidence) in [0, 1].
        region: (B, h, w) or (B, N) bool, True = generate.
        reference_pose: (B, 13, 3) float, required iff config.needs_reference_pose.
        mask: "la" (iLAT), "ar" (vanilla AR baseline), "ae", or an explicit bool (B, L, L) mask.
        """
        features = self.forward_features(cond_tokens, target_tokens, target_pose, region,
                                         reference_pose=reference_pose, mask=mask)
        c, n = self.config.num_condition, self.config.num_tokens
        return self.head(features[:, c:c + n])  # (B, N, K)

    @staticmethod
    def loss(logits: torch.Tensor, target_tokens: torch.Tensor, region: torch.Tensor,
             weights: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross-entropy over region tokens only (0, with a graph, for an empty region).

        logits: (B, N, K); target_tokens: (B, N) long; region: (B, h, w) or (B, N) bool.
        weights: optional (B, N) non-negative per-token weights: the mean is then weighted
        (sum of w * ce over the region / sum of w over the region), so the loss keeps its scale.
        """
        where = flatten_region(region).to(torch.float32)  # (B, N)
        if weights is not None:
            if weights.shape != where.shape:
                raise ValueError(f"weights must be {tuple(where.shape)} like the flattened region, "
                                 f"got {tuple(weights.shape)}")
            where = where * weights.to(torch.float32)
        ce = F.cross_entropy(logits.float().transpose(1, 2), target_tokens, reduction="none")  # (B, N)
        return (ce * where).sum() / where.sum().clamp_min(1e-6 if weights is not None else 1.0)

    # ---------------------------------------------------------------------------------------
    # cached inference

    def new_cache(self, batch: int, device=None, dtype=None) -> KVCache:
        """An empty key/value cache for `batch` full-length sequences."""
        c = self.config
        p = self.position_embedding
        return KVCache(c.num_layers, batch, c.num_heads, c.seq_len, c.width // c.num_heads,
                       device or p.device, dtype or p.dtype)

    def reference_kv(self, cond_tokens: torch.Tensor) -> ReferenceKV:
        """Keys/values of c_s and the reference tokens (B, N), for every frame of a video.

        Only for `shared_reference` models (elsewhere those positions also attend the pose).
        """
        c = self.config
        if not c.shared_reference:
            raise ValueError("reference_kv needs a model built with shared_reference=True")
        b, r = cond_tokens.shape[0], c.num_reference
        if cond_tokens.shape != (b, c.num_tokens):
            raise ValueError(f"cond_tokens must be (B, {c.num_tokens}), got {tuple(cond_tokens.shape)}")
        start = torch.full_like(cond_tokens[:, :1], self.cond_start_id)
        x = self.token_embedding(torch.cat([start, cond_tokens], dim=1)) + self.position_embedding[:r]  # (B, R, W)
        cache = KVCache(c.num_layers, b, c.num_heads, r, c.width // c.num_heads, x.device, x.dtype)
        everything = torch.ones(1, 1, r, r, dtype=torch.bool, device=x.device)
        self._run_cached(x, everything, cache, 0, r)
        return ReferenceKV(cache.keys, cache.values)

    def _run_cached(self, x: torch.Tensor, attn_mask: torch.Tensor, cache: KVCache, start: int,
                    length: int, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Blocks over positions [start, length) (x: (B, length - start, W)), writing their
        keys/values into the cache and attending over cache positions [0, length).

        rows: (B, Q) indices into x whose outputs are wanted, or None for all. Every layer's
        keys/values are still computed for all positions (that is what the cache needs), but the
        last layer runs its queries, attention and MLP for these rows only: (B, Q, W)."""

        def write(store, new):  # new: (B, nh, T, hs)
            store[:, :, start:] = new

        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            keys, values = cache.keys[i][:, :, :length], cache.values[i][:, :, :length]
            x = block(x, attn_mask, (keys, values, write), rows if i == last else None)
        return x

    def prefill(self, cache: KVCache, cond_tokens, target_tokens, target_pose, region, *,
                reference_pose=None, mask: str | torch.Tensor = "la", length: int | None = None,
                reference: ReferenceKV | None = None, outputs: torch.Tensor | None = None) -> torch.Tensor:
        """Run positions [0, length) in parallel, storing their keys/values and the mask in `cache`.

        Arguments as `forward`; `length` defaults to the whole sequence L (it must be at least C,
        and the mask must keep those positions from attending later ones, as every mask here
        does). `reference`, from `reference_kv(cond_tokens)` (batch B or 1), supplies the first
        R positions' keys/values, which are then not recomputed. Returns the logits of the target
        positions computed, (B, min(length - C, N), K); with `outputs` ((B, Q) long target positions
        j < length - C), those positions' logits only, (B, Q, K), at a lower cost (the last layer
        and the head run for them alone; the cache is filled all the same).
        """
        self._check(cond_tokens, target_tokens, target_pose, region, reference_pose)
        c = self.config
        length = c.seq_len if length is None else length
        if not c.num_condition <= length <= c.seq_len:
            raise ValueError(f"length must be in [{c.num_condition}, {c.seq_len}], got {length}")
        start = 0
        if reference is not None:
            if not c.shared_reference:
                raise ValueError("a shared reference needs a model built with shared_reference=True")
            start = c.num_reference
            for i in range(c.num_layers):
                cache.keys[i][:, :, :start] = reference.keys[i]  # broadcasts a batch of 1
                cache.values[i][:, :, :start] = reference.values[i]
        cache.mask = self.build_mask(region, mask).to(cond_tokens.device)  # (B, L, L)
        attn_mask = cache.mask[:, None, start:length, :length]  # (B, 1, T, length)
        pose_maps = (None if self.pose_map is None  # (B, L, W)
                     else self._pose_map_embedding(reference_pose, target_pose))
        cache.target_extra = None if pose_maps is None else pose_maps[:, c.num_condition:]
        x = self._embed(cond_tokens, target_tokens, target_pose, reference_pose, pose_maps)[:, start:length]
        n_out = min(length - c.num_condition, c.num_tokens)
        first = c.num_condition - start
        if outputs is not None:
            if outputs.dim() != 2 or outputs.shape[0] != x.shape[0]:
                raise ValueError(f"outputs must be (B, Q) target positions, got {tuple(outputs.shape)}")
            if outputs.numel() and not (0 <= int(outputs.min()) and int(outputs.max()) < n_out):
                raise ValueError(f"outputs must lie in [0, {n_out}), got [{int(outputs.min())}, {int(outputs.max())}]")
            x = self._run_cached(x, attn_mask, cache, start, length, rows=outputs + first)
            return self.head(self.ln_out(x))
        x = self._run_cached(x, attn_mask, cache, start, length)
        return self.head(self.ln_out(x[:, first:first + n_out]))

    def step(self, cache: KVCache, positions: torch.Tensor, tokens: torch.Tensor,
             active: torch.Tensor | None = None) -> torch.Tensor:
        """Run a few target positions per sample against the cache; return their logits.

        positions: (B,) or (B, Q) long target positions j in [0, N] (sequence index C + j),
            distinct within a sample.
        tokens: the same shape, the ids those positions hold (t_{j-1}, `target_start_id` at 0).
        active: the same shape, bool, or None; inactive entries' cache entries are left untouched
            (their logits are computed but meaningless).
        Each layer first writes every active position's key/value into the cache, then attends
        over the cache with the positions' rows of the prefilled mask, so a position sees the
        others of the same step exactly when the mask lets it. Returns (B, K) or (B, Q, K).
        """
        c = self.config
        single = positions.dim() == 1
        if single:
            positions, tokens = positions[:, None], tokens[:, None]
            active = None if active is None else active[:, None]
        b, q = positions.shape
        index = positions + c.num_condition  # (B, Q) sequence positions
        rows = torch.arange(b, device=positions.device)
        attn_mask = cache.mask[rows[:, None], index][:, None]  # (B, 1, Q, L)
        x = self.token_embedding(tokens) + self.position_embedding[index]  # (B, Q, W)
        if cache.target_extra is not None:
            x = x + cache.target_extra[rows[:, None], positions]
        keep = None  # (B * nh * Q, 1): which entries are written
        if active is not None and not bool(active.all()):
            keep = active[:, None, :].expand(b, c.num_heads, q).reshape(-1, 1)
        # The cache viewed as rows (B * nh * L, hs), written through one flat index per
        # (sample, head, position): a plain scatter on a 2-D view (5 us per write, against 13 us
        # for store[rows, :, index] on the 4-D tensor).
        heads = torch.arange(c.num_heads, device=positions.device)
        flat_index = ((rows[:, None, None] * c.num_heads + heads[None, :, None]) * c.seq_len
                      + index[:, None, :]).reshape(-1)  # (B * nh * Q,)

        def write(store, new):  # store (B, nh, L, hs), new (B, nh, Q, hs)
            flat = store.view(-1, store.shape[-1])  # (B * nh * L, hs)
            new = new.reshape(-1, store.shape[-1])  # (B * nh * Q, hs)
            if keep is not None:
                new = torch.where(keep, new, flat[flat_index])
            flat[flat_index] = new

        for i, block in enumerate(self.blocks):
            x = block(x, attn_mask, (cache.keys[i], cache.values[i], write))
        logits = self.head(self.ln_out(x))  # (B, Q, K)
        return logits[:, 0] if single else logits
