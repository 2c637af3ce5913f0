"""`make smoke`'s end-to-end check that training and sampling agree: the shipped tiny I²SB checkpoint, sampled with
its first configuration in the default benchmark (NFE 1) on a handful of `shapes` test scenes, for every mask of
benchmarks/shapes.yaml, must beat each `--must-beat` row on hole PSNR; the `--compare` rows are reported beside it.

A checkpoint trained with a broken loss, a sampler that disagrees with the training parameterisation, or a mask
convention flipped between the two falls below a per-channel mean fill. The issue's goal is to beat OpenCV's Telea;
the CPU-budget checkpoints do not yet (docs/tiny_checkpoints.md), so Telea is reported, not asserted: pass
`--must-beat telea` to hold a better checkpoint to it.

Run: .venv/bin/python benchmarks/check_learned.py [--images 8] [--must-beat mean_fill] [--compare telea]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def default_row(method: str, sweep):
    """The method's first entry in the default benchmark (its configuration there, e.g. the NFE)."""
    rows = [m for m in sweep.methods if m.name == method]
    if not rows:
        raise SystemExit(f"{method} is not a row of benchmarks/shapes.yaml")
    return rows[0]


def compare(method: str = "i2sb", baselines: tuple[str, ...] = ("mean_fill", "telea"), metric: str = "psnr_hole",
            images: int = 8, override: dict | None = None) -> list[dict]:
    """Run `method` (its default-benchmark config) and the `baselines` on the first `images` test images of every
    mask of the default benchmark; one row per mask with every number."""
    from inpaint_bench.bench.config import MethodSpec, load_sweep
    from inpaint_bench.bench.runner import TrainerOptions, run_sweep
    from inpaint_bench.bench.store import ResultStore

    sweep = load_sweep(ROOT / "shapes.yaml")
    row = default_row(method, sweep)
    row = dataclasses.replace(row, config={**row.config, **(override or {})})
    rows = (*(MethodSpec(b) for b in baselines), row)
    protocol = dataclasses.replace(sweep.protocol, limit=images, metrics=(metric,), features="untrained")
    check = dataclasses.replace(sweep, name="check-learned", methods=rows, protocol=protocol, grid_images=0)
    with tempfile.TemporaryDirectory() as tmp:
        results = run_sweep(check, ResultStore(Path(tmp)), TrainerOptions(progress=False), wandb=False,
                            echo=lambda *_: None)
    failed = [r for r in results if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"check failed to run: {failed[0]['error']}")
    table = []
    for mask in check.masks:
        score = {r["config"]["method"]["name"]: r["metrics"][metric] for r in results if r["config"]["mask"] == mask}
        table.append({"mask": mask, **score})
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="i2sb")
    parser.add_argument("--must-beat", default="mean_fill", help="comma list of rows the method must beat")
    parser.add_argument("--compare", default="telea", help="comma list of rows reported beside it")
    parser.add_argument("--metric", default="psnr_hole")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--override", default=None,
                        help="YAML config merged into the method's, e.g. '{checkpoint: null}' (an untrained network)")
    a = parser.parse_args()
    import yaml

    must = [b for b in a.must_beat.split(",") if b]
    shown = [b for b in a.compare.split(",") if b and b not in must]
    ok = True
    override = yaml.safe_load(a.override) if a.override else None
    for row in compare(a.method, (*must, *shown), a.metric, a.images, override):
        for baseline in (*must, *shown):
            better = row[a.method] > row[baseline]
            ok &= better or baseline not in must
            verdict = ("ok  " if better else "FAIL") if baseline in must else ("(beats)" if better else "(below)")
            print(f"{verdict} shapes · {row['mask']}: {a.method} {a.metric} {row[a.method]:.2f} vs {baseline} "
                  f"{row[baseline]:.2f} ({a.images} images){'' if baseline in must else ', reported'}")
    if not ok:
        print(f"the shipped {a.method} checkpoint does not beat {', '.join(must)}: training and sampling disagree, "
              f"or the checkpoint is not the one `make tiny-checkpoints` trains", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
