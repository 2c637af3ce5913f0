"""`make perf`: what the suite costs, as ratios measured in one run (this machine is noisy), → benchmarks/results/perf.md.

1. Harness overhead per method: seconds per image of `run_inpaint` (what the runner times) ÷ the physical floor,
   Σ over the method's networks of (calls × one bare forward of that network on the same inputs). Calls are
   counted by forward hooks (an independent check of the reported NFE); the bare forwards replay recorded inputs.
2. Cost table: NFE and seconds per image of every learned row of benchmarks/tiny.yaml, IS-Diff beside its base.
3. Metric throughput: Inception features of a folder, the suite's path vs clean-fid's `get_folder_features` with the
   same network (untrained weights here; the weights do not change the cost), features compared.
4. Fixed per-cell cost: a mean_fill cell by phase (benchmarks/perf_cell.py), optionally beside an older checkout.
5. DDP scaling: one cell with 1 vs 2 CPU processes (one thread each), images/s and identical metrics.
6. Masks: 10,000 masks at 256² generated and loaded (benchmarks/perf_masks.py).

Run: .venv/bin/python benchmarks/perf.py [--quick] [--before OLD_CHECKOUT]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "perf.md"
BATCH = 8
SIZE = 32  # the default benchmark's image side (benchmarks/shapes.yaml `size`)


def default_rows() -> list[tuple[str, dict]]:
    """The rows of the default benchmark (benchmarks/shapes.yaml) with their configs."""
    import yaml

    rows = []
    for m in yaml.safe_load((ROOT / "shapes.yaml").read_text())["methods"]:
        name, config = (m, {}) if isinstance(m, str) else (m["name"], m.get("config", {}))
        rows.append((name, config))
    return rows


def networks(method) -> list[torch.nn.Module]:
    """The denoising networks a method may call (not EMA copies, discriminators or helper nets)."""
    from inpaint_bench.nets.ddpm_unet import DDPMUNet
    from inpaint_bench.nets.irsde_unet import ConditionalUNet
    from inpaint_bench.nets.unet import UNetModel

    return [m for m in method.modules() if isinstance(m, UNetModel | DDPMUNet | ConditionalUNet)]


def batch(n: int = BATCH, mask: str = "wide"):
    from inpaint_bench.data import build_datamodule

    return next(iter(build_datamodule("shapes", mask=mask, batch_size=n, size=SIZE).predict_dataloader()))


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def harness_row(name: str, config: dict, repeats: int) -> dict:
    from inpaint_bench import methods
    from inpaint_bench.diffusion.noise import sample_generators
    from inpaint_bench.methods import run_inpaint

    method = methods.build(name, **config).eval()
    b = batch()
    nets, calls, inputs = networks(method), {}, {}

    def hook(module, args, kwargs):
        calls[module] = calls.get(module, 0) + 1
        inputs.setdefault(module, (args, kwargs))

    handles = [n.register_forward_pre_hook(hook, with_kwargs=True) for n in nets]
    run_inpaint(method, b["image"], b["mask"], sample_generators(0, b["key"]))
    for h in handles:
        h.remove()
    seconds = timed(lambda: run_inpaint(method, b["image"], b["mask"], sample_generators(0, b["key"])), repeats)
    with torch.inference_mode():
        floor = sum(count * timed(lambda n=n: n(*inputs[n][0], **inputs[n][1]), 5) for n, count in calls.items())
    return {"row": name + (f"({','.join(f'{k}={v}' for k, v in sorted(config.items()))})" if config else ""),
            "name": name, "nfe": method.nfe, "hooked_calls": sum(calls.values()),
            "s_per_image": seconds / BATCH, "floor_per_image": floor / BATCH,
            "ratio": seconds / floor if floor else float("nan")}


def metric_throughput() -> dict:
    """The suite's folder → features path vs clean-fid's, same Inception network (untrained weights)."""
    import numpy as np
    from cleanfid import fid

    from inpaint_bench.data.images import load_rgb, to_tensor
    from inpaint_bench.files import paths
    from inpaint_bench.metrics.inception import InceptionFeatures

    folder = paths.ASSETS_DIR / "tiny" / "test"
    files = sorted(folder.glob("*.png"))
    net = InceptionFeatures("clean", untrained=True)

    def ours():
        feats = []
        for i in range(0, len(files), 32):
            images = torch.stack([to_tensor(load_rgb(f)) for f in files[i:i + 32]])
            feats.append(net(images))
        return torch.cat(feats).numpy()

    def theirs():
        with redirect_stdout(io.StringIO()), torch.inference_mode():
            return fid.get_folder_features(str(folder), model=lambda x: net.legacy(x / 255)[0].flatten(1),
                                           num_workers=0, batch_size=32, device=torch.device("cpu"), mode="clean",
                                           verbose=False)

    a, b = ours(), theirs()
    t_ours, t_theirs = timed(ours, 2), timed(theirs, 2)
    return {"images": len(files), "ours_img_s": len(files) / t_ours, "cleanfid_img_s": len(files) / t_theirs,
            "ratio": t_theirs / t_ours, "max_feature_diff": float(np.abs(a - b).max())}


def ddp_scaling(limit: int) -> dict:
    """One i2sb cell through the CLI with 1 and 2 CPU processes (gloo), one torch thread per process."""
    out = {}
    for devices in (1, 2):
        results = Path(f"/tmp/inpaint_bench_perf_ddp{devices}")
        shutil.rmtree(results, ignore_errors=True)
        cmd = [sys.executable, "-m", "inpaint_bench.cli", "run", "--method", "i2sb", "--config", "{nfe: 50}",
               "--mask", "wide", "--limit", str(limit), "--batch-size", "4", "--metrics", "psnr,ssim",
               "--no-wandb", "--no-progress", "--accelerator", "cpu", "--devices", str(devices),
               "--results", str(results)]
        if devices == 2:
            cmd += ["--strategy", "ddp"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        cell = json.loads(next((results / "shapes" / "cells").glob("*.json")).read_text())
        out[devices] = {"wall": wall, "img_s": limit / wall, "compute_img_s": devices / cell["seconds_per_image"],
                        "metrics": cell["metrics"]}
    return out


def mask_timings() -> str:
    sys.path.insert(0, str(ROOT))
    import perf_masks

    buf = io.StringIO()
    with redirect_stdout(buf):
        perf_masks.main()
    return buf.getvalue()


def per_cell_section(before: Path | None) -> list[str]:
    """Fixed per-cell cost of a mean_fill cell by phase (benchmarks/perf_cell.py), this tree and optionally an
    older checkout, measured in this run."""
    sys.path.insert(0, str(ROOT))
    import perf_cell

    columns = {}
    if before is not None:
        columns["before"] = perf_cell.measured_in(before.resolve(), 4, 16, False)
    columns["now"] = perf_cell.measured_in(ROOT.parent, 4, 16, False)
    lines = ["", "## Fixed per-cell cost (a `mean_fill` cell: 16 shapes images, the default metrics)", "",
             "A mean_fill cell computes nothing, so its time is the harness's. Four cells in one sweep; the first "
             "pays the once-per-sweep costs (reference features, metric networks). `predict` holds the Inception "
             "and LPIPS passes over the 16 outputs, a per-image cost.", "", perf_cell.table(columns)]
    if "before" in columns:
        old, new = columns["before"]["whole cell"][1], columns["now"]["whole cell"][1]
        lines += ["", f"Later cells: {old:.2f} s before → {new:.2f} s now ({old / new:.1f}× less). Before: FID's trace "
                  "term by a general 2048² eigensolver per cell, FID and KID each running Inception over the same "
                  "outputs, LPIPS built per cell. Now: the symmetric / Gram form with the reference Σ^½ cached, one "
                  "shared Inception pass, metric networks built once per process."]
    return lines


def vs_official_section() -> list[str]:
    """The side-by-side timing against the official code, as last written by `benchmarks/vs_official.py --out`
    (it needs the official checkouts, so `make perf` includes its table instead of re-running it)."""
    table = ROOT / "results" / "vs_official.md"
    if not table.exists():
        return ["", "## Against the official code", "", "Not measured: run `benchmarks/vs_official.py --upstream DIR "
                "--out benchmarks/results/vs_official.md` with the official checkouts."]
    return ["", "## Against the official code (`benchmarks/vs_official.py`, same weights, inputs, threads)", "",
            table.read_text().rstrip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats and images (a smoke run of the script)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of an older commit: its fixed per-cell cost is measured beside this one's")
    args = parser.parse_args()
    repeats = 1 if args.quick else 2
    lines = ["# Performance (`make perf`)", "",
             f"Machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads; "
             f"{time.strftime('%Y-%m-%d')}. GPU numbers: pending (no GPU was lent to this run).", "",
             f"## Harness overhead and cost (the default benchmark's configs, shapes, batch 8, {SIZE}², `wide` masks)", "",
             "ratio = seconds per image of `run_inpaint` ÷ Σ calls × bare forward of the same network on the same "
             "inputs (target ≤ 1.05). `calls` are counted by forward hooks and must equal the reported NFE.", "",
             "| row | NFE | calls | s / image | floor s / image | ratio |", "|---|---|---|---|---|---|"]
    rows = {}
    for name, config in default_rows():
        from inpaint_bench import methods

        if not networks(methods.build(name, **config)):
            continue  # classical rows: no network
        r = harness_row(name, config, repeats)
        rows[name] = r
        print(r, flush=True)
        lines.append(f"| {r['row']} | {r['nfe']} | {r['hooked_calls']} | {r['s_per_image']:.4f} | "
                     f"{r['floor_per_image']:.4f} | {r['ratio']:.3f} |")
    lines += ["", "IS-Diff vs its base (same step budget, default config):", ""]
    for isdiff, base in (("isdiff_repaint", "repaint"), ("isdiff_ddnm", "ddnm")):
        if isdiff in rows and base in rows:
            a, b = rows[isdiff], rows[base]
            speed = b["s_per_image"] / a["s_per_image"]  # > 1: IS-Diff is the faster
            words = f"{speed:.2f}× faster" if speed >= 1 else f"{1 / speed:.2f}× slower"
            lines.append(f"- {isdiff}: NFE {a['nfe']} vs {b['nfe']}, {words} per image than {base}")
    m = metric_throughput()
    print(m, flush=True)
    lines += ["", "## Metric throughput (Inception pool features of a folder, CPU)", "",
              f"{m['images']} images: suite {m['ours_img_s']:.2f} img/s, clean-fid `get_folder_features` "
              f"{m['cleanfid_img_s']:.2f} img/s with the same network → ratio {m['ratio']:.2f} (target ≥ 1.0); "
              f"max |feature difference| {m['max_feature_diff']:.2e}. Reference statistics are cached per "
              "(dataset, split, size, mode) and reused by every cell."]
    lines += per_cell_section(args.before)
    lines += vs_official_section()
    d = ddp_scaling(8 if args.quick else 32)
    print(d, flush=True)
    same = d[1]["metrics"] == d[2]["metrics"]
    lines += ["", "## DDP scaling (i2sb nfe 50, one thread per process, gloo)", "",
              "| processes | wall s (whole command) | img/s (wall) | img/s (inpainting only) |", "|---|---|---|---|"]
    for k in (1, 2):
        lines.append(f"| {k} | {d[k]['wall']:.1f} | {d[k]['img_s']:.2f} | {d[k]['compute_img_s']:.2f} |")
    lines += ["", f"Speed-up (inpainting only) {d[2]['compute_img_s'] / d[1]['compute_img_s']:.2f}×, whole command "
              f"{d[2]['img_s'] / d[1]['img_s']:.2f}× (target ≥ 1.6); metrics identical: {same}."]
    lines += ["", "## Masks (10,000 at 256²)", "", "```", mask_timings().rstrip(), "```", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
