"""`inpaint-bench train --config configs/RECIPE.yaml`: training through LightningCLI.

    inpaint-bench train --config configs/i2sb_inpaint_center.yaml --trainer.devices 8 --trainer.strategy ddp
    inpaint-bench train --config configs/irsde_celebahq.yaml --print_config         # the full resolved config
    inpaint-bench train --config configs/ddpm_tiny.yaml --model.lr 1e-4 --trainer.max_steps 50

`model` is a method class (`class_path` + `init_args`: every hyper-parameter of its constructor is a typed
`--model.*` flag), `data` a DataModule (`--data.*`), `trainer` every `lightning.Trainer` argument (`--trainer.*`),
and `train` what the suite adds: the mask types (`mask`, one model per mask type for I²SB/AsyncDSB as the official
runs, or `mixed`), a warm start (`init`), the output folder, resume and W&B. `trainer.max_steps` counts Lightning
steps: the manual-optimisation methods (AsyncDSB, StrDiffusion) take 3 per batch. The older form
`inpaint-bench train METHOD --mask …` stays for quick runs.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.cli import LightningCLI

from ..data.datamodules import InpaintDataModule
from ..methods.base import InpaintMethod


def method_name(model) -> str:
    from ..methods.ddpm_prior import DDPMPrior
    from ..methods.registry import METHODS

    if isinstance(model, DDPMPrior):
        return "ddpm"
    return next(n for n in METHODS.names() if METHODS.get(n) is type(model))


class TrainCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--train.mask", type=str | None, default=None,
                            help="mask type to train on (center, freeform_10_20, …) or mixed")
        parser.add_argument("--train.init", type=str | None, default=None,
                            help="warm start the UNet from a checkpoint (path, registry key, NAME_tiny)")
        parser.add_argument("--train.out", type=Path, default=Path("runs/train"), help="checkpoints, logs, export")
        parser.add_argument("--train.resume", type=bool, default=False, help="continue from <out>/<method>/last.ckpt")
        parser.add_argument("--train.export_tiny", type=bool, default=False, help="write the shipped tiny file")
        parser.add_argument("--train.wandb", type=bool, default=False, help="also log to W&B")

    def instantiate_trainer(self, **kwargs):
        from lightning.pytorch.callbacks import ModelCheckpoint

        from ..bench.progress import TrainingProgressBar
        from ..bench.train import PER_MASK, train_masks

        opts = self.config["train"]
        method = method_name(self.model)
        mask = opts.mask
        if mask is None and method in PER_MASK:
            raise ValueError(f"{method} is trained one model per mask type: set train.mask (e.g. center) or mixed")
        self.model.train_masks = train_masks(mask or "mixed")
        out = Path(opts.out) / method
        every = max(1, (self.config["trainer"].get("max_steps") or 1000) // 4)
        self.trainer_defaults = {**self.trainer_defaults,
                                 "callbacks": [ModelCheckpoint(dirpath=out / "checkpoints", save_last=True,
                                                               every_n_train_steps=every,
                                                               enable_version_counter=False),
                                               TrainingProgressBar()]}
        if self.config["trainer"].get("logger") is None:
            kwargs["logger"] = self._loggers(out, method, opts.wandb)
        return super().instantiate_trainer(**kwargs)

    @staticmethod
    def _loggers(out: Path, method: str, wandb: bool):
        from lightning.pytorch.loggers import CSVLogger

        loggers = [CSVLogger(str(out), name="logs")]
        if wandb:
            from ..bench import wandb_log

            loggers.append(wandb_log.logger(f"train-{method}", out))
        return loggers


def main(args: list[str]) -> int:
    import warnings

    from ..bench.progress import quiet_framework
    from ..bench.train import OPTIMIZER_STEPS, export, fit, warm_start

    with warnings.catch_warnings(), quiet_framework():  # args are the command line here, minus `train`
        warnings.filterwarnings("ignore", message=".*args parameter is intended to run from within Python.*")
        cli = TrainCLI(InpaintMethod, InpaintDataModule, subclass_mode_model=True, subclass_mode_data=True,
                       run=False, args=args, save_config_callback=None, auto_configure_optimizers=False,
                       trainer_defaults={"enable_model_summary": False, "log_every_n_steps": 10},
                       parser_kwargs={"prog": "inpaint-bench train", "description": __doc__})
    opts, method = cli.config["train"], method_name(cli.model)
    if opts.init:
        warm_start(cli.model, opts.init)
    out = Path(opts.out) / method
    with quiet_framework():
        fit(cli.trainer, cli.model, cli.datamodule, out / "checkpoints" / "last.ckpt", opts.resume)
    steps = (cli.trainer.max_steps or 0) // OPTIMIZER_STEPS.get(method, 1)
    meta = {"method": method, "dataset": cli.datamodule.name, "steps": steps, "seed": cli.config.get("seed_everything"),
            "mask": opts.mask or "mixed", "recipe": "LightningCLI"}
    path = export(cli.model, method, out, opts.export_tiny, meta)
    print(f"exported {path}")
    return 0
