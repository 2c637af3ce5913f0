"""Run cells and sweeps through the Lightning Trainer: skip finished cells, record failures, write atomically.

`--accelerator gpu --devices 8 --strategy ddp` (or `--num-nodes`, SLURM, torchrun) scale a cell unchanged; on CPU,
`--devices 2` uses gloo. Results do not depend on the process count or the batch size: noise comes from one
generator per image, seeded by (seed, image key), and metrics keep per-image rows keyed by index.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from pathlib import Path

from ..files import weights
from ..files.provenance import code_version, recording
from .config import CellConfig, SweepConfig, cell_datamodule, dataset_key
from .launch import LAUNCHER_PID, claim, global_rank, join_sweep, launched_externally, own_child
from .store import ResultStore

COMMUNICATION_ERRORS = ("Connection closed by peer", "Connection reset by peer", "gloo", "NCCL", "ProcessGroup",
                        "Broken pipe", "timed out")


@dataclasses.dataclass
class TrainerOptions:
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None  # Lightning precision, e.g. "bf16-mixed" (autocast) on GPUs
    progress: bool = True
    channels_last: bool = False
    compile: bool | str = False  # True or a torch.compile backend name ("inductor", "aot_eager", …)

    def prepare(self, method):
        """Apply the GPU options to a method's networks (channels_last, torch.compile); no-ops by default."""
        import torch

        if self.channels_last:
            method = method.to(memory_format=torch.channels_last)
        if self.compile:
            for name, child in list(method.named_children()):
                if name in ("net", "structure_net"):
                    backend = self.compile if isinstance(self.compile, str) else "inductor"
                    setattr(method, name, torch.compile(child, backend=backend))
        return method


def hardware(trainer: TrainerOptions, batch_size: int, accelerator: str) -> dict:
    """What the timings were measured on: CPU model, GPU name, torch version, precision, batch size, threads."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if accelerator in ("gpu", "cuda") and torch.cuda.is_available() else None
    return {"cpu": cpu, "gpu": gpu, "accelerator": accelerator, "torch": torch.__version__,
            "precision": trainer.precision or "32-true", "channels_last": trainer.channels_last,
            "compile": ("inductor" if trainer.compile is True else trainer.compile) or None, "batch_size": batch_size,
            "threads": torch.get_num_threads(), "timing": "wall time of each batch / its size, per image"}


def needed_weights(protocol) -> list[str]:
    keys = []
    if {"fid", "kid"} & set(protocol.metrics):
        keys.append("inception_legacy_pytorch" if protocol.fid_mode == "legacy_pytorch" else "inception_torchscript")
    if "is" in protocol.metrics:
        keys.append("inception_legacy_pytorch")
    if "lpips" in protocol.metrics:
        keys.append("alexnet" if protocol.lpips_net == "alex" else "vgg16")
    if "ca" in protocol.metrics:
        keys.append("resnet50")
    return keys


def feature_weights(protocol) -> str:
    """Which networks make the feature metrics (FID, KID, LPIPS, ...): `pretrained`, UNTRAINED-FEATURES (random,
    labelled) or shapes-features (the `shapes` dataset's own trained network, `metrics/shapes_features.py`).
    `features: auto` → pretrained when every needed weight file is there; otherwise, on `shapes` (when only
    FID/KID/LPIPS need features), shapes-features; otherwise untrained. An explicit choice is taken as it is."""
    from ..metrics import FEATURE_METRICS, SHAPES, SHAPES_METRICS, UNTRAINED

    chosen = {"trained": "pretrained", "untrained": UNTRAINED, "shapes": SHAPES}.get(protocol.features)
    if chosen is not None:
        return chosen
    if all(weights.get(k).path().exists() for k in needed_weights(protocol)):
        return "pretrained"
    features_needed = set(protocol.metrics) & FEATURE_METRICS
    return SHAPES if protocol.dataset == "shapes" and features_needed <= SHAPES_METRICS else UNTRAINED


def feature_networks(protocol, weights_kind: str) -> tuple[str, str]:
    """(FID mode, LPIPS network) the suite is built with: the shapes network takes both places."""
    from ..metrics import SHAPES

    return (SHAPES, SHAPES) if weights_kind == SHAPES else (protocol.fid_mode, protocol.lpips_net)


def _reference(dm, cell: CellConfig, fid_mode: str, untrained: bool, progress=None):
    """The FID/KID reference of the protocol (`metrics/reference.py`): the split's own images, published
    statistics (`stats:PATH`) or an image folder (`folder:PATH`)."""
    from ..metrics import reference as ref

    p = cell.protocol
    if not {"fid", "kid"} & set(p.metrics):
        return None
    if p.reference.startswith("stats:"):
        return ref.load_stats(p.reference.removeprefix("stats:"))
    if p.reference.startswith("folder:"):
        folder = p.reference.removeprefix("folder:")
        key = {**ref.folder_key(folder), "size": dm.size}
        key = {**key, "resize": p.resize} if p.resize != "bicubic" else key
        return ref.reference_features(ref.folder_batches(folder, dm.size, resize=p.resize), key, fid_mode,
                                      untrained)
    key = {"dataset": p.dataset, "split": dm.dataset.split.checksum(), "size": dm.size, "n": len(dm.dataset)}
    images = (batch["image"] for batch in dm.predict_dataloader())
    if progress is not None:
        images = progress.track_reference(images, len(dm.dataset))
    return ref.reference_features(images, key, fid_mode, untrained)


def reference_identity(protocol, reference) -> str:
    """What the FID/KID numbers were measured against, for the protocol card and the cell JSON."""
    if protocol.reference.startswith("stats:"):
        return f"{protocol.reference} (sha256 {reference.sha256[:12]})" if reference is not None else protocol.reference
    return protocol.reference


def mask_checksum(dm) -> str:
    source = dm.dataset.mask_source
    return source.checksum() if hasattr(source, "checksum") else "unknown"


def _devices(trainer: TrainerOptions, n_images: int, echo):
    """Lightning's sampler gives every process at least one image: with fewer images than processes, a launch
    this process controls uses one process per image (numbers do not depend on the process count); an external
    launch (torchrun, SLURM) cannot shrink, and gets a clear error instead of Lightning's bare assertion."""
    devices = trainer.devices
    if not launched_externally():
        os.environ[LAUNCHER_PID] = str(os.getpid())  # the children Lightning starts inherit it
    if not isinstance(devices, int) or trainer.num_nodes * devices <= n_images:
        return devices
    if own_child():  # the launcher shrank the same way: the same rule on the same numbers
        return max(n_images, 1)
    if launched_externally() or trainer.num_nodes > 1:
        raise ValueError(f"{n_images} image(s) for {trainer.num_nodes * devices} processes: every process needs at "
                         f"least one image; use at most {n_images} processes or more images (--limit)")
    echo(f"note: {n_images} image(s), so {max(n_images, 1)} process(es) instead of {devices}")
    return max(n_images, 1)


def run_cell(cell: CellConfig, store: ResultStore, trainer: TrainerOptions | None = None,
             sample_count: int = 4, save_outputs: bool = False, wandb_group: str | None = None, echo=print,
             progress=None) -> dict:
    """Run one cell and write its JSON; a failure is written as `status: failed` with the error.

    Every weight file read (method and metric weights) is recorded with its sha256 under `weights`."""
    import lightning as L

    from .. import masks, methods
    from ..metrics import MetricSuite
    from .module import BenchModule

    p, cell_id = cell.protocol, cell.cell_id()
    trainer = trainer or TrainerOptions()
    where = cell.results_key()  # results/<dataset>/ (folder datasets: folder-<name>-<hash>)
    store.check_writable(where)
    base = {"cell_id": cell_id, "config": cell.to_dict(), "row": cell.method.row(), "code_version": code_version(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    t = None
    from .progress import quiet_framework

    try:
        with recording() as used, quiet_framework():
            dm = cell_datamodule(cell)
            from ..metrics import UNTRAINED

            feature_kind = feature_weights(p)
            untrained = feature_kind == UNTRAINED
            fid_mode, lpips_net = feature_networks(p, feature_kind)
            if p.limit is not None and len(dm.dataset) < p.limit and global_rank() == 0:
                echo(f"note: limit {p.limit}, but {p.dataset} {p.split} has {len(dm.dataset)} image(s): all are used")
            few = {"fid", "kid"} & set(p.metrics)
            if len(dm.dataset) < 2 and few:  # refuse before computing anything, not after
                raise ValueError(f"{len(dm.dataset)} image(s): {', '.join(sorted(few))} need at least 2; drop them "
                                 f"from the metrics (e.g. --metrics psnr,ssim,lpips) or use more images")
            method = trainer.prepare(methods.build(cell.method.name, **cell.method.config))
            if ":" not in cell.mask:
                method.for_mask(masks.spec(cell.mask).family)
            reference = _reference(dm, cell, fid_mode, untrained, progress)
            suite = MetricSuite(p.metrics, mode=fid_mode, untrained=untrained, reference=reference,
                                lpips_net=lpips_net, quantize=p.quantize)
            cell_dir = store.root / where
            module = BenchModule(method, suite, cell.seed, cell_dir / "samples" / cell_id, sample_count,
                                 cell_dir / "outputs" / cell_id if save_outputs else None, p.noise)
            loggers = _loggers(cell, cell_id, wandb_group, store.root)
            if progress is not None:
                progress.start_images(f"images · {cell.mask} · {cell.method.row()}", len(dm.dataset))
            t = L.Trainer(accelerator=trainer.accelerator, devices=_devices(trainer, len(dm.dataset), echo),
                          strategy=trainer.strategy, num_nodes=trainer.num_nodes, precision=trainer.precision,
                          logger=loggers or False, enable_progress_bar=trainer.progress and progress is None,
                          enable_model_summary=False, enable_checkpointing=False,
                          callbacks=[progress.callback()] if progress is not None else None)
            t.predict(module, datamodule=dm, return_predictions=False)
        result = {**base, "status": "ok", **module.result,
                  "metric_labels": suite.labels(), "untrained_features": untrained,
                  "protocol": {"dataset": p.dataset, "split": p.split, "split_checksum": dm.dataset.split.checksum(),
                               "size": dm.size, "n_images": module.result["n_images"], "mask": cell.mask,
                               "mask_checksum": mask_checksum(dm), "masks_sha256": module.result["masks_sha256"],
                               "fid_mode": fid_mode, "reference": reference_identity(p, reference),
                               "feature_weights": feature_kind, "lpips_net": lpips_net, "seed": cell.seed, "resize": p.resize,
                               "quantize": p.quantize, "noise": p.noise},
                  "method": method.describe(), "devices": t.world_size, "num_nodes": t.num_nodes,
                  "launcher": launcher_name(t.strategy), "weights": dict(used),
                  "hardware": hardware(trainer, cell.batch_size, type(t.accelerator).__name__.removesuffix(
                      "Accelerator").lower())}
        no_hole = sum(1 for h in module.per_image["hole_ratio"] if h == 0)
        if no_hole:
            result["n_no_hole"] = no_hole
            if t.is_global_zero:
                echo(f"note: {no_hole} of {result['n_images']} mask(s) have no hole: those images score the input "
                     "against itself in psnr/ssim (100 dB, 1); hole-only metrics leave them out")
        for logger in loggers:
            log_cell(logger, result, module.per_image, sample_images(dm, cell_dir / "samples" / cell_id))
        if not t.is_global_zero:
            return result
        images = store.write_images(where, cell_id, module.per_image, list(dm.dataset.split.files))
        result["per_image_file"] = images.name
    except Exception as err:  # a failing cell is recorded and the sweep goes on
        result = _failure(store, where, cell_id, base, err, t)
    store.write(where, cell_id, result)
    return result


def _failure(store: ResultStore, dataset: str, cell_id: str, base: dict, err: Exception, trainer) -> dict:
    """The failed-cell record. Under DDP every failing rank leaves its error beside the cell; the record names
    the first real one with its rank, not the "connection closed" that a rank's failure causes in the others."""
    rank = trainer.global_rank if trainer is not None else global_rank()
    mine = {"rank": rank, "time": time.time(), "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(limit=8)}
    errors = [mine]
    if trainer is not None and trainer.world_size > 1:
        folder = store.cell_path(dataset, cell_id).parent
        from ..files.atomic import atomic_write

        atomic_write(folder / f".{cell_id}.rank{rank}.error", json.dumps(mine).encode())
        time.sleep(1.0)  # let a rank whose failure caused ours write its error first
        errors = [json.loads(f.read_text()) for f in sorted(folder.glob(f".{cell_id}.rank*.error"))]
    real = [e for e in errors if not any(c in e["error"] for c in COMMUNICATION_ERRORS)]
    first = min(real or errors, key=lambda e: e["time"])
    record = {**base, "status": "failed", "error": first["error"], "failed_rank": first["rank"],
              "traceback": first["traceback"], "all_rank_errors": [{k: e[k] for k in ("rank", "error")} for e in errors]}
    lost = sorted(set(range(trainer.world_size if trainer is not None else 1)) - {e["rank"] for e in errors})
    if not real and lost:  # only lost connections, and some ranks said nothing: those processes died
        record.update(failed_rank=lost[0], lost_ranks=lost,
                      error=f"rank(s) {', '.join(map(str, lost))} stopped without reporting an error (killed, out of "
                            f"memory, or their node went down); rerun to complete the cell. Rank {first['rank']} "
                            f"saw: {first['error']}")
    return record


def _loggers(cell, cell_id, group, save_dir):
    if group is None:
        return []
    from .wandb_log import cell_logger

    return [cell_logger(cell, cell_id, group, save_dir)]


def sample_images(dm, sample_dir):
    """i → (input with the hole greyed, mask, output, ground truth) as uint8 arrays, for saved samples only."""
    import numpy as np
    from PIL import Image

    from ..data.images import to_uint8

    def images(i: int):
        path = sample_dir / f"{i:06d}.png"
        if not path.exists():
            return None
        item = dm.dataset[i]
        truth, hole = to_uint8(item["image"]), item["mask"][0].numpy().astype(bool)
        shown = truth.copy()
        shown[hole] = 127
        return shown, (hole * 255).astype(np.uint8), np.asarray(Image.open(path).convert("RGB")), truth

    return images


def launcher_name(strategy) -> str:
    """Which environment placed the processes: lightning (its own children or one process), torchelastic
    (torchrun), slurm, … — read from Lightning's cluster environment."""
    env = getattr(strategy, "cluster_environment", None)
    return type(env).__name__.removesuffix("Environment").lower() if env is not None else "single"


def log_cell(logger, result: dict, per_image=None, images=None) -> None:
    from .wandb_log import log_result

    log_result(logger, result, per_image, images)


def summary(result: dict) -> str:
    """The cell's numbers for the terminal, each with its label where the features are untrained."""
    from ..metrics import feature_tag, metric_label

    return " · ".join(f"{metric_label(k, feature_tag(result))} {v:.4g}"
                      for k, v in result.get("metrics", {}).items())


def run_sweep(sweep: SweepConfig, store: ResultStore, trainer: TrainerOptions | None = None,
              wandb: bool = True, echo=None, quiet: bool = False, shard: tuple[int, int] | None = None) -> list[dict]:
    """Run every cell not finished (or claimed by another sweep) yet, then write the leaderboards of each dataset.
    One progress display for the whole sweep (`trainer.progress`, not with `quiet`); under DDP only rank 0 prints
    and writes leaderboards. `quiet`: only failures and the written files are printed. `shard=(I, N)`: only
    shard I of N (`shards.py`), balanced by expected network forwards."""
    from .progress import SweepProgress

    trainer = trainer or TrainerOptions()
    if global_rank() != 0:
        echo = _silent
    join_sweep()
    for dataset in sweep.datasets:
        store.check_writable(dataset_key(dataset))
    cells = sweep.cells()
    if shard is not None:
        from .plan import cell_forwards
        from .shards import shard as take_shard

        cells = take_shard(cells, *shard, cost=cell_forwards)
    show = trainer.progress and not quiet and echo is None and global_rank() == 0
    with SweepProgress(len(cells), enabled=show) as progress:
        return _sweep_cells(sweep, cells, store, trainer, wandb, echo or progress.echo, quiet,
                            progress if show else None)


def _sweep_cells(sweep, cells, store, trainer, wandb, echo, quiet, progress) -> list[dict]:
    from .leaderboard import write_leaderboards

    say = _silent if quiet else echo
    results, start = [], time.perf_counter()
    for i, cell in enumerate(cells, 1):
        if progress is not None and i > 1:
            progress.cell_done()
        cell_id = cell.cell_id()
        label = f"{cell.protocol.dataset} · {cell.mask} · {cell.method.row()} · seed {cell.seed}"
        where = cell.results_key()
        if store.done(where, cell_id):
            store.relabel(where, cell_id, cell.method.row())  # labels are not in the id
            say(f"skip (done)  {label}")
            continue
        with claim(store.cell_path(where, cell_id).parent, cell_id) as mine:
            if not mine:
                say(f"skip (another sweep has it)  {label}")
                continue
            if store.done(where, cell_id):  # finished by another sweep meanwhile
                say(f"skip (done)  {label}")
                continue
            result = run_cell(cell, store, trainer, sweep.grid_images, sweep.save_outputs or sweep.gallery > 0,
                              wandb_group=sweep.name if wandb else None, echo=say, progress=progress)
        results.append(result)
        eta = (time.perf_counter() - start) / len(results) * (len(cells) - i)
        if result["status"] == "ok":
            say(f"ok           {label}   {summary(result)}   [{i}/{len(cells)}, ETA {eta / 60:.1f} min]")
        else:
            echo(f"FAILED: {result['error']}   {label}   [{i}/{len(cells)}]")
    if progress is not None:
        progress.cell_done()
    if global_rank() == 0:
        for dataset in dict.fromkeys(dataset_key(d) for d in sweep.datasets):
            for path in write_leaderboards(store, dataset, sweep, wandb=wandb):
                echo(f"wrote {path}")
        if wandb:
            from .wandb_log import sync_hint

            hint = sync_hint(store.root)
            if hint:
                echo(hint)
    return results


def _silent(*_args, **_kwargs) -> None:
    return None
