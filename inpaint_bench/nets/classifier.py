"""guided-diffusion's noisy classifier p_φ(y | x_t, t) (`EncoderUNetModel`, Dhariwal & Nichol 2021 §4.1), the
network behind classifier guidance in RePaint's ImageNet runs (`256x256_classifier.pt`).

The encoder half of the ADM UNet (same input and middle blocks, `nets/unet.py: encoder`) followed by a pooling
head: `attention` (CLIP's AttentionPool2d, what the official classifiers use) or `adaptive` (mean pool + 1×1 conv).
Parameter names are guided-diffusion's, so the official file loads directly. fp16 (`classifier_use_fp16`) is not
reproduced: the suite runs it in float32, as RePaint's configs do (`classifier_use_fp16: false`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .unet import encoder, norm, qkv_attention, timestep_embedding, zero

GUIDED_DIFFUSION_MULT = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}


@dataclass(frozen=True)
class ClassifierConfig:
    image_size: int = 256
    in_channels: int = 3
    model_channels: int = 128  # classifier_width
    out_channels: int = 1000  # ImageNet classes
    num_res_blocks: int = 2  # classifier_depth
    attention_resolutions: tuple[int, ...] = (8, 16, 32)  # downsampling factors (256 // "32,16,8")
    channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4, 4)
    num_head_channels: int = 64  # fixed by create_classifier
    use_scale_shift_norm: bool = True
    resblock_updown: bool = True
    pool: str = "attention"

    @staticmethod
    def from_guided_diffusion(image_size: int, classifier_width: int = 128, classifier_depth: int = 2,
                              classifier_attention_resolutions: str = "32,16,8",
                              classifier_use_scale_shift_norm: bool = True, classifier_resblock_updown: bool = True,
                              classifier_pool: str = "attention", channel_mult: tuple[int, ...] | None = None,
                              num_head_channels: int = 64, out_channels: int = 1000, **_ignored) -> ClassifierConfig:
        """What guided-diffusion's `create_classifier(**kwargs)` builds (`channel_mult` is its per-size table; pass
        it explicitly for sizes the table lacks, as the tiny test networks do)."""
        if channel_mult is None:
            if image_size not in GUIDED_DIFFUSION_MULT:
                raise ValueError(f"guided-diffusion's create_classifier has no channel_mult for size {image_size}")
            channel_mult = GUIDED_DIFFUSION_MULT[image_size]
        ds = tuple(image_size // int(r) for r in classifier_attention_resolutions.split(","))
        return ClassifierConfig(image_size=image_size, model_channels=classifier_width, out_channels=out_channels,
                                num_res_blocks=classifier_depth, attention_resolutions=ds,
                                channel_mult=tuple(channel_mult), num_head_channels=num_head_channels,
                                use_scale_shift_norm=classifier_use_scale_shift_norm,
                                resblock_updown=classifier_resblock_updown, pool=classifier_pool)

    def to_dict(self) -> dict:
        return asdict(self)


class AttentionPool2d(nn.Module):
    """CLIP's attention pooling: the spatial mean token attends over [mean; all positions] + a learned position
    embedding; multi-head with q, k, v split first (`QKVAttention`). Returns the mean token's output [B, out]."""

    def __init__(self, spatial: int, channels: int, head_channels: int, out_channels: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(channels, spatial**2 + 1) / channels**0.5)
        self.qkv_proj = nn.Conv1d(channels, 3 * channels, 1)
        self.c_proj = nn.Conv1d(channels, out_channels, 1)
        self.num_heads = channels // head_channels

    def forward(self, x):
        x = x.flatten(2)
        x = torch.cat([x.mean(dim=-1, keepdim=True), x], dim=-1) + self.positional_embedding[None].to(x.dtype)
        return self.c_proj(qkv_attention(self.qkv_proj(x), self.num_heads, legacy_order=False))[:, :, 0]


class NoisyClassifier(nn.Module):
    """`forward(x_t, t) → logits [B, classes]`, t the original (not respaced) timestep."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = cfg = config
        mc = cfg.model_channels
        self.time_embed = nn.Sequential(nn.Linear(mc, 4 * mc), nn.SiLU(), nn.Linear(4 * mc, 4 * mc))
        heads = dict(num_heads=1, num_head_channels=cfg.num_head_channels, use_new_attention_order=False)
        res = dict(dropout=0.0, use_scale_shift_norm=cfg.use_scale_shift_norm)
        self.input_blocks, self.middle_block, chans, ds = encoder(cfg, heads, res)
        ch = chans[-1]
        if cfg.pool == "attention":
            head = AttentionPool2d(cfg.image_size // ds, ch, cfg.num_head_channels, cfg.out_channels)
            self.out = nn.Sequential(norm(ch), nn.SiLU(), head)
        elif cfg.pool == "adaptive":
            self.out = nn.Sequential(norm(ch), nn.SiLU(), nn.AdaptiveAvgPool2d(1),
                                     zero(nn.Conv2d(ch, cfg.out_channels, 1)), nn.Flatten())
        else:
            raise ValueError(f"classifier pool must be 'attention' or 'adaptive', got {cfg.pool!r}")

    def forward(self, x, t):
        emb = self.time_embed(timestep_embedding(t, self.config.model_channels))
        h = x
        for block in self.input_blocks:
            h = block(h, emb)
        return self.out(self.middle_block(h, emb))


def load_classifier(checkpoint, config: dict | None = None) -> NoisyClassifier:
    """The noisy classifier from a registry key (`guided_diffusion_classifier256`), a path (guided-diffusion's
    plain state dict or safetensors; loaded with weights_only) or "random" (untrained, `config` or the official
    256² architecture; for tests). The architecture is `config` when given, else the official one."""
    from .checkpoint_files import resolve_checkpoint
    from .checkpoints import load_into, read_state

    model = NoisyClassifier(ClassifierConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                for k, v in (config or {}).items()}))
    if checkpoint != "random":
        path = resolve_checkpoint(checkpoint, "classifier")
        load_into(model, read_state(path), source=str(path))
    return model
