"""W&B: one run per cell (grouped by sweep) and one leaderboard run per dataset; offline without an API key."""

from __future__ import annotations

import os
from pathlib import Path


def _offline() -> bool:
    return not os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE") == "offline"


def cell_logger(cell, cell_id: str, group: str, save_dir: str | Path = "results"):
    from lightning.pytorch.loggers import WandbLogger

    os.environ.setdefault("WANDB_SILENT", "true")
    name = f"{cell.protocol.dataset}-{cell.mask}-{cell.method.row()}-s{cell.seed}"
    return WandbLogger(project=os.environ.get("WANDB_PROJECT", "inpaint-bench"), name=name, group=group,
                       save_dir=str(save_dir), offline=_offline(), config=cell.to_dict(), tags=[cell.method.name])


def metric_key(name: str, result: dict) -> str:
    from ..metrics import FEATURE_METRICS, UNTRAINED

    tagged = result.get("untrained_features") and name in FEATURE_METRICS
    return f"metrics/{name}" + (f" [{UNTRAINED}]" if tagged else "")


def log_result(logger, result: dict) -> None:
    values = {metric_key(k, result): v for k, v in result["metrics"].items()}
    values.update({"cost/nfe": result["nfe"], "cost/seconds_per_image": result["seconds_per_image"],
                   "known_drift": result["known_drift"], "n_images": result["n_images"]})
    logger.log_metrics(values)
    logger.experiment.summary.update({**values, "protocol": result["protocol"]})
    logger.experiment.finish()


def log_leaderboard(dataset: str, header: list[str], rows: list[list], grids: list[Path], group: str,
                    save_dir: str | Path = "results") -> Path:
    import wandb

    os.environ.setdefault("WANDB_SILENT", "true")
    run = wandb.init(project=os.environ.get("WANDB_PROJECT", "inpaint-bench"), name=f"leaderboard-{dataset}",
                     group=group, dir=str(save_dir), mode="offline" if _offline() else "online", reinit="finish_previous")
    run.log({f"leaderboard/{dataset}": wandb.Table(columns=header, data=[[str(c) for c in r] for r in rows])})
    for grid in grids:
        run.log({f"samples/{grid.stem}": wandb.Image(str(grid))})
    folder = Path(run.dir).parent
    run.finish()
    return folder
