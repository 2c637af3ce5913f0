"""Paired comparisons: is method A really better than method B on this protocol and mask?

Every pair of rows of one board is compared on the images both scored, matched by (seed, image index) — the same
image with the same mask and the same noise seed — using the per-image rows of the cells (`cells/<id>.images.csv`):
  mean difference    mean over images of metric(A) − metric(B)
  95 % CI            paired bootstrap: the images resampled with replacement (`n_boot` times, a generator seeded
                     by `seed`, so the interval is the same every run), percentile interval of the mean difference
  p                  Wilcoxon signed-rank test of the differences (scipy; two-sided; 1.0 when every pair ties)
  p (Holm)           Holm's step-down correction across the pairs of one table (one mask, one metric), written by
                     hand: scipy offers Benjamini–Hochberg (`false_discovery_control`) but not Holm
A pair is significant when its Holm-corrected p is below `alpha` and its interval excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

PER_IMAGE_METRICS = ("psnr_hole", "ssim_hole", "psnr", "ssim", "lpips", "psnr_seam", "seam_jump")
ALPHA = 0.05
N_BOOT = 2000


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    n: int  # images both rows scored
    mean_diff: float  # mean of metric(a) − metric(b)
    ci: tuple[float, float]  # 95 % paired-bootstrap interval of mean_diff
    p: float  # Wilcoxon signed-rank, two-sided
    p_holm: float = math.nan  # Holm-corrected across the pairs of its table


@dataclass
class PairTable:
    mask: str
    metric: str
    pairs: list[Pair] = field(default_factory=list)
    alpha: float = ALPHA

    def significant(self, pair: Pair) -> bool:
        return pair.p_holm < self.alpha and not pair.ci[0] <= 0 <= pair.ci[1]


def paired_difference(a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, tuple, float]:
    """(mean of a − b, its 95 % paired-bootstrap interval, the Wilcoxon signed-rank p) over matched images."""
    from scipy import stats

    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    p = 1.0 if np.all(diff == 0) else float(stats.wilcoxon(diff).pvalue)
    return float(diff.mean()), (float(lo), float(hi)), p


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def per_image_values(store, dataset: str, results: list[dict], mask: str, metric: str) -> dict[str, dict]:
    """row → {(seed, image index): value} for one mask and metric (NaN rows: not scored, left out)."""
    out: dict[str, dict] = {}
    for r in results:
        if r.get("status") != "ok" or r["protocol"]["mask"] != mask:
            continue
        for x in store.read_images(dataset, r["cell_id"]):
            value = x.get(metric, math.nan)
            if not math.isnan(value):
                out.setdefault(r["row"], {})[(r["protocol"]["seed"], int(x["index"]))] = value
    return out


def pairwise_table(values: dict[str, dict], mask: str, metric: str, n_boot: int = N_BOOT, seed: int = 0,
                   alpha: float = ALPHA) -> PairTable:
    """Every pair of rows (in the given row order) on their common (seed, image) keys, Holm-corrected."""
    table = PairTable(mask, metric, alpha=alpha)
    rows = list(values)
    raw = []
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            common = sorted(set(values[a]) & set(values[b]))
            if len(common) < 2:
                continue
            diff, ci, p = paired_difference(np.array([values[a][k] for k in common]),
                                            np.array([values[b][k] for k in common]), n_boot, seed)
            raw.append(Pair(a, b, len(common), diff, ci, p))
    table.pairs = [replace(pair, p_holm=adj) for pair, adj in zip(raw, holm([x.p for x in raw]), strict=True)]
    return table


def headline_tables(board) -> list[PairTable]:
    """The tables of the board's headline metric (the first of PER_IMAGE_METRICS it has), one per mask: the page
    shows these as matrices and heatmaps; pairs.csv has every metric."""
    metric = next((m for m in PER_IMAGE_METRICS if any(t.metric == m for t in board.pairs)), None)
    return [t for t in board.pairs if t.metric == metric]


def matrix(table: PairTable, rows: list[str]) -> list[list[Pair | None]]:
    """[i][j]: the pair of rows i and j as row i − row j (None on the diagonal or without common images)."""
    by = {(p.a, p.b): p for p in table.pairs}
    by.update({(p.b, p.a): Pair(p.b, p.a, p.n, -p.mean_diff, (-p.ci[1], -p.ci[0]), p.p, p.p_holm)
               for p in table.pairs})
    return [[by.get((a, b)) for b in rows] for a in rows]


def board_tables(board, store, dataset: str, metrics=PER_IMAGE_METRICS, n_boot: int = N_BOOT) -> list[PairTable]:
    """The pairwise tables of one board: each mask × each per-image metric the board has."""
    tables = []
    for mask in board.masks:
        for metric in (m for m in metrics if m in board.columns):
            values = per_image_values(store, dataset, board.results, mask, metric)
            values = {row: values[row] for row in board.rows if row in values}  # the board's row order
            if len(values) >= 2:
                tables.append(pairwise_table(values, mask, metric, n_boot))
    return tables
