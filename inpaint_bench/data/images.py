"""Reading images from disk into the suite's convention, with one explicit resize policy.

Resize policy `short_side_bicubic_center_crop`: scale the shorter side to `size` with PIL bicubic (antialiased
when shrinking), then cut the centre `size × size` square. It is deterministic and never stretches an image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
RESIZE_POLICY = "short_side_bicubic_center_crop"


class ImageReadError(OSError):
    """An image file that cannot be decoded; the message names the file."""


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB without clipping 16-bit data or dropping alpha onto black."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit int) grayscale: PIL's convert("L") clips values above 255, so scale explicitly.
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(np.round(arr / peak * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(np.round(arr * 255.0 if arr.max() <= 1.0 else arr), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels are composited over white, the usual page background.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def load_rgb(path: str | Path) -> Image.Image:
    """Open `path` as an 8-bit RGB PIL image, turned by its EXIF orientation, or raise ImageReadError naming the
    file."""
    try:
        with Image.open(path) as img:
            img.load()
            return _to_rgb(ImageOps.exif_transpose(img))  # as the camera meant it: a phone photo upright
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"cannot read image {path}: it is too large to decode safely ({err}). Remove it, or "
                             "resize it below PIL's limit first.") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageReadError(f"cannot read image {path}: {err}. Remove or replace the file.") from err


RESIZE_POLICIES = ("bicubic", "bilinear")


def resize_center_crop(img: Image.Image, size: int, policy: str = "bicubic") -> Image.Image:
    """Square `size` crop. `bicubic` (the suite's `short_side_bicubic_center_crop`): short side to `size` with PIL
    bicubic (long side rounded), centre crop (offsets floored). `bilinear`: torchvision's
    `Resize(size)` + `CenterCrop(size)` on PIL images, I²SB's ImageNet transform (PIL bilinear, long side
    truncated, crop offsets rounded)."""
    if policy == "bilinear":
        return _torchvision_resize_crop(img, size)
    if policy != "bicubic":
        raise ValueError(f"resize policy must be one of {RESIZE_POLICIES}, got {policy!r}")
    w, h = img.size
    if (w, h) != (size, size):
        scale = size / min(w, h)
        new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = (new_w - size) // 2, (new_h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


def _torchvision_resize_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    if short != size:
        new_long = int(size * long / short)
        new_w, new_h = (size, new_long) if w <= h else (new_long, size)
        img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
    w, h = img.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def to_tensor(img: Image.Image):
    """uint8 RGB PIL image → float tensor [3, H, W] in [-1, 1]."""
    import torch

    arr = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def to_uint8(image) -> np.ndarray:
    """Float tensor [3, H, W] (or [B, 3, H, W]) in [-1, 1] → uint8 array [H, W, 3] (or [B, H, W, 3])."""
    arr = ((image.detach().double().clamp(-1, 1) + 1) * 127.5).round().to("cpu").numpy().astype(np.uint8)
    return np.moveaxis(arr, -3, -1)


def list_images(folder: Path) -> list[str]:
    """Sorted relative paths of all images below `folder`."""
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
    )
