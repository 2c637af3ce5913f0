"""The DDPM UNet of Ho et al. 2020 as ported by pytorch_diffusion / DDIM / DDNM (`models/diffusion.py: Model`).

Key-compatible with DDNM's CelebA-HQ checkpoint (`celeba_hq.ckpt`: ch 128, ch_mult (1, 1, 2, 2, 4, 4), 2 res
blocks, attention at 16², 256²). Differences from ADM: [sin, cos] timestep embedding with log(10⁴)/(d/2 − 1),
additive timestep injection, single-head attention, asymmetric-padded strided-conv downsampling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention


@dataclass(frozen=True)
class DDPMConfig:
    resolution: int = 64
    in_channels: int = 3
    out_ch: int = 3
    ch: int = 32
    ch_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1
    attn_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.0

    @staticmethod
    def celeba_hq() -> DDPMConfig:
        return DDPMConfig(resolution=256, ch=128, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attn_resolutions=(16,))

    def to_dict(self) -> dict:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, c, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb, cout)
        self.norm2, self.dropout, self.conv2 = norm(cout), nn.Dropout(dropout), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x))) + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.norm = norm(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x)
        q, k, v = (m(y).reshape(b, c, h * w).transpose(1, 2) for m in (self.q, self.k, self.v))
        out = attention(q, k, v).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DDPMUNet(nn.Module):
    """forward(x, t) → ε̂ (t: integer timesteps)."""

    def __init__(self, config: DDPMConfig = DDPMConfig()):
        super().__init__()
        self.config = cfg = config
        ch, temb = cfg.ch, cfg.ch * 4
        self.temb = nn.Module()
        self.temb.dense = nn.ModuleList([nn.Linear(ch, temb), nn.Linear(temb, temb)])
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)
        res, in_mult = cfg.resolution, (1, *cfg.ch_mult)
        self.down = nn.ModuleList()
        for level, mult in enumerate(cfg.ch_mult):
            down = nn.Module()
            block_in, block_out = ch * in_mult[level], ch * mult
            down.block, down.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(cfg.num_res_blocks):
                down.block.append(ResnetBlock(block_in, block_out, temb, cfg.dropout))
                block_in = block_out
                if res in cfg.attn_resolutions:
                    down.attn.append(AttnBlock(block_in))
            if level != len(cfg.ch_mult) - 1:
                down.downsample = Downsample(block_in)
                res //= 2
            self.down.append(down)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in, temb, cfg.dropout)
        self.mid.attn_1 = AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in, temb, cfg.dropout)
        self.up = nn.ModuleList()
        for level in reversed(range(len(cfg.ch_mult))):
            up = nn.Module()
            up.block, up.attn = nn.ModuleList(), nn.ModuleList()
            block_out, skip_in = ch * cfg.ch_mult[level], ch * cfg.ch_mult[level]
            for i in range(cfg.num_res_blocks + 1):
                if i == cfg.num_res_blocks:
                    skip_in = ch * in_mult[level]
                up.block.append(ResnetBlock(block_in + skip_in, block_out, temb, cfg.dropout))
                block_in = block_out
                if res in cfg.attn_resolutions:
                    up.attn.append(AttnBlock(block_in))
            if level != 0:
                up.upsample = Upsample(block_in)
                res *= 2
            self.up.insert(0, up)
        self.norm_out = norm(block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.out_ch, 3, padding=1)

    def forward(self, x, t, y=None):
        temb = self.temb.dense[1](F.silu(self.temb.dense[0](timestep_embedding(t, self.config.ch))))
        hs = [self.conv_in(x)]
        for level, down in enumerate(self.down):
            for i, block in enumerate(down.block):
                h = block(hs[-1], temb)
                hs.append(down.attn[i](h) if len(down.attn) else h)
            if level != len(self.down) - 1:
                hs.append(down.downsample(hs[-1]))
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(hs[-1], temb)), temb)
        for level in reversed(range(len(self.up))):
            up = self.up[level]
            for i, block in enumerate(up.block):
                h = block(torch.cat([h, hs.pop()], dim=1), temb)
                if len(up.attn):
                    h = up.attn[i](h)
            if level != 0:
                h = up.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))
