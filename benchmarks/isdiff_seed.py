"""Seed or base? IS-Diff (RePaint) on the default benchmark with its primary seed swapped (issue 25's diagnosis).

IS-Diff diffuses a seed to t_s and runs its base sampler from there (`methods/isdiff.py`). This script runs the
default benchmark's `isdiff_repaint` row (or `isdiff_ddnm`) with the GMM seed of Eqs 4–5 replaced by
  gmm       the method's own seed (the benchmark's row, for reference);
  meanfill  each hole pixel the mean colour of the known region;
  truth     the ground-truth scene — an oracle no method has: an upper bound on what a seed can do for this
            base and prior.
The method sees only the masked input, so `truth` is looked up by matching the known pixels against the rendered
`shapes` test scenes (they are exactly those pixels; a mismatch stops the run). Everything else is the sweep's:
masks, generators, metrics (hole PSNR, shapes-features FID). A diagnosis, not a benchmark setting.

    python benchmarks/isdiff_seed.py --mode truth [--method isdiff_repaint] [--config '{t_start: 600}']
                                     [--checkpoint PATH] [--images 64] [--results runs/isdiff_seed]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml

MODES = ("gmm", "meanfill", "truth")


def scenes(n: int, size: int) -> torch.Tensor:
    """The first n `shapes` test scenes in [-1, 1], [n, 3, size, size]."""
    from inpaint_bench.data.shapes import render

    pixels = np.stack([render("test", i, size) for i in range(n)])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def truth_of(image: torch.Tensor, mask: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The scene of `truth` whose pixels equal `image` outside the hole, for every image of the batch."""
    out = []
    for img, m in zip(image, mask, strict=True):
        keep = (1 - m).bool().expand_as(img)
        err = ((truth - img.cpu()).abs() * keep).amax((1, 2, 3))
        best = int(err.argmin())
        if err[best] > 1e-4:
            raise SystemExit(f"no test scene matches an input's known pixels (closest off by {float(err[best]):.3g})")
        out.append(truth[best])
    return torch.stack(out).to(image)


def seed_function(mode: str, original, truth: torch.Tensor):
    from inpaint_bench.methods.classical import MeanFill

    def seed(image, mask, components, sigma, generators, seed=0):
        if mode == "gmm":
            return original(image, mask, components, sigma, generators, seed)
        if mode == "truth":
            return torch.where(mask.bool(), truth_of(image, mask, truth), image)
        return MeanFill().inpaint(image, mask)  # the benchmark's own mean_fill row
    return seed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--method", default="isdiff_repaint", choices=("isdiff_repaint", "isdiff_ddnm"))
    parser.add_argument("--config", default="{}", help="YAML mapping merged into the row's benchmark config")
    parser.add_argument("--checkpoint", default=None, help="prior file (default: the shipped tiny prior)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--results", default="runs/isdiff_seed")
    a = parser.parse_args()

    import inpaint_bench.methods.isdiff as isdiff

    bench = yaml.safe_load((Path(__file__).parent / "shapes.yaml").read_text())
    row = next(m for m in bench["methods"] if isinstance(m, dict) and m["name"] == a.method)
    config = {**row["config"], **yaml.safe_load(a.config), **({"checkpoint": a.checkpoint} if a.checkpoint else {})}
    isdiff.gmm_seed = seed_function(a.mode, isdiff.gmm_seed, scenes(a.images, bench["size"]))
    print(f"seed: {a.mode}")
    sweep = diagnostic_sweep(bench, {"name": a.method, "config": config}, a.images, ["psnr_hole", "fid", "psnr"])
    return run_sweep(sweep, f"isdiff_seed_{a.mode}", a.results)


def diagnostic_sweep(bench: dict, row: dict, images: int, metrics: list[str]) -> dict:
    """The default benchmark's protocol (`bench`: benchmarks/shapes.yaml) for one row on its first `images` scenes."""
    return {"datasets": ["shapes"], "masks": bench["masks"], "seeds": bench["seeds"], "size": bench["size"],
            "limit": images, "features": "auto", "batch_size": bench["batch_size"], "grid_images": 4,
            "metrics": metrics, "methods": [row]}


def run_sweep(sweep: dict, name: str, results: str) -> int:
    """`inpaint-bench sweep` of `sweep` in this process (so a patched method is the one that runs), into a fresh
    `results` folder."""
    from inpaint_bench.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(yaml.safe_dump(sweep))
        shutil.rmtree(results, ignore_errors=True)
        sys.argv = ["inpaint-bench", "sweep", str(path), "--results", results, "--no-wandb", "--no-progress"]
        return cli()


if __name__ == "__main__":
    sys.exit(main())
