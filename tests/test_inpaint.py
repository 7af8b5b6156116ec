"""inpaint.inpaint: iLAT fills a free-form hole under an empty pose; only the hole changes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ilat_video.errors import IlatError
from ilat_video.inpaint import (
    InpaintCrop,
    crop_square,
    empty_pose,
    hole_box,
    hole_weight,
    inpaint,
)
from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig
from ilat_video.nn.transformer import LATransformer, transformer_preset


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    tokenizer = TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4, 4),
                                        codebook_size=32, code_dim=8))
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(4, 4), pose_map=True))
    return tokenizer.eval(), transformer.eval()


def _picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1)
    return np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


def _blob(height: int, width: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.mgrid[:height, :width]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def test_outside_the_hole_is_the_input_and_the_model_fills_the_hole(models):
    image = _picture(48, 40)
    hole = _blob(48, 40, 24, 20, 14, 7)
    out = inpaint(image, hole, *models)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[~hole], image[~hole])
    assert (out[hole] != image[hole]).any(axis=-1).mean() > 0.5  # the model painted the hole
    assert out is not image


def test_feathered_blend_stays_inside_the_hole(models):
    image = _picture(64, 64, seed=1)
    hole = _blob(64, 64, 30, 34, 18, 10)
    weight = hole_weight(hole, 3.0)
    assert weight[~hole].max() == 0.0 and weight[hole].min() > 0.0 and weight.max() == 1.0
    # The edge of the hole keeps part of the input: ramps from the edge inward.
    edge = hole & ~np.pad(hole, 1)[2:, 1:-1] | hole & ~np.pad(hole, 1)[:-2, 1:-1]
    assert weight[edge].max() < 0.5
    sharp = inpaint(image, hole, *models, feather=0)
    soft = inpaint(image, hole, *models, feather=3)
    assert np.array_equal(sharp[~hole], image[~hole]) and np.array_equal(soft[~hole], image[~hole])
    deep = weight == 1.0
    assert np.array_equal(sharp[deep], soft[deep])


def test_deterministic_per_seed(models):
    image = _picture(40, 56, seed=2)
    hole = _blob(40, 56, 20, 28, 10, 12)
    a = inpaint(image, hole, *models)
    assert np.array_equal(a, inpaint(image, hole, *models))
    s1 = inpaint(image, hole, *models, greedy=False, top_k=8, seed=1)
    assert np.array_equal(s1, inpaint(image, hole, *models, greedy=False, top_k=8, seed=1))
    others = [inpaint(image, hole, *models, greedy=False, top_k=8, temperature=3.0, seed=s) for s in (2, 3, 4)]
    assert any(not np.array_equal(s1, o) for o in others)


@pytest.mark.parametrize("shape, centre", [((30, 90), (15, 2)), ((90, 30), (88, 15)), ((50, 50), (0, 49)),
                                           ((17, 120), (8, 60))])
def test_holes_at_the_border_and_non_square_images(models, shape, centre):
    image = _picture(*shape, seed=3)
    hole = _blob(*shape, centre[0], centre[1], 6, 5)
    out = inpaint(image, hole, *models)
    assert out.shape == image.shape
    assert np.array_equal(out[~hole], image[~hole])


def test_a_tall_hole_in_a_narrow_image_is_mirrored_not_padded_grey():
    image = _picture(100, 20, seed=4)
    hole = _blob(100, 20, 50, 10, 45, 4)
    box = hole_box(hole)
    assert box.side > 20  # past the picture on both sides
    crop = crop_square(image, box, 32)
    assert not (crop == 128).all(axis=-1).any(axis=0).all()  # no all-grey column band
    # The crop's round trip puts the picture back where it was.
    ic = InpaintCrop(box, 32)
    back = ic.paste_size(ic.image(image), image.shape[:2])
    assert np.abs(back - image).mean() < 40


def test_empty_hole_returns_the_image(models):
    image = _picture(33, 47)
    out = inpaint(image, np.zeros((33, 47), bool), *models)
    assert np.array_equal(out, image) and out is not image


def test_a_hole_over_almost_everything_is_refused(models):
    image = _picture(40, 40)
    hole = np.ones((40, 40), bool)
    hole[:2, :2] = False
    with pytest.raises(IlatError, match="covers"):
        inpaint(image, hole, *models)


def test_bad_inputs_say_what_is_wrong(models):
    with pytest.raises(IlatError, match="uint8"):
        inpaint(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), bool), *models)
    with pytest.raises(IlatError, match="does not match"):
        inpaint(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), bool), *models)
    with pytest.raises(IlatError, match="decode"):
        inpaint(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool) & (np.arange(8) < 2), *models, decode="x")


def test_person_pose_expected_decoding_and_prefilled_condition_run(models):
    image = _picture(48, 48, seed=5)
    hole = _blob(48, 48, 24, 24, 16, 6)
    pose = np.zeros((13, 3), np.float32)
    pose[:, 0], pose[:, 1], pose[:, 2] = 24, np.linspace(10, 38, 13), 1.0
    for out in (inpaint(image, hole, *models, pose=pose), inpaint(image, hole, *models, decode="expected"),
                inpaint(image, hole, *models, condition="plate")):
        assert np.array_equal(out[~hole], image[~hole])
    assert empty_pose().shape == (13, 3) and not empty_pose().any()


def test_the_empty_pose_is_the_missing_embedding_and_no_pose_map(models):
    _, transformer = models
    pose = torch.from_numpy(empty_pose(2))
    tokens = transformer.pose_encoder(pose)
    expected = transformer.pose_encoder.missing_embedding + transformer.pose_encoder.joint_embedding
    assert torch.allclose(tokens, expected.expand_as(tokens))
    assert not transformer.pose_map.features(pose).any()


def test_inpainting_pairs_are_cut_as_inference_cuts():
    from ilat_video.data.inpaint_pairs import InpaintingPairs

    samples = list(InpaintingPairs(32, split="test", seed=3, max_videos=2, samples_per_video=2))
    assert len(samples) == 4
    for s in samples:
        assert s["reference"].shape == s["target"].shape == (3, 32, 32)
        assert s["region"].dtype == torch.bool and 0.02 < s["region"].float().mean() < 0.9
        assert not s["target_pose"].any()
        # Outside the hole the frame is the background (the person lies inside the grown hole),
        # up to the crop's antialiasing at the hole's edge.
        outside = ~s["region"]
        assert (s["reference"] - s["target"]).abs()[:, outside].mean() < 0.02
        assert (s["reference"] - s["target"]).abs()[:, s["region"]].mean() > 0.02
