"""PSNR and SSIM per image, over the whole image or over the hole only.

Both are computed on the uint8-quantised images (what a saved PNG holds) scaled to [0, 1], data range 1, and
averaged per image (not over the pooled batch error, which is torchmetrics' default for PSNR).

SSIM is scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1, channel_axis=-1)` — the settings that reproduce Wang et al. — vectorised in torch (float64):
11-tap Gaussian (truncate 3.5), statistics on the 'valid' region (scikit-image crops 5 pixels of each border
after filtering, which is the same), map averaged over pixels and channels. torchmetrics' SSIM treats borders
differently and estimates the data range per batch unless told, so its numbers differ slightly; this one equals
scikit-image's to 1e-10 (tested). Masked SSIM averages the SSIM map over window centres inside the hole.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import MeanPerImage

PSNR_CAP_DB = 100.0  # identical images: MSE is clamped so PSNR is finite (and recorded as ≥ 100 dB)
K1, K2, SIGMA, TRUNCATE = 0.01, 0.03, 1.5, 3.5


def quantise(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float → uint8 levels → [0, 1] float64."""
    return ((images.double().clamp(-1, 1) + 1) * 127.5).round() / 255


def psnr(pred, target, weight=None) -> torch.Tensor:
    """Per-image PSNR (dB) of [B, C, H, W] images in [0, 1]; `weight` [B, 1, H, W] restricts it to a region."""
    err = (pred - target) ** 2
    if weight is None:
        mse = err.flatten(1).mean(1)
    else:
        w = weight.expand_as(err)
        mse = (err * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1)
    return 10 * torch.log10(1 / mse.clamp_min(10 ** (-PSNR_CAP_DB / 10)))


def _gaussian_window(device) -> torch.Tensor:
    radius = int(TRUNCATE * SIGMA + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
    g = torch.exp(-0.5 * (x / SIGMA) ** 2)
    return g / g.sum()


def ssim_map(pred, target) -> torch.Tensor:
    """SSIM map [B, C, H−10, W−10] of images in [0, 1] (data range 1)."""
    g = _gaussian_window(pred.device)
    c = pred.shape[1]
    kx, ky = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(x):
        return F.conv2d(F.conv2d(x, kx, groups=c), ky, groups=c)

    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x**2
    var_y = blur(target * target) - mu_y**2
    cov = blur(pred * target) - mu_x * mu_y
    c1, c2 = K1**2, K2**2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim_region(weight, size: int) -> torch.Tensor:
    """The part of `weight` where SSIM windows are centred (the map is `2·radius` smaller than the image)."""
    pad = int(TRUNCATE * SIGMA + 0.5)
    return weight[:, :, pad : size - pad, pad : size - pad]


def ssim(pred, target, weight=None) -> torch.Tensor:
    """Per-image SSIM; with `weight` [B, 1, H, W], the mean of the map over window centres inside it."""
    m = ssim_map(pred, target)
    if weight is None:
        return m.flatten(1).mean(1)
    w = ssim_region(weight, pred.shape[-1]).expand_as(m)
    return (m * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1)


class _PixelMetric(MeanPerImage):
    """A per-image pixel metric on uint8-quantised images; `masked=True` restricts it to the hole."""

    higher_is_better = True

    def __init__(self, masked: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.masked = masked

    def per_image(self, pred, target, mask):
        values = type(self).fn(quantise(pred), quantise(target), mask.double() if self.masked else None)
        if self.masked:  # an image without a hole (or, for SSIM, no window centre in it) has no hole score
            region = mask.double() if type(self) is PSNR else ssim_region(mask.double(), pred.shape[-1])
            values = torch.where(region.flatten(1).sum(1) > 0, values, torch.full_like(values, float("nan")))
        return values


class PSNR(_PixelMetric):
    """Mean per-image PSNR in dB (data range 1)."""

    fn = staticmethod(psnr)


class SSIM(_PixelMetric):
    """Mean per-image SSIM (scikit-image's Gaussian settings)."""

    fn = staticmethod(ssim)


assert math.isclose(K1, 0.01)  # Wang et al. constants
