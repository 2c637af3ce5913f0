"""Reference Inception features of ground-truth images, cached per (dataset, split, size, mode) and reused."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable

import numpy as np
import torch

from .. import paths
from ..masks.frozen import atomic_write
from .distribution import feature_extractor


def cache_path(key: dict):
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return paths.cache_dir() / "stats" / f"ref_{key.get('dataset', 'custom')}_{digest}.npz"


def reference_features(batches: Iterable[torch.Tensor], key: dict, mode: str = "clean",
                       untrained: bool = False) -> np.ndarray:
    """Features [N, 2048] of the images in `batches` ([B, 3, H, W] in [-1, 1]), from the cache when present.

    `key` must identify the images (dataset, split checksum, size, n); the mode and weights are added to it.
    """
    extractor = feature_extractor(mode, untrained)
    key = {**key, "mode": extractor.label}
    path = cache_path(key)
    if path.exists():
        with np.load(path) as cached:
            if json.loads(str(cached["key"])) == key:
                return cached["features"]
    feats = np.concatenate([extractor(b).double().cpu().numpy() for b in batches])
    buf = io.BytesIO()
    np.savez(buf, features=feats, mu=feats.mean(0), sigma=np.cov(feats, rowvar=False), key=json.dumps(key, sort_keys=True))
    atomic_write(path, buf.getvalue())
    return feats
