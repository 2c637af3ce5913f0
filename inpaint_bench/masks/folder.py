"""A user's own masks from disk: any PNG folder, RePaint's mask folders, the NVIDIA irregular mask set.

Names accepted by `mask_source`:
  folder:PATH                 PNGs sorted by name, mask i ↔ image i; polarity from `polarity` (default hole)
  repaint:PATH                RePaint's folders (thick, thin, ex64, genhalf, nn2, ev2li): stored 255 = keep
  palette:PATH:freeform_LO_HI Palette's imagenet_freeform_masks.npz (I²SB's masks; masks/palette.py)
  nvidia:PATH[:ratio_LO_HI]   NVIDIA irregular masks (Liu et al. 2018), white = hole, 512² (resized explicitly),
                              optionally only the masks whose hole ratio falls in one bucket; the test set has
                              2,000 masks per bucket, fewer than a test split's images, so image i takes mask
                              i mod n (`cycle`)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..convention import MAX_HOLE_FRACTION
from .spec import MaskError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def read_binary(path: Path, polarity: str) -> np.ndarray:
    """Read one mask file as bool [H, W], True = hole. Values must be exactly two levels: 0 and 1, or 0 and 255."""
    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("L"))
    except OSError as err:
        raise MaskError(f"cannot read mask {path}: {err}") from err
    values = np.unique(arr)
    if not (set(values.tolist()) <= {0, 255} or set(values.tolist()) <= {0, 1}):
        raise MaskError(f"mask {path} is not binary (values {values[:6].tolist()}…); save it as 0/255 PNG "
                        "(JPEG compression makes masks non-binary)")
    on = arr > 0
    return on if polarity == "hole" else ~on


def resize_nearest(mask: np.ndarray, size: int) -> np.ndarray:
    h, w = mask.shape
    rows, cols = (np.arange(size) * h) // size, (np.arange(size) * w) // size
    return mask[np.ix_(rows, cols)]


class FolderMasks:
    """Mask `index` = the index-th file (sorted) of a folder, checked and converted to 1 = hole."""

    def __init__(self, path: str | Path, size: int, polarity: str = "hole", resize: bool = False,
                 ratio_bucket: tuple[float, float] | None = None, cycle: bool = False):
        if polarity not in ("hole", "keep"):
            raise MaskError(f"mask polarity must be 'hole' or 'keep', got {polarity!r}")
        self.root, self.size, self.polarity, self.resize = Path(path).expanduser(), size, polarity, resize
        self.cycle = cycle
        if not self.root.is_dir():
            raise MaskError(f"mask folder {self.root} does not exist")
        # one level only: a subfolder (a backup, another set) must never shift mask i ↔ image i
        self.files = sorted(p for p in self.root.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        nested = sorted(d.name for d in self.root.iterdir() if d.is_dir() and any(
            f.suffix.lower() in SUFFIXES for f in d.rglob("*")))
        if self.files and nested:  # the rule, said once: a backup subfolder must never shift mask i ↔ image i
            import sys

            print(f"note: mask folder {self.root}: its subfolders ({', '.join(nested[:3])}) are not read; masks come "
                  "from the folder itself, one level deep (mask i = the i-th file by name)", file=sys.stderr)
        if ratio_bucket is not None:
            lo, hi = ratio_bucket
            self.files = [f for f in self.files if lo <= read_binary(f, polarity).mean() < hi]
        if not self.files:
            subfolders = [d.name for d in self.root.iterdir() if d.is_dir()]
            raise MaskError(f"no mask images in {self.root}" + (f" with hole ratio in {ratio_bucket}" if ratio_bucket else "")
                            + (f" (subfolders are not read: {subfolders[:3]}; point at the folder that holds the "
                               "PNGs)" if subfolders else ""))

    def __len__(self) -> int:
        return len(self.files)

    def __call__(self, index: int) -> torch.Tensor:
        if self.cycle:
            index %= len(self.files)
        if index >= len(self.files):
            raise MaskError(f"mask folder {self.root} has {len(self.files)} masks; image {index} has none")
        path = self.files[index]
        mask = read_binary(path, self.polarity)
        if mask.shape != (self.size, self.size):
            if not self.resize:
                raise MaskError(f"mask {path} is {mask.shape[1]}×{mask.shape[0]}, the benchmark size is "
                                f"{self.size}×{self.size}; pass --resize-masks (resize_masks: true in a sweep file) to resize it "
                                f"(nearest)")
            if mask.shape[0] != mask.shape[1]:
                raise MaskError(f"mask {path} is {mask.shape[1]}×{mask.shape[0]}, not square: --resize-masks "
                                f"resizes square masks only (stretching it to {self.size}×{self.size} would move "
                                "its hole); crop your masks to squares as the images are cropped")
            mask = resize_nearest(mask, self.size)
        if mask.mean() > MAX_HOLE_FRACTION:
            raise MaskError(f"mask {path} marks {mask.mean():.0%} as hole with polarity {self.polarity!r}; it is "
                            f"probably inverted — use --mask-polarity {'keep' if self.polarity == 'hole' else 'hole'} "
                            f"(mask_polarity: … in a sweep file)")
        return torch.from_numpy(mask.astype(np.float32)).unsqueeze(0)

    def checksum(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for f in self.files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
        return h.hexdigest()


def from_name(name: str, size: int, polarity: str = "hole", resize: bool = False) -> FolderMasks:
    """Build the source for a `folder:`, `repaint:` or `nvidia:` name."""
    kind, _, rest = name.partition(":")
    if kind == "folder":
        return FolderMasks(rest, size, polarity=polarity, resize=resize)
    if kind == "repaint":
        return FolderMasks(rest, size, polarity="keep", resize=resize)
    if kind == "nvidia":
        path, _, bucket = rest.partition(":ratio_")
        ratio = None
        if bucket:
            lo, hi = (int(v) / 100 for v in bucket.split("_"))
            ratio = (lo, hi)
        return FolderMasks(path, size, polarity="hole", resize=True, ratio_bucket=ratio, cycle=True)
    if kind == "palette":
        from .palette import PaletteMasks

        path, _, bucket = rest.rpartition(":")
        return PaletteMasks(path, bucket, size)
    raise MaskError(f"unknown mask source kind {kind!r}; use folder:, repaint:, nvidia: or palette:")
