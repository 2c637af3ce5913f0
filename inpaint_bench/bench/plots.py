"""Leaderboard plots (matplotlib, static PNGs for the HTML page and W&B): per mask, a quality metric
  - by hole-ratio bin for each method (from the cells' per-image rows),
  - against NFE for each method swept over NFE (one curve per method),
  - against seconds per image (the cost frontier).
The quality metric is the first of psnr, psnr_hole, ssim, lpips, fid the cells measured."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

QUALITY = ("psnr", "psnr_hole", "ssim", "lpips", "fid")
BIN = 0.1


def quality_metric(results: list[dict]) -> str | None:
    have = {k for r in results for k in r.get("metrics", {})}
    return next((m for m in QUALITY if m in have), None)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.4), dpi=100)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> Path:
    import io

    from ..files.atomic import atomic_write

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


def by_hole_ratio(store, dataset: str, mask: str, results: list[dict], metric: str, folder: Path,
                  suffix: str = "") -> Path | None:
    curves = {}
    for r in results:
        rows = [x for x in store.read_images(dataset, r["cell_id"]) if not math.isnan(x.get(metric, math.nan))]
        bins = defaultdict(list)
        for x in rows:
            bins[min(int(x["hole_ratio"] / BIN), 9)].append(x[metric])
        if bins:
            curves[r["row"]] = sorted((b * 10 + 5, sum(v) / len(v)) for b, v in bins.items())
    if not curves or len({x for c in curves.values() for x, _ in c}) < 2:
        return None
    plt, fig, ax = _figure()
    for row, points in curves.items():
        ax.plot(*zip(*points, strict=True), marker="o", label=row)
    ax.set(xlabel="hole ratio (%), 10 % bins", ylabel=metric, title=f"{mask}: {metric} by hole ratio")
    ax.legend(fontsize=7)
    return _save(plt, fig, folder / f"hole_ratio_{_safe(mask)}{suffix}.png")


def by_nfe(mask: str, results: list[dict], metric: str, folder: Path, suffix: str = "") -> Path | None:
    curves = defaultdict(dict)
    for r in results:
        if metric in r["metrics"]:
            curves[r["config"]["method"]["name"]][r["nfe"]] = r["metrics"][metric]
    curves = {k: sorted(v.items()) for k, v in curves.items() if len(v) >= 2}
    if not curves:
        return None
    plt, fig, ax = _figure()
    for name, points in curves.items():
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set(xscale="log", xlabel="network evaluations per image (NFE)", ylabel=metric, title=f"{mask}: {metric} vs NFE")
    ax.legend(fontsize=7)
    return _save(plt, fig, folder / f"nfe_{_safe(mask)}{suffix}.png")


def by_cost(mask: str, results: list[dict], metric: str, folder: Path, suffix: str = "") -> Path | None:
    points = [(max(r["seconds_per_image"], 1e-5), r["metrics"][metric], r["row"]) for r in results
              if metric in r["metrics"]]
    if len(points) < 2:
        return None
    plt, fig, ax = _figure()
    for x, y, row in points:
        ax.scatter([x], [y])
        ax.annotate(row, (x, y), fontsize=7)
    ax.set(xscale="log", xlabel="seconds per image", ylabel=metric, title=f"{mask}: {metric} vs cost")
    return _save(plt, fig, folder / f"cost_{_safe(mask)}{suffix}.png")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[-60:]


def write_plots(store, dataset: str, results: list[dict], suffix: str = "") -> list[Path]:
    """The plots of one protocol's cells (`suffix` tells protocols apart in file names)."""
    ok = [r for r in results if r.get("status") == "ok"]
    metric = quality_metric(ok)
    if metric is None:
        return []
    folder = store.root / dataset / "plots"
    written = []
    for mask in dict.fromkeys(r["protocol"]["mask"] for r in ok):
        cells = [r for r in ok if r["protocol"]["mask"] == mask and r["protocol"]["seed"] == min(
            x["protocol"]["seed"] for x in ok)]
        for path in (by_hole_ratio(store, dataset, mask, cells, metric, folder, suffix),
                     by_nfe(mask, cells, metric, folder, suffix), by_cost(mask, cells, metric, folder, suffix)):
            if path is not None:
                written.append(path)
    return written
