"""The one image/mask convention of the suite, checked at every boundary.

- image: float tensor in [-1, 1], shape [B, 3, H, W]
- mask:  float tensor with values in {0, 1}, shape [B, 1, H, W], **1 = hole (missing)**

Methods whose paper uses another convention convert inside their own file, once.
"""

from __future__ import annotations

import torch

# A mask with more hole than this is almost certainly "1 = keep" read as "1 = hole".
MAX_HOLE_FRACTION = 0.95
RANGE_TOLERANCE = 1e-3


class ConventionError(ValueError):
    """An image or mask that breaks the suite's convention; the message says how to fix it."""


def check_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Raise ConventionError unless `image` is a float [B, 3, H, W] tensor in [-1, 1]; return it unchanged."""
    if not isinstance(image, torch.Tensor):
        raise ConventionError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.ndim != 4 or image.shape[1] != 3:
        raise ConventionError(f"{name} must have shape [B, 3, H, W], got {list(image.shape)}")
    if not image.is_floating_point():
        raise ConventionError(
            f"{name} must be a float tensor in [-1, 1], got dtype {image.dtype}; "
            "convert uint8 images with x.float() / 127.5 - 1"
        )
    if not torch.isfinite(image).all():
        raise ConventionError(f"{name} contains NaN or Inf values")
    lo, hi = image.amin().item(), image.amax().item()
    if lo < -1 - RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        hint = " (looks like [0, 255]: use x / 127.5 - 1)" if hi > 2 else ""
        raise ConventionError(f"{name} must lie in [-1, 1], got [{lo:.3f}, {hi:.3f}]{hint}")
    return image


def check_mask(mask: torch.Tensor, image: torch.Tensor | None = None, name: str = "mask") -> torch.Tensor:
    """Raise ConventionError unless `mask` is a float {0, 1} [B, 1, H, W] tensor with 1 = hole.

    When `image` is given, the batch and spatial sizes must match. A mask whose hole covers more than
    95 % of an image is rejected as probably inverted (1 = keep).
    """
    if not isinstance(mask, torch.Tensor):
        raise ConventionError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ConventionError(f"{name} must have shape [B, 1, H, W], got {list(mask.shape)}")
    if not mask.is_floating_point():
        raise ConventionError(f"{name} must be a float tensor with values in {{0, 1}}, got dtype {mask.dtype}")
    if not ((mask == 0) | (mask == 1)).all():
        raise ConventionError(f"{name} must be binary (0 = keep, 1 = hole); threshold it first, e.g. (m > 0.5).float()")
    if image is not None and (mask.shape[0] != image.shape[0] or mask.shape[2:] != image.shape[2:]):
        raise ConventionError(
            f"{name} shape {list(mask.shape)} does not match image shape {list(image.shape)} (batch and H, W must agree)"
        )
    hole = mask.flatten(1).mean(1)
    if (hole > MAX_HOLE_FRACTION).any():
        worst = hole.max().item()
        raise ConventionError(
            f"{name} marks {worst:.1%} of an image as hole; it is probably inverted. "
            "The suite's convention is 1 = hole: pass 1 - mask for masks stored as 1 = keep"
        )
    return mask


def known_region(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The input a method sees: the hole is zeroed so its content cannot leak."""
    return image * (1 - mask)


def paste_known(output: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Keep the method's pixels in the hole and the input's pixels everywhere else."""
    return mask * output + (1 - mask) * image
