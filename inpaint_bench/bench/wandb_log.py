"""W&B: one run per cell (grouped by sweep) and one leaderboard run per dataset.

Mode: `WANDB_MODE` when set (online, offline, disabled); otherwise online when credentials exist (`WANDB_API_KEY`
or a `wandb login` entry in ~/.netrc), offline when not. Project and entity: `--wandb-project` /
`--wandb-entity` (or `WANDB_PROJECT` / `WANDB_ENTITY`). Per cell: the metrics, a table of the per-image rows, and
for the images whose samples were saved, input | mask | output | ground truth. Per dataset: every protocol's
leaderboard as a typed table (numbers, not strings), the plots and sample grids, and a native cost-frontier chart.
Offline runs are uploaded later with `wandb sync <results>/wandb/offline-run-*` (printed after a sweep).
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path


def mode() -> str:
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        auth = netrc.netrc(os.environ.get("NETRC", Path.home() / ".netrc")).authenticators("api.wandb.ai")
    except (OSError, netrc.NetrcParseError):
        auth = None
    return "online" if auth else "offline"


def project() -> str:
    return os.environ.get("WANDB_PROJECT", "inpaint-bench")


def entity() -> str | None:
    return os.environ.get("WANDB_ENTITY") or None


def logger(name: str, save_dir: str | Path, **kwargs):
    """Lightning's WandbLogger in this module's mode, project and entity. Lightning passes wandb an `anonymous`
    setting that wandb ignores with a warning on every run; it is dropped here (a private attribute)."""
    from lightning.pytorch.loggers import WandbLogger

    os.environ.setdefault("WANDB_SILENT", "true")
    made = WandbLogger(project=project(), entity=entity(), name=name, save_dir=str(save_dir),
                       offline=mode() == "offline", mode=mode(), **kwargs)
    made._wandb_init.pop("anonymous", None)
    return made


def cell_logger(cell, cell_id: str, group: str, save_dir: str | Path = "results"):
    name = f"{cell.protocol.dataset}-{cell.mask}-{cell.method.row()}-s{cell.seed}"
    return logger(name, save_dir, group=group, config=cell.to_dict(), tags=[cell.method.name])


def metric_key(name: str, result: dict) -> str:
    from ..metrics import feature_tag, metric_label

    return f"metrics/{metric_label(name, feature_tag(result))}"


def log_result(logger, result: dict, per_image: dict | None = None, images=None) -> None:
    """The cell's numbers; `per_image` (column → values) as a table; `images(i)` → (input, mask, output,
    ground truth) uint8 arrays for the rows that have them (None otherwise)."""
    import wandb

    values = {metric_key(k, result): v for k, v in result["metrics"].items()}
    values.update({"cost/nfe": result["nfe"], "cost/seconds_per_image": result["seconds_per_image"],
                   "known_drift": result["known_drift"], "n_images": result["n_images"]})
    logger.log_metrics(values)
    if per_image:
        names = list(per_image)
        columns = names + ["input", "mask", "output", "ground truth"]
        data = []
        for k in range(len(per_image["index"])):
            row = [per_image[n][k] for n in names]
            shown = images(int(per_image["index"][k])) if images else None
            row += [wandb.Image(a) for a in shown] if shown else [None] * 4
            data.append(row)
        logger.experiment.log({"per_image": wandb.Table(columns=columns, data=data)})
    logger.experiment.summary.update({**values, "protocol": result["protocol"]})
    logger.experiment.finish()


def leaderboard_tables(boards) -> dict[str, tuple[list[str], list[list]]]:
    """Each protocol's board as (columns, rows) with numeric cells (means over seeds; None where missing)."""
    from .boards import mean_ci

    out = {}
    for i, b in enumerate(boards):
        columns = ["method", "kind", "mask"] + [b.label(c) for c in b.columns]
        rows = []
        for kind, source in (("measured", b.rows), ("reported", b.reported)):
            for row, values in source.items():
                for m in b.masks:
                    cells = []
                    for c in b.columns:
                        v = values.get((m, c))
                        cells.append(None if v in (None, []) else float(mean_ci(v if isinstance(v, list) else [v])[0]))
                    rows.append([row, kind, m, *cells])
        out[f"leaderboard/{b.protocol['dataset']}/protocol_{i}"] = (columns, rows)
    return out


def log_leaderboard(dataset: str, boards, group: str,
                    save_dir: str | Path = "results") -> Path:
    import wandb

    os.environ.setdefault("WANDB_SILENT", "true")
    run = wandb.init(project=project(), entity=entity(), name=f"leaderboard-{dataset}", group=group,
                     dir=str(save_dir), mode=mode(), reinit="finish_previous")
    for key, (columns, rows) in leaderboard_tables(boards).items():
        table = wandb.Table(columns=columns, data=rows)
        run.log({key: table})
        if "s/img" in columns and len(columns) > 4:  # the cost frontier as a native chart
            y = columns[3]
            frontier = wandb.Table(columns=["s/img", y, "method"],
                                   data=[[r[columns.index("s/img")], r[3], r[0]] for r in rows
                                         if r[1] == "measured" and r[3] is not None])
            run.log({f"{key}/cost": wandb.plot.scatter(frontier, "s/img", y, title=f"{y} vs seconds per image")})
    for b in boards:  # each protocol's own grids and plots
        for kind, images in (("samples", b.grids), ("plots", b.plots)):
            for image in images:
                run.log({f"{kind}/{image.stem}": wandb.Image(str(image))})
    folder = Path(run.dir).parent
    run.finish()
    return folder


def sync_hint(save_dir: str | Path) -> str | None:
    """How to upload this sweep's offline runs, when there are any."""
    runs = sorted(Path(save_dir).glob("wandb/offline-run-*"))
    return f"W&B runs are offline: upload them with `wandb sync {Path(save_dir) / 'wandb'}/offline-run-*`" if runs else None
