"""`inpaint_bench.evaluate(...)`: run a small sweep from Python and get its cells as a pandas DataFrame.

    import inpaint_bench as ib
    df = ib.evaluate(["telea", {"name": "i2sb", "config": {"nfe": 10}}], dataset="shapes", masks=["center", "wide"],
                     metrics=["psnr", "ssim", "psnr_hole"], limit=8)
    df.pivot_table(index="method", columns="mask", values="psnr")

The same runner as `inpaint-bench sweep` (results store, resume, protocol checks): finished cells in `results`
are reused, not recomputed. One row per cell: dataset, mask, method (the row label), seed, status, each metric,
NFE, seconds per image, n_images, and `per_image` (the path of the cell's per-image CSV).
"""

from __future__ import annotations

from pathlib import Path


def evaluate(methods, dataset: str = "shapes", masks=("center",), metrics=("psnr", "ssim"), seeds=(0,),
             results: str | Path = "results", accelerator: str = "auto", devices=1, progress: bool = False, **protocol):
    import pandas as pd

    from .bench.config import (
        Protocol,
        SweepConfig,
        _methods,
        _strict,
        dataset_key,
        validate_protocol,
        validate_sweep,
    )
    from .bench.runner import TrainerOptions, run_sweep
    from .bench.store import ResultStore

    proto = Protocol(**_strict(Protocol, {"metrics": list(metrics), **protocol}, "evaluate()"))
    validate_protocol(proto)
    specs = tuple(spec for i, m in enumerate(methods) for spec in _methods(m, f"evaluate(): methods[{i}]"))
    sweep = validate_sweep(SweepConfig("evaluate", (dataset,), tuple(masks), specs, tuple(seeds), proto), "evaluate()")
    store = ResultStore(results)
    run_sweep(sweep, store, TrainerOptions(accelerator=accelerator, devices=devices, progress=progress),
              wandb=False, echo=None if progress else (lambda line: None))
    rows = []
    for cell in sweep.cells():
        result = store.read_cell(store.cell_path(dataset_key(dataset), cell.cell_id()))
        if result is None:
            continue
        rows.append({"dataset": dataset_key(dataset), "mask": cell.mask, "method": cell.method.row(),
                     "seed": cell.seed, "status": result["status"], **result.get("metrics", {}),
                     "nfe": result.get("nfe"), "s/img": result.get("seconds_per_image"),
                     "n_images": result.get("n_images"), "error": result.get("error"),
                     "per_image": str(store.images_path(dataset_key(dataset), cell.cell_id()))})
    return pd.DataFrame(rows)
