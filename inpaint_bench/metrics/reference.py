"""FID/KID references: Inception features of ground-truth images (cached per dataset, split, size, mode), of any
image folder (cached by its file list), or published statistics (clean-fid's `.npz` of mu and sigma).

Protocol `reference`:
  test-images    the features of the split's own ground-truth images (default)
  stats:PATH     an `.npz` with `mu` [2048] and `sigma` [2048, 2048] (clean-fid / I²SB format): FID only
  folder:PATH    every image under PATH (recursively, sorted), resized by the dataset's policy to the benchmark
                 size; features cached by the folder's file list (names, sizes, mtimes)
`inpaint-bench stats build --folder DIR` writes such an `.npz` (I²SB's `fid_imagenet_256_val.npz` from the val set).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable

import numpy as np
import torch

from ..files import paths
from ..files.atomic import atomic_write
from .inception import feature_extractor


def cache_path(key: dict):
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return paths.cache_dir() / "stats" / f"ref_{key.get('dataset', 'custom')}_{digest}.npz"


class ReferenceStats:
    """Published FID statistics: μ, Σ of a reference set's features, with the file's sha256 for provenance."""

    def __init__(self, mu: np.ndarray, sigma: np.ndarray, source: str = "", sha256: str = ""):
        self.mu, self.sigma, self.source, self.sha256 = np.asarray(mu, np.float64), np.asarray(sigma, np.float64), source, sha256
        if self.mu.ndim != 1 or self.sigma.shape != (len(self.mu), len(self.mu)):
            raise ValueError(f"{source}: mu must be [d] and sigma [d, d], got {self.mu.shape} and {self.sigma.shape}")


def load_stats(path) -> ReferenceStats:
    """clean-fid's statistics file (`np.savez(mu=…, sigma=…)`), read without pickle."""
    from pathlib import Path

    from ..files.hashing import sha256_of
    from ..files.provenance import note_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"FID statistics file {path} not found; build one with `inpaint-bench stats build "
                                f"--folder DIR --out {path}` or download the paper's")
    note_file(path)
    with np.load(path, allow_pickle=False) as f:
        if "mu" not in f or "sigma" not in f:
            raise ValueError(f"{path} has no 'mu' and 'sigma' arrays (keys: {list(f.keys())})")
        return ReferenceStats(f["mu"], f["sigma"], str(path), sha256_of(path))


def save_stats(path, feats: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, mu=feats.mean(0), sigma=np.cov(feats, rowvar=False))
    atomic_write(path, buf.getvalue())


def folder_key(folder) -> dict:
    """Identity of an image folder for the feature cache: its sorted file list with sizes and mtimes."""
    from pathlib import Path

    from ..data.images import list_images

    folder = Path(folder).expanduser()
    files = list_images(folder)
    if not files:
        raise FileNotFoundError(f"no images under reference folder {folder}")
    h = hashlib.sha256()
    for f in files:
        st = (folder / f).stat()
        h.update(f"{f}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return {"dataset": "folder", "folder": str(folder.resolve()), "files": len(files), "list_sha256": h.hexdigest()}


def folder_batches(folder, size: int, batch: int = 32, progress=None, resize: str = "bicubic"):
    """The images under `folder` as [B, 3, size, size] batches in [-1, 1] (the dataset's resize policy)."""
    from pathlib import Path

    from ..data.images import list_images, load_rgb, resize_center_crop, to_tensor

    folder = Path(folder).expanduser()
    files = list_images(folder)
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        yield torch.stack([to_tensor(resize_center_crop(load_rgb(folder / f), size, resize)) for f in chunk])
        if progress:
            progress(len(chunk))


def reference_features(batches: Iterable[torch.Tensor], key: dict, mode: str = "clean",
                       untrained: bool = False) -> np.ndarray:
    """Features [N, 2048] of the images in `batches` ([B, 3, H, W] in [-1, 1]), from the cache when present.

    `key` must identify the images (dataset, split checksum, size, n); the mode and weights are added to it.
    Many processes (DDP ranks, shards of a job array, nodes on a shared file system) may ask at once: one computes
    under a file lock beside the cache file and writes it atomically; the others wait for the lock and read it.
    """
    from filelock import FileLock

    extractor = feature_extractor(mode, untrained)
    key = {**key, "mode": extractor.label}
    path = cache_path(key)
    cached = _read_cached(path, key)
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        cached = _read_cached(path, key)  # written by the process that held the lock before us
        if cached is not None:
            return cached
        feats = np.concatenate([extractor(b).double().cpu().numpy() for b in batches])
        buf = io.BytesIO()
        np.savez(buf, features=feats, mu=feats.mean(0), sigma=np.cov(feats, rowvar=False),
                 key=json.dumps(key, sort_keys=True))
        atomic_write(path, buf.getvalue())
    return feats


def _read_cached(path, key: dict) -> np.ndarray | None:
    if not path.exists():
        return None
    with np.load(path) as cached:
        return cached["features"] if json.loads(str(cached["key"])) == key else None


def build_stats(folder, out, size: int = 256, mode: str = "legacy_pytorch", untrained: bool = False,
                batch: int = 32, resize: str = "bicubic", progress=None) -> dict:
    """FID statistics (clean-fid's `mu`, `sigma`) of every image under `folder`, written to `out`.
    `progress(total, label)` → an `advance(k)` callable, for a progress bar (the command's).
    Builders of one `out` at the same moment (a job array's tasks): one computes under a lock beside the file,
    the others wait and take the file it wrote (written after they asked) instead of computing it again."""
    import time
    from pathlib import Path

    from filelock import FileLock

    from ..data.images import list_images

    asked = time.time()
    n = len(list_images(Path(folder).expanduser()))
    if n < 2:
        raise ValueError(f"{folder}: {n} image(s); FID statistics need at least 2")
    extractor = feature_extractor(mode, untrained)
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"out": str(out), "n_images": n, "mode": extractor.label, "size": size}
    with FileLock(str(out) + ".lock"):
        if out.exists() and out.stat().st_mtime >= asked:  # another builder finished it while we waited
            return {**info, "built_by": "another process"}
        advance = progress(n, f"features ({extractor.label})") if progress else None
        feats = np.concatenate([extractor(images).double().cpu().numpy()
                                for images in folder_batches(folder, size, batch, advance, resize)])
        save_stats(out, feats)
    return info
