"""The plate's copies of the photo's own pixels (`exemplar.fill_exemplar`) and where the default
plate uses them (`compose.texture_share`, `compose.inpaint_textured`)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.compose import inpaint_mixed, inpaint_textured, texture_share
from ilat_video.exemplar import fill_exemplar
from ilat_video.spread import NEIGHBOURS, solve_poisson


def _texture(height: int, width: int, seed: int = 0, period: int | None = None) -> np.ndarray:
    """Bands of colour across (a horizon, rails, a lawn's stripes, 20 rows each) under fine noise
    (detail down to a pixel, grass or foliage seen from afar); the noise repeats every `period`
    pixels across, or nowhere (None)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, period or width, 3), dtype=np.uint8)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.8).astype(np.float32) - 128
    noise = np.tile(noise, (1, width // len(noise[0]) + 1, 1))[:, :width]
    bands = rng.integers(60, 200, (height // 20 + 1, 1, 3)).repeat(20, axis=0)[:height]
    return np.clip(bands + 0.6 * noise, 0, 255).astype(np.uint8)


def _person_hole(height: int, width: int) -> np.ndarray:
    """A tall, narrow hole in the middle: where a person stood."""
    hole = np.zeros((height, width), np.uint8)
    cv2.ellipse(hole, (width // 2, height // 2), (width // 10, height * 2 // 5), 0, 0, 360, 1, -1)
    return hole > 0


def _copies_only(out: np.ndarray, image: np.ndarray, hole: np.ndarray) -> bool:
    """Whether every hole pixel of `out` has the colour of some pixel of `image` outside the hole."""
    def keys(pixels):
        pixels = pixels.astype(np.int64)
        return pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]
    return bool(np.isin(keys(out[hole]), keys(image[~hole])).all())


@given(seed=st.integers(0, 2 ** 16))
@settings(max_examples=4, deadline=None)
def test_every_hole_pixel_is_a_copy_of_a_pixel_outside_the_hole(seed):
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8), (0, 0), 1.0)
    hole = np.zeros((72, 96), np.uint8)
    for _ in range(rng.integers(1, 3)):
        cv2.ellipse(hole, (int(rng.integers(10, 86)), int(rng.integers(10, 62))),
                    (int(rng.integers(3, 10)), int(rng.integers(3, 20))), 0, 0, 360, 1, -1)
    hole = hole > 0
    damaged = image.copy()
    damaged[hole] = (255, 0, 255)  # a colour the picture has nowhere else: no copy may carry it in
    out = fill_exemplar(damaged, hole, blend=False)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(out[~hole], damaged[~hole])
    assert _copies_only(out, damaged, hole)


def test_a_photo_larger_than_the_work_size_is_filled_with_its_own_full_resolution_pixels():
    """The patches are chosen at 320 pixels; at 960 x 640 every hole pixel is still one of the
    photo's own pixels (not an upscaled, blurred one), and the texture keeps its fine detail."""
    image = _texture(640, 960, period=60)
    hole = _person_hole(640, 960)
    damaged = image.copy()
    damaged[hole] = 0
    out = fill_exemplar(damaged, hole, blend=False)
    assert _copies_only(out, damaged, hole)
    detail = np.abs(out.astype(float) - cv2.GaussianBlur(out, (0, 0), 1.0))[hole].mean()
    truth_detail = np.abs(image.astype(float) - cv2.GaussianBlur(image, (0, 0), 1.0))[hole].mean()
    assert detail > 0.8 * truth_detail, (detail, truth_detail)


def test_a_texture_continues_across_a_person_shaped_hole_where_the_smooth_mix_blurs_it():
    image = _texture(200, 300)
    hole = _person_hole(200, 300)
    damaged = image.copy()
    damaged[hole] = 128

    def detail(filled):
        return np.abs(filled.astype(float) - cv2.GaussianBlur(filled, (0, 0), 1.5))[hole].mean()

    copied = fill_exemplar(damaged, hole, guide=inpaint_mixed(damaged, hole))
    mixed = inpaint_mixed(damaged, hole)
    truth = detail(image)
    assert detail(copied) > 0.7 * truth > detail(mixed), (detail(copied), truth, detail(mixed))
    # What the texture is along each row carries on: each row's mean colour in the hole is near the truth's.
    rows = np.nonzero(hole.any(axis=1))[0]
    row_error = [np.abs(copied[y][hole[y]].mean(0) - image[y][hole[y]].mean(0)).mean() for y in rows]
    assert np.median(row_error) < 12, np.median(row_error)


def test_the_blend_carries_the_lighting_across_the_hole():
    """A texture lit from the left (a ramp of 100 grey levels across): copied patches come from
    either side at their own brightness; blended in the gradient domain, the hole's brightness
    follows the ramp."""
    height, width = 160, 240
    texture = _texture(height, width, period=16).astype(float) * 0.4
    ramp = np.linspace(0, 100, width)[None, :, None]
    image = np.clip(texture + 60 + ramp, 0, 255).astype(np.uint8)
    hole = _person_hole(height, width)
    damaged = image.copy()
    damaged[hole] = 0

    def lighting_error(filled):
        low = cv2.GaussianBlur(filled.astype(np.float32), (0, 0), 4)
        truth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 4)
        return np.abs(low - truth)[hole].mean()

    pasted = fill_exemplar(damaged, hole, blend=False)
    blended = fill_exemplar(damaged, hole)
    assert lighting_error(blended) < lighting_error(pasted)
    assert lighting_error(blended) < 6.0, lighting_error(blended)


def test_a_hole_over_nearly_the_whole_picture_leaves_nothing_to_copy():
    image = _texture(60, 80)
    hole = np.ones((60, 80), bool)
    hole[:4, :4] = False
    assert fill_exemplar(image, hole) is None
    assert np.array_equal(fill_exemplar(image, np.zeros_like(hole)), image)
    # The default plate falls back to the smooth mix.
    assert np.array_equal(inpaint_textured(image, hole), inpaint_mixed(image, hole))


@pytest.mark.parametrize("textured", [False, True])
def test_the_copies_are_used_where_the_background_round_the_hole_is_textured(textured):
    height, width = 160, 240
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = np.repeat((90 + 0.5 * x + 0.2 * y)[..., None], 3, axis=2).astype(np.uint8)  # a shaded plain wall
    image = _texture(height, width) if textured else wall
    hole = _person_hole(height, width)
    share = texture_share(image, hole)
    assert share.dtype == np.float32 and not share[~hole].any()
    if textured:
        assert share[hole].min() > 0.99
    else:
        assert share.max() == 0.0
        assert np.array_equal(inpaint_textured(image, hole), inpaint_mixed(image, hole))


def test_the_default_plate_is_copies_on_texture_and_changes_nothing_outside_the_hole():
    image = _texture(160, 240, seed=3)
    hole = _person_hole(160, 240)
    damaged = image.copy()
    damaged[hole] = 128
    out = inpaint_textured(damaged, hole)
    assert np.array_equal(out[~hole], damaged[~hole])
    # Copies, blended: nearly as much fine detail as the texture has, where the mix has about half.

    def detail(filled):
        return np.abs(filled.astype(float) - cv2.GaussianBlur(filled, (0, 0), 1.5))[hole].mean()

    assert detail(out) > 0.8 * detail(image) > detail(inpaint_mixed(damaged, hole)), detail(out)


@given(seed=st.integers(0, 2 ** 16))
@settings(max_examples=5, deadline=None)
def test_poisson_with_a_pictures_own_differences_gives_the_picture_back(seed):
    """The solver's invariant: guided by a picture's own differences between neighbours, with the
    pixels outside the unknown region fixed at the picture's, it gives back the picture exactly
    (whatever the region's shape, at the picture's edge too); unguided, it reproduces any linear
    ramp (the membrane)."""
    rng = np.random.default_rng(seed)
    picture = rng.uniform(0, 255, (30, 40, 3))
    unknown = rng.uniform(size=(30, 40)) < 0.5
    unknown[0, 0] = False  # at least one pixel fixed
    guidance = []
    for dy, dx in NEIGHBOURS:
        shifted = np.roll(picture, (-dy, -dx), axis=(0, 1))  # the neighbour p + d (wrapped pixels go unused)
        guidance.append(picture - shifted)
    start = np.where(unknown[..., None], 0.0, picture)
    np.testing.assert_allclose(solve_poisson(start, unknown, guidance), picture, atol=1e-6)
    y, x = np.mgrid[0:30, 0:40]
    ramp = np.repeat((3.0 * x - 2.0 * y + 7)[..., None], 3, axis=2)
    hole = np.zeros((30, 40), bool)
    hole[5:25, 8:30] = True
    np.testing.assert_allclose(solve_poisson(np.where(hole[..., None], 0.0, ramp), hole), ramp, atol=1e-6)
