"""AsyncDSB's image-gradient completion network and its discriminator (EdgeConnect-style, Nazeri et al. 2019).

f(x_c, x_m, x_cg) → x̂_gg (AsyncDSB Eq 9): the corrupted image (3), its mask (1) and its masked gradient map (1)
in, the completed gradient map in [0, 1] out. Encoder (7×7 conv, two stride-2 convs) → dilated residual blocks →
decoder (two transposed convs, 7×7 conv), instance norm and spectral norm as EdgeConnect's edge generator. The
discriminator is EdgeConnect's 5-layer spectral-norm PatchGAN returning its logits and every layer's features
(for the feature-matching loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def gradient_map(image: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the grayscale image, [B, 1, H, W] in [0, 1] (image in [-1, 1])."""
    rgb = (image + 1) / 2
    gray = 0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]
    k = torch.stack([SOBEL, SOBEL.t()]).unsqueeze(1).to(image)
    g = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), k)
    return (g.pow(2).sum(1, keepdim=True).sqrt() / (4 * 2**0.5)).clamp(0, 1)


def known_gradients(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x_cg: the gradient map where the 3×3 Sobel stencil sees only known pixels, and that validity map.

    The same function in training (clean image) and at inference (hole zeroed): the result does not depend on
    the hole's content, so no false edge along the hole border appears at inference only. Returns
    (gradients × valid, valid) with valid = 1 − (hole dilated by one pixel), [B, 1, H, W].
    """
    valid = 1 - F.max_pool2d(mask, 3, stride=1, padding=1)
    return gradient_map(image) * valid, valid


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, dilation: int = 2):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(dilation), spectral_norm(nn.Conv2d(dim, dim, 3, dilation=dilation, bias=False)),
            nn.InstanceNorm2d(dim, track_running_stats=False), nn.ReLU(True),
            nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(dim, dim, 3, bias=False)),
            nn.InstanceNorm2d(dim, track_running_stats=False))

    def forward(self, x):
        return x + self.block(x)


class GradientCompletionNet(nn.Module):
    """x̂_gg = f(x_c, x_m, x_cg) (AsyncDSB Eq 9); `width` 64 and 8 blocks is EdgeConnect's size."""

    def __init__(self, width: int = 64, res_blocks: int = 8):
        super().__init__()
        self.config = {"width": width, "res_blocks": res_blocks}

        def conv(i, o, k, s=1, p=0):
            return spectral_norm(nn.Conv2d(i, o, k, s, p))

        def norm_relu(c):
            return [nn.InstanceNorm2d(c, track_running_stats=False), nn.ReLU(True)]

        self.encoder = nn.Sequential(nn.ReflectionPad2d(3), conv(5, width, 7), *norm_relu(width),
                                     conv(width, 2 * width, 4, 2, 1), *norm_relu(2 * width),
                                     conv(2 * width, 4 * width, 4, 2, 1), *norm_relu(4 * width))
        self.middle = nn.Sequential(*[ResnetBlock(4 * width) for _ in range(res_blocks)])
        self.decoder = nn.Sequential(spectral_norm(nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1)), *norm_relu(2 * width),
                                     spectral_norm(nn.ConvTranspose2d(2 * width, width, 4, 2, 1)), *norm_relu(width),
                                     nn.ReflectionPad2d(3), nn.Conv2d(width, 1, 7))

    def forward(self, x_c, x_m, x_cg):
        return torch.sigmoid(self.decoder(self.middle(self.encoder(torch.cat([x_c, x_m, x_cg], 1)))))


class PatchDiscriminator(nn.Module):
    """EdgeConnect's discriminator on (gradient map, grayscale image): logits and the features of every layer."""

    def __init__(self, in_channels: int = 2, width: int = 64):
        super().__init__()
        chans = [in_channels, width, 2 * width, 4 * width, 8 * width]
        strides = [2, 2, 2, 1]
        self.layers = nn.ModuleList(
            nn.Sequential(spectral_norm(nn.Conv2d(chans[i], chans[i + 1], 4, strides[i], 1, bias=False)),
                          nn.LeakyReLU(0.2, True)) for i in range(4))
        self.head = spectral_norm(nn.Conv2d(chans[-1], 1, 4, 1, 1, bias=False))

    def forward(self, x):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        logits = self.head(x)
        return logits, feats + [logits]
