"""Structure or texture? StrDiffusion on the default benchmark with its structure stage swapped (issue 25's diagnosis).

StrDiffusion's early stage denoises a structure x (the gray image, from the masked edges μ_x) and guides each
texture step with it (`methods/strdiffusion.py`). This script runs the default benchmark's `strdiffusion` row with
  learned   the method's own structure network (the benchmark's row, for reference);
  truth     every structure state x_{t−1} drawn from the forward marginal of the scene's true gray image,
            q(x_{t−1} | x₀ = gray(truth), μ_x) — the states a perfect structure network would be at. An oracle no
            method has: what the texture network and the sampler reach with the structure solved.
The texture network, the late stage (texture guided by its own channel mean), resampling and the discriminator are
the method's, unchanged. The ground truth is looked up by matching the known pixels to the rendered `shapes` test
scenes (`isdiff_seed.truth_of`; a mismatch stops the run). Everything else is the sweep's: masks, generators,
metrics (hole PSNR, shapes-features FID). A diagnosis, not a benchmark setting.

    python benchmarks/strdiffusion_structure.py --mode truth [--checkpoint-dir DIR] [--images 64]
                                                [--results runs/strdiffusion_structure]

`--checkpoint-dir` holds strdiffusion.safetensors, strdiffusion_structure.safetensors and
strdiffusion_discriminator.safetensors (what `inpaint-bench train strdiffusion` exports); default the shipped ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from isdiff_seed import diagnostic_sweep, run_sweep, scenes, truth_of  # noqa: E402  (the same lookup and sweep)

MODES = ("learned", "truth")


def oracle_structures(original, truth):
    """`StrDiffusion.structures` that, at sampling, also replaces the structure's reverse step by a draw from the
    forward marginal of the true gray image at t − 1 (the same noise the learned step would have used)."""
    from inpaint_bench.methods.strdiffusion import gray_image

    def structures(self, y0, keep, training: bool):
        if training:
            return original(self, y0, keep, training)
        true_gray = gray_image((truth_of(y0 * 2 - 1, 1 - keep, truth) + 1) / 2)
        sde = self.structure_sde

        def reverse_step(xt, mu, noise_pred, t, noise):
            return sde.sample(true_gray, mu, t - 1, noise)

        sde.reverse_step = reverse_step  # this method's structure schedule only; the texture's keeps its own
        return original(self, y0, keep, training)
    return structures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="folder with the three exported files (default: the shipped tiny ones)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--results", default="runs/strdiffusion_structure")
    a = parser.parse_args()

    from inpaint_bench.methods.strdiffusion import StrDiffusion

    bench = yaml.safe_load((Path(__file__).parent / "shapes.yaml").read_text())
    row = next(m for m in bench["methods"] if isinstance(m, dict) and m["name"] == "strdiffusion")
    config = dict(row["config"])
    if a.checkpoint_dir:
        for key, name in (("checkpoint", ""), ("structure_checkpoint", "_structure"),
                          ("discriminator_checkpoint", "_discriminator")):
            config[key] = str(a.checkpoint_dir / f"strdiffusion{name}.safetensors")
    if a.mode == "truth":
        StrDiffusion.structures = oracle_structures(StrDiffusion.structures, scenes(a.images, bench["size"]))
    print(f"structure: {a.mode}")
    sweep = diagnostic_sweep(bench, {"name": "strdiffusion", "config": config}, a.images,
                             ["psnr_hole", "ssim_hole", "fid", "psnr"])
    return run_sweep(sweep, f"strdiffusion_structure_{a.mode}", a.results)


if __name__ == "__main__":
    sys.exit(main())
