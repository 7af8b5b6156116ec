"""TS-VQGAN: the leak-free image tokenizer (iLAT paper 3.1, DESIGN.md section 4).

    model = TSVQGAN(tokenizer_preset("small-128"))
    z_q, indices, z = model.encode(image)                 # condition tokens: no region
    z_q, indices, z = model.encode(image, region)         # z outside the region is leak-free
    frame = model.decode_indices(new_indices, z, region)  # Eq. 4: codes inside, z outside

Shapes: image (B, 3, H, W) float in [-1, 1] with H, W multiples of the downsampling factor f;
region (B, H, W) bool, True = generate; z, z_q (B, code_dim, H/f, W/f); indices (B, H/f, W/f) long.

The encoder's leak property: with a region, every encoder output at a token outside the token
region depends only on pixels outside the region. Each tensor in the encoder is kept "clean
outside" at its own resolution (region max-pooled to that size):
- every conv with a kernel > 1 is a TwoStreamConv2d (its outside outputs come from the clean
  stream), 1x1 convs and pointwise activations act per position;
- normalization is per position (LayerNorm over channels), so no statistic crosses the border;
- a residual add sums two tensors that are both clean outside at the same resolution;
- stride-2 convs move to the next resolution, where "outside" is the region pooled by 2;
- no attention in the encoder.
`two_stream=False` builds the plain encoder (vanilla convs, GroupNorm) of the paper's iLAT*
ablation, which ignores the region and leaks. The decoder is a plain VQGAN decoder.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .pretrained import PretrainedMixin
from .quantizer import VectorQuantizer
from .two_stream import RegionMasks, TwoStreamConv2d, downsample_region

log = logging.getLogger(__name__)

__all__ = ["TokenizerConfig", "tokenizer_preset", "PRESETS", "TSVQGAN"]


@dataclass
class TokenizerConfig:
    resolution: int = 64               # square training / inference size in pixels
    in_channels: int = 3               # image channels in and out
    base_channels: int = 32            # channels at full resolution
    channel_mult: tuple = (1, 2, 4)    # channels per level = base * mult; f = 2 ** (levels - 1)
    num_res_blocks: int = 1            # residual blocks per level (decoder: one more, as VQGAN)
    codebook_size: int = 512           # K
    code_dim: int = 32                 # D: channels of z, z_q and the codebook
    two_stream: bool = True            # False: plain encoder (vanilla convs + GroupNorm), iLAT*
    decoder_attention: bool = False    # self-attention in the decoder's middle block (VQGAN has it)
    # Fewest channels per GroupNorm group (decoder, plain encoder). 1 is VQGAN's rule (32 groups
    # whenever the width allows), which at a width of 32 is instance norm: every norm then erases
    # each channel's image-wide mean, and a small decoder hardly learns an image's overall colour
    # (flat backgrounds came out grey). 4 keeps it; 1 stays the default so older configs load as trained.
    norm_group_channels: int = 1
    # A linear patch path beside the deep networks, through the same codes: the encoder adds an
    # f x f, stride-f conv of the image to z (each token reads only its own patch, so it cannot
    # leak) and the decoder adds a 1x1 conv + pixel shuffle of its input to the image.
    # Without it our encoder and decoder trained together learn no chroma at all in 300 steps,
    # though each learns it beside a linear counterpart (experiments/results/probe_colour.md).
    linear_path: bool = False
    # The decoder's own size (None: as the encoder). Tokens depend only on the encoder and the
    # codebook, so a wider or deeper decoder can be trained for a trained tokenizer while every
    # image keeps its tokens (TSVQGAN.with_decoder, train-tokenizer --decoder-only).
    decoder_channels: int | None = None    # channels at full resolution (None: base_channels)
    decoder_res_blocks: int | None = None  # residual blocks per level (None: num_res_blocks + 1)
    dropout: float = 0.0
    # Quantizer (see nn/quantizer.py)
    beta: float = 0.25                 # commitment weight
    l2_normalize: bool = True          # codes and z on the unit sphere (cosine nearest code)
    restart_dead_codes: bool = True    # restart codes whose usage share < threshold / K
    dead_code_threshold: float = 0.03
    usage_decay: float = 0.9

    def __post_init__(self):
        self.channel_mult = tuple(self.channel_mult)
        if self.norm_group_channels < 1:
            raise ValueError(f"norm_group_channels must be >= 1, got {self.norm_group_channels}")
        for name in ("decoder_channels", "decoder_res_blocks"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if self.resolution % self.downsample_factor:
            raise ValueError(f"resolution {self.resolution} is not a multiple of f={self.downsample_factor}")

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.channel_mult) - 1)

    @property
    def token_grid(self) -> tuple[int, int]:
        """(h, w) tokens of a resolution x resolution image."""
        side = self.resolution // self.downsample_factor
        return side, side


PRESETS: dict[str, TokenizerConfig] = {
    # The paper's setup (VQGAN f16 channel sizes): 256x256 images, 16x16 tokens.
    "paper-256": TokenizerConfig(resolution=256, base_channels=128, channel_mult=(1, 1, 2, 2, 4),
                                 num_res_blocks=2, codebook_size=1024, code_dim=256,
                                 decoder_attention=True),
    # Small CPU presets for the demo model: 16x16 tokens each (at 64x64 with 8x8 tokens limbs
    # vanished). Every conv costs about the same (channels double as the side halves); sized so a
    # stage-2 training step of batch 8 stays well under a second on 2 CPU cores
    # (benchmarks/results/tokenizer_speed.md).
    # Their widths (8-64) would make VQGAN's 32 GroupNorm groups instance norm, which loses colours
    # (benchmarks/results/decoder_norm.md): at least 4 channels per group.
    # Both have the linear patch path: without it our encoder and decoder trained together learned
    # no chroma (experiments/results/probe_colour.md). Results recorded before 2026-11-30 with these
    # presets were made without it (the demo model has always used its own config.json).
    "small-64": TokenizerConfig(resolution=64, base_channels=16, channel_mult=(1, 2, 4),
                                num_res_blocks=1, codebook_size=512, code_dim=32, norm_group_channels=4,
                                linear_path=True),
    "small-128": TokenizerConfig(resolution=128, base_channels=8, channel_mult=(1, 2, 4, 8),
                                 num_res_blocks=1, codebook_size=512, code_dim=32, norm_group_channels=4,
                                 linear_path=True),
}


def tokenizer_preset(name: str) -> TokenizerConfig:
    """A fresh copy of a named preset ("paper-256", "small-64", "small-128"); KeyError otherwise."""
    if name not in PRESETS:
        raise KeyError(f"unknown tokenizer preset {name!r}; known: {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name])


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels at each position of (B, C, H, W): no statistic crosses
    positions, so it keeps the encoder leak-free."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # layer_norm normalizes trailing dims: move channels last, (B, H, W, C).
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


def group_norm(channels: int, group_channels: int = 1) -> nn.GroupNorm:
    """GroupNorm with the most groups (up to 32) that divide `channels` and leave at least
    `group_channels` channels in each."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0 and channels // g >= group_channels)
    return nn.GroupNorm(groups, channels, eps=1e-6)


def encoder_norm(channels: int, two_stream: bool, group_channels: int = 1) -> nn.Module:
    return ChannelLayerNorm(channels) if two_stream else group_norm(channels, group_channels)


class EncoderResBlock(nn.Module):
    """norm-swish-conv3x3 twice plus a (1x1 when widths differ) shortcut; region-aware convs."""

    def __init__(self, in_channels: int, out_channels: int, two_stream: bool, dropout: float,
                 group_channels: int = 1):
        super().__init__()
        self.norm1 = encoder_norm(in_channels, two_stream, group_channels)
        self.conv1 = TwoStreamConv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = encoder_norm(out_channels, two_stream, group_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = TwoStreamConv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, region: RegionMasks | None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)), region)
        h = self.conv2(self.dropout(F.silu(self.norm2(h))), region)
        return self.shortcut(x) + h


class DecoderResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, dropout: float, group_channels: int = 1):
        super().__init__()
        self.norm1 = group_norm(in_channels, group_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels, group_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.shortcut(x) + h


class SelfAttention2d(nn.Module):
    """Single-head self-attention over all positions (decoder only: it would leak in the encoder)."""

    def __init__(self, channels: int, group_channels: int = 1):
        super().__init__()
        self.norm = group_norm(channels, group_channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)  # (B, hw, C) each
        out = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]  # (B, hw, C)
        return x + self.proj(out.transpose(1, 2).reshape(b, c, h, w))


class Encoder(nn.Module):
    """image (B, 3, H, W), region (B, H, W) bool or None -> z (B, code_dim, H/f, W/f), before the
    quantizer's normalization."""

    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.two_stream = config.two_stream
        ch, mult, gc = config.base_channels, config.channel_mult, config.norm_group_channels
        self.conv_in = TwoStreamConv2d(config.in_channels, ch * mult[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        width = ch * mult[0]
        for level, m in enumerate(mult):
            blocks = nn.ModuleList()
            for _ in range(config.num_res_blocks):
                blocks.append(EncoderResBlock(width, ch * m, config.two_stream, config.dropout, gc))
                width = ch * m
            self.blocks.append(blocks)
            if level < len(mult) - 1:
                self.downsamples.append(TwoStreamConv2d(width, width, 3, stride=2, padding=1))
        self.mid = nn.ModuleList([EncoderResBlock(width, width, config.two_stream, config.dropout, gc)
                                  for _ in range(2)])
        self.norm_out = encoder_norm(width, config.two_stream, gc)
        self.conv_out = TwoStreamConv2d(width, config.code_dim, 3, padding=1)
        f = config.downsample_factor
        self.linear = TwoStreamConv2d(config.in_channels, config.code_dim, f, stride=f) if config.linear_path else None

    def forward(self, image: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
        if not self.two_stream or region is None:
            region = None  # one stream (the iLAT* ablation ignores the region)
        else:
            region = RegionMasks(region)  # the region at the current resolution, masks shared
        full_region = region
        # Channels-last makes the per-position LayerNorm a contiguous op (and suits CPU convs).
        image = image.contiguous(memory_format=torch.channels_last)
        h = self.conv_in(image, region)
        for level, blocks in enumerate(self.blocks):
            for block in blocks:
                h = block(h, region)
            if level < len(self.downsamples):
                h = self.downsamples[level](h, region)
                region = None if region is None else region.coarser(2)
        for block in self.mid:
            h = block(h, region)
        z = self.conv_out(F.silu(self.norm_out(h)), region)
        if self.linear is not None:
            z = z + self.linear(image, full_region)
        return z.contiguous()


class Decoder(nn.Module):
    """z (B, code_dim, h, w) -> image (B, 3, h*f, w*f), unbounded (train against [-1, 1])."""

    def __init__(self, config: TokenizerConfig):
        super().__init__()
        ch = config.decoder_channels or config.base_channels
        mult, gc = config.channel_mult, config.norm_group_channels
        blocks_per_level = config.decoder_res_blocks or config.num_res_blocks + 1
        width = ch * mult[-1]
        self.conv_in = nn.Conv2d(config.code_dim, width, 3, padding=1)
        mid = [DecoderResBlock(width, width, config.dropout, gc)]
        if config.decoder_attention:
            mid.append(SelfAttention2d(width, gc))
        mid.append(DecoderResBlock(width, width, config.dropout, gc))
        self.mid = nn.Sequential(*mid)
        self.levels = nn.ModuleList()
        for level in reversed(range(len(mult))):
            blocks = []
            for _ in range(blocks_per_level):
                blocks.append(DecoderResBlock(width, ch * mult[level], config.dropout, gc))
                width = ch * mult[level]
            if level > 0:
                blocks.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                blocks.append(nn.Conv2d(width, width, 3, padding=1))
            self.levels.append(nn.Sequential(*blocks))
        self.norm_out = group_norm(width, gc)
        self.conv_out = nn.Conv2d(width, config.in_channels, 3, padding=1)
        f = config.downsample_factor
        self.linear = (nn.Sequential(nn.Conv2d(config.code_dim, config.in_channels * f * f, 1), nn.PixelShuffle(f))
                       if config.linear_path else None)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in self.levels:
            h = level(h)
        image = self.conv_out(F.silu(self.norm_out(h)))
        return image if self.linear is None else image + self.linear(z)


# --------------------------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------------------------


class TSVQGAN(PretrainedMixin, nn.Module):
    """Encoder + vector quantizer + decoder; see the module docstring for shapes."""

    config_class = TokenizerConfig

    def __init__(self, config: TokenizerConfig | None = None):
        super().__init__()
        self.config = config = config or TokenizerConfig()
        self.encoder = Encoder(config)
        self.quantizer = VectorQuantizer(
            config.codebook_size, config.code_dim, beta=config.beta, l2_normalize=config.l2_normalize,
            restart_dead_codes=config.restart_dead_codes, dead_code_threshold=config.dead_code_threshold,
            usage_decay=config.usage_decay,
        )
        self.decoder = Decoder(config)

    @property
    def downsample_factor(self) -> int:
        return self.config.downsample_factor

    def with_codebook_size(self, codebook_size: int) -> "TSVQGAN":
        """A copy with K = codebook_size codes, to continue training a trained tokenizer with more
        codes (more bits per token) without starting over.

        The encoder, decoder and the first min(K, K_old) codes are kept. Added codes get usage 0,
        so with `restart_dead_codes` the first training steps place them on the encoder outputs the
        codebook fits worst (nn/quantizer.py); until then they are random directions."""
        if codebook_size < 1:
            raise ValueError(f"codebook_size must be >= 1, got {codebook_size}")
        grown = type(self)(dataclasses.replace(self.config, codebook_size=codebook_size))
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("quantizer.")}
        missing, unexpected = grown.load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith("quantizer.") for k in missing), (missing, unexpected)
        keep = min(codebook_size, self.config.codebook_size)
        with torch.no_grad():
            grown.quantizer.codebook[:keep] = self.quantizer.codebook[:keep]
            grown.quantizer.usage.zero_()
            grown.quantizer.usage[:keep] = self.quantizer.usage[:keep]
        return grown

    def with_decoder(self, *, channels: int | None = None, res_blocks: int | None = None) -> "TSVQGAN":
        """A copy with a wider or deeper decoder; the encoder and the codebook are kept, so every
        image keeps its tokens and a transformer trained on them stays valid.

        channels / res_blocks: the decoder's channels at full resolution and residual blocks per
        level (None: as now). With the same channels and at least as many blocks the copy decodes
        exactly as this model does: the old blocks are kept and each added one starts as the
        identity (its last conv is zero), so training goes on from here. With other channels the
        deep decoder starts afresh; only the linear patch path, which does not depend on the
        width, is kept."""
        old = self.config
        old_channels = old.decoder_channels or old.base_channels
        old_blocks = old.decoder_res_blocks or old.num_res_blocks + 1
        channels = channels or old_channels
        res_blocks = res_blocks or old_blocks
        if res_blocks < old_blocks and channels == old_channels:
            raise ValueError(f"res_blocks {res_blocks} < the decoder's {old_blocks}: only growing is supported")
        new = type(self)(dataclasses.replace(old, decoder_channels=channels, decoder_res_blocks=res_blocks))
        new.encoder.load_state_dict(self.encoder.state_dict())
        new.quantizer.load_state_dict(self.quantizer.state_dict())
        if new.decoder.linear is not None and self.decoder.linear is not None:
            new.decoder.linear.load_state_dict(self.decoder.linear.state_dict())
        if channels != old_channels:
            log.info("decoder widened from %d to %d channels: its deep part starts afresh", old_channels, channels)
            return new
        decoder, grown = self.decoder, new.decoder
        for name in ("conv_in", "mid", "norm_out", "conv_out"):
            getattr(grown, name).load_state_dict(getattr(decoder, name).state_dict())
        for level_old, level_new in zip(decoder.levels, grown.levels):
            # Each level is [res block] * blocks, then (but for the last) upsample and conv.
            kept = list(level_old)
            added = list(level_new)[old_blocks:res_blocks]
            for source, target in zip(kept, list(level_new)[:old_blocks] + list(level_new)[res_blocks:]):
                target.load_state_dict(source.state_dict())
            for block in added:
                nn.init.zeros_(block.conv2.weight)
                nn.init.zeros_(block.conv2.bias)
        return new

    @property
    def last_layer(self) -> torch.Tensor:
        """The decoder's final conv weight (for the adaptive GAN weight)."""
        return self.decoder.conv_out.weight

    def token_region(self, region: torch.Tensor) -> torch.Tensor:
        """Pixel region (B, H, W) bool -> token region (B, H/f, W/f) bool: a token is in the region
        iff any of its pixels is."""
        self._check_size(region.shape[-2:])
        return downsample_region(region.bool(), self.downsample_factor)

    def _check_size(self, size) -> None:
        f = self.downsample_factor
        if size[0] % f or size[1] % f:
            raise ValueError(f"image size {tuple(size)} is not a multiple of the downsampling factor {f}")

    def _encode(self, image: torch.Tensor, region: torch.Tensor | None):
        self._check_size(image.shape[-2:])
        if region is not None:
            if region.shape != (image.shape[0], *image.shape[-2:]):
                raise ValueError(f"region {tuple(region.shape)} does not match image {tuple(image.shape)}")
            region = region.bool()
        z = self.quantizer.normalize(self.encoder(image, region))
        z_q, indices, loss, stats = self.quantizer(z)
        return z_q, indices, z, loss, stats

    def encode(self, image: torch.Tensor, region: torch.Tensor | None = None):
        """image (B, 3, H, W) in [-1, 1]; region (B, H, W) bool, True = generate, or None.

        Returns (z_q, indices, z): z (B, D, h, w) the continuous encoder output in code space
        (computed with the two-stream rule when a region is given: leak-free outside the token
        region), z_q (B, D, h, w) its nearest codes (straight-through), indices (B, h, w) long."""
        z_q, indices, z, _, _ = self._encode(image, region)
        return z_q, indices, z

    def _token_mask(self, region: torch.Tensor, grid) -> torch.Tensor:
        """A pixel or token region -> token region (B, 1, h, w) bool."""
        if tuple(region.shape[-2:]) != tuple(grid):
            region = self.token_region(region)
        if tuple(region.shape[-2:]) != tuple(grid):
            raise ValueError(f"region {tuple(region.shape)} does not fit the token grid {tuple(grid)}")
        return region.bool()[:, None]

    def decode(self, z_q: torch.Tensor, z: torch.Tensor | None = None,
               region: torch.Tensor | None = None) -> torch.Tensor:
        """Image (B, 3, H, W) from codes z_q (B, D, h, w).

        With z (B, D, h, w) and region ((B, H, W) pixel or (B, h, w) token region, True = generate),
        Eq. 4: D(z_q * M_q + z * (1 - M_q)), codes inside the token region, continuous z outside.
        Otherwise D(z_q)."""
        if z is not None and region is not None:
            inside = self._token_mask(region, z_q.shape[-2:])
            z_q = torch.where(inside, z_q, z.to(z_q.dtype))
        return self.decoder(z_q)

    def decode_indices(self, indices: torch.Tensor, z: torch.Tensor | None = None,
                       region: torch.Tensor | None = None) -> torch.Tensor:
        """indices (B, h, w) long -> codes -> `decode(codes, z, region)`."""
        return self.decode(self.quantizer.lookup(indices), z, region)

    def forward(self, image: torch.Tensor, region: torch.Tensor | None = None):
        """Training pass. Returns (reconstruction (B, 3, H, W), quantizer loss (scalar), info).

        With a region the reconstruction is Eq. 4 (straight-through codes inside the token region,
        continuous z outside, both differentiable). info: indices (B, h, w), perplexity, used_codes,
        dead_codes, restarted, and token_region (B, h, w) when a region is given."""
        z_q, indices, z, loss, stats = self._encode(image, region)
        info = {"indices": indices, **stats}
        if region is not None:
            info["token_region"] = self.token_region(region)
            reconstruction = self.decode(z_q, z, info["token_region"])
        else:
            reconstruction = self.decode(z_q)
        return reconstruction, loss, info
