"""`shapes`: a procedural dataset whose completion is determined by structure (issue 19's default candidate).

Each 64² scene is a smooth two-colour gradient or a striped background with 2–4 solid shapes (discs, rectangles,
rings, slanted bands) drawn over each other in order, so a centre or wide hole cuts through boundaries a learned
model can continue and a smooth interpolation cannot. Image i of a split is drawn from
`SeedSequence([SEED, split id, i])` — nothing is stored or downloaded, every machine gets the same pixels (the
first test images are pinned by sha256 in the tests). Splits: `test` (256 fixed scenes), `train` (20,000).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch.utils.data import Dataset

from .folder import DatasetError, Split

SIZE = 64
SEED = 19
SPLITS = {"train": (0, 20_000), "test": (1, 256)}
GENERATOR_VERSION = 1


def _colour(rng) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3)


def _background(rng, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    a, b = _colour(rng), _colour(rng)
    if rng.random() < 0.5:  # smooth gradient along a random direction
        angle = rng.uniform(0, np.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy - min(0, np.cos(angle)) - min(0, np.sin(angle)))
        t = t / max(t.max(), 1e-6)
        return a * (1 - t[..., None]) + b * t[..., None]
    period, angle = rng.uniform(6, 16), rng.uniform(0, np.pi)
    phase = (np.cos(angle) * xx + np.sin(angle) * yy) * (size - 1) / period
    return np.where((np.floor(phase) % 2 == 0)[..., None], a, b)


def _shape_mask(rng, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = rng.uniform(0.15, 0.85, 2) * size
    kind = rng.integers(4)
    if kind == 0:  # disc
        r = rng.uniform(0.1, 0.3) * size
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind == 1:  # rectangle
        h, w = rng.uniform(0.15, 0.5, 2) * size
        return (abs(yy - cy) <= h / 2) & (abs(xx - cx) <= w / 2)
    if kind == 2:  # ring
        r = rng.uniform(0.15, 0.35) * size
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        return (d <= r) & (d >= r * rng.uniform(0.45, 0.75))
    angle, width = rng.uniform(0, np.pi), rng.uniform(0.06, 0.16) * size  # slanted band through (cy, cx)
    return abs(np.cos(angle) * (xx - cx) + np.sin(angle) * (yy - cy)) <= width / 2


def render(split: str, index: int, size: int = SIZE) -> np.ndarray:
    """Scene `index` of `split` as uint8 [size, size, 3]."""
    if split not in SPLITS:
        raise DatasetError(f"shapes has no split {split!r}; valid: {', '.join(SPLITS)}")
    split_id, n = SPLITS[split]
    if not 0 <= index < n:
        raise DatasetError(f"shapes split {split!r} has {n} images; {index} is out of range")
    rng = np.random.default_rng(np.random.SeedSequence([SEED, split_id, index]))
    image = _background(rng, size)
    for _ in range(int(rng.integers(2, 5))):
        image = np.where(_shape_mask(rng, size)[..., None], _colour(rng), image)
    return (image * 255).round().clip(0, 255).astype(np.uint8)


class ShapesDataset(Dataset):
    """Items `{image, mask, index, key}` like `ImageFolderDataset`, rendered on the fly."""

    def __init__(self, split: str, size: int, mask_source=None, limit: int | None = None):
        if split not in SPLITS:
            raise DatasetError(f"shapes has no split {split!r}; valid: {', '.join(SPLITS)}")
        n = SPLITS[split][1] if limit is None else min(limit, SPLITS[split][1])
        self.split_name, self.size, self.mask_source = split, size, mask_source
        self.split = Split(split, tuple(f"shapes/v{GENERATOR_VERSION}/{split}/{i:05d}" for i in range(n)))

    def __len__(self) -> int:
        return len(self.split.files)

    def __getitem__(self, index: int) -> dict:
        pixels = render(self.split_name, index, self.size)
        image = torch.from_numpy(pixels).permute(2, 0, 1).float().div(127.5).sub(1.0)
        item = {"image": image, "index": index, "key": self.split.files[index]}
        if self.mask_source is not None:
            item["mask"] = self.mask_source(index)
        return item


def pixels_sha256(split: str, index: int) -> str:
    return hashlib.sha256(render(split, index).tobytes()).hexdigest()
