"""The person mask's edge moved onto the photo's own edge (matte.refine_edge)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video import matte
from ilat_video.matte import refine_edge

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _figure(height: int, width: int, centre: tuple[float, float], axes: tuple[float, float], angle: float
            ) -> np.ndarray:
    """float32 (height, width): the exact alpha of an ellipse, drawn 8x larger and averaged down."""
    big = np.zeros((height * 8, width * 8), np.uint8)
    cv2.ellipse(big, (round(centre[0] * 8), round(centre[1] * 8)), (round(axes[0] * 8), round(axes[1] * 8)),
                angle, 0, 360, 255, -1)
    return cv2.resize(big.astype(np.float32) / 255, (width, height), interpolation=cv2.INTER_AREA)


def _segmenter_mask(truth: np.ndarray, side: int = 32) -> np.ndarray:
    """The truth as a segmenter working at `side` pixels gives it back: averaged down, scaled up
    bilinearly and sharpened, a staircase a few pixels off the true edge."""
    height, width = truth.shape
    small = cv2.resize(truth, (side, side * height // width), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    big = cv2.GaussianBlur(big, (0, 0), 1.0)
    return np.clip((big - 0.5) * 3.0 + 0.5, 0.0, 1.0).astype(np.float32)


def _photo(truth: np.ndarray, person: tuple[int, int, int], wall: tuple[int, int, int], seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 2.0, truth.shape + (3,))
    colour = truth[..., None] * np.array(person, np.float32) + (1 - truth[..., None]) * np.array(wall, np.float32)
    return np.clip(np.round(colour + noise), 0, 255).astype(np.uint8)


@settings(max_examples=12, deadline=None)
@given(cx=st.floats(70, 90), cy=st.floats(90, 110), ax=st.floats(25, 40), ay=st.floats(50, 75),
       angle=st.floats(0, 180), seed=st.integers(0, 1000))
def test_a_coarse_mask_moves_onto_the_edge_the_colours_show(cx, cy, ax, ay, angle, seed):
    truth = _figure(200, 160, (cx, cy), (ax, ay), angle)
    image = _photo(truth, (190, 140, 110), (225, 228, 230), seed)
    coarse = _segmenter_mask(truth)
    refined = refine_edge(image, coarse)
    near = cv2.dilate((np.abs(coarse - truth) > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    before, after = np.abs(coarse - truth)[near].mean(), np.abs(refined - truth)[near].mean()
    assert after < 0.6 * before
    assert ((refined >= 0.5) != (truth >= 0.5)).sum() < 0.5 * ((coarse >= 0.5) != (truth >= 0.5)).sum()


def test_colours_both_sides_share_leave_the_mask_as_it_was():
    truth = _figure(200, 160, (80, 100), (35, 70), 20.0)
    coarse = _segmenter_mask(truth)
    image = _photo(truth, (226, 228, 229), (225, 228, 230), 0)  # a white shirt against a white wall
    assert np.abs(refine_edge(image, coarse) - coarse).max() < 0.05


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), person=st.tuples(*[st.integers(0, 255)] * 3),
       wall=st.tuples(*[st.integers(0, 255)] * 3))
def test_only_pixels_near_the_edge_or_unsure_change(seed, person, wall):
    truth = _figure(200, 160, (80, 100), (30, 60), 10.0)
    coarse = _segmenter_mask(truth)
    refined = refine_edge(_photo(truth, person, wall, seed), coarse)
    band = max(matte.MIN_BAND, round(matte.EDGE_BAND * (np.ptp(np.nonzero(coarse >= 0.5)[0]) + 1)))
    binary = (coarse >= 0.5).astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 3, 2 * band + 3))
    inside = (cv2.erode(binary, disc) > 0) & (coarse >= matte.SURE)
    outside = (cv2.dilate(binary, disc) == 0) & (coarse <= 1 - matte.SURE)
    assert np.array_equal(refined[inside | outside], coarse[inside | outside])
    assert refined.dtype == np.float32 and refined.min() >= 0.0 and refined.max() <= 1.0


def test_an_empty_or_full_mask_is_given_back():
    image = np.zeros((40, 30, 3), np.uint8)
    for mask in (np.zeros((40, 30), np.float32), np.ones((40, 30), np.float32)):
        assert np.array_equal(refine_edge(image, mask), mask)


@pytest.fixture(scope="module")
def photo():
    from ilat_video.fileio import load_image
    from ilat_video.pose.extract import extract_image_person

    image = load_image(EXAMPLES / "photo.jpg")
    return image, extract_image_person(image).mask


def _edge_strength(image: np.ndarray, mask: np.ndarray) -> float:
    """The median colour gradient (Lab, Sobel) under the mask's outline (mask >= 0.5)."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), 1.0).astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    gradient = sum(cv2.Sobel(lab[..., c], cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(lab[..., c], cv2.CV_32F, 0, 1) ** 2
                   for c in range(3)) ** 0.5
    binary = (mask >= 0.5).astype(np.uint8)
    return float(np.median(gradient[(binary - cv2.erode(binary, np.ones((3, 3), np.uint8))) > 0]))


def test_the_real_photo_outline_lies_on_her_edges(photo):
    """MediaPipe's outline of photo.jpg is a staircase beside her arms and legs; refined, it lies on
    the photo's edges: the colour gradient under it is stronger by a quarter or more (1.33x here)."""
    image, mask = photo
    assert _edge_strength(image, refine_edge(image, mask)) > 1.25 * _edge_strength(image, mask)
