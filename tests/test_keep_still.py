"""Keeping still body parts as the reference shows them (`regions.paste_still`) in `evaluate`, in the
Animator and on the command line, on tiny random models (the gain is the benchmarks' job)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_evaluate import SIZE, one_thread, tiny_models  # noqa: F401 (autouse fixture)
from test_pipeline import driving, model_dir, reference, run_animate  # noqa: F401 (fixtures)

from ilat_video import eval as ev
from ilat_video.eval.pairs import stack_pairs
from ilat_video.options import RenderOptions
from ilat_video.cli import main
from ilat_video.errors import IlatError
from ilat_video.pipeline import Animator
from ilat_video.pose import skeleton as sk
from ilat_video.regions import moved_region, paste_still, union_region


@pytest.fixture(scope="module")
def models():
    return tiny_models(5)


@pytest.fixture(scope="module")
def batch():
    return stack_pairs(ev.pair_subsets("synthetic", SIZE, count=2, seeds=(0,))[0], "cpu")


def inner(region: np.ndarray, margin: int = 2) -> np.ndarray:
    """The pixels of a (H, W) region more than `margin` pixels (chessboard) inside its edge."""
    outside = torch.from_numpy(~region)[None, None].float()
    return ~torch.nn.functional.max_pool2d(outside, 2 * margin + 1, 1, margin)[0, 0].bool().numpy()


def test_evaluate_pastes_the_reference_on_the_still_parts_of_the_frame_it_makes(models, batch):
    tokenizer, transformer = models
    plain = ev.generate("ilat-expected", tokenizer, transformer, batch)
    kept = ev.generate("ilat-expected", tokenizer, transformer, batch, RenderOptions(frame="square", keep_still=0.5))
    assert torch.equal(kept, paste_still(plain, batch["reference"], batch["region"].bool(),
                                         batch["reference_pose"].numpy(), batch["target_pose"].numpy(), tolerance=0.5))
    # A pose that did not move at all: the whole region is the reference, with views and tuning too.
    still = dict(batch, target_pose=batch["reference_pose"].clone(),
                 region=torch.from_numpy(np.stack([union_region(p, p, SIZE, SIZE)
                                                   for p in batch["reference_pose"].numpy()])))
    for options in ({}, {"views": 2, "personalize": 2}):
        made = ev.generate("ilat-expected", tokenizer, transformer, still, RenderOptions(frame="square", keep_still=0.0, **options))
        redrawn = ev.generate("ilat-expected", tokenizer, transformer, still, RenderOptions(frame="square", **options))
        for i, region in enumerate(still["region"].numpy()):
            core = torch.from_numpy(inner(region))
            assert torch.equal(made[i][:, core], still["reference"][i][:, core])
            assert not torch.equal(redrawn[i][:, core], still["reference"][i][:, core])


def test_animator_keeps_the_still_legs_exactly_and_redraws_the_moved_arm(model_dir, reference, driving):  # noqa: F811
    animator = Animator.from_pretrained(model_dir, device="cpu")
    plan = animator.plan(animator.load_reference(reference[0], reference[1]),
                         animator.load_driving(driving, max_frames=2))
    target = np.stack([plan.reference_pose_crop] * 2).copy()
    target[1, [sk.L_ELBOW, sk.L_WRIST], :2] += (3.0, -4.0)  # frame 1 raises the left forearm; frame 0 is still
    plan = dataclasses.replace(plan, target_crop=target)
    kept = list(animator.generate(plan, RenderOptions(frame="square", decode="expected", keep_still=0.25)))
    redrawn = list(animator.generate(plan, RenderOptions(frame="square", decode="expected")))
    for frame, again, pose in zip(kept, redrawn, target):
        region = union_region(plan.reference_pose_crop, pose, plan.size, plan.size)
        still = inner(region & ~moved_region(plan.reference_pose_crop, pose, plan.size, plan.size, tolerance=0.25))
        assert still.any() and np.array_equal(frame[still], plan.reference_crop[still])
        assert not np.array_equal(again[still], plan.reference_crop[still])
    moved = moved_region(plan.reference_pose_crop, target[1], plan.size, plan.size, tolerance=0.25)
    assert moved.any() and np.array_equal(kept[1][moved], redrawn[1][moved])  # what moved is drawn as before
    with pytest.raises(IlatError, match="keep-still"):
        RenderOptions(frame="square", keep_still=-1.0)


def test_cli_keep_still(model_dir, reference, driving, tmp_path):  # noqa: F811
    out = tmp_path / "out.mp4"
    bad = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                      "--max-frames", 2, "--keep-still", -1)
    assert bad.exit_code == 2 and not out.exists()
    good = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                       "--max-frames", 2, "--frame", "square", "--keep-still", 0.25)
    assert good.exit_code == 0, good.output
    assert out.stat().st_size > 0
    result = CliRunner().invoke(main, ["evaluate", "--model", str(model_dir), "--data", "synthetic", "--pairs", "1",
                                       "--seeds", "0", "--method", "ilat-expected,copy", "--keep-still", "0.5",
                                       "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["settings"]["keep_still"] == 0.5
