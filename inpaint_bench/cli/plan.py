"""`inpaint-bench plan SWEEP`: what a sweep will cost before it runs (`bench/plan.py`)."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="images, NFE per image, network forwards and expected hours of every cell of a sweep")
    p.add_argument("file", type=Path)
    p.add_argument("--limit", type=int, default=None, help="as `sweep --limit`")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--seconds-per-nfe", type=float, default=None,
                     help="seconds per network forward per image (e.g. measured on the target GPU)")
    how.add_argument("--measure", action="store_true",
                     help="time a batch of each method's networks inside its sampler, here")
    p.add_argument("--device", default="cpu", help="with --measure: cpu, cuda, cuda:1, …")
    p.add_argument("--batch-size", type=int, default=None, help="with --measure (default: the sweep's)")
    p.set_defaults(func=run)


def run(a) -> int:
    from ..bench.config import load_sweep
    from ..bench.plan import cell_size, measured_seconds_per_forward, plan_rows

    sweep = load_sweep(a.file, limit=a.limit)
    per, notes = a.seconds_per_nfe, []
    if a.measure:
        batch, cache = a.batch_size or sweep.batch_size, {}

        def per(cell):
            key = (cell.method.name, repr(sorted(cell.method.config.items())))
            if key not in cache:
                size = cell_size(cell)
                seconds, what = measured_seconds_per_forward(cell.method, size, batch, a.device)
                cache[key] = seconds / batch
                notes.append(f"{cell.method.row()}: {seconds / batch * 1e3:.2f} ms per image-forward "
                             f"({what}, batch {batch} at {size}², {a.device})")
            return cache[key]

    rows = plan_rows(sweep, per)
    head = f"{'dataset':10} {'mask':22} {'row':44} {'images':>7} {'NFE/img':>8} {'forwards':>12} {'hours':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        nfe = f"{r['nfe']}" + (f"+{sum(r['aux'].values())}" if r["aux"] else "") + ("*" if r["varies"] else "")
        hours = "—" if r["hours"] is None else f"{r['hours']:.3g}"
        images = "?" if r["images"] is None else str(r["images"])
        print(f"{r['dataset'][:10]:10} {r['mask'][-22:]:22} {r['row'][:44]:44} {images:>7} {nfe:>8} "
              f"{r['forwards']:>12,} {hours:>9}")
    known = [r["hours"] for r in rows if r["hours"] is not None]
    print("-" * len(head))
    print(f"{len(rows)} cells, {sum(r['forwards'] for r in rows):,} network forwards"
          + (f", {sum(known):.3g} hours" if known else " (pass --seconds-per-nfe S or --measure for hours)"))
    _by_row(rows)
    if any(r["varies"] for r in rows):
        print("* a dry run with untrained networks; the count varies with the networks (StrDiffusion's resampling, "
              "IS-Diff's attempts)")
    if any(r["images"] is None for r in rows):
        print("? the dataset is not on this machine and the sweep sets no limit")
    for line in notes:
        print(line)
    return 0


def _by_row(rows: list[dict]) -> None:
    """The same sums per method row (over its masks and seeds): where a sweep's time goes."""
    totals: dict[str, dict] = {}
    for r in rows:
        t = totals.setdefault(r["row"], {"cells": 0, "forwards": 0, "hours": 0.0, "known": True})
        t["cells"] += 1
        t["forwards"] += r["forwards"]
        t["known"] &= r["hours"] is not None
        t["hours"] += r["hours"] or 0.0
    print("per row:")
    for row, t in sorted(totals.items(), key=lambda kv: -kv[1]["forwards"]):
        hours = f"{t['hours']:.3g} h" if t["known"] else "— h"
        print(f"  {row[:60]:60} {t['cells']:>3} cells {t['forwards']:>14,} forwards {hours:>11}")
