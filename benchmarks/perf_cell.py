"""Fixed per-cell cost: where the time of a small cell goes (issue 19).

A `mean_fill` cell does almost no inpainting, so its wall time is the harness's fixed cost: data module, method,
reference features, metric networks, Lightning Trainer, W&B, writing results. This runs a sweep of `--cells`
mean_fill cells (seeds 0…K−1, `shapes`, `--limit` images, the default benchmark's metrics, untrained features so it
runs anywhere) and times each phase by wrapping the function that does it. Printed as a Markdown table; the first
cell is shown apart (it pays the once-per-sweep costs).

Run: .venv/bin/python benchmarks/perf_cell.py [--cells 4] [--limit 16] [--wandb]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

PHASES = [  # (label, module path, attribute): the function whose time is that phase's
    ("data module", "inpaint_bench.bench.runner", "_datamodule"),
    ("method", "inpaint_bench.methods", "build"),
    ("reference features", "inpaint_bench.bench.runner", "_reference"),
    ("metric networks", "inpaint_bench.metrics", "MetricSuite"),
    ("Lightning Trainer set-up", "lightning", "Trainer"),
    ("predict (images + metrics)", "lightning.pytorch.trainer.trainer", "Trainer.predict"),
    ("W&B logger + logging", "inpaint_bench.bench.runner", "_loggers"),
    ("W&B logger + logging", "inpaint_bench.bench.runner", "log_cell"),
    ("write results", "inpaint_bench.bench.store", "ResultStore.write_images"),
    ("write results", "inpaint_bench.bench.store", "ResultStore.write"),
]


@contextmanager
def timing(spent: dict, current: list):
    """Wrap each phase's function so its time is added to `spent[(cell, label)]`."""
    import importlib

    undo = []
    for label, module_name, attribute in PHASES:
        module = importlib.import_module(module_name)
        owner, name = (module, attribute) if "." not in attribute else (
            getattr(module, attribute.split(".")[0]), attribute.split(".")[1])
        original = getattr(owner, name)

        def wrapped(*args, _original=original, _label=label, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[(current[0], _label)] += time.perf_counter() - start

        setattr(owner, name, wrapped)
        undo.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def measure(cells: int, limit: int, wandb: bool) -> tuple[list[float], dict]:
    from inpaint_bench.bench import runner
    from inpaint_bench.bench.store import ResultStore
    from inpaint_bench.config import MethodSpec, Protocol, SweepConfig

    sweep = SweepConfig(name="perf-cell", datasets=("shapes",), masks=("center",), methods=(MethodSpec("mean_fill"),),
                        seeds=tuple(range(cells)), batch_size=16, grid_images=4,
                        protocol=Protocol(metrics=("fid", "kid", "lpips", "psnr", "ssim", "psnr_hole", "ssim_hole"),
                                          limit=limit, features="untrained"))
    spent, current, walls = defaultdict(float), [0], []
    original_run_cell = runner.run_cell

    def timed_cell(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original_run_cell(*args, **kwargs)
        finally:
            walls.append(time.perf_counter() - start)
            current[0] += 1

    with tempfile.TemporaryDirectory() as tmp, timing(spent, current):
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ["WANDB_DIR"] = tmp
        runner.run_cell = timed_cell
        try:
            runner.run_sweep(sweep, ResultStore(Path(tmp) / "results"), wandb=wandb, echo=lambda *_: None)
        finally:
            runner.run_cell = original_run_cell
    return walls, spent


def table(walls: list[float], spent: dict) -> str:
    labels = list(dict.fromkeys(label for label, _, _ in PHASES))
    later = range(1, len(walls))
    rows = ["| phase | first cell s | later cells s (mean) |", "|---|---|---|"]
    for label in labels:
        first = spent[(0, label)]
        rest = sum(spent[(i, label)] for i in later) / max(len(later), 1)
        rows.append(f"| {label} | {first:.3f} | {rest:.3f} |")
    other_first = walls[0] - sum(spent[(0, label)] for label in labels)
    other_rest = sum(walls[i] - sum(spent[(i, label)] for label in labels) for i in later) / max(len(later), 1)
    rows.append(f"| other (store checks, summary) | {other_first:.3f} | {other_rest:.3f} |")
    rest_wall = sum(walls[1:]) / max(len(later), 1)
    rows.append(f"| **whole cell** | **{walls[0]:.3f}** | **{rest_wall:.3f}** |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=4)
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--wandb", action="store_true", help="with the W&B logger (offline)")
    a = parser.parse_args()
    walls, spent = measure(a.cells, a.limit, a.wandb)
    print(f"mean_fill cells on shapes, {a.limit} images each, W&B {'offline' if a.wandb else 'off'}:\n")
    print(table(walls, spent))


if __name__ == "__main__":
    main()
