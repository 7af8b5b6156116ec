"""Evaluation: metric properties against independent computations, every method on tiny random
models, the Animator's inference reproduced exactly, the CLI and its results file."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy.ndimage import gaussian_filter

from ilat_video import eval as ev
from ilat_video.cli import main
from ilat_video.crop import tensor_to_image
from ilat_video.errors import DatasetError, IlatError, ModelFileError
from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN
from ilat_video.eval.pairs import stack_pairs
from ilat_video.nn.loading import load_models
from ilat_video.nn.transformer import LATransformer, transformer_preset
from ilat_video.options import RenderOptions

SIZE = 32


def tiny_models(seed: int = 0, reference_pose: bool = False, pose_map: bool = False):
    torch.manual_seed(seed)
    tokenizer = TSVQGAN(TokenizerConfig(resolution=SIZE, base_channels=8, channel_mult=(1, 2, 4, 4),
                                        codebook_size=32, code_dim=8))
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(4, 4),
                                                   use_reference_pose=reference_pose, pose_map=pose_map))
    if pose_map:  # it starts at zero: make the maps matter
        torch.nn.init.normal_(transformer.pose_map.proj.weight)
    return tokenizer.eval(), transformer.eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: with the cores busy, two threads that wait on each other make these tiny
    models 50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models():
    return tiny_models()


@pytest.fixture(scope="module")
def subsets():
    return ev.pair_subsets("synthetic", SIZE, count=3, seeds=(0, 1, 2))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, models) -> Path:
    folder = tmp_path_factory.mktemp("model")
    models[0].save_pretrained(folder / "tokenizer")
    models[1].save_pretrained(folder / "transformer")
    return folder


def random_image(seed: int, shape=(40, 48, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def test_psnr_of_identical_images_is_the_cap_not_inf():
    image = random_image(0)
    assert ev.psnr(image, image) == ev.PSNR_CAP_DB
    assert ev.psnr(image, image, cap=60.0) == 60.0


def test_psnr_and_mae_of_a_known_error():
    target = np.full((20, 20, 3), 100, np.uint8)
    pred = target + np.uint8(10)  # every value off by 10 levels
    assert ev.mse(pred, target) == pytest.approx((10 / 255) ** 2)
    assert ev.psnr(pred, target) == pytest.approx(20 * math.log10(255 / 10))
    assert ev.mae(pred, target) == pytest.approx(10 / 255)
    # Float images in [0, 1] give the same numbers as uint8.
    assert ev.psnr(pred / 255.0, target / 255.0) == pytest.approx(ev.psnr(pred, target))
    assert ev.mae(np.zeros((12, 12, 3)), np.ones((12, 12, 3))) == 1.0


def test_region_metrics_are_masked_means():
    target = random_image(1)
    pred = target.astype(np.int16)
    region = np.zeros(target.shape[:2], bool)
    region[5:20, 10:30] = True
    pred[region] += 20  # error inside the region only
    pred = np.clip(pred, 0, 255).astype(np.uint8)
    error = (pred.astype(np.float64) - target) / 255.0
    assert ev.mse(pred, target, region) == pytest.approx((error[region] ** 2).mean())
    assert ev.mae(pred, target, region) == pytest.approx(np.abs(error[region]).mean())
    assert ev.psnr(pred, target, ~region) == ev.PSNR_CAP_DB  # nothing differs outside
    # The frame's MSE is the region's weighted by its share of the pixels.
    assert ev.mse(pred, target) == pytest.approx(ev.mse(pred, target, region) * region.mean())
    assert math.isnan(ev.psnr(pred, target, np.zeros_like(region)))


def _reference_ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Wang et al. (2004) SSIM map per channel, Gaussian sigma 1.5 truncated at 3.5 sigma (11x11),
    population statistics, on [0, 1] images: written out from the paper's formula."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    out = np.empty_like(x)
    for c in range(x.shape[2]):
        a, b = x[..., c], y[..., c]

        def blur(v):
            return gaussian_filter(v, sigma=1.5, truncate=3.5, mode="reflect")

        mu_a, mu_b = blur(a), blur(b)
        var_a, var_b = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        out[..., c] = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return out


def test_ssim_matches_the_papers_formula():
    x = random_image(2) / 255.0
    y = np.clip(x + np.random.default_rng(3).normal(0, 0.1, x.shape), 0, 1)
    expected = _reference_ssim_map(x, y)
    np.testing.assert_allclose(ev.ssim_map(x, y), expected, atol=1e-6)
    # Whole frame: the mean away from the 5-pixel border where the 11x11 window does not fit.
    assert ev.ssim(x, y) == pytest.approx(expected[5:-5, 5:-5].mean(), abs=1e-6)
    region = np.zeros(x.shape[:2], bool)
    region[:12, 3:40] = True
    assert ev.ssim(x, y, region) == pytest.approx(expected[region].mean(), abs=1e-6)


def test_ssim_properties():
    x = random_image(4)
    assert ev.ssim(x, x) == pytest.approx(1.0)
    region = np.zeros(x.shape[:2], bool)
    region[10:20, 10:20] = True
    assert ev.ssim(x, x, region) == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    noisy = [np.clip(x + rng.normal(0, s, x.shape), 0, 255).astype(np.uint8) for s in (5, 20, 60)]
    values = [ev.ssim(n, x) for n in noisy]
    assert values[0] > values[1] > values[2]  # more noise, lower SSIM
    assert ev.ssim(noisy[1], x) == pytest.approx(ev.ssim(x, noisy[1]))  # symmetric
    assert ev.ssim(noisy[1], x, region) == pytest.approx(ev.ssim(x, noisy[1], region))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), share=st.floats(0.05, 0.95))
def test_metric_ranges_on_random_images(seed, share):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    region = rng.random((16, 24)) < share
    region[0, 0] = True
    numbers = ev.image_metrics(a, b, region)
    for scope in ("frame", "region"):
        m = numbers[scope]
        assert 0.0 <= m["mae"] <= 1.0
        assert -1.0 <= m["ssim"] <= 1.0
        assert 0.0 < m["psnr"] <= ev.PSNR_CAP_DB
        # Jensen: MAE <= RMSE = 10^(-PSNR/20).
        assert m["mae"] <= 10 ** (-m["psnr"] / 20) + 1e-12
    assert numbers["region"]["psnr"] == pytest.approx(ev.psnr(a, b, region))
    assert numbers["region"]["ssim"] == pytest.approx(ev.ssim(a, b, region))
    assert numbers["frame"]["mae"] == pytest.approx(ev.mae(a, b))


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        ev.psnr(np.full((16, 16, 3), 2.0), np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="shape"):
        ev.mae(np.zeros((16, 16, 3)), np.zeros((16, 17, 3)))
    with pytest.raises(ValueError, match="region"):
        ev.mae(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)), np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="11x11"):
        ev.ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


# --------------------------------------------------------------------------------------------
# Frechet distance
# --------------------------------------------------------------------------------------------


def test_frechet_distance_of_known_gaussians():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s.
    assert ev.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    # Diagonal covariances: the sum over dimensions.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 1.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum()
    assert ev.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected)
    # Rotating both distributions changes nothing (the covariances then do not commute with the axes).
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rotated = ev.frechet_distance(q @ mu1, q @ np.diag(var1) @ q.T, q @ mu2, q @ np.diag(var2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-6)
    sigma = q @ np.diag(var1) @ q.T
    assert ev.frechet_distance(mu1, sigma, mu1, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_from_samples_approaches_the_exact_value():
    rng = np.random.default_rng(1)
    a = rng.normal([0.0, 0.0], [1.0, 2.0], size=(20000, 2))
    b = rng.normal([1.0, 0.0], [1.0, 1.0], size=(20000, 2))
    exact = 1.0 + (2.0 - 1.0) ** 2
    assert ev.frechet_distance(*ev.feature_statistics(a), *ev.feature_statistics(b)) == pytest.approx(exact, abs=0.06)
    with pytest.raises(ValueError):
        ev.feature_statistics(np.zeros((1, 4)))


# --------------------------------------------------------------------------------------------
# Methods on tiny random models
# --------------------------------------------------------------------------------------------


def test_test_pairs_are_fixed_per_seed_and_differ_between_seeds(subsets):
    again = ev.pair_subsets("synthetic", SIZE, count=3, seeds=(0, 1, 2))
    for seed in (0, 1, 2):
        for a, b in zip(subsets[seed], again[seed]):
            assert torch.equal(a["reference"], b["reference"]) and torch.equal(a["target"], b["target"])
    assert not torch.equal(subsets[0][0]["reference"], subsets[1][0]["reference"])


@pytest.mark.parametrize("method", ev.METHODS)
def test_every_method_gives_sane_numbers(models, subsets, method):
    result = ev.evaluate_model(models, subsets, method=method, batch_size=2, device="cpu", keep_examples=2)
    assert [s.seed for s in result.subsets] == [0, 1, 2]
    assert all(s.pairs == 3 for s in result.subsets)
    summary = result.summary()
    for scope in ("frame", "region"):
        m = {k: v["mean"] for k, v in summary["metrics"][scope].items()}
        assert 0 < m["psnr"] <= ev.PSNR_CAP_DB and -1 <= m["ssim"] <= 1 and 0 <= m["mae"] <= 1
        assert summary["metrics"][scope]["psnr"]["std"] >= 0
    assert 0 < summary["region_rate"]["mean"] <= 1
    assert summary["seconds_per_frame"]["mean"] >= 0
    assert len(result.examples) == 2 and result.examples[0].shape == (SIZE, SIZE, 3)
    # Every method but vanilla keeps the outside of the region through Eq. 4 or by copying.
    if method == "copy":
        assert summary["metrics"]["outside"]["psnr"]["mean"] > summary["metrics"]["region"]["psnr"]["mean"]


def test_copy_gives_exactly_the_metrics_of_reference_against_target(subsets):
    result = ev.evaluate_model(None, subsets, method="copy", device="cpu")
    for subset in result.subsets:
        numbers = [ev.image_metrics(tensor_to_image(p["reference"]), tensor_to_image(p["target"]),
                                    p["region"].numpy()) for p in subsets[subset.seed]]
        for scope in ("frame", "region"):
            for metric in ev.METRICS:
                assert subset.metrics[scope][metric] == pytest.approx(np.mean([n[scope][metric] for n in numbers]))
    assert math.isnan(result.summary()["region_rate"]["mean"])  # no tokenizer, no token grid


def test_paired_difference_on_the_same_pairs(models, subsets):
    copy = ev.evaluate_model(models, subsets, method="copy", device="cpu")
    recon = ev.evaluate_model(models, subsets, method="reconstruction", device="cpu")
    assert ev.paired_difference(copy, copy)["mean"] == 0.0
    assert ev.paired_difference(copy, copy)["better_share"] == 0.0  # ties are not wins
    diff = ev.paired_difference(copy, recon, metric="mae")
    # The mean of differences is the difference of means (every pair has a region here).
    expected = np.mean([a.metrics["region"]["mae"] - b.metrics["region"]["mae"]
                        for a, b in zip(copy.subsets, recon.subsets)])
    assert diff["mean"] == pytest.approx(expected)
    assert diff["pairs"] == 9 and 0.0 <= diff["better_share"] <= 1.0
    with pytest.raises(ValueError, match="same subsets"):
        ev.paired_difference(copy, ev.evaluate_model(models, {0: subsets[0]}, method="copy", device="cpu"))


@pytest.mark.parametrize("method, background, decode, poses", [
    ("ilat", "model", "tokens", "reference tokens"),
    ("ilat-paste", "reference", "tokens", "reference tokens"),
    ("ilat-unchanged", "unchanged", "tokens", "reference tokens"),
    ("ilat-expected", "unchanged", "expected", "reference tokens"),
    ("ilat", "model", "tokens", "pose maps"),
])
def test_ilat_reproduces_the_animators_frames(models, subsets, method, background, decode, poses):
    """Both feed the reference pose the same way, as tokens or as a pose map."""
    from ilat_video.pipeline import AnimationPlan, Animator

    tokenizer, transformer = tiny_models(reference_pose=poses == "reference tokens", pose_map=poses == "pose maps")
    animator = Animator(tokenizer, transformer, device="cpu")
    pairs = subsets[1][:2]
    result = ev.evaluate_model((tokenizer, transformer), {1: pairs}, method=method, device="cpu", keep_examples=2)
    for pair, frame in zip(pairs, result.examples):
        plan = AnimationPlan(reference=None, driving=None, target=None, missing=None, box=None, size=SIZE,
                             reference_crop=tensor_to_image(pair["reference"]),
                             reference_pose_crop=pair["reference_pose"].numpy(),
                             target_crop=pair["target_pose"].numpy()[None])
        (expected,) = list(animator.generate(plan, RenderOptions(frame="square", background=background,
                                                                  decode=decode)))
        # Batch 1 against batch 2: float sums may move a pixel on a rounding edge by one level.
        assert np.abs(expected.astype(int) - frame).max() <= 1


def test_ilat_paste_changes_only_what_lies_outside_the_region(models, subsets):
    pairs = {0: subsets[0][:4]}
    plain = ev.evaluate_model(models, pairs, method="ilat", device="cpu", keep_examples=4)
    pasted = ev.evaluate_model(models, pairs, method="ilat-paste", device="cpu", keep_examples=4)
    for pair, a, b in zip(pairs[0], plain.examples, pasted.examples):
        region = pair["region"].numpy()
        assert region.any() and not region.all()
        assert np.array_equal(a[region], b[region])  # inside: the model's pixels, untouched
        far = ~ev_dilate(region, 2)
        reference = tensor_to_image(pair["reference"])
        assert np.array_equal(b[far], reference[far])  # beyond the feather: the reference's own
    (a,), (b,) = plain.subsets, pasted.subsets
    # Region PSNR and MAE see region pixels only; region SSIM's 11x11 window reaches outside.
    assert {m: a.metrics["region"][m] for m in ("psnr", "mae")} == {m: b.metrics["region"][m] for m in ("psnr", "mae")}
    assert b.metrics["outside"]["psnr"] > a.metrics["outside"]["psnr"] + 3


@pytest.mark.parametrize("keep", ["all", "none"])
def test_ilat_unchanged_shows_the_reference_where_the_model_kept_its_tokens(models, subsets, monkeypatch, keep):
    """A sampler that returns the reference's own tokens everywhere (from either of its encodings):
    the frames are the reference itself; one that changes every token: the frames are ilat-paste's."""
    import ilat_video.sampling

    tokenizer, transformer = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    with torch.no_grad():
        _, reference_tokens, _ = tokenizer.encode(batch["reference"])
        _, region_tokens, _ = tokenizer.encode(batch["reference"], batch["region"].bool())
    size = tokenizer.config.codebook_size
    assert (reference_tokens != region_tokens).any()  # the two encodings differ near the region
    if keep == "all":  # the reference's tokens, from either encoding
        tokens = torch.where(torch.arange(reference_tokens.shape[-1]) % 2 == 0, reference_tokens, region_tokens)
    else:  # a token neither encoding has there
        tokens = (reference_tokens + 1) % size
        tokens = torch.where(tokens == region_tokens, (reference_tokens + 2) % size, tokens)
    monkeypatch.setattr(ilat_video.sampling, "sample_local", lambda *a, **k: tokens.flatten(1).clone())
    out = ev.generate("ilat-unchanged", tokenizer, transformer, batch)
    pasted = ev.generate("ilat-paste", tokenizer, transformer, batch)
    assert batch["region"].any()
    if keep == "all":
        assert torch.equal(out, batch["reference"]) and not torch.equal(pasted, batch["reference"])
    else:
        assert torch.equal(out, pasted)


def test_ilat_expected_renders_the_expectation_of_the_logits(models, subsets, monkeypatch):
    """A sampler sure of its tokens (one logit far above the rest): the expected code is the token's
    own and the frames are ilat-unchanged's; an unsure one (equal logits): the region's changed
    cells show the mean code instead, and nothing outside them moves."""
    import ilat_video.sampling

    tokenizer, transformer = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    with torch.no_grad():
        _, reference_tokens, _ = tokenizer.encode(batch["reference"])
    size = tokenizer.config.codebook_size
    tokens = ((reference_tokens + 1) % size).flatten(1)  # changed everywhere
    sure = torch.nn.functional.one_hot(tokens, size).float() * 1e4

    def sampler(logits):
        """sample_local's protocol: the tokens, and with a codebook the expected codes of `logits`."""
        def sample(*args, codebook=None, **kwargs):
            if codebook is None:
                return tokens.clone()
            return tokens.clone(), ilat_video.sampling.expected_codes(logits, codebook)
        return sample

    monkeypatch.setattr(ilat_video.sampling, "sample_local", sampler(sure))
    unchanged = ev.generate("ilat-unchanged", tokenizer, transformer, batch)
    assert torch.allclose(ev.generate("ilat-expected", tokenizer, transformer, batch), unchanged, atol=1e-5)
    monkeypatch.setattr(ilat_video.sampling, "sample_local", sampler(torch.zeros_like(sure)))
    unsure = ev.generate("ilat-expected", tokenizer, transformer, batch)
    region = batch["region"].bool()
    assert not torch.allclose(unsure, unchanged, atol=1e-3)
    grown = np.stack([ev_dilate(r, 2) for r in region.numpy()])
    far = ~torch.from_numpy(grown)[:, None].expand_as(unsure)
    assert torch.equal(unsure[far], unchanged[far])  # the reference's own pixels far from the region


def test_reconstruction_unchanged_of_the_reference_itself_is_the_reference(models, subsets):
    """The target's true tokens are the reference's own when the target is the reference: nothing
    changed, so the bound shows the reference exactly, where Eq. 4 alone re-renders it."""
    tokenizer, _ = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    batch["target"] = batch["reference"]
    out = ev.generate("reconstruction-unchanged", tokenizer, None, batch)
    assert torch.equal(out, batch["reference"])
    assert not torch.equal(ev.generate("reconstruction", tokenizer, None, batch), batch["reference"])


def ev_dilate(region: np.ndarray, steps: int) -> np.ndarray:
    """Chessboard dilation of a bool (H, W) array by `steps` pixels."""
    grown = region.copy()
    for _ in range(steps):
        padded = np.pad(grown, 1)
        grown = np.max([padded[i:i + grown.shape[0], j:j + grown.shape[1]] for i in range(3) for j in range(3)],
                       axis=0)
    return grown


def test_reconstruction_with_an_empty_region_decodes_the_reference_features(models, subsets):
    tokenizer, transformer = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    batch["region"] = torch.zeros_like(batch["region"])
    out = ev.generate("reconstruction", tokenizer, transformer, batch)
    with torch.no_grad():
        _, _, z = tokenizer.encode(batch["reference"], batch["region"])
        expected = tokenizer.decoder(z).clamp(-1, 1)
    torch.testing.assert_close(out, expected)


def test_reconstruction_of_the_reference_itself_is_the_tokenizers_region_forward(models, subsets):
    tokenizer, _ = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    batch["target"] = batch["reference"]
    out = ev.generate("reconstruction", tokenizer, None, batch)
    with torch.no_grad():
        expected, _, _ = tokenizer(batch["reference"], batch["region"])
    torch.testing.assert_close(out, expected.clamp(-1, 1))


def test_vanilla_is_every_token_by_plain_ar_decoded_without_eq4(models, subsets):
    from ilat_video.sampling import sample_naive
    from ilat_video.conditioning import normalize_pose

    tokenizer, transformer = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    vanilla = ev.generate("vanilla", tokenizer, transformer, batch)
    # The same through the uncached sampler that re-runs the whole sequence at each step.
    with torch.no_grad():
        _, cond, _ = tokenizer.encode(batch["reference"])
        everything = torch.ones_like(cond, dtype=torch.bool)
        tokens = sample_naive(transformer, cond.flatten(1), torch.zeros_like(cond.flatten(1)),
                              normalize_pose(batch["target_pose"], SIZE), everything, mask="ar")
        expected = tokenizer.decoder(tokenizer.quantizer.lookup(tokens.view_as(cond))).clamp(-1, 1)
    torch.testing.assert_close(vanilla, expected)


def test_sampling_is_seeded_and_greedy_is_deterministic(models, subsets):
    kwargs = dict(method="ilat", device="cpu", keep_examples=3)
    pairs = {0: subsets[0]}
    greedy = [ev.evaluate_model(models, pairs, **kwargs).examples for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*greedy))
    same = [ev.evaluate_model(models, pairs, options=RenderOptions(frame="square", top_k=8, temperature=2.0), **kwargs).examples for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*same))


def test_a_penn_folder_gives_test_pairs(tmp_path):
    from ilat_video.data.synth import write_penn_dataset

    write_penn_dataset(tmp_path, videos=1, frames=4, size=48, seed=0, test_videos=2)
    subsets = ev.pair_subsets(tmp_path, SIZE, count=3, seeds=(0, 1))
    assert [len(s) for s in subsets.values()] == [3, 3]
    assert subsets[0][0]["reference"].shape == (3, SIZE, SIZE)
    with pytest.raises(DatasetError):
        ev.pair_subsets(tmp_path / "missing", SIZE, count=3)


def test_bad_model_folders(tmp_path, models):
    with pytest.raises(ModelFileError, match="no such model folder"):
        load_models(tmp_path / "missing")
    models[1].save_pretrained(tmp_path / "transformer_only")
    with pytest.raises(ModelFileError, match="--tokenizer"):
        load_models(tmp_path / "transformer_only")
    other = TSVQGAN(TokenizerConfig(resolution=SIZE, base_channels=8, channel_mult=(1, 2, 4),
                                    codebook_size=32, code_dim=8))  # 8x8 tokens, not 4x4
    other.save_pretrained(tmp_path / "other_tokenizer")
    with pytest.raises(ModelFileError, match="grid"):
        load_models(tmp_path / "transformer_only", tokenizer=tmp_path / "other_tokenizer")
    with pytest.raises(IlatError, match="unknown method"):
        ev.evaluate_model(models, {0: []}, method="nope")


def test_comparison_strip_layout(subsets):
    pairs = subsets[0][:2]
    images = [np.full((SIZE, SIZE, 3), 200, np.uint8)] * 2
    strip = ev.comparison_strip(pairs, {"ilat": images, "vanilla": images}, scale=2)
    band = strip.shape[0] - 2 * SIZE * 2
    assert strip.shape[1] == 5 * SIZE * 2 and band >= 0
    body = strip[band:]
    # Column 0 is the reference, the last the ground truth, the middle ones the given images.
    np.testing.assert_array_equal(body[:SIZE * 2:2, :SIZE * 2:2], tensor_to_image(pairs[0]["reference"]))
    np.testing.assert_array_equal(body[:SIZE * 2:2, 4 * SIZE * 2::2], tensor_to_image(pairs[0]["target"]))
    assert (body[:, 2 * SIZE * 2:4 * SIZE * 2] == 200).all()
    with pytest.raises(ValueError):
        ev.comparison_strip(pairs, {"ilat": images[:1]})


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def test_cli_writes_json_markdown_and_strip(tmp_path, model_dir):
    out, md, strip = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "s.png"
    result = CliRunner().invoke(main, [
        "evaluate", "--model", str(model_dir), "--data", "synthetic", "--pairs", "2", "--seeds", "0,1,2",
        "--method", "ilat,copy,reconstruction", "--out", str(out), "--markdown", str(md), "--strip", str(strip),
        "--strip-pairs", "2", "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["schema"] == ev.SCHEMA
    assert doc["data"] == {"source": "synthetic", "split": "test", "pairs_per_subset": 2,
                           "subset_seeds": [0, 1, 2], "size": SIZE}
    assert set(doc["methods"]) == {"ilat", "copy", "reconstruction"}
    assert doc["command"].startswith("ilat-video ")
    for name, entry in doc["methods"].items():
        assert entry["pairs"] == 6 and len(entry["subsets"]) == 3
        for scope in ev.SCOPES:
            for metric in ev.METRICS:
                stats = entry["metrics"][scope][metric]
                assert set(stats) == {"mean", "std"}
                assert stats["mean"] is None or math.isfinite(stats["mean"])
        assert entry["fid"] is None
        assert entry["seconds_per_frame"]["mean"] >= 0 and entry["cpu_seconds_per_frame"]["mean"] >= 0
        assert entry["subsets"][0]["metrics"]["region"]["psnr"] is not None
        assert len(entry["subsets"][0]["per_pair"]["region"]["psnr"]) == 2
    assert doc["methods"]["copy"]["model"] is None and doc["methods"]["ilat"]["model"] == str(model_dir)
    assert set(doc["paired"]) == {"ilat - copy", "ilat - reconstruction"}
    assert set(doc["paired"]["ilat - copy"]["psnr"]) == {"mean", "std", "better_share", "pairs"}
    table = md.read_text()
    assert "| ilat - copy |" in table
    assert "| method |" in table and "| ilat |" in table and "| copy |" in table
    with Image.open(strip) as image:  # reference, pose, ilat, reconstruction, ground truth
        assert image.size[0] == 5 * SIZE * 2
    # The file reads back: the same entries, and pairing across files gives the run's own pairing.
    loaded = ev.load_results(out)
    assert {k: v.to_dict() for k, v in loaded.items()} == json.loads(json.dumps(doc["methods"]))
    again = ev.paired_difference(loaded["ilat"], loaded["copy"], scope="region", metric="psnr")
    assert again == pytest.approx(doc["paired"]["ilat - copy"]["psnr"])
    # ... and so does the script that pairs methods of different files.
    script = Path(__file__).parents[1] / "scripts" / "compare_results.py"
    run = subprocess.run([sys.executable, str(script), f"{out}:ilat", f"{out}:copy"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert f"{again['mean']:+.2f} ± {again['std']:.2f}" in run.stdout
    bad = subprocess.run([sys.executable, str(script), f"{out}:ilat", f"{out}:vanilla"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no method 'vanilla'" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--model", "{tmp}/missing", "--data", "synthetic"], "no such model folder"),
    (["--data", "{tmp}/missing"], "Penn Action layout"),
    (["--data", "{tmp}/empty"], "Penn Action layout"),
    (["--data", "synthetic", "--method", "vanilla"], "--baseline-model"),
    (["--data", "synthetic", "--fid"], "--inception-weights"),
    (["--data", "synthetic", "--out", "{tmp}/nowhere/r.json"], "does not exist"),
    (["--data", "synthetic", "--seeds", "0,x"], "comma-separated"),
    (["--data", "synthetic", "--method", "ilat,best"], "distinct methods"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, model_dir, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(tmp=tmp_path) for a in args]
    if "--model" not in args:
        args = ["--model", str(model_dir), *args]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["evaluate", "--pairs", "1", "--seeds", "0", *args]
                                if "--seeds" not in args else ["evaluate", "--pairs", "1", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --------------------------------------------------------------------------------------------
# FID plumbing and the Inception network
# --------------------------------------------------------------------------------------------


def _colour_features(images: np.ndarray) -> np.ndarray:
    """A cheap stand-in feature extractor: each image's mean colour and its spread."""
    x = images.astype(np.float64) / 255.0
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


def test_fid_is_zero_when_the_results_are_the_ground_truth(subsets):
    same = {0: [{**p, "target": p["reference"]} for p in subsets[0]] + [{**p, "target": p["reference"]}
                                                                        for p in subsets[1]]}
    result = ev.evaluate_model(None, same, method="copy", features=_colour_features)
    assert result.fid == pytest.approx(0.0, abs=1e-6)
    moved = ev.evaluate_model(None, {0: subsets[0] + subsets[1]}, method="copy", features=_colour_features)
    assert moved.fid > 0  # references and targets differ where the person moved
    assert moved.to_dict()["fid"] == moved.fid


def test_inception_network_has_the_published_size_and_loads_strictly(tmp_path):
    from safetensors.torch import save_file

    from ilat_video.eval.inception import InceptionFeatures, InceptionPool3

    network = InceptionPool3()
    # torchvision's inception_v3 has 27,161,264 parameters; less its classifier (2048 x 1000 + 1000)
    # and its auxiliary head (conv 768->128 1x1, BN, conv 128->768 5x5, BN, fc 768 x 1000 + 1000).
    aux = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
    assert sum(p.numel() for p in network.parameters()) == 27_161_264 - (2048 * 1000 + 1000) - aux
    state = {k: v.contiguous() for k, v in network.state_dict().items() if not k.endswith("num_batches_tracked")}
    # The FID port's file also holds its 1008-way classifier, which pool3 does not use.
    save_file({**state, "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)},
              str(tmp_path / "ok.safetensors"))
    features = InceptionFeatures.from_file(tmp_path / "ok.safetensors")
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
    out = features(images)
    assert out.shape == (2, 2048) and np.isfinite(out).all()
    for name, broken in [
        ("missing", {k: v for k, v in state.items() if k != "Mixed_7c.branch_pool.conv.weight"}),
        ("unexpected", {**state, "Mixed_8a.conv.weight": torch.zeros(1)}),
        ("wrong shapes", {**state, "Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 5, 5)}),
    ]:
        with pytest.raises(ModelFileError, match=name):
            network.load_strict(broken)
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError, match="safetensors"):
        InceptionFeatures.from_file(tmp_path / "junk.safetensors")


def test_cli_baselines_from_a_transformer_folder_and_a_tokenizer_alone(tmp_path, model_dir, models):
    models[1].save_pretrained(tmp_path / "ar_transformer")  # stands in for a --mask ar run
    out = tmp_path / "ar.json"
    result = CliRunner().invoke(main, [
        "evaluate", "--model", str(model_dir), "--baseline-model", str(tmp_path / "ar_transformer"),
        "--data", "synthetic", "--pairs", "2", "--seeds", "0,1,2", "--device", "cpu", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    # Without --method: iLAT and the tokenizer bound, each also as the Animator writes it (and iLAT with
    # expected codes), copy, and both baselines.
    assert list(doc["methods"]) == ["ilat", "ilat-unchanged", "ilat-expected", "reconstruction",
                                    "reconstruction-unchanged", "copy", "vanilla", "taming-la"]
    assert doc["methods"]["vanilla"]["model"] == str(tmp_path / "ar_transformer")
    # A tokenizer alone serves copy and reconstruction, and is refused for ilat.
    tokenizer_only = model_dir / "tokenizer"
    tok, tr = load_models(tokenizer_only, transformer_required=False)
    assert tr is None and tok.config.resolution == SIZE
    result = CliRunner().invoke(main, ["evaluate", "--model", str(tokenizer_only), "--data", "synthetic",
                                       "--pairs", "1", "--seeds", "0", "--method", "copy,reconstruction"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["evaluate", "--model", str(tokenizer_only), "--data", "synthetic",
                                       "--pairs", "1", "--seeds", "0", "--method", "ilat"])
    assert result.exit_code == 2 and "no transformer" in result.output


def test_two_views_average_the_frame_with_the_mirrored_pairs_frame(models, subsets):
    """views=2 is the mean of the plain frame and the frame made from the mirrored pair (image,
    region, and poses with left and right swapped) mirrored back; methods without a sampler
    ignore views."""
    from ilat_video.pose.skeleton import FLIP_PERMUTATION

    tokenizer, transformer = models
    batch = stack_pairs(subsets[0][:2], "cpu")
    mirrored = {"reference": batch["reference"].flip(-1), "target": batch["target"].flip(-1),
                "region": batch["region"].flip(-1)}
    for key in ("reference_pose", "target_pose"):
        pose = batch[key][:, list(FLIP_PERMUTATION)].clone()
        pose[..., 0] = SIZE - 1 - pose[..., 0]
        mirrored[key] = pose
    for method in ("ilat", "ilat-unchanged", "ilat-expected"):
        plain = ev.generate(method, tokenizer, transformer, batch).float()
        back = ev.generate(method, tokenizer, transformer, mirrored).float().flip(-1)
        both = ev.generate(method, tokenizer, transformer, batch, RenderOptions(frame="square", views=2))
        assert not torch.allclose(plain, back, atol=1e-3)  # the mirrored run is a different guess
        assert torch.allclose(both, (plain + back) / 2, atol=1e-5), method
    assert torch.equal(ev.generate("copy", tokenizer, transformer, batch, RenderOptions(frame="square", views=4)), batch["reference"])
    with pytest.raises(IlatError, match="views must be between 1 and 16"):
        RenderOptions(frame="square", views=17)


def test_merged_parts_give_the_numbers_of_one_run_over_all_their_subsets(tmp_path, model_dir):
    """scripts/merge_results.py: an evaluation split by seed across processes, put back together."""
    script = Path(__file__).parents[1] / "scripts" / "merge_results.py"

    def evaluate(seeds, name):
        result = CliRunner().invoke(main, ["evaluate", "--model", str(model_dir), "--data", "synthetic",
                                           "--pairs", "2", "--seeds", seeds, "--method", "ilat,copy",
                                           "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        return tmp_path / name

    whole, first, rest = evaluate("0,1,2", "whole.json"), evaluate("1", "a.json"), evaluate("2,0", "b.json")
    run = subprocess.run([sys.executable, str(script), str(first), str(rest), "-o", str(tmp_path / "m.json"),
                          "--markdown", str(tmp_path / "m.md")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    merged, joint = json.loads((tmp_path / "m.json").read_text()), json.loads(whole.read_text())
    assert merged["data"]["subset_seeds"] == [0, 1, 2]
    for method in ("ilat", "copy"):
        for scope, metrics in joint["methods"][method]["metrics"].items():
            for metric, stats in metrics.items():
                assert merged["methods"][method]["metrics"][scope][metric] == pytest.approx(stats)
    assert merged["paired"]["ilat - copy"]["psnr"] == pytest.approx(joint["paired"]["ilat - copy"]["psnr"])
    assert "| ilat |" in (tmp_path / "m.md").read_text()
    # The same seed twice, or parts of different evaluations, are refused without output.
    twice = subprocess.run([sys.executable, str(script), str(first), str(whole), "-o", str(tmp_path / "x.json")],
                           capture_output=True, text=True)
    assert twice.returncode == 2 and "more than one file" in twice.stderr
    other = tmp_path / "other.json"
    document = json.loads(first.read_text())
    document["settings"]["views"] = 4
    other.write_text(json.dumps(document))
    differ = subprocess.run([sys.executable, str(script), str(other), str(rest), "-o", str(tmp_path / "x.json")],
                            capture_output=True, text=True)
    assert differ.returncode == 2 and "settings" in differ.stderr
    assert not (tmp_path / "x.json").exists()
