"""Train a method on a dataset through the Lightning Trainer and export its weights.

Checkpoints (for resuming) go to `<out>/checkpoints/`, logs to CSV (and W&B with `--wandb`, offline without an
API key); the final EMA weights are exported as safetensors for `checkpoint=PATH` (or to the shipped tiny
checkpoint location with `--export-tiny`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from ..methods.training import TRAIN_MASKS
from ..nets.checkpoint_files import CHECKPOINT_DIR, export_unet
from .progress import TrainingProgressBar, quiet_framework

TRAINABLE = ("i2sb", "asyncdsb", "ddpm", "irsde", "strdiffusion")  # ddpm: the prior of repaint, ddnm, isdiff_*
OPTIMIZER_STEPS = {"asyncdsb": 3, "strdiffusion": 3}  # manual optimisation: Lightning counts every step()


PER_MASK = ("i2sb", "asyncdsb")  # the official I²SB scripts train one model per mask type


@contextmanager
def lightning_checkpoint_types():
    """The non-tensor types a Lightning `last.ckpt` of the suite holds (hyper-parameters, scheduler state), allowed
    for `torch.load(weights_only=True)`; everything else in a checkpoint is refused (no code runs on load)."""
    import pathlib

    import torch
    from lightning.fabric.utilities.data import AttributeDict

    allowed = [AttributeDict, pathlib.PosixPath, pathlib.WindowsPath, pathlib.PurePosixPath, getattr, type(None)]
    with torch.serialization.safe_globals(allowed):
        yield


def checked_resume(path: Path) -> str:
    """`path` if it loads with weights_only=True under the allowed types; otherwise a clear refusal (a checkpoint
    that needs more would run pickled code — even with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD set, as this passes
    weights_only explicitly)."""
    import torch

    with lightning_checkpoint_types():
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(f"refusing to resume from {path}: it does not load with weights_only=True "
                             f"({type(err).__name__}: {str(err).splitlines()[0]}). Delete it to start over.") from None
    return str(path)


def train(method: str, dataset: str = "shapes", mask: str | None = None, max_steps: int = 1000, batch_size: int = 16,
          out: Path = Path("runs/train"), seed: int = 0, resume: bool = False, wandb: bool = False,
          accelerator: str = "auto", devices="auto", export_tiny: bool = False, lr: float | None = None,
          data_root: str | None = None, init: str | None = None, method_config: dict | None = None,
          augment: dict | None = None, size: int | None = None):
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from .. import methods
    from ..data import build_datamodule
    from ..data.augment import Augment

    if method not in TRAINABLE:
        raise ValueError(f"cannot train {method!r}; trainable methods: {', '.join(TRAINABLE)}")
    if mask is None:
        if method in PER_MASK:
            raise ValueError(f"{method} is trained one model per mask type, as the official I²SB scripts: pass "
                             f"--mask NAME (e.g. center, freeform_10_20), or --mask mixed for one model over "
                             f"{', '.join(TRAIN_MASKS)}")
        mask = "mixed"
    L.seed_everything(seed, workers=True, verbose=False)
    extra = {"checkpoint": None}
    if method == "asyncdsb":
        extra["gradient_checkpoint"] = None
    if method == "strdiffusion":
        extra.update(structure_checkpoint=None, discriminator_checkpoint=None)
    if lr is not None:
        extra["lr"] = lr
    extra.update(method_config or {})
    if method == "ddpm":
        from ..methods.ddpm_prior import DDPMPrior

        model = DDPMPrior(**extra)
    else:
        model = methods.build(method, **extra)
    model.train_masks = train_masks(mask)
    if init is not None:
        warm_start(model, init)
    kwargs = {"root": data_root} if data_root else {}
    if size is not None:
        kwargs["size"] = size
    dm = build_datamodule(dataset, split="train", batch_size=batch_size, seed=seed,
                          augment=Augment(**augment) if augment else None, **kwargs)
    out = Path(out) / method
    loggers = [CSVLogger(str(out), name="logs")]
    if wandb:
        from . import wandb_log

        loggers.append(wandb_log.logger(f"train-{method}", out))
    every = max(1, min(500, max_steps // 4))  # a killed long run loses at most 500 steps
    ckpt = ModelCheckpoint(dirpath=out / "checkpoints", save_last=True, every_n_train_steps=every,
                           enable_version_counter=False)  # a resumed run rewrites last.ckpt, never last-v1.ckpt
    optimizer_steps = OPTIMIZER_STEPS.get(method, 1)
    with quiet_framework():  # no banner, tips or framework warnings; the bar counts steps, not "Epoch 0/-2"
        trainer = L.Trainer(max_steps=max_steps * optimizer_steps, accelerator=accelerator, devices=devices,
                            logger=loggers, callbacks=[ckpt, TrainingProgressBar()], enable_model_summary=False,
                            log_every_n_steps=10, deterministic=False)
        fit(trainer, model, dm, out / "checkpoints" / "last.ckpt", resume)
    meta = {"method": method, "dataset": dataset, "size": dm.size, "steps": max_steps, "seed": seed, "mask": mask,
            **({"init": init} if init else {}), **(method_config or {})}  # init: where this stage started
    return export(model, method, out, export_tiny, meta)


def train_masks(mask: str) -> tuple[str, ...]:
    """`mixed` → every box and irregular type in turn; `a,b` → those types in turn; `a` → one type."""
    from .. import masks

    names = TRAIN_MASKS if mask == "mixed" else tuple(name.strip() for name in mask.split(","))
    for name in names:
        masks.spec(name)  # an unknown name is refused here, before any training
    return names


def warm_start(model, init: str) -> None:
    """Fill the UNet (and its EMA) from `init` (a path, registry key or NAME_tiny), e.g. AsyncDSB from I²SB
    weights or I²SB from the ADM checkpoint, as the official runs start (same architecture). StrDiffusion also
    fills its structure network and discriminator from the files exported beside the texture one. The optimisers,
    the lr schedule and the step count start afresh (a new stage of training, unlike `--resume`)."""
    from ..nets.checkpoint_files import resolve_checkpoint
    from ..nets.checkpoints import load_into, read_state, unet_state

    tiny = init.endswith("_tiny")
    path = resolve_checkpoint("tiny", init.removesuffix("_tiny")) if tiny else resolve_checkpoint(init, "")
    load_into(model.net, unet_state(read_state(path), model.net), source=str(path))
    model.ema.module.load_state_dict(model.net.state_dict())
    if hasattr(model, "warm_start_companions"):  # StrDiffusion: its structure net and discriminator beside it
        model.warm_start_companions(path)


def fit(trainer, model, dm, last: Path, resume: bool) -> None:
    """`trainer.fit`, resuming from `last` when asked (checked and loaded with weights_only=True)."""
    resume_from = checked_resume(last) if resume and last.exists() else None
    with lightning_checkpoint_types():
        trainer.fit(model, datamodule=dm, ckpt_path=resume_from, weights_only=True)
    if trainer.global_step > 0:  # also a resume that had no step left: the checkpoint's EMA is the trained one
        model._ema_updated = True


def export(model, method: str, out: Path, export_tiny: bool, meta: dict) -> Path:
    """Write the trained weights as safetensors (EMA where the method keeps one), with `meta` in the metadata."""
    folder = CHECKPOINT_DIR if export_tiny else out
    meta = {**meta, **(model.export_metadata() if hasattr(model, "export_metadata") else {})}
    if hasattr(model, "export_weights"):  # IR-SDE and StrDiffusion (StrDiffusion writes three files)
        return model.export_weights(folder, export_tiny, meta)
    net = model.ema.module if model.training_happened else model.net  # the EMA weights are what ships
    path = export_unet(net, folder / f"{method}_tiny.safetensors" if export_tiny else folder / f"{method}.safetensors",
                       meta)
    if method == "asyncdsb":
        from ..nets.checkpoint_files import pin_shipped
        from ..nets.checkpoints import save_safetensors

        grad_path = path.with_name(path.name.replace("asyncdsb", "asyncdsb_gradient"))
        save_safetensors(model.gradient_net, grad_path, half=False, metadata=model.gradient_net.config)
        if export_tiny:
            pin_shipped(grad_path)
    return path
