"""Test-time views: the same frame made from mirrored and shifted copies of its inputs, averaged.

Not in the paper. A view mirrors the reference, both poses and the region left-right and/or rolls
them by half a token, or past 8 views by a quarter or three quarters of one (so that the tokenizer
cuts the image on another grid); the frame made from it
is mapped back and the views' frames are averaged pixel by pixel. Each view is an equally good
guess with its own mistakes, so their mean is closer to the truth in squared error than any one of
them (`docs/history.md`, "Test-time views"), at the price of softer frames and one sampler run per
view. One view is the plain frame.

    views = view_list(4, shift=2)
    frames = average_views(lambda view: make_frames(view.images(reference), ...), views)

Rolling wraps the image around; the rows and columns that wrapped are left out of that view's
share (`View.valid`), and the first view is always the plain one, so every pixel has a value.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Sequence

from .pose.skeleton import FLIP_PERMUTATION

if TYPE_CHECKING:  # torch is imported where it is used: the CLI reads MAX_VIEWS without it
    import torch

MAX_VIEWS = 16


@dataclasses.dataclass(frozen=True)
class View:
    """Mirror left-right when `flip`, then roll down by `dy` and right by `dx` pixels."""

    flip: bool = False
    dy: int = 0
    dx: int = 0

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """(..., H, W) images or masks seen from this view."""
        if self.flip:
            x = x.flip(-1)
        return x.roll((self.dy, self.dx), dims=(-2, -1)) if self.dy or self.dx else x

    def undo(self, x: torch.Tensor) -> torch.Tensor:
        """(..., H, W) made in this view, mapped back to the plain one."""
        if self.dy or self.dx:
            x = x.roll((-self.dy, -self.dx), dims=(-2, -1))
        return x.flip(-1) if self.flip else x

    def poses(self, poses: torch.Tensor, width: int) -> torch.Tensor:
        """(..., 13, 3) poses (x, y in pixels of images `width` wide, confidence) seen from this
        view: mirrored poses swap their left and right joints."""
        if self.flip:
            poses = poses[..., list(FLIP_PERMUTATION), :].clone()
            poses[..., 0] = (width - 1) - poses[..., 0]
        if self.dy or self.dx:
            poses = poses.clone()
            poses[..., 0] += self.dx
            poses[..., 1] += self.dy
        return poses

    def valid(self, height: int, width: int, device=None) -> torch.Tensor:
        """(H, W) float, 1 where this view's frame mapped back shows pixels that did not wrap."""
        import torch

        weight = torch.ones(height, width, device=device)
        if self.dy:
            weight[height - self.dy:] = 0
        if self.dx:
            weight[:, width - self.dx:] = 0
        return weight.flip(-1) if self.flip else weight  # undo rolls back first, then mirrors


def view_list(count: int, shift: int) -> list[View]:
    """The first `count` (1 to MAX_VIEWS) views: plain and mirrored, each as it is, then rolled by
    `shift` pixels diagonally, right, and down; past 8, rolled by a quarter and three quarters of a
    token (`shift // 2` and `3 * shift // 2`) on the same diagonals and across them.
    `shift`: half a token (the tokenizer's factor // 2)."""
    if not 1 <= count <= MAX_VIEWS:
        raise ValueError(f"views must be between 1 and {MAX_VIEWS}, got {count}")
    if count > 2 and shift < 1:
        raise ValueError(f"more than 2 views need a shift of at least 1 pixel, got {shift}")
    if count > 8 and shift < 2:
        raise ValueError(f"more than 8 views need a shift of at least 2 pixels, got {shift}")
    q, t = shift // 2, 3 * shift // 2
    offsets = [(0, 0), (shift, shift), (0, shift), (shift, 0), (q, q), (t, t), (q, t), (t, q)]
    return [View(flip, dy, dx) for dy, dx in offsets for flip in (False, True)][:count]


def average_views(render: Callable[[View], torch.Tensor], views: Sequence[View]) -> torch.Tensor:
    """The mean over `views` of render(view) (B, C, H, W) mapped back, each pixel over the views
    whose frame did not wrap there. render(view) must make the frames from the inputs as seen from
    `view` (`View.images`, `View.poses`)."""
    if not views or views[0] != View():
        raise ValueError("the first view must be the plain one")
    total = weight = None
    for view in views:
        frames = view.undo(render(view).float())
        share = view.valid(*frames.shape[-2:], device=frames.device)
        total = frames * share if total is None else total + frames * share
        weight = share if weight is None else weight + share
    return total / weight
