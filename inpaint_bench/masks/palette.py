"""Palette's pre-generated ImageNet masks (`imagenet_freeform_masks.npz`, Saharia et al. 2022), which I²SB
evaluates with: `palette:PATH:freeform_10_20` (or `_20_30`, `_30_40`).

The file holds one array per bucket ("10-20% freeform", …), each `np.packbits` of 10,000 masks of 256² flattened
together, 1 = hole (I²SB's `corruption/inpaint.py: load_masks`). Mask i is read by unpacking only its 8,192 bytes.
Pairing: mask i ↔ image i. (I²SB itself draws `np.random.randint(10000)` per image, a pairing that depends on its
process's NumPy state; the suite pairs by index so every run and process count uses the same masks.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .spec import BASE_SIZE, MaskError

BUCKETS = {"freeform_10_20": "10-20% freeform", "freeform_20_30": "20-30% freeform",
           "freeform_30_40": "30-40% freeform"}
N_MASKS = 10_000
BYTES_PER_MASK = BASE_SIZE * BASE_SIZE // 8


class PaletteMasks:
    def __init__(self, path: str | Path, bucket: str, size: int):
        from .generate import scale

        self.path, self.size, self.scale = Path(path).expanduser(), size, scale
        if bucket not in BUCKETS:
            raise MaskError(f"palette masks: bucket must be one of {sorted(BUCKETS)}, got {bucket!r}")
        if not self.path.is_file():
            raise MaskError(f"Palette mask file {self.path} not found: download imagenet_freeform_masks.npz (the "
                            "Google Drive link in NVlabs/I2SB corruption/inpaint.py, FREEFORM_URL) and pass its path")
        with np.load(self.path, allow_pickle=False) as data:
            if BUCKETS[bucket] not in data:
                raise MaskError(f"{self.path} has no {BUCKETS[bucket]!r} array (keys: {list(data.keys())})")
            self.packed = np.asarray(data[BUCKETS[bucket]]).reshape(-1)
        self.n = min(N_MASKS, len(self.packed) // BYTES_PER_MASK)
        if self.n == 0:
            raise MaskError(f"{self.path}: {BUCKETS[bucket]!r} holds no whole 256² mask")
        self.bucket = bucket

    def __len__(self) -> int:
        return self.n

    def mask256(self, index: int) -> np.ndarray:
        if not 0 <= index < self.n:
            raise MaskError(f"{self.path} holds {self.n} masks per bucket; image {index} has none")
        chunk = self.packed[index * BYTES_PER_MASK : (index + 1) * BYTES_PER_MASK]
        return np.unpackbits(chunk).reshape(BASE_SIZE, BASE_SIZE).astype(bool)

    def __call__(self, index: int) -> torch.Tensor:
        mask = self.scale(self.mask256(index), self.size)
        return torch.from_numpy(mask.astype(np.float32)).unsqueeze(0)

    def checksum(self) -> str:
        return hashlib.sha256(self.packed[: self.n * BYTES_PER_MASK].tobytes()).hexdigest()
