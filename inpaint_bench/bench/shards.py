"""Deterministic shards of a sweep for job arrays: `inpaint-bench sweep FILE --shard I/N` runs shard I of N.

Every cell is in exactly one shard. Cells are dealt longest-first to the least-loaded shard (LPT), their cost the
expected network forwards (`plan.cell_forwards`), ties broken by cell id: the same sweep file gives every shard
process the same partition, on any machine, without talking to the others. The per-cell locks stay the safety
net (a cell is never computed twice even if two shards overlap), and `inpaint-bench leaderboard` merges.
"""

from __future__ import annotations

import re


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` with 0 ≤ I < N (I as a job array's task id, from 0)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise ValueError(f"--shard must be I/N with 0 ≤ I < N (e.g. 0/4 … 3/4; $SLURM_ARRAY_TASK_ID/N), "
                         f"got {text!r}")
    return int(match[1]), int(match[2])


def partition(cells: list, count: int, cost=None) -> list[list]:
    """`count` lists of cells (each in the sweep's order), balanced by `cost(cell)` (default: equal)."""
    cost = cost or (lambda cell: 1.0)
    weighted = sorted(((float(cost(c)), c.cell_id(), c) for c in cells), key=lambda x: (-x[0], x[1]))
    loads, members = [0.0] * count, [set() for _ in range(count)]
    for weight, cell_id, _ in weighted:
        k = min(range(count), key=lambda i: (loads[i], i))
        loads[k] += weight
        members[k].add(cell_id)
    return [[c for c in cells if c.cell_id() in chosen] for chosen in members]


def shard(cells: list, index: int, count: int, cost=None) -> list:
    return partition(cells, count, cost)[index]
