"""Where weights, reference statistics and datasets are looked up. Nothing is downloaded implicitly."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ASSETS_DIR = PACKAGE_DIR / "assets"
REPO_DIR = PACKAGE_DIR.parent


def cache_dir() -> Path:
    """`INPAINT_BENCH_HOME`, default `~/.cache/inpaint_bench`."""
    return Path(os.environ.get("INPAINT_BENCH_HOME", Path.home() / ".cache" / "inpaint_bench")).expanduser()


def data_root(dataset: str) -> Path | None:
    """The folder of a dataset from `INPAINT_BENCH_DATA_<NAME>` or `<cache>/data/<name>`, if either exists."""
    env = os.environ.get(f"INPAINT_BENCH_DATA_{dataset.upper()}")
    if env:
        return Path(env).expanduser()
    default = cache_dir() / "data" / dataset
    return default if default.exists() else None


def torch_home() -> Path:
    """`TORCH_HOME` (where torchvision and clean-fid's legacy mode look for checkpoints), default `~/.cache/torch`."""
    return Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")).expanduser()
