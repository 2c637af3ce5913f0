"""StrDiffusion's time-conditioned discriminator D(y, x, t) (Sec 2.4.1), official module names.

The official code reuses the small DDGAN discriminator (Xiao et al. 2022): a sinusoidal time embedding through two
dense layers; a 1×1 stem; four residual down blocks (FIR [1, 3, 3, 1] blur-downsampling in the last three) with the
time embedding added after the first conv; a minibatch-stddev channel; a 3×3 conv, a sum over positions and a
linear head giving one logit per image. Input: the texture (3 channels) and the structure (1 channel).

The minibatch-stddev feature mixes the images of a batch. Training uses groups of `stddev_group`; scoring during
sampling uses groups of one (`group=1`, what the official batch-1 test does), so a score never depends on the
other images of the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .irsde_unet import timestep_embedding


@dataclass(frozen=True)
class DiscriminatorConfig:
    nc: int = 4  # texture 3 + structure 1
    ngf: int = 64
    t_emb_dim: int = 256
    stddev_group: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


def blur_downsample(x: torch.Tensor) -> torch.Tensor:
    """2× downsampling with the separable FIR kernel [1, 3, 3, 1] (upfirdn2d with down=2, pad=(1, 1))."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype)
    k = torch.outer(k, k) / k.sum() ** 2
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), k.expand(c, 1, 4, 4), stride=2, groups=c)


class TimestepEmbedding(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.main = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(0.2), nn.Linear(dim, dim))

    def forward(self, t):
        return self.main(timestep_embedding(t, self.dim))


class DownConvBlock(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, t_emb_dim: int, downsample: bool = False):
        super().__init__()
        self.downsample = downsample
        self.conv1 = nn.Sequential(nn.Conv2d(dim_in, dim_out, 3, padding=1))
        self.conv2 = nn.Sequential(nn.Conv2d(dim_out, dim_out, 3, padding=1))
        self.dense_t1 = nn.Linear(t_emb_dim, dim_out)
        self.skip = nn.Sequential(nn.Conv2d(dim_in, dim_out, 1, bias=False))

    def forward(self, x, t_emb):
        out = self.conv1(F.leaky_relu(x, 0.2)) + self.dense_t1(t_emb)[..., None, None]
        out = F.leaky_relu(out, 0.2)
        if self.downsample:
            out, x = blur_downsample(out), blur_downsample(x)
        return (self.conv2(out) + self.skip(x)) / 2**0.5


class TimeDiscriminator(nn.Module):
    """One logit per image: how well texture y and structure x belong together at time t."""

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = config
        g, te = config.ngf, config.t_emb_dim
        self.t_embed = TimestepEmbedding(te)
        self.start_conv = nn.Conv2d(config.nc, g * 2, 1)
        self.conv1 = DownConvBlock(g * 2, g * 2, te)
        self.conv2 = DownConvBlock(g * 2, g * 4, te, downsample=True)
        self.conv3 = DownConvBlock(g * 4, g * 8, te, downsample=True)
        self.conv4 = DownConvBlock(g * 8, g * 8, te, downsample=True)
        self.final_conv = nn.Conv2d(g * 8 + 1, g * 8, 3, padding=1)
        self.end_linear = nn.Linear(g * 8, 1)

    def forward(self, t, texture, structure, group: int | None = None):
        t_emb = F.leaky_relu(self.t_embed(t.reshape(-1).expand(len(texture))), 0.2)
        h = self.start_conv(torch.cat([texture, structure], dim=1))
        for block in (self.conv1, self.conv2, self.conv3, self.conv4):
            h = block(h, t_emb)
        h = torch.cat([h, self.minibatch_stddev(h, group or self.config.stddev_group)], dim=1)
        h = F.leaky_relu(self.final_conv(h), 0.2)
        return self.end_linear(h.sum(dim=(2, 3))).view(-1)

    @staticmethod
    def minibatch_stddev(h: torch.Tensor, group: int) -> torch.Tensor:
        """One channel: the feature std over groups of images, averaged; images b and b + k·(B/group) share it."""
        b, c, hh, ww = h.shape
        group = min(b, group)
        if b % group:
            group = 1
        std = torch.sqrt(h.view(group, -1, c, hh, ww).var(0, unbiased=False) + 1e-8)
        return std.mean(dim=(1, 2, 3), keepdim=True).repeat(group, 1, hh, ww)
