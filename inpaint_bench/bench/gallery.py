"""Failure galleries: for each method and mask, its k worst images by the hole metric, beside the input, the
ground truth and the best row's output on the same image (`results/<dataset>/gallery/`).

They need every output image of a cell (`gallery: k` in a sweep saves them: `outputs/<cell id>/<index>.png`, one
PNG per image and cell — about 1 KB at 32² (1.6 MB for `make bench`), some 100 KB at 256²). Rows whose cells ran without saved outputs
are left out of the gallery, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.images import to_uint8
from .boards import LOWER_IS_BETTER
from .grids import LINE, PAD, TILE, _tile, label_lines
from .paired import per_image_values

GALLERY_METRICS = ("psnr_hole", "ssim_hole", "psnr", "ssim")  # the first the board has ranks the images


@dataclass
class Gallery:
    mask: str
    row: str
    metric: str
    best_row: str
    path: Path
    images: list[tuple[int, float, float]] = field(default_factory=list)  # (index, value, best row's value)


def worst_images(values: dict, k: int, metric: str) -> list[tuple[int, int]]:
    """The k worst (seed, image) keys of one row's per-image values (lowest, or highest where lower is better),
    ties broken by index, so the choice is reproducible."""
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return sorted(values, key=lambda key: (sign * values[key], key))[:k]


def gallery_metric(board) -> str | None:
    return next((m for m in GALLERY_METRICS if m in board.columns), None)


def outputs_dir(store, dataset: str, result: dict) -> Path:
    return store.root / dataset / "outputs" / result["cell_id"]


def write_galleries(store, dataset: str, board, dataset_of, k: int, suffix: str = "") -> list[Gallery]:
    """One PNG per (mask, row) whose cells saved their outputs: the row's k worst images (lines), columns
    input | ground truth | this row | the best row (by the board's mean of the metric on that mask)."""
    metric = gallery_metric(board)
    if metric is None or k <= 0:
        return []
    out = []
    first_seed = min(r["protocol"]["seed"] for r in board.results)
    results = [r for r in board.results if r["protocol"]["seed"] == first_seed]  # one seed: the first
    for mask in board.masks:
        values = per_image_values(store, dataset, results, mask, metric)
        cells = {r["row"]: r for r in results if r["protocol"]["mask"] == mask
                 and outputs_dir(store, dataset, r).is_dir()}
        cells = {row: r for row, r in cells.items() if row in values}
        if not cells:
            continue
        sign = -1 if metric in LOWER_IS_BETTER else 1
        best_row = max(cells, key=lambda row: sign * float(np.mean(list(values[row].values()))))
        items = dataset_of(next(iter(cells.values())))
        for row, result in cells.items():
            keys = worst_images(values[row], k, metric)
            best = cells[best_row]
            path = store.root / dataset / "gallery" / f"{_safe(mask)}__{_safe(row)}{suffix}.png"
            lines = [(i, values[row][(s, i)], values[best_row].get((s, i), float("nan"))) for s, i in keys]
            _draw(path, items, lines, outputs_dir(store, dataset, result), outputs_dir(store, dataset, best),
                  row, best_row, metric)
            out.append(Gallery(mask, row, metric, best_row, path, lines))
    return out


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _draw(path: Path, items, lines, own: Path, best: Path, row: str, best_row: str, metric: str) -> None:
    columns = ["input", "ground truth", f"{row} ({metric})", f"best: {best_row}"]
    header = 4 + LINE * max(len(label_lines(c)) for c in columns)
    canvas = Image.new("RGB", (len(columns) * (TILE + PAD), header + len(lines) * (TILE + PAD + LINE)), "white")
    draw = ImageDraw.Draw(canvas)
    for c, name in enumerate(columns):
        for j, text in enumerate(label_lines(name)):
            draw.text((c * (TILE + PAD) + 2, 2 + j * LINE), text, fill="black")
    for n, (index, value, best_value) in enumerate(lines):
        item = items[index]
        image, hole = to_uint8(item["image"]), item["mask"][0].numpy().astype(bool)
        shown = image.copy()
        shown[hole] = 127
        tiles = [shown, image, _read(own / f"{index:06d}.png", image), _read(best / f"{index:06d}.png", image)]
        top = header + n * (TILE + PAD + LINE)
        for c, tile in enumerate(tiles):
            canvas.paste(_tile(tile), (c * (TILE + PAD), top))
        caption = [f"#{index}", "", f"{value:.2f}", f"{best_value:.2f}"]
        for c, text in enumerate(caption):
            draw.text((c * (TILE + PAD) + 2, top + TILE), text, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def _read(path: Path, like: np.ndarray) -> np.ndarray:
    if not path.exists():  # an output missing from the folder: a grey tile, not a crash
        return np.full_like(like, 200)
    return np.asarray(Image.open(path).convert("RGB"))
