"""An image-folder dataset driven by a split file, paired index for index with a mask set."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from .images import load_rgb, resize_center_crop, to_tensor


class DatasetError(FileNotFoundError):
    """A dataset folder or split that is missing or empty; the message says what is expected."""


@dataclass(frozen=True)
class Split:
    """The exact images of one split: relative paths (and class labels where the dataset has them)."""

    name: str
    files: tuple[str, ...]
    labels: tuple[int, ...] | None = None

    def __post_init__(self):
        if not self.files:
            raise DatasetError(f"split {self.name!r} is empty: an empty split is an error, not an empty result")
        if self.labels is not None and len(self.labels) != len(self.files):
            raise DatasetError(f"split {self.name!r}: {len(self.files)} files but {len(self.labels)} labels")

    def checksum(self) -> str:
        """sha256 of the file list (and labels): the split's identity in results and protocol cards."""
        text = "\n".join(self.files) + ("\n" + ",".join(map(str, self.labels)) if self.labels else "")
        return hashlib.sha256(text.encode()).hexdigest()


def read_label_file(path: Path, n: int) -> tuple[int, ...]:
    """One integer label per line (I²SB's `val_faster_imagefolder_10k_label.txt`), as many as the split's images."""
    if not path.exists():
        raise DatasetError(f"label file {path} does not exist")
    labels = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                labels.append(int(line))
            except ValueError:
                raise DatasetError(f"label file {path} line {i}: {line!r} is not an integer label") from None
    if len(labels) != n:
        raise DatasetError(f"label file {path} has {len(labels)} labels for {n} images")
    return tuple(labels)


def read_split_file(path: Path, root: Path, name: str) -> Split:
    """Read a split file: one image per line, `relative/path.png` or `relative/path.png<space>label`.

    Absolute paths written on another machine (as in I²SB's list) are re-rooted by their last components.
    """
    if not path.exists():
        raise DatasetError(f"split file {path} does not exist")
    files, labels = [], []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            line, label = parts[0], int(parts[1])
            labels.append(label)
        files.append(_reroot(line, root))
    if labels and len(labels) != len(files):
        raise DatasetError(f"split file {path}: some lines have a label and some do not")
    return Split(name, tuple(files), tuple(labels) if labels else None)


def _reroot(entry: str, root: Path) -> str:
    p = Path(entry)
    if not p.is_absolute():
        return p.as_posix()
    for k in range(1, len(p.parts)):
        tail = Path(*p.parts[-k:])
        if (root / tail).exists():
            return tail.as_posix()
    return Path(*p.parts[-2:]).as_posix()


class ImageFolderDataset(Dataset):
    """Images of one split, resized by the suite's policy, each paired with mask *i* of a mask source.

    Items are dicts `{image [3,H,W] in [-1,1], mask [1,H,W] 1 = hole, index, key}` plus `label` when the split
    has labels. `mask_source(i)` must return mask *i* as a [1, H, W] tensor.
    """

    def __init__(self, root: Path, split: Split, size: int, mask_source=None, resize: str = "bicubic"):
        self.root, self.split, self.size, self.mask_source = Path(root), split, size, mask_source
        self.resize = resize

    def __len__(self) -> int:
        return len(self.split.files)

    def __getitem__(self, index: int) -> dict:
        key = self.split.files[index]
        image = to_tensor(resize_center_crop(load_rgb(self.root / key), self.size, self.resize))
        item = {"image": image, "index": index, "key": key}
        if self.mask_source is not None:
            item["mask"] = self.mask_source(index)
        if self.split.labels is not None:
            item["label"] = self.split.labels[index]
        return item
