"""Fixed per-cell cost: where the time of a small cell goes (issue 19).

A `mean_fill` cell does almost no inpainting, so its wall time is the harness's fixed cost: data module, method,
reference features, metric networks, Lightning Trainer, W&B, writing results. This runs a sweep of `--cells`
mean_fill cells (seeds 0…K−1, `shapes`, `--limit` images, the default benchmark's metrics, untrained features so it
runs anywhere) and times each phase by wrapping the function that does it. Printed as a Markdown table; the first
cell is shown apart (it pays the once-per-sweep costs).

Run: .venv/bin/python benchmarks/perf_cell.py [--cells 4] [--limit 16] [--wandb] [--before OLD_CHECKOUT]
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
    ("data module", "inpaint_bench.bench.runner", "cell_datamodule"),
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
    from inpaint_bench.bench.config import MethodSpec, Protocol, SweepConfig
    from inpaint_bench.bench.store import ResultStore

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


def phase_means(walls: list[float], spent: dict) -> dict[str, tuple[float, float]]:
    """label → (first cell s, mean of the later cells s), plus the rest of the cell and the whole cell."""
    labels = list(dict.fromkeys(label for label, _, _ in PHASES))
    later = range(1, len(walls))

    def mean_later(value) -> float:
        return sum(value(i) for i in later) / max(len(later), 1)

    out = {label: (spent[(0, label)], mean_later(lambda i, lb=label: spent[(i, lb)])) for label in labels}
    rest = {i: walls[i] - sum(spent[(i, label)] for label in labels) for i in range(len(walls))}
    out["other (store checks, summary)"] = (rest[0], mean_later(lambda i: rest[i]))
    out["whole cell"] = (walls[0], mean_later(lambda i: walls[i]))
    return out


def measured_in(checkout: Path, cells: int, limit: int, wandb: bool) -> dict:
    """Run the measurement with the suite of `checkout` (e.g. a worktree of an older commit) in a subprocess."""
    import json
    import subprocess
    import sys

    args = [sys.executable, str(Path(__file__).resolve()), "--json", "--cells", str(cells), "--limit", str(limit)]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(args + (["--wandb"] if wandb else []), cwd=checkout, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(columns: dict[str, dict]) -> str:
    """Markdown: one row per phase, (first, later) seconds per measured suite."""
    head = " | ".join(f"{name}: first cell s | {name}: later cells s" for name in columns)
    rows = [f"| phase | {head} |", "|---" * (1 + 2 * len(columns)) + "|"]
    for label in next(iter(columns.values())):
        values = " | ".join(f"{c[label][0]:.3f} | {c[label][1]:.3f}" for c in columns.values())
        rows.append(f"| {label} | {values} |")
    return "\n".join(rows)


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=4)
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--wandb", action="store_true", help="with the W&B logger (offline)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of an older commit (git worktree add DIR COMMIT): measured first, same run")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.json:
        print(json.dumps(phase_means(*measure(a.cells, a.limit, a.wandb))))
        return
    columns = {}
    if a.before is not None:
        columns["before"] = measured_in(a.before.resolve(), a.cells, a.limit, a.wandb)
    columns["now"] = measured_in(Path(__file__).resolve().parents[1], a.cells, a.limit, a.wandb)
    print(f"mean_fill cells on shapes, {a.limit} images each, {a.cells} cells in one sweep, "
          f"W&B {'offline' if a.wandb else 'off'}:\n")
    print(table(columns))
    if "before" in columns:
        before, now = columns["before"]["whole cell"][1], columns["now"]["whole cell"][1]
        print(f"\nlater cells: {before:.2f} s → {now:.2f} s ({before / now:.1f}× less fixed cost per cell)")


if __name__ == "__main__":
    main()
