"""The one step from images, regions and poses to the model's inputs (`conditioning.py`), and the
two invariants the pipeline rests on: Eq. 4 takes the reference's clean features z outside the
region only, and the z the Animator decodes with is the one `encode(reference, region)` gives."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipeline import driving, reference, tiny_models  # noqa: F401  (fixtures)

import ilat_video.square as square
from ilat_video.conditioning import model_inputs, normalize_pose
from ilat_video.crop import image_to_tensor
from ilat_video.options import RenderOptions
from ilat_video.pipeline import Animator
from ilat_video.regions import union_region
from ilat_video.sampling import sample_and_decode

SIZE = 32


def a_batch(seed: int = 0, b: int = 2):
    """References (B, 3, S, S), union regions (B, S, S) and poses (B, 13, 3) in crop pixels."""
    g = torch.Generator().manual_seed(seed)
    reference = torch.rand(b, 3, SIZE, SIZE, generator=g) * 2 - 1
    base = torch.tensor([[16, 5], [12, 9], [20, 9], [10, 14], [22, 14], [9, 18], [23, 18],
                         [13, 18], [19, 18], [13, 24], [19, 24], [13, 29], [19, 29]], dtype=torch.float32)
    base = base * 0.5  # a small person in the top-left quarter: most tokens lie outside the region
    poses = []
    for i in range(2 * b):
        shift = torch.randint(-1, 2, (13, 2), generator=g).float()
        poses.append(torch.cat([base + shift, torch.ones(13, 1)], dim=1))
    reference_pose, target_pose = torch.stack(poses[:b]), torch.stack(poses[b:])
    region = torch.from_numpy(np.stack([union_region(r.numpy(), t.numpy(), SIZE, SIZE)
                                        for r, t in zip(reference_pose, target_pose)]))
    return reference, region, reference_pose, target_pose


@given(x=st.floats(-100, 200), y=st.floats(-100, 200), c=st.floats(0, 1))
@settings(max_examples=50, deadline=None)
def test_normalized_poses_lie_in_the_unit_square_with_the_confidence_kept(x, y, c):
    pose = torch.tensor([[[x, y, c]]], dtype=torch.float32)
    out = normalize_pose(pose, SIZE)
    assert 0.0 <= out[0, 0, 0] <= 1.0 and 0.0 <= out[0, 0, 1] <= 1.0 and out[0, 0, 2] == pose[0, 0, 2]
    if 0 <= x <= SIZE:
        assert out[0, 0, 0] == pytest.approx(x / SIZE)


def test_model_inputs_are_the_reference_encoded_alone_and_with_the_region():
    tokenizer, transformer = tiny_models()
    reference, region, reference_pose, target_pose = a_batch()
    with torch.no_grad():
        inputs = model_inputs(tokenizer, reference, region, target_pose, reference_pose, needs_reference_pose=False)
        _, alone, _ = tokenizer.encode(reference)
        _, known, z = tokenizer.encode(reference, region)
    assert torch.equal(inputs.condition, alone) and inputs.cond.shape == (2, 16)
    assert torch.equal(inputs.known, known) and torch.equal(inputs.z, z)
    assert torch.equal(inputs.token_region, tokenizer.token_region(region))
    assert torch.equal(inputs.target_pose, normalize_pose(target_pose, SIZE))
    assert inputs.reference_pose is None
    with torch.no_grad():
        both = model_inputs(tokenizer, reference, region, target_pose, reference_pose, needs_reference_pose=True,
                            condition=alone, known=False)
    assert torch.equal(both.reference_pose, normalize_pose(reference_pose, SIZE))
    assert both.known is None and both.z is None and both.condition is alone


def test_known_tokens_and_z_outside_the_region_do_not_see_the_pixels_inside():
    """The two-stream property as the model's inputs carry it: repainting the region changes no
    known token and no feature outside it."""
    tokenizer, _ = tiny_models()
    reference, region, reference_pose, target_pose = a_batch(1)
    repainted = torch.where(region[:, None], torch.rand_like(reference) * 2 - 1, reference)
    with torch.no_grad():
        a = model_inputs(tokenizer, reference, region, target_pose, reference_pose, needs_reference_pose=False)
        b = model_inputs(tokenizer, repainted, region, target_pose, reference_pose, needs_reference_pose=False)
    outside = ~a.token_region
    assert outside.any()
    assert torch.equal(a.known[outside], b.known[outside])
    assert torch.equal(a.z.permute(0, 2, 3, 1)[outside], b.z.permute(0, 2, 3, 1)[outside])
    assert not torch.equal(a.condition, b.condition)  # the condition tokens see the whole reference


def test_eq4_decodes_z_outside_the_region_and_only_there():
    """sample_and_decode renders Eq. 4, D(z_q M + z (1 - M)): the frame follows z outside the token
    region and ignores it inside. Decoding the codes alone would fail the first half."""
    tokenizer, transformer = tiny_models()
    reference, region, reference_pose, target_pose = a_batch(2)
    with torch.no_grad():
        inputs = model_inputs(tokenizer, reference, region, target_pose, reference_pose, needs_reference_pose=False)
        _, frames = sample_and_decode(tokenizer, transformer, inputs)
        cells = inputs.token_region[:, None]  # (B, 1, h, w)
        noise = torch.randn_like(inputs.z)
        inside = dataclasses.replace(inputs, z=torch.where(cells, inputs.z + noise, inputs.z))
        outside = dataclasses.replace(inputs, z=torch.where(cells, inputs.z, inputs.z + noise))
        _, with_inside_changed = sample_and_decode(tokenizer, transformer, inside)
        _, with_outside_changed = sample_and_decode(tokenizer, transformer, outside)
    assert (~inputs.token_region).any() and inputs.token_region.any()
    assert torch.equal(with_inside_changed, frames)
    assert (with_outside_changed - frames).abs().max() > 1e-3


def test_the_animator_decodes_with_the_z_of_the_reference_encoded_with_the_region(reference, driving,  # noqa: F811
                                                                                    monkeypatch):
    """Spy on the Animator's call: its z and known tokens are `encode(reference crop, union region)`."""
    tokenizer, transformer = tiny_models()
    animator = Animator(tokenizer, transformer, device="cpu")
    plan = animator.plan(animator.load_reference(*reference), animator.load_driving(driving, max_frames=3))
    seen = []
    real = square.sample_and_decode

    def spy(tok, tr, inputs, **options):
        seen.append(inputs)
        return real(tok, tr, inputs, **options)

    monkeypatch.setattr(square, "sample_and_decode", spy)
    frames = list(animator.generate(plan, RenderOptions(frame="square"), batch_size=3))
    assert len(frames) == 3 and len(seen) == 1
    region = torch.from_numpy(np.stack([union_region(plan.reference_pose_crop, p, plan.size, plan.size)
                                        for p in plan.target_crop]))
    crop = image_to_tensor(plan.reference_crop)[None].expand(3, -1, -1, -1)
    with torch.no_grad():
        _, known, z = tokenizer.encode(crop, region)
        _, alone, _ = tokenizer.encode(crop[:1])
    assert torch.equal(seen[0].z, z) and torch.equal(seen[0].known, known)
    assert torch.equal(seen[0].condition, alone.expand(3, -1, -1))
    # Not the z of the reference encoded without the region: that one differs next to the region.
    with torch.no_grad():
        _, _, plain = tokenizer.encode(crop)
    assert not torch.equal(seen[0].z, plain)
