"""The synthetic renderer's exact training targets: person mask, body part labels, background."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ilat_video.data import synth
from ilat_video.data.synth.body import P
from ilat_video.data.synth.draw import PART, PART_NAMES, PART_POINTS
from ilat_video.pose import skeleton as sk

SUPERSAMPLES = (1, 2, 3)


def _videos(count: int, size: int = 48, frames: int = 6, seed: int = 2):
    return [synth.file_video(seed, "train" if k % 2 else "test", k, size, frames) for k in range(count)]


@pytest.mark.parametrize("supersample", SUPERSAMPLES)
def test_layers_are_the_frame_and_targets_of_the_same_drawing(supersample):
    for video in _videos(6):
        for index in (0, 5):
            layers = video.render_layers(index, supersample=supersample)
            size = video.size
            assert layers.frame.shape == layers.background.shape == (size, size, 3)
            assert layers.frame.dtype == layers.background.dtype == layers.parts.dtype == np.uint8
            assert layers.mask.shape == layers.parts.shape == (size, size) and layers.mask.dtype == bool
            # The frame is bit for bit what render() gives; the mask is exactly where a part is.
            assert np.array_equal(layers.frame, video.render(index, supersample=supersample))
            assert np.array_equal(layers.mask, layers.parts > 0)
            assert layers.parts.max() < len(PART_NAMES)
            assert np.array_equal(layers.background, video.background)
            if supersample == 1:
                assert np.array_equal(layers.mask, video.render_mask(index))


@pytest.mark.parametrize("supersample", SUPERSAMPLES)
def test_frame_equals_the_background_wherever_the_mask_is_false(supersample):
    """Exactly, antialiased edges included: a pixel any sample of the person touches is in the mask."""
    for video in _videos(12, size=32):
        for index in range(0, 6, 2):
            layers = video.render_layers(index, supersample=supersample)
            outside = ~layers.mask
            assert outside.any() and layers.mask.any()
            assert np.array_equal(layers.frame[outside], layers.background[outside])


def test_background_has_no_person_pixels():
    """Inside the mask the frame shows the person, not the background (colours may coincide rarely)."""
    for video in _videos(10):
        for index in (1, 4):
            layers = video.render_layers(index, supersample=2)
            differs = (layers.frame != layers.background).any(axis=-1)
            assert differs[layers.mask].mean() > 0.95
    # The background is the clip's: the same behind every frame.
    video = _videos(1)[0]
    assert all(np.array_equal(video.render_layers(i).background, video.background) for i in range(video.num_frames))


def _segment_distance(shape: tuple[int, int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (H, W) of every pixel centre to the segment a-b (pixels)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    d = b - a
    t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
    return np.hypot(xs - (a[0] + t * d[0]), ys - (a[1] + t * d[1]))


def _part_reach(video, part: str) -> float:
    """The widest a part is drawn around its bone (pixels), from the stroke radii in draw.py."""
    ident, scale = video.identity, video.placement.scale
    arm, leg = ident.arm_radius * scale, ident.leg_radius * scale
    widths = {"upper_arm": 1.2 * arm, "lower_arm": 0.85 * arm, "hand": 0.8 * arm,
              "upper_leg": 1.08 * leg, "lower_leg": 0.8 * leg, "foot": 0.55 * leg}
    if part == "head":  # hair, bun and long hair around the head centre; the neck down to its base
        return 2.6 * ident.head_radius * scale
    return widths[part.split("_", 1)[1]]


def test_every_visible_part_lies_along_its_own_bone():
    """Each labelled pixel lies within its part's drawn width of the part's own bone (1.5 px of
    rasterization slack); the torso (with waistband and skirt) inside its box and the thighs."""
    seen = set()
    for video in _videos(16, size=64, frames=4):
        for index in (0, 3):
            parts = video.render_parts(index)
            pts = video.points[index, :, :2]
            for part_id in np.unique(parts[parts > 0]):
                name = PART_NAMES[part_id]
                seen.add(name)
                where = parts == part_id
                if name == "torso":
                    corners = np.array([pts[P[n]] for n in PART_POINTS["torso"]] + [pts[sk.R_KNEE], pts[sk.L_KNEE]])
                    slack = video.identity.leg_radius * video.placement.scale + 1.5
                    ys, xs = np.nonzero(where)
                    assert xs.min() >= corners[:, 0].min() - slack and xs.max() <= corners[:, 0].max() + slack
                    assert ys.min() >= corners[:, 1].min() - slack and ys.max() <= corners[:, 1].max() + slack
                    continue
                a, b = (pts[P[n]] for n in PART_POINTS[name])
                distance = _segment_distance(parts.shape, a, b)[where]
                assert distance.max() <= _part_reach(video, name) + 1.5, (name, distance.max())
    assert seen == set(PART_NAMES[1:]), f"parts never drawn: {set(PART_NAMES[1:]) - seen}"


def test_right_parts_are_on_the_image_left_when_facing_the_camera():
    rng = np.random.default_rng(4)
    checked = 0
    while checked < 8:
        video = synth.make_video(rng, 64, 2)
        if abs(video.motion.params["yaw"]) > 20:
            continue
        parts = video.render_parts(0)
        for side_part in ("upper_arm", "upper_leg"):
            right, left = (np.nonzero(parts == PART[f"{side}_{side_part}"])[1] for side in ("right", "left"))
            if len(right) and len(left):
                assert right.mean() < left.mean()
        checked += 1


def test_written_dataset_has_masks_parts_and_backgrounds_beside_the_frames(tmp_path):
    out = tmp_path / "synth"
    ids = synth.write_penn_dataset(out, videos=1, frames=3, size=32, seed=5, test_videos=1)
    plain = tmp_path / "plain"
    synth.write_penn_dataset(plain, videos=1, frames=3, size=32, seed=5, test_videos=1, layers=False)
    assert sorted(p.name for p in plain.iterdir()) == ["frames", "labels"]
    videos = [synth.file_video(5, "train", 0, 32, 3), synth.file_video(5, "test", 0, 32, 3)]
    for video_id, video in zip(ids, videos):
        background = np.array(Image.open(out / "backgrounds" / f"{video_id}.png"))
        assert np.array_equal(background, video.background)
        for f in range(3):
            name = f"{f + 1:06d}"
            # The frames are the same files as without layers.
            assert (out / "frames" / video_id / f"{name}.jpg").read_bytes() == \
                (plain / "frames" / video_id / f"{name}.jpg").read_bytes()
            mask = Image.open(out / "masks" / video_id / f"{name}.png")
            parts = Image.open(out / "parts" / video_id / f"{name}.png")
            assert mask.mode == parts.mode == "L"
            mask, parts = np.array(mask), np.array(parts)
            layers = video.render_layers(f, supersample=2)  # the writer's default supersampling
            assert set(np.unique(mask)) <= {0, 255}
            assert np.array_equal(mask == 255, layers.mask) and np.array_equal(parts, layers.parts)
    assert not list(out.rglob("*.part*")), "temporary files left behind"
