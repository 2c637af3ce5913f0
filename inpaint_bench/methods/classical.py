"""Classical floor baselines: rows every learned method must beat. No network, NFE = 0."""

from __future__ import annotations

import torch

from .base import InpaintMethod
from .registry import register


@register("mean_fill")
class MeanFill(InpaintMethod):
    """Fill the hole with the per-image, per-channel mean of the known pixels."""

    def inpaint(self, image, mask, generator=None):
        keep = 1 - mask
        mean = (image * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True).clamp_min(1)
        self.nfe = 0
        return torch.where(mask.bool(), mean.expand_as(image), image)
