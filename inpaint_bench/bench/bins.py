"""Hole-ratio bin tables: each method's per-image means by 10 % hole-ratio bin (LaMa's way of reporting), read
from the cells' per-image CSVs, for masks whose holes span several bins."""

from __future__ import annotations

import math
from collections import defaultdict

from .boards import fmt

HOLE_BIN = 0.1  # LaMa-style 10 % hole-ratio bins


def hole_bin(ratio: float) -> int:
    """The 10 % bin of a hole ratio: 0 for [0, 10 %), …, 9 for [90 %, 100 %]."""
    return min(int(ratio / HOLE_BIN), 9)


BIN_METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole", "lpips", "psnr_seam", "seam_jump")


def hole_bin_tables(results: list[dict], store, dataset: str, label=lambda col: col
                    ) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per mask whose per-image hole ratios span several 10 % bins: (mask, header, rows) with each method's mean
    per-image metrics per bin (from the cells' per-image CSVs under `dataset`, the results folder), as LaMa
    reports by mask area. `results` are one protocol's cells; `label(col)` names a column (its UNTRAINED tag)."""
    per_mask: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    for r in results:
        if r.get("status") == "ok":
            rows = store.read_images(dataset, r["cell_id"])
            if rows:
                per_mask[r["protocol"]["mask"]].setdefault(r["row"], []).extend(rows)
    tables = []
    for mask, by_row in per_mask.items():
        bins = sorted({hole_bin(x["hole_ratio"]) for rows in by_row.values() for x in rows})
        if len(bins) < 2:
            continue
        cols = [c for c in BIN_METRICS if any(c in x for rows in by_row.values() for x in rows)]
        binned = {row: {b: [x for x in rows if hole_bin(x["hole_ratio"]) == b] for b in bins}
                  for row, rows in by_row.items()}
        counts = {b: max(len(per_bin[b]) for per_bin in binned.values()) for b in bins}
        header = ["method"] + [f"{b * 10}–{b * 10 + 10} % (n={counts[b]}) / {label(c)}" for b in bins for c in cols]
        body = []
        for row, per_bin in binned.items():
            cells = [row]
            for b in bins:
                for c in cols:
                    vals = [x[c] for x in per_bin[b] if c in x and not math.isnan(x[c])]
                    cells.append(fmt(c, sum(vals) / len(vals)) if vals else "—")
            body.append(cells)
        tables.append((mask, header, body))
    return tables
