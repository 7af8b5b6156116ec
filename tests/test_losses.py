"""Tokenizer losses: hinge GAN terms, taming's adaptive weight, the PatchGAN, the VGG16 perceptual loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch import nn

from ilat_video.errors import ModelFileError
from ilat_video.train.discriminator import DiscriminatorConfig, PatchDiscriminator
from ilat_video.train.losses import (
    ADAPTIVE_WEIGHT_EPS,
    ADAPTIVE_WEIGHT_MAX,
    PerceptualLoss,
    VGG16Features,
    adaptive_gan_weight,
    gan_factor,
    hinge_d_loss,
    hinge_g_loss,
    load_vgg16_features,
)

logit_lists = st.lists(st.floats(-5, 5, allow_nan=False, width=32), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(real=logit_lists, fake=logit_lists)
def test_hinge_d_loss_is_the_mean_of_the_two_hinges(real, fake):
    expected = 0.5 * (np.mean([max(0.0, 1 - r) for r in real]) + np.mean([max(0.0, 1 + f) for f in fake]))
    got = hinge_d_loss(torch.tensor(real), torch.tensor(fake))
    assert got.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_hinge_d_loss_landmarks():
    # Confident and right: no loss. Undecided (all zero): 1. Confident and wrong: grows linearly.
    assert hinge_d_loss(torch.full((4,), 1.5), torch.full((4,), -2.0)).item() == 0.0
    assert hinge_d_loss(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(1.0)
    assert hinge_d_loss(torch.full((4,), -1.0), torch.full((4,), 1.0)).item() == pytest.approx(2.0)
    # The gradient pushes real logits up and fake logits down, only inside the margin.
    real = torch.tensor([0.0, 2.0], requires_grad=True)
    fake = torch.tensor([0.0, -2.0], requires_grad=True)
    hinge_d_loss(real, fake).backward()
    assert real.grad.tolist() == [-0.25, 0.0] and fake.grad.tolist() == [0.25, 0.0]


@settings(max_examples=30, deadline=None)
@given(fake=logit_lists)
def test_hinge_g_loss_is_minus_the_mean_logit(fake):
    assert hinge_g_loss(torch.tensor(fake)).item() == pytest.approx(-float(np.mean(fake)), rel=1e-5, abs=1e-6)


def _tiny_generator(seed=0):
    gen = torch.Generator().manual_seed(seed)
    hidden = nn.Linear(4, 6)
    last = nn.Linear(6, 3)
    for p in list(hidden.parameters()) + list(last.parameters()):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen))
    return hidden, last, gen


def test_adaptive_weight_is_the_ratio_of_hand_computed_gradient_norms():
    hidden, last, gen = _tiny_generator()
    x = torch.randn(5, 4, generator=gen)
    y = torch.randn(5, 3, generator=gen)
    critic = torch.randn(3, generator=gen)  # a fixed linear "discriminator"

    h = torch.relu(hidden(x))  # (5, 6)
    out = last(h)  # (5, 3)
    rec_loss = (out - y).abs().mean()
    g_loss = -(out @ critic).mean()
    weight = adaptive_gan_weight(rec_loss, g_loss, last.weight)

    # By hand: for out = h W^T + b, dL/dW = G^T h with G = dL/d out.
    h_ = h.detach()
    grad_rec = (torch.sign(out.detach() - y) / out.numel()).T @ h_  # d mean|out - y| / d out = sign / numel
    grad_g = (-critic.expand(5, 3) / 5).T @ h_  # d -mean(out @ c) / d out = -c / B
    expected = grad_rec.norm() / (grad_g.norm() + ADAPTIVE_WEIGHT_EPS)
    assert weight.item() == pytest.approx(expected.item(), rel=1e-5)
    assert not weight.requires_grad
    # autograd.grad leaves .grad alone and keeps the graph for the real backward pass.
    assert last.weight.grad is None and hidden.weight.grad is None
    (rec_loss + weight * g_loss).backward()
    assert last.weight.grad is not None


def test_adaptive_weight_balances_the_two_gradients_and_is_clamped():
    hidden, last, gen = _tiny_generator(1)
    out = last(torch.relu(hidden(torch.randn(5, 4, generator=gen))))
    rec_loss = out.pow(2).mean()
    g_loss = -out.mean()
    weight = adaptive_gan_weight(rec_loss, g_loss, last.weight)
    g_rec = torch.autograd.grad(rec_loss, last.weight, retain_graph=True)[0]
    g_adv = torch.autograd.grad(weight * g_loss, last.weight, retain_graph=True)[0]
    # After weighting, the adversarial gradient has (almost) the reconstruction gradient's norm.
    assert g_adv.norm().item() == pytest.approx(g_rec.norm().item(), rel=1e-3)
    # A GAN loss with no gradient at the last layer: the weight hits its ceiling, never inf.
    flat_g = out.sum() * 0.0
    assert adaptive_gan_weight(rec_loss, flat_g, last.weight).item() == ADAPTIVE_WEIGHT_MAX


def test_gan_factor_switches_on_at_the_start_step():
    assert [gan_factor(s, 3) for s in range(5)] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert gan_factor(0, 0) == 1.0


@pytest.mark.parametrize("norm", ["group", "batch", "none"])
def test_patch_discriminator_gives_a_logit_map(norm):
    torch.manual_seed(0)
    disc = PatchDiscriminator(DiscriminatorConfig(base_channels=8, num_layers=3, norm=norm))
    logits = disc(torch.rand(2, 3, 64, 64) * 2 - 1)
    # 64 -> 32 -> 16 -> 8 (stride-2 convs) -> 7 -> 6 (the two stride-1 4x4 convs)
    assert logits.shape == (2, 1, 6, 6)


def test_group_norm_discriminator_judges_each_image_on_its_own():
    torch.manual_seed(0)
    disc = PatchDiscriminator(DiscriminatorConfig(base_channels=8, num_layers=2, norm="group"))
    a = torch.rand(3, 3, 32, 32) * 2 - 1
    b = a.clone()
    b[1:] = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(disc(a)[0], disc(b)[0])
    # BatchNorm in training mode does not have this property (why it is not the default).
    bn = PatchDiscriminator(DiscriminatorConfig(base_channels=8, num_layers=2, norm="batch")).train()
    assert not torch.allclose(bn(a)[0], bn(b)[0])


def test_discriminator_rejects_an_unknown_norm():
    with pytest.raises(ValueError, match="norm"):
        DiscriminatorConfig(norm="layer")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG16 weights file in the usual `features.N.*` naming (random weights: no download)."""
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in VGG16Features().state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # a full VGG16 file carries these; ignored
    path = tmp_path_factory.mktemp("vgg") / "vgg16.safetensors"
    save_file(state, str(path))
    return path, state


def test_vgg16_loads_from_a_local_file_and_gives_a_perceptual_distance(vgg_file):
    path, state = vgg_file
    vgg = load_vgg16_features(path)
    assert torch.equal(vgg.features[0].weight, state["features.0.weight"])
    assert all(not p.requires_grad for p in vgg.parameters())
    loss = PerceptualLoss(vgg)
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    b = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    assert loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(a, b).item() > 0
    assert loss(a, b).item() == pytest.approx(loss(b, a).item(), rel=1e-5)
    # It is a loss for the generator: gradients reach the reconstruction, never the VGG.
    b.requires_grad_(True)
    loss(a, b).backward()
    assert b.grad is not None and b.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())
    loss.train()
    assert not loss.vgg.training


def test_vgg16_file_errors_name_the_keys(vgg_file, tmp_path):
    path, state = vgg_file
    broken = dict(state)
    del broken["features.28.bias"]
    broken["features.0.weight"] = torch.zeros(64, 3, 5, 5)
    broken["extra.weight"] = torch.zeros(1)
    bad = tmp_path / "bad.safetensors"
    save_file(broken, str(bad))
    with pytest.raises(ModelFileError) as info:
        load_vgg16_features(bad)
    message = str(info.value)
    assert "features.28.bias" in message and "features.0.weight" in message and "extra.weight" in message
    with pytest.raises(ModelFileError, match="no such VGG16 weights file"):
        load_vgg16_features(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_vgg16_features(junk)
