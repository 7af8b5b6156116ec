"""Tokenizer losses: L1 reconstruction, codebook term, PatchGAN hinge loss with an adaptive or
fixed weight, and an optional perceptual loss from local VGG16 weights (nothing downloads).

Total generator loss (taming's VQGAN, iLAT 3.1):
    L1 + codebook_weight * L_vq + perceptual_weight * L_vgg + gan_factor(step) * w * L_G
with L_G = -mean(D(x_hat)) and w either fixed (the paper uses 0.1 for faces) or adaptive:
    w = ||grad_last L_rec|| / (||grad_last L_G|| + 1e-4), clamped to [0, 1e4], no gradient,
where grad_last is the gradient with respect to the decoder's last layer weight and L_rec is the
reconstruction part (L1 + perceptual). gan_factor is 0 before the GAN start step.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelFileError

log = logging.getLogger(__name__)

ADAPTIVE_WEIGHT_MAX = 1e4
ADAPTIVE_WEIGHT_EPS = 1e-4


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: 0.5 * (mean(relu(1 - D(x))) + mean(relu(1 + D(x_hat))))."""
    return 0.5 * (F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean())


def hinge_g_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """Generator side of the hinge GAN: -mean(D(x_hat))."""
    return -logits_fake.mean()


def adaptive_gan_weight(
    rec_loss: torch.Tensor, g_loss: torch.Tensor, last_layer: torch.Tensor
) -> torch.Tensor:
    """Taming's balance between reconstruction and adversarial gradients at the last layer.

    Returns a detached scalar: ||d rec / d W|| / (||d g / d W|| + 1e-4), clamped to [0, 1e4].
    Uses autograd.grad (no .grad is touched), keeping the graph for the real backward pass.
    """
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_grad = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    weight = rec_grad.float().norm() / (g_grad.float().norm() + ADAPTIVE_WEIGHT_EPS)
    return weight.clamp(0.0, ADAPTIVE_WEIGHT_MAX).detach()


def gan_factor(step: int, start_step: int) -> float:
    """1 once the GAN term is on (step >= start_step), else 0."""
    return 1.0 if step >= start_step else 0.0


# --------------------------------------------------------------------------------------------
# Perceptual loss from a local VGG16 weights file
# --------------------------------------------------------------------------------------------

# VGG16's convolutional part: channels per conv, "M" for a 2x2 max-pool. Layer indices follow the
# usual `features.N` numbering (conv, ReLU, ... pool), so weights exported from the common VGG16
# implementations load by name.
_VGG16_PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# Outputs taken after these ReLUs: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
_VGG16_TAPS = (3, 8, 15, 22, 29)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """The convolutional trunk of VGG16 up to relu5_3, returning the five tapped activations."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _VGG16_PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images (B, 3, H, W) in [-1, 1] -> 5 feature maps."""
        x = ((images + 1) * 0.5 - self.mean) / self.std
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _VGG16_TAPS:
                taps.append(x)
                if i == _VGG16_TAPS[-1]:
                    break
        return taps


def load_vgg16_features(path: str | os.PathLike) -> VGG16Features:
    """VGG16Features with weights from a local safetensors file.

    Accepted keys: `features.N.weight` / `features.N.bias` (a full VGG16 state dict; `classifier.*`
    keys are ignored). Every conv must be present with the right shape, or ModelFileError names the
    missing and mismatched keys.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such VGG16 weights file (pass a local .safetensors file)")
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from exc
    model = VGG16Features()
    expected = {k: v for k, v in model.state_dict().items()}
    unexpected = sorted(k for k in state if k not in expected and not k.startswith("classifier."))
    missing = sorted(k for k in expected if k not in state)
    wrong = sorted(
        f"{k}: file {tuple(state[k].shape)} vs VGG16 {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    )
    if missing or unexpected or wrong:
        parts = [f"missing keys {missing}"] if missing else []
        parts += [f"unexpected keys {unexpected}"] if unexpected else []
        parts += [f"wrong shapes {wrong}"] if wrong else []
        raise ModelFileError(f"{path}: not VGG16 weights: " + "; ".join(parts))
    model.load_state_dict({k: state[k] for k in expected}, strict=True)
    model.eval().requires_grad_(False)
    return model


class PerceptualLoss(nn.Module):
    """Mean over five VGG16 layers of the squared distance between channel-normalised features
    (LPIPS without its learned per-channel weights, which are not available offline). Frozen."""

    def __init__(self, vgg: VGG16Features):
        super().__init__()
        self.vgg = vgg.eval().requires_grad_(False)

    def train(self, mode: bool = True):  # the VGG stays in eval mode
        return super().train(False)

    def forward(self, images: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
        feats_a = self.vgg(images)
        feats_b = self.vgg(reconstructions)
        total = images.new_zeros(())
        for a, b in zip(feats_a, feats_b):
            a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
            b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
            total = total + (a - b).pow(2).sum(dim=1).mean()
        return total / len(feats_a)
