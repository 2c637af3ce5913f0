"""`shapes`: a procedural dataset whose completion is determined by structure (issue 19's default candidate).

Each scene (32² in the default benchmark, any size on request; the shapes scale with it, stripe periods are in pixels) is a smooth two-colour gradient or a striped background with 2–4 solid shapes (discs, rectangles,
rings, slanted bands) drawn over each other in order, so a centre or wide hole cuts through boundaries a learned
model can continue and a smooth interpolation cannot. Image i of a split is drawn from
`SeedSequence([SEED, split id, i])` — nothing is stored or downloaded, every machine gets the same pixels (the
first test images are pinned by sha256 in the tests). Splits: `test` (256 fixed scenes, the benchmark's), `train`
(20,000, what the tiny checkpoints and the feature network learn from) and `val` (256 scenes neither trains on nor
the benchmark scores: for choosing a method's settings without looking at the test scenes).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch.utils.data import Dataset

from .folder import DatasetError, Split

SIZE = 32  # the default benchmark's side (issue 25); scenes render at any size, their geometry scales
SEED = 19
SPLITS = {"train": (0, 20_000), "test": (1, 256), "val": (2, 256)}
GENERATOR_VERSION = 1


KINDS = ("disc", "rectangle", "ring", "band")
MAX_SHAPES = 4


def _colour(rng) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3)


def _background(rng, size: int, params: dict) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    a, b = _colour(rng), _colour(rng)
    params.update(background_colours=np.concatenate([a, b]))
    if rng.random() < 0.5:  # smooth gradient along a random direction
        angle = rng.uniform(0, np.pi)
        params.update(stripes=0.0)
        t = (np.cos(angle) * xx + np.sin(angle) * yy - min(0, np.cos(angle)) - min(0, np.sin(angle)))
        t = t / max(t.max(), 1e-6)
        return a * (1 - t[..., None]) + b * t[..., None]
    period, angle = rng.uniform(6, 16), rng.uniform(0, np.pi)
    params.update(stripes=1.0)
    phase = (np.cos(angle) * xx + np.sin(angle) * yy) * (size - 1) / period
    return np.where((np.floor(phase) % 2 == 0)[..., None], a, b)


def _shape_mask(rng, size: int) -> tuple[np.ndarray, int, tuple[float, float]]:
    """(pixels inside, kind index into KINDS, centre (y, x) in [0, 1])."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = rng.uniform(0.15, 0.85, 2)
    cy, cx = centre * size
    kind = int(rng.integers(4))
    if kind == 0:  # disc
        r = rng.uniform(0.1, 0.3) * size
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    elif kind == 1:  # rectangle
        h, w = rng.uniform(0.15, 0.5, 2) * size
        inside = (abs(yy - cy) <= h / 2) & (abs(xx - cx) <= w / 2)
    elif kind == 2:  # ring
        r = rng.uniform(0.15, 0.35) * size
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        inside = (d <= r) & (d >= r * rng.uniform(0.45, 0.75))
    else:  # slanted band through (cy, cx)
        angle, width = rng.uniform(0, np.pi), rng.uniform(0.06, 0.16) * size
        inside = abs(np.cos(angle) * (xx - cx) + np.sin(angle) * (yy - cy)) <= width / 2
    return inside, kind, (float(centre[0]), float(centre[1]))


def scene(split: str, index: int, size: int = SIZE) -> tuple[np.ndarray, dict]:
    """Scene `index` of `split`: uint8 pixels [size, size, 3] and the parameters that drew it —
    `stripes` (0 gradient, 1 stripes), `background_colours` [6], `count` (2–4), and per shape in drawing order
    `kinds`, `centres` [n, 2] and `colours` [n, 3] (the feature network's training targets)."""
    if split not in SPLITS:
        raise DatasetError(f"shapes has no split {split!r}; valid: {', '.join(SPLITS)}")
    split_id, n = SPLITS[split]
    if not 0 <= index < n:
        raise DatasetError(f"shapes split {split!r} has {n} images; {index} is out of range")
    rng = np.random.default_rng(np.random.SeedSequence([SEED, split_id, index]))
    params: dict = {"kinds": [], "centres": [], "colours": []}
    image = _background(rng, size, params)
    params["count"] = int(rng.integers(2, 5))
    for _ in range(params["count"]):
        inside, kind, centre = _shape_mask(rng, size)
        colour = _colour(rng)
        image = np.where(inside[..., None], colour, image)
        params["kinds"].append(kind)
        params["centres"].append(centre)
        params["colours"].append(colour)
    return (image * 255).round().clip(0, 255).astype(np.uint8), params


def render(split: str, index: int, size: int = SIZE) -> np.ndarray:
    """Scene `index` of `split` as uint8 [size, size, 3]."""
    return scene(split, index, size)[0]


def label_vector(params: dict) -> torch.Tensor:
    """The scene parameters as one float vector (the layout `metrics/shapes_network.py` reads):
    [stripes, background colours ×6, count one-hot ×3, shapes per kind ×4,
     per slot s < 4: present, colour ×3, centre ×2]."""
    count = np.zeros(3)
    count[params["count"] - 2] = 1
    per_kind = np.bincount(params["kinds"], minlength=len(KINDS)).astype(np.float64)
    slots = np.zeros((MAX_SHAPES, 6))
    for s, (colour, centre) in enumerate(zip(params["colours"], params["centres"], strict=True)):
        slots[s] = [1.0, *colour, *centre]
    vector = np.concatenate([[params["stripes"]], params["background_colours"], count, per_kind, slots.ravel()])
    return torch.from_numpy(vector).float()


LABEL_SIZE = 1 + 6 + 3 + len(KINDS) + MAX_SHAPES * 6


class ShapesDataset(Dataset):
    """Items `{image, mask, index, key}` like `ImageFolderDataset`, rendered on the fly."""

    def __init__(self, split: str, size: int, mask_source=None, limit: int | None = None, labels: bool = False):
        if split not in SPLITS:
            raise DatasetError(f"shapes has no split {split!r}; valid: {', '.join(SPLITS)}")
        n = SPLITS[split][1] if limit is None else min(limit, SPLITS[split][1])
        self.split_name, self.size, self.mask_source, self.labels = split, size, mask_source, labels
        self.split = Split(split, tuple(f"shapes/v{GENERATOR_VERSION}/{split}/{i:05d}" for i in range(n)))

    def __len__(self) -> int:
        return len(self.split.files)

    def __getitem__(self, index: int) -> dict:
        pixels, params = scene(self.split_name, index, self.size)
        image = torch.from_numpy(pixels).permute(2, 0, 1).float().div(127.5).sub(1.0)
        item = {"image": image, "index": index, "key": self.split.files[index]}
        if self.labels:  # the scene parameters, for the feature network (`metrics/shapes_network.py`)
            item["labels"] = label_vector(params)
        if self.mask_source is not None:
            item["mask"] = self.mask_source(index)
        return item


def pixels_sha256(split: str, index: int) -> str:
    return hashlib.sha256(render(split, index).tobytes()).hexdigest()
