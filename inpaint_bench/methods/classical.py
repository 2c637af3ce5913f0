"""Classical floor baselines: rows every learned method must beat. No network, NFE = 0."""

from __future__ import annotations

import numpy as np
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


class OpenCVInpaint(InpaintMethod):
    """OpenCV's classical inpainting on the uint8 image (per image, CPU). `radius` is OpenCV's inpaintRadius."""

    flag_name = ""

    def __init__(self, radius: int = 3):
        super().__init__()
        self.radius = radius

    def inpaint(self, image, mask, generator=None):
        import cv2

        from ..data.images import to_uint8

        flag = getattr(cv2, self.flag_name)
        out = []
        for img, m in zip(to_uint8(image), mask[:, 0].to("cpu").numpy().astype(np.uint8), strict=True):
            filled = cv2.inpaint(np.ascontiguousarray(img), m, self.radius, flag)
            out.append(torch.from_numpy(filled).permute(2, 0, 1).float() / 127.5 - 1)
        self.nfe = 0
        return torch.stack(out).to(image.device)


@register("telea")
class Telea(OpenCVInpaint):
    """Telea (2004) fast-marching inpainting, `cv2.INPAINT_TELEA`."""

    flag_name = "INPAINT_TELEA"


@register("navier_stokes")
class NavierStokes(OpenCVInpaint):
    """Bertalmio et al. (2001) Navier–Stokes inpainting, `cv2.INPAINT_NS`."""

    flag_name = "INPAINT_NS"
