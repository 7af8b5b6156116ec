"""Personalising the decoder on the reference (`ilat_video/personalize.py`), in the Animator, in
`evaluate` and on the command line, on tiny random models (quality is the benchmarks' job)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_evaluate import SIZE, one_thread, tiny_models  # noqa: F401 (autouse fixture)
from test_pipeline import driving, model_dir, reference, run_animate  # noqa: F401 (fixtures)

from ilat_video import eval as ev
from ilat_video.eval.pairs import stack_pairs
from ilat_video.options import MAX_TUNING_STEPS, RenderOptions
from ilat_video.cli import main
from ilat_video.errors import IlatError
from ilat_video.personalize import (personalize_decoder, personalize_transformer, tuning_examples,
                                    view_pair_examples)
from ilat_video.pipeline import Animator
from ilat_video.pose.skeleton import FLIP_PERMUTATION
from ilat_video.regions import union_region
from ilat_video.regions import region_mse


@pytest.fixture(scope="module")
def models():
    return tiny_models(3)


@pytest.fixture(scope="module")
def pairs():
    return ev.pair_subsets("synthetic", SIZE, count=2, seeds=(0,))[0]


def one(pair):
    return pair["reference"][None], pair["reference_pose"][None].float()


def weights(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_zero_steps_is_the_shipped_tokenizer_itself(models, pairs):
    tokenizer, transformer = models
    assert personalize_decoder(tokenizer, transformer, *one(pairs[0]), steps=0) is tokenizer


def test_only_a_copy_of_the_decoder_changes(models, pairs):
    tokenizer, transformer = models
    before, transformer_before = weights(tokenizer), weights(transformer)
    tuned = personalize_decoder(tokenizer, transformer, *one(pairs[0]), steps=5)
    after = weights(tuned)
    assert all(torch.equal(v, before[k]) for k, v in weights(tokenizer).items())  # the original untouched
    assert all(torch.equal(v, transformer_before[k]) for k, v in weights(transformer).items())
    assert all(torch.equal(v, before[k]) for k, v in after.items() if not k.startswith("decoder."))
    changed = [k for k, v in after.items() if k.startswith("decoder.") and not torch.equal(v, before[k])]
    assert changed and not tuned.training and not any(p.requires_grad for p in tuned.parameters())


def test_tuning_lowers_the_reference_error_it_trains_on(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[1])
    examples = tuning_examples(tokenizer, transformer, reference, pose)

    def error(tok):
        with torch.no_grad():
            return float(np.mean([region_mse(tok.decode(codes, z=z, region=cells).float(), target, region).item()
                                  for codes, z, cells, target, region in examples]))

    tuned = personalize_decoder(tokenizer, transformer, reference, pose, steps=40, lr=1e-3)
    assert error(tuned) < 0.8 * error(tokenizer)


def test_tuning_examples_cover_the_reference_pose_region_in_every_view(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[0])
    examples = tuning_examples(tokenizer, transformer, reference, pose, views=4)
    own = torch.from_numpy(union_region(pose[0].numpy(), pose[0].numpy(), SIZE, SIZE))
    assert len(examples) == 4
    assert torch.equal(examples[0][3], reference) and torch.equal(examples[0][4][0], own)
    assert torch.equal(examples[1][3], reference.flip(-1)) and torch.equal(examples[1][4][0], own.flip(-1))
    for codes, z, cells, _, region in examples:  # the codes fill the region's cells, z the rest
        assert torch.equal(cells, tokenizer.token_region(region)) and codes.shape == z.shape


def test_seeded_and_the_same_under_inference_mode(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[0])
    a = weights(personalize_decoder(tokenizer, transformer, reference, pose, steps=6, seed=1))
    with torch.inference_mode():  # as the Animator calls it
        b = weights(personalize_decoder(tokenizer, transformer, reference.clone(), pose.clone(), steps=6, seed=1))
    c = weights(personalize_decoder(tokenizer, transformer, reference, pose, steps=6, seed=2))
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    assert any(not torch.equal(v, c[k]) for k, v in a.items())


def test_bad_requests_are_refused(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[0])
    for steps in (-1, MAX_TUNING_STEPS + 1):
        with pytest.raises(IlatError, match="personalize steps must be between 0"):
            personalize_decoder(tokenizer, transformer, reference, pose, steps=steps)
    away = pose.clone()
    away[..., :2] = -1000.0  # every joint far outside the image
    with pytest.raises(IlatError, match="no joint inside the image"):
        personalize_decoder(tokenizer, transformer, reference, away, steps=2)
    with pytest.raises(ValueError, match="one reference"):
        personalize_decoder(tokenizer, transformer, reference.expand(2, -1, -1, -1), pose.expand(2, -1, -1), steps=2)


def test_view_pairs_are_the_reference_against_its_own_mirrored_and_shifted_views(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[0])
    ex = view_pair_examples(tokenizer, transformer, reference, pose, views=3)
    assert len(ex["cond"]) == 6  # ordered pairs of 3 views
    _, plain, _ = tokenizer.encode(reference)
    _, mirrored, _ = tokenizer.encode(reference.flip(-1))
    # Pair (plain, mirrored) first: the plain reference conditions, the mirrored one is the target.
    assert torch.equal(ex["cond"][0], plain.flatten(1)[0]) and torch.equal(ex["cond"][2], mirrored.flatten(1)[0])
    # Mirroring keeps every joint's height; left and right swap names.
    assert torch.allclose(ex["target_pose"][0, list(FLIP_PERMUTATION), 1], ex["reference_pose"][0, :, 1])
    assert not torch.equal(ex["target_pose"][0], ex["reference_pose"][0])
    with pytest.raises(ValueError, match="at least 2 views"):
        view_pair_examples(tokenizer, transformer, reference, pose, views=1)


def test_transformer_tuning_lowers_its_loss_on_the_view_pairs_and_leaves_the_original(models, pairs):
    tokenizer, transformer = models
    reference, pose = one(pairs[1])
    before = weights(transformer)
    ex = view_pair_examples(tokenizer, transformer, reference, pose)

    def loss(model):
        with torch.no_grad():
            logits = model(ex["cond"], ex["target"], ex["target_pose"], ex["region"], mask="la")
            return float(model.loss(logits, ex["target"], ex["region"]))

    assert personalize_transformer(tokenizer, transformer, reference, pose, steps=0) is transformer
    tuned = personalize_transformer(tokenizer, transformer, reference, pose, steps=10, lr=1e-3)
    assert loss(tuned) < loss(transformer)
    assert all(torch.equal(v, before[k]) for k, v in weights(transformer).items())
    assert not tuned.training and not any(p.requires_grad for p in tuned.parameters())
    with torch.inference_mode():
        again = personalize_transformer(tokenizer, transformer, reference.clone(), pose.clone(), steps=10, lr=1e-3)
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(tuned).items())  # seeded, inference mode too


def test_evaluate_tunes_each_pair_on_its_own_reference(models, pairs):
    """A batch of two pairs gives each the frame it gets alone: no pair's decoder saw the other."""
    tokenizer, transformer = models
    batch = stack_pairs(pairs, "cpu")
    both = ev.generate("ilat-expected", tokenizer, transformer, batch, RenderOptions(frame="square", personalize=4))
    plain = ev.generate("ilat-expected", tokenizer, transformer, batch)
    for i in range(2):
        alone = ev.generate("ilat-expected", tokenizer, transformer, {k: v[i:i + 1] for k, v in batch.items()},
                            RenderOptions(frame="square", personalize=4))
        assert torch.allclose(both[i], alone[0], atol=1e-5)
    assert not torch.allclose(both, plain)
    with_transformer = ev.generate("ilat-expected", tokenizer, transformer, batch,
                                   RenderOptions(frame="square", personalize=4, personalize_transformer=3))
    alone = ev.generate("ilat-expected", tokenizer, transformer, {k: v[1:] for k, v in batch.items()},
                        RenderOptions(frame="square", personalize=4, personalize_transformer=3))
    assert torch.allclose(with_transformer[1], alone[0], atol=1e-5)
    assert torch.equal(ev.generate("copy", tokenizer, transformer, batch, RenderOptions(frame="square", personalize=4)), batch["reference"])


def test_animator_frames_change_inside_the_region_only(model_dir, reference, driving):  # noqa: F811
    animator = Animator.from_pretrained(model_dir, device="cpu")
    plan = animator.plan(animator.load_reference(reference[0], reference[1]),
                         animator.load_driving(driving, max_frames=3))
    plain = list(animator.generate(plan, RenderOptions(frame="square", background="reference")))
    tuned = list(animator.generate(plan, RenderOptions(frame="square", background="reference", personalize=10)))
    both = list(animator.generate(plan, RenderOptions(frame="square", background="reference", personalize=10,
                                                         personalize_transformer=3)))
    assert any(not np.array_equal(a, b) for a, b in zip(plain, tuned))
    for a, b, c, pose in zip(plain, tuned, both, plan.target_crop):
        region = union_region(plan.reference_pose_crop, pose, plan.size, plan.size)
        near = torch.nn.functional.max_pool2d(torch.from_numpy(region)[None, None].float(), 7, 1, 3)[0, 0].bool()
        assert np.array_equal(a[~near.numpy()], b[~near.numpy()])  # beyond the 2-pixel feather: the reference
        assert np.array_equal(a[~near.numpy()], c[~near.numpy()])


def test_cli_personalize(model_dir, reference, driving, tmp_path):  # noqa: F811
    out = tmp_path / "out.mp4"
    bad = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                      "--max-frames", 2, "--personalize", -1)
    assert bad.exit_code == 2 and not out.exists()
    good = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                       "--max-frames", 2, "--frame", "square", "--personalize", 3, "--personalize-transformer", 2)
    assert good.exit_code == 0, good.output
    assert out.stat().st_size > 0
    result = CliRunner().invoke(main, ["evaluate", "--model", str(model_dir), "--data", "synthetic", "--pairs", "1",
                                       "--seeds", "0", "--method", "ilat-expected", "--personalize", "2",
                                       "--personalize-transformer", "1",
                                       "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / "r.json").read_text())["settings"]
    assert settings["personalize"] == 2 and settings["personalize_transformer"] == 1
