"""Training curves of the tiny checkpoints → docs/curves/<method>.png, and a Markdown table of each run.

Reads the CSV logs Lightning wrote under `<runs>/<method>/logs/version_*/metrics.csv` (a resumed run adds a
version; they are joined by step), plots every logged loss with a 100-step running mean, and prints per method:
optimiser steps, first and last running-mean loss, and the exported checkpoint's size and sha256.

Run: .venv/bin/python benchmarks/training_curves.py [--runs runs/tiny] [--out docs/curves]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

CHECKPOINTS = Path(__file__).resolve().parents[1] / "inpaint_bench" / "assets" / "checkpoints"
WINDOW = 100


def read_log(method_dir: Path) -> pd.DataFrame:
    """The run's losses indexed by training iteration (the CSV logger's step counts batches, also for AsyncDSB and
    StrDiffusion, whose three optimisers step once each per batch)."""
    frames = [pd.read_csv(p) for p in sorted(method_dir.glob("logs/version_*/metrics.csv"))]
    if not frames:
        raise SystemExit(f"no training logs under {method_dir}/logs: train it first (`make tiny-checkpoints`)")
    log = pd.concat(frames).drop(columns=["epoch"], errors="ignore")
    log["step"] = log["step"] + 1
    return log.groupby("step").mean().sort_index()


def plot(method: str, log: pd.DataFrame, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.2), dpi=100)
    for column in log.columns:
        series = log[column].dropna()
        spacing = max(1, int(pd.Series(series.index).diff().median() or 1))
        smooth = series.rolling(max(1, WINDOW // spacing), min_periods=1).mean()
        ax.plot(series.index, series.values, alpha=0.2, linewidth=0.8)
        ax.plot(smooth.index, smooth.values, label=column.removeprefix("train/"), color=ax.lines[-1].get_color())
    ax.set_yscale("log")
    ax.set_xlabel("training iteration")
    ax.set_title(f"{method}: training loss, {WINDOW}-step running mean", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{method}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def shipped(name: str) -> str:
    path = CHECKPOINTS / f"{name}_tiny.safetensors"
    if not path.exists():
        return "(not exported)"
    return f"{path.stat().st_size / 1e6:.2f} MB, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/tiny"))
    parser.add_argument("--out", type=Path, default=Path("docs/curves"))
    a = parser.parse_args()
    print(f"| run | iterations | loss (first {WINDOW}) | loss (last {WINDOW}) | shipped file |")
    print("|---|---|---|---|---|")
    for method_dir in sorted(p for p in a.runs.iterdir() if any(p.glob("logs/version_*/metrics.csv"))):
        log = read_log(method_dir)
        loss = log["train/loss" if "train/loss" in log else "loss"].dropna()  # the feature network logs `loss`
        head, tail = loss[loss.index < loss.index[0] + WINDOW].mean(), loss[loss.index > loss.index[-1] - WINDOW].mean()
        plot(method_dir.name, log, a.out)
        print(f"| {method_dir.name} | {int(log.index[-1])} | {head:.4f} | {tail:.4f} | {shipped(method_dir.name)} |")


if __name__ == "__main__":
    main()
