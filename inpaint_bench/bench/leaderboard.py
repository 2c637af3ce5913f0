"""Leaderboards per dataset: `results/<dataset>/leaderboard.{md,csv,tex,html}`, sample grids, plots and W&B.

Reads the cells of the results store, builds the board model (`boards.py`: one board per protocol), gives each
board its own grids, plots and hole-ratio bin tables (everything on the page belongs to exactly one protocol card),
renders every format (`render/`) and writes the files atomically.
"""

from __future__ import annotations

from pathlib import Path

from ..files.atomic import atomic_write
from .bins import hole_bin_tables
from .boards import build_boards, reported_numbers, reported_protocol, separate_collisions
from .config import result_dataset
from .gallery import write_galleries
from .grids import write_grids
from .nfe_view import nfe_tables
from .paired import board_tables, headline_tables
from .plots import pair_heatmap, write_plots
from .render.csv_table import render_csv, render_pairs_csv
from .render.html_page import render_html
from .render.latex import render_latex
from .render.markdown import render_markdown

DEFAULT_GALLERY = 8  # re-rendering without the sweep: the k of the galleries, for the cells that saved outputs


def write_leaderboards(store, dataset: str, sweep=None, wandb: bool = False) -> list[Path]:
    """Write the four leaderboard files (and sample grids and plots) of `dataset`; returns their paths.
    Several sweeps (shards of a job array) finishing together take turns: a lock per results folder, so one
    cannot delete a figure another is about to embed."""
    from filelock import FileLock

    folder = store.root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".leaderboard.lock")):
        return _write_leaderboards(store, dataset, sweep, wandb)


def _write_leaderboards(store, dataset: str, sweep, wandb: bool) -> list[Path]:
    results = store.read_all(dataset)
    if sweep is not None:  # labels are not part of a cell's id: the sweep's current labels win on re-render
        labels = {c.cell_id(): c.method.row() for c in sweep.cells()}
        results = [{**r, "row": labels.get(r.get("cell_id"), r["row"])} for r in results]
    results = separate_collisions(results, store.warn)
    failed = [r for r in results if r.get("status") != "ok"]
    mask_order = list(sweep.masks) if sweep else None
    row_order = [m.row() for m in sweep.methods] if sweep else None
    boards = build_boards(results, dataset, mask_order, reported_numbers(dataset), row_order, store.warn,
                          reported_protocol(dataset))
    seeds = list(sweep.seeds) if sweep else [0]
    for board in boards:
        suffix = f"_{board.digest()}" if len(boards) > 1 else ""
        board.grids = write_grids(store, dataset, board.results, result_dataset, row_order or [], suffix)
        board.plots = write_plots(store, dataset, board.results, suffix)
        board.bins = hole_bin_tables(board.results, store, dataset, board.heading)
        board.pairs = board_tables(board, store, dataset)
        board.plots += [p for t in headline_tables(board) if (p := pair_heatmap(t, store.root / dataset / "plots",
                                                                                   suffix)) is not None]
        board.nfe_tables = nfe_tables(board)
        board.galleries = write_galleries(store, dataset, board, result_dataset, sweep.gallery if sweep else
                                          DEFAULT_GALLERY, suffix)
    remove_stale_figures(store.root / dataset, {p for b in boards for p in [*b.grids, *b.plots,
                                                                            *(g.path for g in b.galleries)]})
    title = f"inpaint-bench leaderboard — {dataset}"
    files = {"md": render_markdown(boards, seeds, failed, title), "csv": render_csv(boards),
             "pairs.csv": render_pairs_csv(boards),
             "tex": render_latex(boards, seeds), "html": render_html(boards, seeds, failed, title)}
    written = []
    for ext, text in files.items():
        path = store.root / dataset / (ext if ext == "pairs.csv" else f"leaderboard.{ext}")
        atomic_write(path, text.encode())
        written.append(path)
    if wandb and boards:
        from .wandb_log import log_leaderboard

        log_leaderboard(dataset, boards, sweep.name if sweep else "leaderboard", store.root)
    return written


def remove_stale_figures(folder: Path, keep: set[Path]) -> None:
    """Grids and plots of an earlier rendering that this one did not write (a protocol gone, renamed files)."""
    for path in [*folder.glob("grid_*.png"), *(folder / "plots").glob("*.png"), *(folder / "gallery").glob("*.png")]:
        if path not in keep:
            path.unlink(missing_ok=True)
