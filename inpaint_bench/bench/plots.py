"""Leaderboard plots (matplotlib, static PNGs for the HTML page and W&B): per mask, a quality metric
  - by hole-ratio bin for each method (from the cells' per-image rows),
  - against NFE for each method swept over NFE (one curve per method),
  - against seconds per image (the cost frontier).
The quality metric is the headline one, hole PSNR, or else the first of psnr, ssim_hole, ssim, lpips, fid the cells
measured. Every row keeps one colour and marker (`style`) in every plot, distinct for up to 20 rows, and legends
sit outside the axes, so a page of 12+ rows stays readable."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from .bins import hole_bin

QUALITY = ("psnr_hole", "psnr", "ssim_hole", "ssim", "lpips", "fid")
UNITS = {"psnr": "PSNR (dB)", "psnr_hole": "hole PSNR (dB)", "ssim_hole": "hole SSIM"}
MARKERS = "os^vD<>Ph*Xp"


def style(k: int) -> dict:
    """The k-th row's colour (tab20: 20 distinct) and marker (12 shapes, cycled independently)."""
    import matplotlib

    return {"color": matplotlib.colormaps["tab20"](k % 20), "marker": MARKERS[k % len(MARKERS)]}


def axis_label(metric: str) -> str:
    return UNITS.get(metric, metric)


def quality_metric(results: list[dict]) -> str | None:
    have = {k for r in results for k in r.get("metrics", {})}
    return next((m for m in QUALITY if m in have), None)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 3.6), dpi=100)
    return plt, fig, ax


def _legend(ax) -> None:
    """Beside the axes (never over the data), one column per 14 rows."""
    n = len(ax.get_legend_handles_labels()[1])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, ncol=1 + (n - 1) // 14)


def _save(plt, fig, path: Path) -> Path:
    import io

    from ..files.atomic import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return path


def by_hole_ratio(store, dataset: str, mask: str, results: list[dict], metric: str, folder: Path,
                  suffix: str = "", order: dict | None = None) -> Path | None:
    curves = {}
    for r in results:
        rows = [x for x in store.read_images(dataset, r["cell_id"]) if not math.isnan(x.get(metric, math.nan))]
        bins = defaultdict(list)
        for x in rows:
            bins[hole_bin(x["hole_ratio"])].append(x[metric])
        if bins:
            curves[r["row"]] = sorted((b * 10 + 5, sum(v) / len(v)) for b, v in bins.items())
    if not curves or len({x for c in curves.values() for x, _ in c}) < 2:
        return None
    plt, fig, ax = _figure()
    for k, (row, points) in enumerate(curves.items()):
        ax.plot(*zip(*points, strict=True), label=row, **style((order or {}).get(row, k)))
    ax.set(xlabel="hole ratio (%), 10 % bins", ylabel=axis_label(metric), title=f"{mask}: {metric} by hole ratio")
    _legend(ax)
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
    for k, (name, points) in enumerate(curves.items()):
        ax.plot(*zip(*points, strict=True), label=name, **style(k))
    ax.set(xscale="log", xlabel="network evaluations per image (NFE)", ylabel=axis_label(metric),
           title=f"{mask}: {metric} vs NFE")
    _legend(ax)
    return _save(plt, fig, folder / f"nfe_{_safe(mask)}{suffix}.png")


def by_cost(mask: str, results: list[dict], metric: str, folder: Path, suffix: str = "",
            order: dict | None = None) -> Path | None:
    points = [(max(r["seconds_per_image"], 1e-5), r["metrics"][metric], r["row"]) for r in results
              if metric in r["metrics"]]
    if len(points) < 2:
        return None
    plt, fig, ax = _figure()
    for k, (x, y, row) in enumerate(points):  # a legend, not annotations: labels never overlap
        ax.scatter([x], [y], label=row, s=36, **style((order or {}).get(row, k)))
    ax.set(xscale="log", xlabel="seconds per image", ylabel=axis_label(metric), title=f"{mask}: {metric} vs cost")
    _legend(ax)
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
    order = {row: k for k, row in enumerate(dict.fromkeys(r["row"] for r in ok))}  # one style per row, all plots
    written = []
    for mask in dict.fromkeys(r["protocol"]["mask"] for r in ok):
        cells = [r for r in ok if r["protocol"]["mask"] == mask and r["protocol"]["seed"] == min(
            x["protocol"]["seed"] for x in ok)]
        for path in (by_hole_ratio(store, dataset, mask, cells, metric, folder, suffix, order),
                     by_nfe(mask, cells, metric, folder, suffix), by_cost(mask, cells, metric, folder, suffix, order)):
            if path is not None:
                written.append(path)
    return written


def pair_heatmap(table, folder: Path, suffix: str = "") -> Path | None:
    """One mask's paired comparisons as a matrix: cell (i, j) = mean of metric(row i) − metric(row j) over the images
    both scored, red/blue by sign and size, * where the Holm-corrected paired test is significant."""
    from .paired import matrix

    rows = list(dict.fromkeys(r for p in table.pairs for r in (p.a, p.b)))
    if len(rows) < 2:
        return None
    cells = matrix(table, rows)
    values = [[c.mean_diff if c is not None else float("nan") for c in line] for line in cells]
    import numpy as np

    grid = np.array(values)
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    plt, fig, ax = _figure()
    fig.set_size_inches(1.2 + 0.55 * len(rows), 1.0 + 0.45 * len(rows))
    ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit)
    for i, line in enumerate(cells):
        for j, c in enumerate(line):
            if c is not None:
                ax.text(j, i, f"{c.mean_diff:+.2f}{'*' if table.significant(c) else ''}", ha="center", va="center",
                        fontsize=6)
    ax.set_xticks(range(len(rows)), rows, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_title(f"{table.mask}: {axis_label(table.metric)}, row − column (* significant)", fontsize=8)
    return _save(plt, fig, folder / f"pairs_{_safe(table.mask)}_{table.metric}{suffix}.png")
