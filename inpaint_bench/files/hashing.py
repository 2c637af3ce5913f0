"""sha256 of files, cached per (path, mtime, size) so a large file is hashed once per process."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=32)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(path: Path) -> str:
    path = Path(path)
    return _sha256(str(path), path.stat().st_mtime_ns, path.stat().st_size)
