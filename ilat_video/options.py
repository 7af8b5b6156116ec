"""How frames are rendered: the options that travel together from the CLI to the Animator to evaluation.

    options = RenderOptions(decode="expected", views=16, personalize=100, keep_still=0.5)
    animator.animate_to_file("me.png", "dance.mp4", "out.mp4", options=options)

The paper's inference is `RenderOptions(background="model")`: greedy tokens, Eq. 4 everywhere.
Everything else here is ours and measured in `docs/results.md`. The options are checked once, when
they are made: a RenderOptions that exists is a valid one.
"""
from __future__ import annotations

import dataclasses
import math

from .errors import IlatError
from .views import MAX_VIEWS

# Where the frame shows the reference's own pixels instead of the model's Eq. 4 decoding: wherever
# the model kept the reference's token (outside the region and the unchanged cells inside it),
# outside the region only, or nowhere. The first is the default.
BACKGROUNDS = ("unchanged", "reference", "model")
# What the decoder renders inside the region: the sampled tokens' codes (the paper), or the expected
# code under the distribution each token was drawn from (`sampling.region_codes`).
DECODINGS = ("tokens", "expected")
MAX_TUNING_STEPS = 10_000


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """How each frame is made from the model (see the module docstring).

    top_k, temperature: both None = greedy (the paper's top-1); otherwise sampling among the
    `top_k` likeliest codes (all when None) at `temperature` (1 when None).

    background: where the written frame shows the reference's own pixels instead of the decoder's:
    "unchanged" (default: outside the region and in every token cell where the model kept the
    reference's token), "reference" (outside the region), "model" (nowhere: the paper's Eq. 4 frame).

    decode: "tokens" renders the sampled tokens' codes (the paper); "expected" renders, at each
    region position, the mean code under the distribution its token was drawn from: softer where
    the model is unsure, closer to the truth in squared error.

    views: make each frame from this many test-time views of its inputs (mirrored, shifted by part
    of a token) and average them (`views.py`): closer to the truth and softer, at one sampler run
    per view. 1 = the frame itself.

    personalize: before the first frame, tune a copy of the decoder this many Adam steps on the
    reference alone (`personalize.py`; 0 = off): the tokens stay, their colours become this
    person's. personalize_transformer: before that, tune a copy of the transformer on pairs of the
    reference's own views (0 = off): the tokens change.

    keep_still: show the reference's own pixels on the body parts whose joints moved at most this
    many pixels (of the model's frame) from the reference pose (`regions.paste_still`; None = off).
    """

    top_k: int | None = None
    temperature: float | None = None
    background: str = "unchanged"
    decode: str = "tokens"
    views: int = 1
    personalize: int = 0
    personalize_transformer: int = 0
    keep_still: float | None = None

    def __post_init__(self) -> None:
        if self.top_k is not None and self.top_k < 1:
            raise IlatError(f"top-k must be at least 1, got {self.top_k}")
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature > 0):
            raise IlatError(f"temperature must be positive, got {self.temperature}")
        if self.background not in BACKGROUNDS:
            raise IlatError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if self.decode not in DECODINGS:
            raise IlatError(f"decode must be one of {', '.join(DECODINGS)}, got {self.decode!r}")
        if not 1 <= self.views <= MAX_VIEWS:
            raise IlatError(f"views must be between 1 and {MAX_VIEWS}, got {self.views}")
        for name in ("personalize", "personalize_transformer"):
            steps = getattr(self, name)
            if not 0 <= steps <= MAX_TUNING_STEPS:
                raise IlatError(f"{name.replace('_', '-')} steps must be between 0 (off) and "
                                f"{MAX_TUNING_STEPS}, got {steps}")
        if self.keep_still is not None and not (math.isfinite(self.keep_still) and self.keep_still >= 0):
            raise IlatError(f"keep-still tolerance must be a number of pixels >= 0, got {self.keep_still}")

    @property
    def greedy(self) -> bool:
        """Greedy decoding (the paper's top-1): neither top_k nor temperature was asked for."""
        return self.top_k is None and self.temperature is None

    def sampling(self, generator) -> dict:
        """The sampler's keyword arguments (`sampling.sample_local`) for these options."""
        return dict(greedy=self.greedy, top_k=self.top_k, temperature=self.temperature or 1.0,
                    generator=generator)
