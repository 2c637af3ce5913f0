"""Run cells and sweeps through the Lightning Trainer: skip finished cells, record failures, write atomically.

`--accelerator gpu --devices 8 --strategy ddp` (or `--num-nodes`, SLURM, torchrun) scale a cell unchanged; on CPU,
`--devices 2` uses gloo. Results do not depend on the process count or the batch size: noise comes from one
generator per image, seeded by (seed, image key), and metrics keep per-image rows keyed by index.
"""

from __future__ import annotations

import dataclasses
import time
import traceback

from .. import weights
from ..config import CellConfig, SweepConfig
from .store import ResultStore, code_version


@dataclasses.dataclass
class TrainerOptions:
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None  # Lightning precision, e.g. "bf16-mixed" (autocast) on GPUs
    progress: bool = True
    channels_last: bool = False
    compile: bool = False

    def prepare(self, method):
        """Apply the GPU options to a method's networks (channels_last, torch.compile); no-ops by default."""
        import torch

        if self.channels_last:
            method = method.to(memory_format=torch.channels_last)
        if self.compile:
            for name, child in list(method.named_children()):
                if name in ("net", "structure_net"):
                    setattr(method, name, torch.compile(child))
        return method


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


def use_untrained(protocol) -> bool:
    """`features: auto` → untrained (labelled) exactly when a needed weight file is missing."""
    if protocol.features != "auto":
        return protocol.features == "untrained"
    return not all(weights.get(k).path().exists() for k in needed_weights(protocol))


def _datamodule(cell: CellConfig):
    from ..data import build_datamodule

    p = cell.protocol
    kwargs = {"root": p.data_root} if p.data_root else {}
    return build_datamodule(p.dataset, split=p.split, size=p.size, mask=cell.mask, mask_seed=0,
                            batch_size=cell.batch_size, limit=p.limit, **kwargs)


def _reference(dm, cell: CellConfig, untrained: bool):
    from ..metrics.reference import reference_features

    p = cell.protocol
    if not {"fid", "kid"} & set(p.metrics):
        return None
    key = {"dataset": p.dataset, "split": dm.dataset.split.checksum(), "size": dm.size, "n": len(dm.dataset)}
    images = (batch["image"] for batch in dm.predict_dataloader())
    return reference_features(images, key, p.fid_mode, untrained)


def mask_checksum(dm) -> str:
    source = dm.dataset.mask_source
    return source.checksum() if hasattr(source, "checksum") else "unknown"


def run_cell(cell: CellConfig, store: ResultStore, trainer: TrainerOptions | None = None,
             sample_count: int = 4, save_outputs: bool = False, wandb_group: str | None = None) -> dict:
    """Run one cell and write its JSON; a failure is written as `status: failed` with the error."""
    import lightning as L

    from .. import masks, methods
    from ..metrics import MetricSuite
    from .module import BenchModule

    p, cell_id = cell.protocol, cell.cell_id()
    trainer = trainer or TrainerOptions()
    base = {"cell_id": cell_id, "config": cell.to_dict(), "row": cell.method.row(), "code_version": code_version(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        dm = _datamodule(cell)
        untrained = use_untrained(p)
        method = trainer.prepare(methods.build(cell.method.name, **cell.method.config))
        if ":" not in cell.mask:
            method.for_mask(masks.spec(cell.mask).family)
        suite = MetricSuite(p.metrics, mode=p.fid_mode, untrained=untrained, reference=_reference(dm, cell, untrained),
                            lpips_net=p.lpips_net)
        cell_dir = store.root / p.dataset
        module = BenchModule(method, suite, cell.seed, cell_dir / "samples" / cell_id, sample_count,
                             cell_dir / "outputs" / cell_id if save_outputs else None)
        loggers = _loggers(cell, cell_id, wandb_group, store.root)
        t = L.Trainer(accelerator=trainer.accelerator, devices=trainer.devices, strategy=trainer.strategy,
                      num_nodes=trainer.num_nodes, precision=trainer.precision, logger=loggers or False,
                      enable_progress_bar=trainer.progress, enable_model_summary=False, enable_checkpointing=False)
        t.predict(module, datamodule=dm, return_predictions=False)
        result = {**base, "status": "ok", **module.result,
                  "metric_labels": suite.labels(), "untrained_features": untrained,
                  "protocol": {"dataset": p.dataset, "split": p.split, "split_checksum": dm.dataset.split.checksum(),
                               "size": dm.size, "n_images": module.result["n_images"], "mask": cell.mask,
                               "mask_checksum": mask_checksum(dm), "fid_mode": p.fid_mode,
                               "feature_weights": "UNTRAINED-FEATURES" if untrained else "pretrained",
                               "lpips_net": p.lpips_net, "seed": cell.seed},
                  "method": method.describe(), "devices": t.world_size}
        for logger in loggers:
            log_cell(logger, result)
        if not t.is_global_zero:
            return result
    except Exception as err:  # a failing cell is recorded and the sweep goes on
        result = {**base, "status": "failed", "error": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc(limit=8)}
    store.write(p.dataset, cell_id, result)
    return result


def _loggers(cell, cell_id, group, save_dir):
    if group is None:
        return []
    from .wandb_log import cell_logger

    return [cell_logger(cell, cell_id, group, save_dir)]


def log_cell(logger, result: dict) -> None:
    from .wandb_log import log_result

    log_result(logger, result)


def run_sweep(sweep: SweepConfig, store: ResultStore, trainer: TrainerOptions | None = None,
              wandb: bool = True, echo=print) -> list[dict]:
    """Run every cell not finished yet, then write the leaderboards of each dataset."""
    from .leaderboard import write_leaderboards

    trainer = trainer or TrainerOptions()
    cells = sweep.cells()
    results, start = [], time.perf_counter()
    for i, cell in enumerate(cells, 1):
        cell_id = cell.cell_id()
        label = f"{cell.protocol.dataset} · {cell.mask} · {cell.method.row()} · seed {cell.seed}"
        if store.done(cell.protocol.dataset, cell_id):
            echo(f"skip (done)  {label}")
            continue
        result = run_cell(cell, store, trainer, sweep.grid_images, sweep.save_outputs,
                          wandb_group=sweep.name if wandb else None)
        results.append(result)
        status = "ok" if result["status"] == "ok" else f"FAILED: {result['error']}"
        eta = (time.perf_counter() - start) / len(results) * (len(cells) - i)
        echo(f"{status:12s} {label}   [{i}/{len(cells)}, ETA {eta / 60:.1f} min]")
    for dataset in sweep.datasets:
        for path in write_leaderboards(store, dataset, sweep, wandb=wandb):
            echo(f"wrote {path}")
    return results
