"""Seam metrics: how the filled hole meets the known region, per image, on uint8-quantised images in [0, 1].

  psnr_seam  PSNR (dB) in the band of `width` pixels on both sides of the mask edge (Chebyshev distance: hole pixels
             within `width` of a known pixel, and known pixels within `width` of a hole pixel). The known side equals
             the input after the suite pastes it back; the hole side is the method's, so the band weighs the
             transition.
  seam_jump  | mean step across the edge of the output − that of the ground truth |, in 8-bit levels; a step is
             the absolute difference of a 4-neighbour pair with one pixel in the hole and one known, averaged over
             channels. 0 when the output steps across the edge as the scene does; a visible seam (a patch offset
             in colour or position) and an edge smoothed away both score above 0. Lower is better.
An image without an edge (no hole, or all hole) has no value (left out and counted, like the hole-only metrics).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import MeanPerImage
from .pixel import psnr, quantise

SEAM_WIDTH = 3


def seam_band(mask: torch.Tensor, width: int = SEAM_WIDTH) -> torch.Tensor:
    """[B, 1, H, W] float: 1 within `width` pixels of the mask edge, on both sides."""
    hole = mask.float()

    def near(x):
        return F.max_pool2d(x, 2 * width + 1, stride=1, padding=width)

    return near(hole) * near(1 - hole)


def edge_steps(images: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the sum of |x(p) − x(q)| over channels and the number of 4-neighbour pairs (p, q) that cross
    the mask edge (one pixel in the hole, the other known)."""
    hole = mask.bool()
    total = torch.zeros(len(images), dtype=torch.float64, device=images.device)
    count = torch.zeros_like(total)
    for dim in (-1, -2):
        a, b = images.narrow(dim, 0, images.shape[dim] - 1), images.narrow(dim, 1, images.shape[dim] - 1)
        ha, hb = hole.narrow(dim, 0, hole.shape[dim] - 1), hole.narrow(dim, 1, hole.shape[dim] - 1)
        crossing = (ha != hb).double()
        total += ((a - b).abs() * crossing).flatten(1).sum(1) / images.shape[1]
        count += crossing.flatten(1).sum(1)
    return total, count


class SeamPSNR(MeanPerImage):
    """Mean per-image PSNR (dB) in the band of `width` pixels around the mask edge."""

    higher_is_better = True

    def __init__(self, width: int = SEAM_WIDTH, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def per_image(self, pred, target, mask):
        band = seam_band(mask, self.width).double()
        values = psnr(quantise(pred), quantise(target), band)
        return torch.where(band.flatten(1).sum(1) > 0, values, torch.full_like(values, float("nan")))


class SeamJump(MeanPerImage):
    """Mean per-image |step across the mask edge of the output − of the ground truth|, in 8-bit levels."""

    higher_is_better = False

    def per_image(self, pred, target, mask):
        out, n = edge_steps(quantise(pred), mask)
        truth, _ = edge_steps(quantise(target), mask)
        values = 255 * (out - truth).abs() / n.clamp_min(1)
        return torch.where(n > 0, values, torch.full_like(values, float("nan")))
