"""The repair step of the photo path: the region a repair model regenerates (`compose.repair_region`),
its tiles (`repair.py`) and the training samples cut the same way (`data/repair_pairs.py`)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipeline import tiny_models

from ilat_video.compose import holes_in_person, repair_region, uncovered_body
from ilat_video.data.repair_pairs import RepairPairs
from ilat_video.data.synth import file_video
from ilat_video.errors import IlatError
from ilat_video.inpaint import InpaintCrop
from ilat_video.repair import (
    TILE_CONTEXT,
    paste_core,
    repair,
    tile_cores,
    tile_crop,
    tile_side,
)
from ilat_video.warp import WarpResult, prepare_reference, warp_to_pose


@pytest.fixture(scope="module")
def warped_pair():
    """A synthetic clip's frame 0 warped to frame 10's pose, with the body height."""
    video = file_video(5, "test", 1, 128, 16)
    layers = video.render_layers(0)
    reference = prepare_reference(layers.frame, layers.mask, video.poses[0])
    pose = video.poses[10]
    return warp_to_pose(reference, pose), pose, reference.height * 3.0, layers.frame


def test_the_repair_region_holds_the_holes_the_uncovered_body_and_the_doubtful_pixels(warped_pair):
    """By default (REPAIR_TRUST 0) what the warp could not draw; with a trust threshold also the
    drawn pixels trusted less than it, and never a pixel trusted more."""
    warped, pose, height, _ = warped_pair
    missing = holes_in_person(warped, height, pose) | uncovered_body(warped, pose)
    assert missing.any() and np.array_equal(repair_region(warped, pose, height), missing)
    region = repair_region(warped, pose, height, trust=0.5)
    assert not (missing & ~region).any()
    drawn = warped.alpha >= 0.5
    doubtful = drawn & (warped.confidence < 0.5 * warped.alpha)
    assert doubtful.any() and not (doubtful & ~region).any()
    # A trusted drawn pixel away from holes and the uncovered body is never regenerated.
    trusted = drawn & (warped.confidence >= 0.5 * warped.alpha) & ~missing
    assert trusted.any() and not (trusted & region).any()


def test_a_stricter_trust_threshold_only_grows_the_region(warped_pair):
    warped, pose, height, _ = warped_pair
    loose, strict = repair_region(warped, pose, height, trust=0.3), repair_region(warped, pose, height, trust=0.8)
    assert not (loose & ~strict).any() and strict.sum() > loose.sum()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), side=st.integers(3, 40), height=st.integers(10, 90), width=st.integers(10, 90))
def test_tile_cores_cover_the_region_without_overlap(seed, side, height, width):
    rng = np.random.default_rng(seed)
    region = rng.random((height, width)) < rng.uniform(0.0, 0.2)
    count = np.zeros(region.shape, int)
    for x0, y0 in tile_cores(region, side):
        core = count[y0:y0 + side, x0:x0 + side]
        assert region[y0:y0 + side, x0:x0 + side].any()  # no empty tile is made
        core += 1
    assert count.max(initial=0) <= 1  # cores never overlap
    assert (count[region] == 1).all()  # every region pixel lies in exactly one core


@settings(max_examples=30, deadline=None)
@given(x0=st.integers(-20, 60), y0=st.integers(-20, 60), side=st.integers(8, 60), context=st.floats(0.0, 0.5))
def test_a_core_pasted_back_matches_the_whole_crop_pasted_back(x0, y0, side, context):
    """paste_core is inpaint's paste_size restricted to the core's rectangle (same resampling)."""
    crop = tile_crop(x0, y0, side, 32, context)
    rng = np.random.default_rng(side)
    pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    whole = crop.paste_size(pixels, (128, 128))
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(128, x0 + side), min(128, y0 + side)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    core = paste_core(crop, pixels, cx0, cy0, cx1 - cx0, cy1 - cy0)
    np.testing.assert_allclose(core, whole[cy0:cy1, cx0:cx1], atol=0.01)  # float32 rounding of the offset


def test_a_tile_crop_keeps_its_context_around_the_core():
    crop = tile_crop(10, 20, 40, 64)
    assert isinstance(crop, InpaintCrop)
    assert crop.box.x0 == pytest.approx(10 - TILE_CONTEXT * 40)
    assert crop.box.side == pytest.approx(40 * (1 + 2 * TILE_CONTEXT))
    assert tile_side(100) == 50 and tile_side(1) >= 8


def test_repair_changes_only_the_region_and_refuses_bad_input(warped_pair):
    warped, pose, height, background = warped_pair
    frame = warped.over(background)
    region = repair_region(warped, pose, height)
    tokenizer, transformer = tiny_models()
    out = repair(frame, region, pose, tokenizer, transformer, body_height=height)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out[~region], frame[~region])
    assert not np.array_equal(out[region], frame[region])
    assert np.array_equal(repair(frame, np.zeros_like(region), pose, tokenizer, transformer, body_height=height), frame)
    with pytest.raises(IlatError, match="does not match"):
        repair(frame, region[:-1], pose, tokenizer, transformer, body_height=height)
    with pytest.raises(IlatError, match="decode"):
        repair(frame, region, pose, tokenizer, transformer, body_height=height, decode="mean")


def test_repair_pairs_are_tiles_of_a_warped_frame_with_its_truth():
    samples = list(RepairPairs(32, seed=1, max_videos=3))
    assert len(samples) >= 3
    for s in samples:
        assert s["reference"].shape == s["target"].shape == (3, 32, 32)
        assert s["region"].shape == (32, 32) and s["region"].any()
        assert s["target_pose"].shape == (13, 3) and np.array_equal(s["target_pose"], s["reference_pose"])
        assert -1.0 <= float(s["reference"].min()) and float(s["reference"].max()) <= 1.0
        # The region is the core's share: nothing of it in the context band at the crop's border.
        band = int(np.floor(32 * 0.8 * TILE_CONTEXT / (1 + 2 * 0.8 * TILE_CONTEXT))) - 1
        if band > 0:
            assert not s["region"][:band].any() and not s["region"][-band:].any()
            assert not s["region"][:, :band].any() and not s["region"][:, -band:].any()
        # Outside the region the condition shows the warped frame, which differs from the truth
        # somewhere in most samples (the warp is not the truth), but never everywhere.
    differ = [bool((s["reference"] != s["target"]).any()) for s in samples]
    assert any(differ)


def test_repair_pairs_are_reproducible_from_their_seed():
    a = next(iter(RepairPairs(32, seed=4, max_videos=1)))
    b = next(iter(RepairPairs(32, seed=4, max_videos=1)))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_an_empty_warp_needs_no_repair():
    empty = WarpResult(np.zeros((20, 20, 3), np.uint8), np.zeros((20, 20), np.float32),
                       np.zeros((20, 20), np.float32), np.full((20, 20), -1, np.int8))
    pose = np.zeros((13, 3), np.float32)
    assert not repair_region(empty, pose, 10.0).any()


def test_a_model_folder_with_a_repair_transformer_runs_it_for_repair_ilat(tmp_path, warped_pair):
    """from_pretrained loads folder/repair; the photo path's --repair ilat uses it, not the main one."""
    import torch

    from ilat_video.pipeline import Animator

    tokenizer, transformer = tiny_models(seed=0)
    _, other = tiny_models(seed=1)
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    transformer.save_pretrained(tmp_path / "transformer")
    plain = Animator.from_pretrained(tmp_path, device="cpu")
    assert plain.repair_transformer is None
    other.save_pretrained(tmp_path / "repair")
    animator = Animator.from_pretrained(tmp_path, device="cpu")
    loaded = dict(animator.repair_transformer.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in other.state_dict().items())
    warped, pose, height, background = warped_pair
    frame = warped.over(background)
    region = repair_region(warped, pose, height)
    by_main = repair(frame, region, pose, tokenizer, transformer, body_height=height)
    by_repair = repair(frame, region, pose, tokenizer, animator.repair_transformer, body_height=height)
    assert not np.array_equal(by_main, by_repair)  # the two models are told apart by what they make


def test_the_animator_repairs_with_its_repair_transformer(monkeypatch):
    """--repair ilat on the photo path hands compose the repair transformer (when there is one)."""
    from pathlib import Path

    import ilat_video.compose as compose
    from ilat_video.options import RenderOptions
    from ilat_video.pipeline import Animator

    data = Path(__file__).parent / "data"
    tokenizer, transformer = tiny_models(seed=0)
    _, other = tiny_models(seed=1)
    used = []

    def spy(frame, region, pose, tokenizer, model, **kwargs):
        used.append(model)
        return frame

    monkeypatch.setattr(compose, "ilat_repair", spy)
    for repair_model, expected in ((None, transformer), (other, other)):
        used.clear()
        animator = Animator(tokenizer, transformer, device="cpu", repair_transformer=repair_model)
        frames = list(animator.animate(data / "real" / "standing_hoodie_black_bg.png",
                                       data / "video" / "person_dribble.mp4", max_frames=2,
                                       options=RenderOptions(max_side=160, repair="ilat")))
        assert len(frames) == 2 and used and all(model is expected for model in used)


def test_repair_ilat_changes_the_default_frame_only_inside_the_repair_region():
    """Stage.frame(repair="ilat") is the default frame (holes filled by OpenCV) with the repair
    region regenerated: equal outside the region, different inside it."""
    from ilat_video.compose import Stage, body_height

    video = file_video(5, "test", 1, 128, 16)
    layers = video.render_layers(0)
    stage = Stage.prepare(layers.frame, layers.mask.astype(np.float32), video.poses[0], edge=False)
    pose = video.poses[10]
    holes_frame, warped = stage.frame(pose, repair="holes")
    ilat_frame, _ = stage.frame(pose, repair="ilat", models=tiny_models())
    region = repair_region(warped, pose, body_height(stage.reference))
    assert region.any()
    assert np.array_equal(ilat_frame[~region], holes_frame[~region])
    assert not np.array_equal(ilat_frame[region], holes_frame[region])
    with pytest.raises(IlatError, match="needs the model"):
        stage.frame(pose, repair="ilat")
