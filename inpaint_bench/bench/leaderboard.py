"""Leaderboards per dataset: `results/<dataset>/leaderboard.{md,csv,tex,html}`, sample grids, plots and W&B.

Reads the cells of the results store, builds the board model (`boards.py`, `bins.py`), renders every format
(`render/`) and writes the files atomically.
"""

from __future__ import annotations

from pathlib import Path

from ..files.atomic import atomic_write
from .bins import hole_bin_tables
from .boards import build_boards, reported_numbers, reported_protocol
from .config import result_dataset
from .grids import write_grids
from .plots import write_plots
from .render.csv_table import render_csv
from .render.html_page import render_html
from .render.latex import render_latex
from .render.markdown import render_markdown


def write_leaderboards(store, dataset: str, sweep=None, wandb: bool = False) -> list[Path]:
    """Write the four leaderboard files (and sample grids and plots) of `dataset`; returns their paths."""
    results = store.read_all(dataset)
    if sweep is not None:  # labels are not part of a cell's id: the sweep's current labels win on re-render
        labels = {c.cell_id(): c.method.row() for c in sweep.cells()}
        results = [{**r, "row": labels.get(r.get("cell_id"), r["row"])} for r in results]
    failed = [r for r in results if r.get("status") != "ok"]
    mask_order = list(sweep.masks) if sweep else None
    row_order = [m.row() for m in sweep.methods] if sweep else None
    boards = build_boards(results, dataset, mask_order, reported_numbers(dataset), row_order, store.warn,
                          reported_protocol(dataset))
    seeds = list(sweep.seeds) if sweep else [0]
    method_order = [m.row() for m in sweep.methods] if sweep else []
    grids = write_grids(store, dataset, results, result_dataset, method_order) if results else []
    plots = write_plots(store, dataset, results)
    title = f"inpaint-bench leaderboard — {dataset}"
    bins = hole_bin_tables(results, store)
    files = {"md": render_markdown(boards, seeds, failed, grids, bins, plots, title), "csv": render_csv(boards),
             "tex": render_latex(boards, seeds), "html": render_html(boards, seeds, failed, grids + plots, bins, title)}
    written = []
    for ext, text in files.items():
        path = store.root / dataset / f"leaderboard.{ext}"
        atomic_write(path, text.encode())
        written.append(path)
    if wandb and boards:
        from .wandb_log import log_leaderboard

        log_leaderboard(dataset, boards, grids, plots, sweep.name if sweep else "leaderboard", store.root)
    return written
