"""`inpaint-bench compare --dataset D --metric M [--mask K] [--a X --b Y]`: paired comparisons in the terminal.

Every pair of rows of each protocol board (or only X against Y) on the images both scored: the mean difference
with its 95 % paired-bootstrap interval, the Wilcoxon p and its Holm correction (`bench/paired.py`)."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    from ..bench.paired import PER_IMAGE_METRICS

    p = sub.add_parser("compare", help="paired per-image comparisons of the methods of a results folder")
    p.add_argument("--dataset", default="shapes")
    p.add_argument("--data-root", default=None, help="with --dataset folder: the image folder")
    p.add_argument("--metric", default="psnr_hole", choices=PER_IMAGE_METRICS)
    p.add_argument("--mask", default=None, help="only this mask column")
    p.add_argument("--a", default=None, help="a row label (with --b: only this pair)")
    p.add_argument("--b", default=None)
    p.add_argument("--results", type=Path, default=Path("results"))
    p.set_defaults(func=run)


def run(a) -> int:
    from ..bench.boards import build_boards, separate_collisions
    from ..bench.paired import board_tables
    from ..bench.store import ResultStore
    from .bench import results_dataset

    store = ResultStore(a.results)
    dataset = results_dataset(a.dataset, a.results, a.data_root)
    boards = build_boards(separate_collisions(store.read_all(dataset), store.warn), dataset)
    wanted = {a.a, a.b} if a.a or a.b else None
    if wanted and (None in wanted or not any(wanted <= set(b.rows) for b in boards)):
        rows = sorted({r for b in boards for r in b.rows})
        raise ValueError(f"--a and --b must name two rows of one protocol; rows: {', '.join(rows)}")
    shown = 0
    for i, board in enumerate(boards):
        for table in board_tables(board, store, dataset, metrics=(a.metric,)):
            if a.mask and table.mask != a.mask:
                continue
            pairs = [p for p in table.pairs if wanted is None or {p.a, p.b} == wanted]
            if not pairs:
                continue
            print(f"protocol {i} ({board.protocol['n_images']} images) · {table.mask} · {a.metric}: a − b, 95 % "
                  f"paired bootstrap, Wilcoxon p, Holm over the {len(table.pairs)} pair(s) of this table")
            width = max(len(x) for p in pairs for x in (p.a, p.b))
            for p in pairs:
                mark = "significant" if table.significant(p) else "tie"
                print(f"  {p.a:>{width}} − {p.b:<{width}}  {p.mean_diff:+8.3f} [{p.ci[0]:+.3f}, {p.ci[1]:+.3f}]"
                      f"  n {p.n:4d}  p {p.p:.3g}  Holm {p.p_holm:.3g}  {mark}")
                shown += 1
    if not shown:
        raise ValueError(f"no paired {a.metric} values in {a.results}/{dataset} (per-image rows of at least two rows "
                         "on one mask are needed)")
    return 0
