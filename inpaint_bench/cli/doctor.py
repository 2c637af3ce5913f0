"""`inpaint-bench doctor`: what this machine has — versions, devices, cache, datasets, weights."""

from __future__ import annotations

import importlib
import platform

from ..files import paths
from ..files.provenance import VERSION

PACKAGES = ["torch", "torchvision", "lightning", "torchmetrics", "cleanfid", "lpips", "wandb", "albumentations",
            "einops", "sklearn", "skimage", "cv2", "safetensors", "numpy"]


def _version(module: str) -> str:
    try:
        return str(getattr(importlib.import_module(module), "__version__", "installed"))
    except Exception as err:  # a broken install is exactly what doctor should report
        return f"MISSING ({type(err).__name__}: {err})"


def report() -> list[tuple[str, str, str]]:
    """Rows (section, item, status)."""
    import torch

    rows = [("suite", "inpaint-bench", VERSION), ("suite", "python", platform.python_version())]
    rows += [("package", m, _version(m)) for m in PACKAGES]
    cuda = torch.cuda.device_count()
    rows.append(("device", "cuda", f"{cuda} device(s): " + ", ".join(torch.cuda.get_device_name(i) for i in range(cuda))
                 if cuda else "none (CPU only)"))
    rows.append(("device", "cpu threads", str(torch.get_num_threads())))
    rows.append(("cache", "INPAINT_BENCH_HOME", str(paths.cache_dir())))
    rows.append(("cache", "TORCH_HOME", str(paths.torch_home())))
    from ..data import DATASETS

    for name in DATASETS.names():
        if name in ("shapes", "folder"):
            rows.append(("dataset", name, "procedural, always available" if name == "shapes"
                         else 'your own images: datasets: ["folder:PATH"]'))
            continue
        root = paths.ASSETS_DIR / "tiny" if name == "tiny" else paths.data_root(name)
        status = f"found at {root}" if root and root.is_dir() else (
            f"missing: set INPAINT_BENCH_DATA_{name.upper()} or put it at {paths.cache_dir() / 'data' / name}")
        rows.append(("dataset", name, status))
    try:
        from ..files.weights import WEIGHTS

        for w in WEIGHTS.values():
            rows.append(("weights", w.file, w.status()))
    except ImportError:
        pass
    return rows


def main() -> int:
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(title="inpaint-bench doctor")
    for col in ("section", "item", "status"):
        table.add_column(col, overflow="fold")  # a narrow terminal wraps a path, never cuts it with "…"
    for row in report():
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 240).print(table)  # piped: one line per row, greppable
    return 0
