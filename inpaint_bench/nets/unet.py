"""The guided-diffusion ADM UNet (Dhariwal & Nichol 2021), key-compatible with its checkpoints.

Same module tree and parameter names as openai/guided-diffusion `UNetModel`, so `256x256_diffusion_uncond.pt`,
RePaint's `celeba256_250000.pt` / `places256_300000.pt` and I²SB's `diffusion_model.*` weights load directly.
Configurable from a tiny test net to the 256² model (`UNetConfig.adm256_uncond()`). Attention uses PyTorch's fused
scaled-dot-product kernel; the math equals the legacy einsum form (softmax(qᵀk/√c)·v).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention


@dataclass(frozen=True)
class UNetConfig:
    image_size: int = 64
    in_channels: int = 3
    model_channels: int = 32  # base width; every level's width is a multiple of it (GroupNorm needs ×32)
    out_channels: int = 3  # 6 with learned σ (ε and the variance interpolation v)
    num_res_blocks: int = 1
    attention_resolutions: tuple[int, ...] = (4,)  # downsampling factors at which attention is used
    dropout: float = 0.0
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_classes: int | None = None
    num_heads: int = 1
    num_head_channels: int = -1  # if set, overrides num_heads with width // num_head_channels
    use_scale_shift_norm: bool = True
    resblock_updown: bool = True
    use_new_attention_order: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @staticmethod
    def adm256_uncond(learn_sigma: bool = True) -> UNetConfig:
        """guided-diffusion's 256×256 unconditional model (also RePaint's CelebA/Places and I²SB's base)."""
        return UNetConfig(image_size=256, model_channels=256, out_channels=6 if learn_sigma else 3,
                          num_res_blocks=2, attention_resolutions=(8, 16, 32), channel_mult=(1, 1, 2, 2, 4, 4),
                          num_head_channels=64, use_scale_shift_norm=True, resblock_updown=True)

    @staticmethod
    def from_guided_diffusion(image_size: int, num_channels: int, num_res_blocks: int, channel_mult: str = "",
                              learn_sigma: bool = False, class_cond: bool = False, attention_resolutions: str = "16",
                              num_heads: int = 1, num_head_channels: int = -1, use_scale_shift_norm: bool = False,
                              dropout: float = 0.0, resblock_updown: bool = False,
                              use_new_attention_order: bool = False, in_channels: int = 3, **_ignored) -> UNetConfig:
        """The architecture that guided-diffusion's `create_model(**kwargs)` builds (its argument names and
        string formats: resolutions → downsampling factors, `channel_mult` "1,2" or "" for its per-size default)."""
        defaults = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}
        if channel_mult:
            mult = tuple(int(m) for m in channel_mult.split(","))
        elif image_size in defaults:
            mult = defaults[image_size]
        else:
            raise ValueError(f"guided-diffusion has no default channel_mult for image size {image_size}")
        return UNetConfig(image_size=image_size, in_channels=in_channels, model_channels=num_channels,
                          out_channels=6 if learn_sigma else 3, num_res_blocks=num_res_blocks,
                          attention_resolutions=tuple(image_size // int(r) for r in attention_resolutions.split(",")),
                          dropout=dropout, channel_mult=mult, num_classes=1000 if class_cond else None,
                          num_heads=num_heads, num_head_channels=num_head_channels,
                          use_scale_shift_norm=use_scale_shift_norm, resblock_updown=resblock_updown,
                          use_new_attention_order=use_new_attention_order)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [cos, sin] of (possibly fractional) timesteps, as ADM."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class GroupNorm32(nn.GroupNorm):
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def norm(channels: int) -> nn.Module:
    return GroupNorm32(32, channels)


def zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class TimestepBlock(nn.Module):
    """A layer that also takes the timestep embedding."""


class TimestepEmbedSequential(nn.Sequential, TimestepBlock):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, TimestepBlock) else layer(x)
        return x


class Upsample(nn.Module):
    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        self.use_conv = use_conv
        if use_conv:
            self.conv = nn.Conv2d(channels, out_channels or channels, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x) if self.use_conv else x


class Downsample(nn.Module):
    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        self.op = nn.Conv2d(channels, out_channels or channels, 3, stride=2, padding=1) if use_conv else nn.AvgPool2d(2)

    def forward(self, x):
        return self.op(x)


class ResBlock(TimestepBlock):
    """GroupNorm-SiLU-conv twice, timestep injected as scale/shift (or added), optional up/down resampling."""

    def __init__(self, channels, emb_channels, dropout, out_channels=None, use_scale_shift_norm=False,
                 up=False, down=False):
        super().__init__()
        out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(norm(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.updown = up or down
        if up:
            self.h_upd, self.x_upd = Upsample(channels, False), Upsample(channels, False)
        elif down:
            self.h_upd, self.x_upd = Downsample(channels, False), Downsample(channels, False)
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, 2 * out_channels if use_scale_shift_norm
                                                             else out_channels))
        self.out_layers = nn.Sequential(norm(out_channels), nn.SiLU(), nn.Dropout(dropout),
                                        zero(nn.Conv2d(out_channels, out_channels, 3, padding=1)))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):
        if self.updown:
            h = self.in_layers[:-1](x)
            h, x = self.h_upd(h), self.x_upd(x)
            h = self.in_layers[-1](h)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[..., None, None]
        if self.use_scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = self.out_layers[1:](self.out_layers[0](h) * (1 + scale) + shift)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Spatial self-attention; `legacy_order` splits heads before q/k/v as guided-diffusion's default does."""

    def __init__(self, channels, num_heads=1, num_head_channels=-1, use_new_attention_order=False):
        super().__init__()
        self.num_heads = num_heads if num_head_channels == -1 else channels // num_head_channels
        self.legacy_order = not use_new_attention_order
        self.norm = norm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj_out = zero(nn.Conv1d(channels, channels, 1))

    def forward(self, x):
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        h = qkv_attention(self.qkv(self.norm(x)), self.num_heads, self.legacy_order)
        return (x + self.proj_out(h)).reshape(b, c, *spatial)


def qkv_attention(qkv: torch.Tensor, heads: int, legacy_order: bool) -> torch.Tensor:
    """softmax(qᵀk/√d)·v per head on qkv [B, 3C, T] → [B, C, T]. `legacy_order` (guided-diffusion's
    `QKVAttentionLegacy`) splits heads before q/k/v; otherwise (`QKVAttention`) q, k, v are split first."""
    b, width, length = qkv.shape
    c = width // 3
    if legacy_order:
        q, k, v = qkv.reshape(b * heads, 3 * c // heads, length).split(c // heads, dim=1)
    else:
        q, k, v = (t.reshape(b * heads, c // heads, length) for t in qkv.chunk(3, dim=1))
    h = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return h.transpose(1, 2).reshape(b, c, length)


def encoder(cfg, heads: dict, res: dict):
    """The input blocks and middle block of the ADM UNet, shared with the noisy classifier (`EncoderUNetModel`):
    `cfg` needs in_channels, model_channels, channel_mult, num_res_blocks, attention_resolutions, resblock_updown.
    Returns (input_blocks, middle_block, the channels of each input block's output, the final downsampling factor)."""
    mc, ted = cfg.model_channels, cfg.model_channels * 4
    ch = int(cfg.channel_mult[0] * mc)
    blocks = nn.ModuleList([TimestepEmbedSequential(nn.Conv2d(cfg.in_channels, ch, 3, padding=1))])
    chans, ds = [ch], 1
    for level, mult in enumerate(cfg.channel_mult):
        for _ in range(cfg.num_res_blocks):
            layers = [ResBlock(ch, ted, out_channels=int(mult * mc), **res)]
            ch = int(mult * mc)
            if ds in cfg.attention_resolutions:
                layers.append(AttentionBlock(ch, **heads))
            blocks.append(TimestepEmbedSequential(*layers))
            chans.append(ch)
        if level != len(cfg.channel_mult) - 1:
            down = ResBlock(ch, ted, out_channels=ch, down=True, **res) if cfg.resblock_updown else Downsample(ch, True)
            blocks.append(TimestepEmbedSequential(down))
            chans.append(ch)
            ds *= 2
    middle = TimestepEmbedSequential(ResBlock(ch, ted, **res), AttentionBlock(ch, **heads), ResBlock(ch, ted, **res))
    return blocks, middle, chans, ds


class UNetModel(nn.Module):
    """ADM UNet: `forward(x, t, y=None)` with t the (float) timestep fed to the sinusoidal embedding."""

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = cfg = config
        mc, ted = cfg.model_channels, cfg.model_channels * 4
        heads = dict(num_heads=cfg.num_heads, num_head_channels=cfg.num_head_channels,
                     use_new_attention_order=cfg.use_new_attention_order)
        res = dict(dropout=cfg.dropout, use_scale_shift_norm=cfg.use_scale_shift_norm)
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        if cfg.num_classes is not None:
            self.label_emb = nn.Embedding(cfg.num_classes, ted)
        input_ch = int(cfg.channel_mult[0] * mc)
        self.input_blocks, self.middle_block, skip_chans, ds = encoder(cfg, heads, res)
        ch = skip_chans[-1]
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(cfg.channel_mult))[::-1]:
            for i in range(cfg.num_res_blocks + 1):
                layers = [ResBlock(ch + skip_chans.pop(), ted, out_channels=int(mc * mult), **res)]
                ch = int(mc * mult)
                if ds in cfg.attention_resolutions:
                    layers.append(AttentionBlock(ch, **heads))
                if level and i == cfg.num_res_blocks:
                    layers.append(ResBlock(ch, ted, out_channels=ch, up=True, **res) if cfg.resblock_updown
                                  else Upsample(ch, True))
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(norm(ch), nn.SiLU(), zero(nn.Conv2d(input_ch, cfg.out_channels, 3, padding=1)))

    def forward(self, x, t, y=None):
        emb = self.time_embed(timestep_embedding(t, self.config.model_channels))
        if self.config.num_classes is not None:
            if y is None:
                raise ValueError("this UNet is class-conditional: pass class labels y")
            emb = emb + self.label_emb(y)
        h, skips = x, []
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)
