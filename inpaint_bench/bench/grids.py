"""Sample grids: per (dataset, mask), rows = images, columns = input | mask | each method | ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..data.images import to_uint8

TILE, PAD, LINE = 96, 2, 11
CHARS_PER_LINE = TILE // 6  # PIL's default bitmap font is 6 px wide


def label_lines(name: str) -> list[str]:
    """A column label wrapped to the tile width (whole, never cut)."""
    return [name[i : i + CHARS_PER_LINE] for i in range(0, len(name), CHARS_PER_LINE)] or [""]


def _tile(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr).resize((TILE, TILE), Image.Resampling.NEAREST)


def write_grids(store, dataset: str, results: list[dict], dataset_of, method_order=(), suffix: str = "") -> list[Path]:
    """One grid PNG per mask of the cells with saved samples; `dataset_of(result)` gives the (image, mask) items
    of a cell's protocol, `method_order` the column order (the sweep's rows)."""
    ok = [r for r in results if r.get("status") == "ok"]
    written = []
    for mask in dict.fromkeys(r["protocol"]["mask"] for r in ok):
        cells = [r for r in ok if r["protocol"]["mask"] == mask and r["protocol"]["seed"] == min(
            x["protocol"]["seed"] for x in ok)]
        order = {row: i for i, row in enumerate(method_order)}
        cells.sort(key=lambda r: (order.get(r["row"], len(order)), r["row"]))
        rows = {r["row"]: store.root / dataset / "samples" / r["cell_id"] for r in cells}
        rows = {k: v for k, v in rows.items() if v.is_dir() and any(v.iterdir())}
        if not rows:
            continue
        items = dataset_of(cells[0])
        n = min(len(list(v.iterdir())) for v in rows.values())
        columns = ["input", "mask", *rows, "ground truth"]
        header = 4 + LINE * max(len(label_lines(c)) for c in columns)
        grid = Image.new("RGB", (len(columns) * (TILE + PAD), header + n * (TILE + PAD)), "white")
        draw = ImageDraw.Draw(grid)
        for c, name in enumerate(columns):
            for k, line in enumerate(label_lines(name)):
                draw.text((c * (TILE + PAD) + 2, 2 + k * LINE), line, fill="black")
        for i in range(n):
            item = items[i]
            image, m = to_uint8(item["image"]), item["mask"][0].numpy().astype(bool)
            shown = image.copy()
            shown[m] = 127
            tiles = [shown, np.repeat((m * 255).astype(np.uint8)[..., None], 3, 2)]
            tiles += [np.asarray(Image.open(folder / f"{i:06d}.png").convert("RGB")) for folder in rows.values()]
            tiles.append(image)
            for c, t in enumerate(tiles):
                grid.paste(_tile(t), (c * (TILE + PAD), header + i * (TILE + PAD)))
        path = store.root / dataset / f"grid_{mask.replace(':', '_').replace('/', '_')}{suffix}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grid.save(path)
        written.append(path)
    return written
