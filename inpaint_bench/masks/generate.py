"""Mask sets by name: the registered types, and mask i of set (name, seed) drawn from its own generator."""

from __future__ import annotations

import numpy as np

from . import freeform, geometric, lama  # noqa: F401  (registering the mask types)
from .spec import BASE_SIZE, MASKS, MaskError, MaskSpec, index_rng


def names() -> list[str]:
    """Registered mask names (plus the `folder:PATH` form for a user's own masks)."""
    return MASKS.names()


def spec(name: str) -> MaskSpec:
    try:
        return MASKS.get(name)
    except KeyError as err:
        raise MaskError(f"{err.args[0]}; or folder:PATH for your own PNG masks") from None


def scale(mask: np.ndarray, size: int) -> np.ndarray:
    """Scale a bool mask to `size`: area average then threshold 0.5 when shrinking, nearest when growing."""
    src = mask.shape[0]
    if src == size:
        return mask
    if src % size == 0:
        f = src // size
        return mask.reshape(size, f, size, f).mean(axis=(1, 3)) >= 0.5
    idx = (np.arange(size) * src) // size
    if size > src:
        return mask[np.ix_(idx, idx)]
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    return (F.interpolate(t, size=(size, size), mode="area")[0, 0] >= 0.5).numpy()


def generate_one(name: str, index: int, size: int = 256, seed: int = 0) -> np.ndarray:
    """Mask `index` of set (`name`, `seed`) as a bool array [size, size], True = hole."""
    s = spec(name)
    if not s.random:
        return s.draw(None, size)
    return scale(s.draw(index_rng(name, seed, index), BASE_SIZE), size)


def generate(name: str, n: int, size: int = 256, seed: int = 0, start: int = 0):
    """Masks start … start+n−1 of set (`name`, `seed`) as a float tensor [n, 1, size, size], 1 = hole."""
    import torch

    if n < 0 or size < 4:
        raise MaskError(f"need n >= 0 and size >= 4, got n={n}, size={size}")
    out = torch.empty(n, 1, size, size)
    if not spec(name).random:
        out.copy_(torch.from_numpy(generate_one(name, 0, size, seed)).expand(n, 1, size, size))
        return out
    for i in range(n):
        out[i, 0].copy_(torch.from_numpy(generate_one(name, start + i, size, seed)))
    return out
