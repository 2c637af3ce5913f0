"""`inpaint-bench run | sweep | bench | leaderboard`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from ..files import paths


def _mask_args(p) -> None:
    p.add_argument("--mask-polarity", choices=("hole", "keep"), default=None,
                   help="folder:PATH masks: white = hole (default) or white = keep")
    p.add_argument("--resize-masks", action="store_true", help="resize folder:/repaint: masks of another size (nearest)")


def _trainer_args(p) -> None:
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    p.add_argument("--accelerator", default="auto", help="cpu, gpu, auto (Lightning)")
    p.add_argument("--devices", default="1", type=_devices_arg, help="number of devices per node, or 'auto'")
    p.add_argument("--strategy", default="auto", help="e.g. ddp (gloo on CPU)")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--precision", default=None, help="e.g. bf16-mixed on GPUs")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format (faster convs on GPUs)")
    p.add_argument("--compile", nargs="?", const="inductor", default=False, metavar="BACKEND",
                   help="torch.compile the method's networks (backend: inductor, the default; aot_eager needs no C "
                        "compiler)")
    p.add_argument("--no-wandb", action="store_true", help="do not log to W&B (offline unless logged in / WANDB_MODE)")
    p.add_argument("--wandb-project", default=None, help="W&B project (default WANDB_PROJECT or inpaint-bench)")
    p.add_argument("--wandb-entity", default=None, help="W&B entity (team or user; default WANDB_ENTITY)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quiet", action="store_true", help="print only failures and the files written")


def _devices_arg(text: str) -> str:
    import argparse

    if text != "auto" and not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of devices: give a whole number ≥ 1 or 'auto'")
    return text


def _trainer(a):
    import os

    from ..bench.runner import TrainerOptions

    for flag, var in (("wandb_project", "WANDB_PROJECT"), ("wandb_entity", "WANDB_ENTITY")):
        if getattr(a, flag, None):
            os.environ[var] = getattr(a, flag)

    devices = a.devices if a.devices == "auto" else int(a.devices)
    return TrainerOptions(a.accelerator, devices, a.strategy, a.num_nodes, a.precision, not a.no_progress,
                          a.channels_last, a.compile)


def _sweep(a) -> int:
    from ..bench.config import dataset_key, load_sweep
    from ..bench.runner import global_rank, run_sweep
    from ..bench.store import ResultStore

    sweep = load_sweep(a.file, limit=a.limit, features=a.features, noise=a.noise, mask_polarity=a.mask_polarity,
                       resize_masks=a.resize_masks or None)
    shard = None
    if getattr(a, "shard", None):
        from ..bench.shards import parse_shard

        shard = parse_shard(a.shard)
    results = run_sweep(sweep, ResultStore(a.results), _trainer(a), wandb=not a.no_wandb, quiet=a.quiet, shard=shard)
    if global_rank() != 0:  # a DDP worker: rank 0 reports (see _run)
        return 0
    boards = (Path(a.results) / d / "leaderboard.md" for d in dict.fromkeys(map(dataset_key, sweep.datasets)))
    print(f"leaderboards: {', '.join(map(str, boards))}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


def _bench(a) -> int:
    a.file = paths.REPO_DIR / "benchmarks" / f"{a.dataset}.yaml"
    return _sweep(a)


def labelled_metrics(result: dict) -> dict | None:
    """The cell's numbers keyed by name, with `[UNTRAINED-FEATURES]` on those random networks made."""
    from ..metrics import feature_tag, metric_label

    if result.get("metrics") is None:
        return None
    return {metric_label(k, feature_tag(result)): v for k, v in result["metrics"].items()}


def _run(a) -> int:
    from ..bench.config import (
        CellConfig,
        ConfigError,
        MethodSpec,
        Protocol,
        SweepConfig,
        load_yaml,
        validate_names,
        validate_protocol,
    )
    from ..bench.runner import global_rank, run_cell
    from ..bench.store import ResultStore

    dataset, data_root = a.dataset, a.data_root
    if dataset.startswith("folder:"):  # your own images: the folder dataset rooted there, as in a sweep
        dataset, data_root = "folder", dataset.removeprefix("folder:")
    if dataset == "folder" and not data_root:
        raise ConfigError("the folder dataset needs its folder: --dataset folder:PATH or --dataset folder "
                          "--data-root PATH")
    protocol = Protocol(dataset=dataset, split=a.split, size=a.size, limit=a.limit,
                        metrics=tuple(m for m in a.metrics.split(",") if m), fid_mode=a.fid_mode,
                        features=a.features, noise=a.noise or "cpu", data_root=data_root,
                        mask_polarity=a.mask_polarity or "hole",
                        resize_masks=a.resize_masks, reference=a.reference)
    validate_protocol(protocol)
    try:
        config = load_yaml(a.config) if a.config else {}
    except yaml.YAMLError as err:
        raise ConfigError(f"--config is not valid YAML: {err}") from None
    if not isinstance(config or {}, dict):
        raise ConfigError(f"--config must be a mapping such as '{{nfe: 20}}', got {a.config!r}")
    if a.batch_size < 1:
        raise ConfigError(f"--batch-size must be ≥ 1, got {a.batch_size}")
    named = f"folder:{data_root}" if dataset == "folder" else dataset
    check = validate_names(SweepConfig("run", (named,), (a.mask,), (MethodSpec(a.method, config or {}),)),
                           "run")  # refuse a typo before any work
    cell = CellConfig(protocol, a.mask, check.methods[0], a.seed, a.batch_size)
    result = run_cell(cell, ResultStore(a.results), _trainer(a), save_outputs=a.save_outputs,
                      wandb_group=None if a.no_wandb else "run")
    if global_rank() != 0:  # a DDP worker: rank 0 prints and sets the exit status; a worker's non-zero exit
        return 0  # would make Lightning's launcher kill every process (exit 137) after the record is written
    shown = {k: result.get(k) for k in ("status", "metrics", "n_images", "nfe", "seconds_per_image", "error")}
    shown["metrics"] = labelled_metrics(result)
    shown["results"] = str(ResultStore(a.results).cell_path(cell.results_key(), result["cell_id"]))
    print(json.dumps(shown, indent=1))
    if result["status"] != "ok":
        print(f"inpaint-bench: the cell failed: {result['error']} (record: {shown['results']})", file=sys.stderr)
        return 1
    return 0


def _leaderboard(a) -> int:
    from ..bench.leaderboard import write_leaderboards
    from ..bench.store import ResultStore

    for path in write_leaderboards(ResultStore(a.results), results_dataset(a.dataset, a.results, a.data_root)):
        print(f"wrote {path}")
    return 0


def results_dataset(name: str, results: Path, data_root: str | None = None) -> str:
    """The results folder of `--dataset`: a registered name, `folder:PATH` (or `folder --data-root PATH`), a
    `folder-<name>-<hash>` folder itself, or `folder` alone when the results hold exactly one image folder."""
    from ..bench.config import ConfigError, dataset_key
    from ..data import DATASETS

    key = dataset_key(name, data_root)
    if name == "folder" and not data_root:
        found = sorted(p.parent.name for p in Path(results).glob("folder-*/cells"))
        if len(found) != 1:
            raise ConfigError(f"--dataset folder: the results in {results} hold {len(found)} image folders "
                              f"({', '.join(found) or 'none'}); pass --dataset folder:PATH or one of these names")
        key = found[0]
    elif key not in DATASETS and not key.startswith("folder-"):
        raise ConfigError(f"unknown dataset {name!r}; valid: {DATASETS.names()}, folder:PATH")
    if not (Path(results) / key / "cells").is_dir():
        raise ConfigError(f"no results for {name} in {results} (expected {results}/{key}/cells/); "
                          "run a sweep first or pass --results")
    return key


def _sweep_args(p) -> None:
    """The options `sweep` and `bench` share: features, sharding, where the noise is drawn."""
    p.add_argument("--features", choices=("auto", "trained", "untrained", "shapes"), default=None)
    p.add_argument("--shard", default=None, help="I/N: only shard I (from 0) of N, for job arrays "
                   "(every cell in exactly one shard, balanced by expected cost); `leaderboard` merges afterwards")
    p.add_argument("--noise", choices=("cpu", "device"), default=None, help="per-image noise generators: cpu "
                   "(default; the same numbers on every device) or device (on the accelerator; faster, reproducible "
                   "per device type)")


def add_parsers(sub) -> None:
    p = sub.add_parser("sweep", help="run every cell of a sweep YAML (skipping finished ones) and write leaderboards")
    p.add_argument("file", type=Path)
    p.add_argument("--limit", type=int, default=None, help="only the first N images of each split")
    _sweep_args(p)
    _mask_args(p)
    _trainer_args(p)
    p.set_defaults(func=_sweep)

    b = sub.add_parser("bench", help="sweep benchmarks/<dataset>.yaml")
    b.add_argument("--dataset", default="shapes", help="the default benchmark is shapes (procedural); also tiny "
                   "(photos), celebahq, places2, imagenet")
    b.add_argument("--limit", type=int, default=None)
    _sweep_args(b)
    _mask_args(b)
    _trainer_args(b)
    b.set_defaults(func=_bench)

    r = sub.add_parser("run", help="run one cell")
    r.add_argument("--dataset", default="shapes")
    r.add_argument("--data-root", default=None)
    r.add_argument("--split", default="test")
    r.add_argument("--size", type=int, default=None)
    r.add_argument("--limit", type=int, default=None)
    r.add_argument("--method", required=True)
    r.add_argument("--config", default=None, help="method config as YAML/JSON, e.g. '{nfe: 20}'")
    r.add_argument("--mask", default="center")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--batch-size", type=int, default=8)
    r.add_argument("--metrics", default="fid,kid,lpips,psnr,ssim,psnr_hole,ssim_hole")
    r.add_argument("--fid-mode", default="clean")
    r.add_argument("--features", choices=("auto", "trained", "untrained", "shapes"), default="auto")
    r.add_argument("--noise", choices=("cpu", "device"), default=None, help="per-image noise generators: cpu "
                   "(default; the same numbers on every device) or device (on the accelerator; faster, reproducible "
                   "per device type)")
    r.add_argument("--save-outputs", action="store_true")
    r.add_argument("--reference", default="test-images", help="FID/KID reference: test-images, stats:PATH, folder:PATH")
    _mask_args(r)
    _trainer_args(r)
    r.set_defaults(func=_run)

    lb = sub.add_parser("leaderboard", help="rewrite the leaderboard files of a dataset from its results")
    lb.add_argument("--dataset", default="shapes")
    lb.add_argument("--data-root", default=None, help="with --dataset folder: the image folder")
    lb.add_argument("--results", type=Path, default=Path("results"))
    lb.set_defaults(func=_leaderboard)
