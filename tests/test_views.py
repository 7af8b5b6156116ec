"""Test-time views: each view's image and pose maps agree, undo inverts them, and averaging leaves
out exactly the pixels that wrapped around."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.pose.skeleton import FLIP_PERMUTATION
from ilat_video.views import MAX_VIEWS, View, average_views, view_list

ALL = view_list(MAX_VIEWS, shift=2)


def test_view_list_starts_plain_and_has_distinct_views():
    assert view_list(1, 2) == [View()]
    assert view_list(2, 0) == [View(), View(flip=True)]
    assert len(set(ALL)) == MAX_VIEWS and ALL[0] == View()
    assert all(v.dy in (0, 1, 2, 3) and v.dx in (0, 1, 2, 3) for v in ALL)  # up to 3/4 of a 4-pixel token
    assert view_list(8, 2) == [v for v in ALL if v.dy in (0, 2) and v.dx in (0, 2)]  # half tokens first
    for bad in (0, MAX_VIEWS + 1):
        with pytest.raises(ValueError, match="between 1 and"):
            view_list(bad, 2)
    with pytest.raises(ValueError, match="shift"):
        view_list(3, 0)
    with pytest.raises(ValueError, match="shift"):
        view_list(9, 1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), index=st.integers(0, MAX_VIEWS - 1))
def test_undo_inverts_a_view_and_poses_follow_their_pixels(seed, index):
    view = ALL[index]
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(2, 3, 12, 16, generator=g)
    assert torch.equal(view.undo(view.images(images)), images)
    # A pose's joints mark pixels; the view's pose points at the same marks in the view's image
    # (away from the border, where a roll would wrap them).
    xy = torch.stack([torch.randint(3, 12, (13,), generator=g), torch.randint(1, 9, (13,), generator=g)], -1)
    pose = torch.cat([xy.float(), torch.rand(13, 1, generator=g)], -1)  # (13, 3)
    marks = torch.zeros(13, 12, 16)
    marks[torch.arange(13), xy[:, 1], xy[:, 0]] = 1
    seen_marks, seen_pose = view.images(marks), view.poses(pose, width=16)
    order = list(FLIP_PERMUTATION) if view.flip else list(range(13))
    for joint in range(13):
        x, y = seen_pose[joint, :2].long().tolist()
        assert seen_marks[order[joint], y, x] == 1  # the joint now named `joint` was `order[joint]`
    assert torch.equal(seen_pose[:, 2], pose[order, 2])  # confidences travel with their joints
    assert torch.equal(view.poses(pose[None], 16)[0], seen_pose)  # batched the same


@pytest.mark.parametrize("count", range(1, MAX_VIEWS + 1))
def test_average_of_an_equivariant_renderer_is_exact_and_wrapped_pixels_are_left_out(count):
    truth = torch.rand(2, 3, 12, 16, generator=torch.Generator().manual_seed(count))

    def render(view):
        seen = view.images(truth).clone()
        # What a view cannot know: the rows and columns that wrapped around get garbage.
        seen[..., :view.dy, :] = 1e6
        seen[..., :, :view.dx] = 1e6
        return seen

    assert torch.allclose(average_views(render, view_list(count, 2)), truth, atol=1e-6)
    # Views that disagree average to their mean where none wrapped.
    constant = average_views(lambda view: torch.full((1, 1, 12, 16), float(view.flip)), view_list(count, 2))
    flipped_share = sum(v.flip for v in view_list(count, 2)) / count
    assert torch.allclose(constant[..., :9, 3:13], torch.tensor(flipped_share))  # no view wrapped there


def test_average_needs_the_plain_view_first():
    with pytest.raises(ValueError, match="plain"):
        average_views(lambda view: torch.zeros(1, 1, 4, 4), [View(flip=True)])
    with pytest.raises(ValueError, match="plain"):
        average_views(lambda view: torch.zeros(1, 1, 4, 4), [])
