"""The equal-NFE view: quality at matched budgets of network evaluations, for methods run at several NFE settings.

A method family is the registry name of a cell's method (`i2sb`, `repaint`, `isdiff_ddnm`, …). When at least one
family was run at two or more NFE settings (a `sweep:` list on a method entry, or several entries), each mask gets
a table: one line per family, one column per budget (the NFE values measured), and in each cell the best mean of
the headline metric among the family's settings whose NFE is within the budget. Methods are then compared at the
same cost instead of each at its own default. The curves themselves are `plots.by_nfe` and `plots.by_cost`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .boards import LOWER_IS_BETTER, fmt
from .plots import quality_metric


@dataclass
class NFETable:
    mask: str
    metric: str
    budgets: list[float]
    rows: dict[str, list[tuple[float, str, float] | None]]  # family → per budget (value, setting's row, its NFE)


def family_points(results: list[dict], mask: str, metric: str) -> dict[str, list[tuple[float, float, str]]]:
    """family → [(NFE, metric, row)] of one mask (first seed's cells)."""
    seed = min(r["protocol"]["seed"] for r in results)
    points = defaultdict(list)
    for r in results:
        if r["protocol"]["mask"] == mask and r["protocol"]["seed"] == seed and metric in r["metrics"]:
            points[r["config"]["method"]["name"]].append((float(r["nfe"]), r["metrics"][metric], r["row"]))
    return {name: sorted(p) for name, p in points.items()}


def best_within(points: list[tuple[float, float, str]], budget: float,
                metric: str) -> tuple[float, str, float] | None:
    """The best metric value (with its row and NFE) among settings with NFE ≤ budget; None when every setting
    costs more."""
    within = [(value, row, nfe) for nfe, value, row in points if nfe <= budget + 1e-9]
    if not within:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(within, key=lambda x: x[0])


def nfe_tables(board) -> list[NFETable]:
    """One table per mask, when some family has two or more NFE settings on it; [] otherwise."""
    metric = quality_metric(board.results)
    learned = [r for r in board.results if r.get("nfe", 0) > 0]  # classical rows have no network
    if metric is None or not learned:
        return []
    tables = []
    for mask in board.masks:
        points = family_points(learned, mask, metric)
        if not any(len({nfe for nfe, _, _ in p}) >= 2 for p in points.values()):
            continue
        budgets = sorted({nfe for p in points.values() for nfe, _, _ in p})
        rows = {name: [best_within(p, b, metric) for b in budgets] for name, p in points.items()}
        tables.append(NFETable(mask, metric, budgets, rows))
    return tables


def table_cells(table: NFETable) -> tuple[list[str], list[list[str]]]:
    """Header and body as text: `value (NFE n)` per cell — the NFE of the setting that gave it — and — where the
    family has no setting within the budget (the rows of each setting are in the main table)."""
    header = ["method"] + [f"NFE ≤ {b:g}" for b in table.budgets]
    body = [[name] + ["—" if cell is None else f"{fmt(table.metric, cell[0])} (NFE {cell[2]:g})" for cell in cells]
            for name, cells in table.rows.items()]
    return header, body
