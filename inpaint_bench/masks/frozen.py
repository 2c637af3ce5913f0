"""Frozen mask sets in `mask_sets/`: bit-packed, xz-compressed, with a manifest of checksums and statistics.

File `<name>.bits.xz` holds `np.packbits` of n masks of 256² (1 = hole), row-major; `manifest.json` records for
each set: n, size, seed, generator_version, sha256 of the packed bits, and mean/min/max hole ratio.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import paths
from ..files.atomic import atomic_write
from .spec import BASE_SIZE, MaskError

GENERATOR_VERSION = 2  # 2: LaMa stroke counts and box sides as upstream (issue 16)
DEFAULT_N = 1000
MASK_SETS_DIR = Path(os.environ.get("INPAINT_BENCH_MASK_SETS", paths.REPO_DIR / "mask_sets"))


def manifest_path(folder: Path = None) -> Path:
    return (folder or MASK_SETS_DIR) / "manifest.json"


def read_manifest(folder: Path = None) -> dict:
    path = manifest_path(folder)
    return json.loads(path.read_text()) if path.exists() else {}


def pack(masks: np.ndarray) -> bytes:
    """bool [n, H, W] → packed bits."""
    return np.packbits(masks.reshape(len(masks), -1), axis=1).tobytes()


def unpack(data: bytes, n: int, size: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(data, np.uint8).reshape(n, -1), axis=1, count=size * size)
    return bits.reshape(n, size, size).astype(bool)


def stats(masks: np.ndarray) -> dict:
    ratio = masks.reshape(len(masks), -1).mean(1)
    return {"hole_mean": round(float(ratio.mean()), 4), "hole_min": round(float(ratio.min()), 4),
            "hole_max": round(float(ratio.max()), 4)}


def write_set(name: str, masks: np.ndarray, seed: int, folder: Path = None) -> dict:
    """Freeze `masks` (bool [n, 256, 256]) as set `name`; returns its manifest entry."""
    folder = folder or MASK_SETS_DIR
    packed = pack(masks)
    file = f"{name}.bits.xz"
    atomic_write(folder / file, lzma.compress(packed, preset=9 | lzma.PRESET_EXTREME))
    entry = {"name": name, "file": file, "n": len(masks), "size": masks.shape[-1], "seed": seed,
             "generator_version": GENERATOR_VERSION, "sha256": hashlib.sha256(packed).hexdigest(), **stats(masks)}
    manifest = read_manifest(folder)
    manifest[name] = entry
    atomic_write(manifest_path(folder), (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return entry


@lru_cache(maxsize=8)
def read_set(name: str, folder: Path = None) -> np.ndarray:
    """The frozen set `name` as bool [n, 256, 256], after checking its sha256."""
    folder = folder or MASK_SETS_DIR
    entry = read_manifest(folder).get(name)
    if entry is None:
        raise MaskError(f"no frozen mask set {name!r} in {manifest_path(folder)}; run `inpaint-bench masks build`")
    path = folder / entry["file"]
    try:
        packed = lzma.decompress(path.read_bytes())
    except (OSError, lzma.LZMAError) as err:
        raise MaskError(f"cannot read frozen mask set {path}: {err}; run `inpaint-bench masks build`") from err
    expected_bytes = entry["n"] * ((entry["size"] * entry["size"] + 7) // 8)
    if len(packed) != expected_bytes:  # an edited n or size would otherwise reshape the bits into other masks
        raise MaskError(f"{path} holds {len(packed)} bytes, but n = {entry['n']} masks of {entry['size']}² need "
                        f"{expected_bytes}: the manifest entry was edited or the file is stale — run "
                        "`inpaint-bench masks build`")
    digest = hashlib.sha256(packed).hexdigest()
    if digest != entry["sha256"]:
        raise MaskError(f"checksum mismatch in {path}: sha256 {digest[:12]}… but manifest says "
                        f"{entry['sha256'][:12]}…; the file is corrupt or stale — run `inpaint-bench masks build`")
    return unpack(packed, entry["n"], entry["size"])


def load_frozen(name: str, n: int | None = None, size: int = BASE_SIZE):
    import torch

    from .generate import scale

    masks = read_set(name)
    if n is not None:
        if n > len(masks):
            raise MaskError(f"frozen set {name!r} holds {len(masks)} masks, {n} requested; use masks.generate")
        masks = masks[:n]
    if size != masks.shape[-1]:
        masks = np.stack([scale(m, size) for m in masks])
    return torch.from_numpy(masks.astype(np.float32)).unsqueeze(1)


class FrozenSource:
    """Mask `index` of (`name`, `seed`): from the frozen set when it covers them, else regenerated."""

    def __init__(self, name: str, size: int, seed: int = 0):
        from .generate import spec

        self.spec = spec(name)  # unknown names fail here, listing the valid ones
        self.name, self.size, self.seed = name, size, seed
        entry = read_manifest().get(name)
        self.frozen_n = entry["n"] if entry and entry["seed"] == seed else 0

    def __call__(self, index: int):
        import torch

        from .generate import generate_one, scale

        if index < self.frozen_n and self.spec.random:
            mask = scale(read_set(self.name)[index], self.size)
        else:
            mask = generate_one(self.name, index, self.size, self.seed)
        return torch.from_numpy(mask.astype(np.float32)).unsqueeze(0)

    def checksum(self) -> str:
        """Identity of the mask *set* (the frozen sha256, or the generator's name/seed/version). Masks from index
        `frozen_n` on are regenerated, bit-exactly (tested); each cell also records the sha256 of the exact masks
        it used (`masks_sha256`)."""
        entry = read_manifest().get(self.name)
        if entry and entry["seed"] == self.seed:
            return entry["sha256"]
        return f"generated:{self.name}:seed{self.seed}:v{GENERATOR_VERSION}"
