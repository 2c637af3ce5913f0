"""Train the `shapes` feature network (`metrics/shapes_network.py`) on the train split's scene parameters, through
the Lightning Trainer, and ship it as `assets/checkpoints/shapes_features_tiny.safetensors` (fp32, sha256 pinned).

`make shapes-features` runs `train_features()` with its defaults; the budget is in docs/tiny_checkpoints.md."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data.shapes import ShapesDataset
from ..metrics.shapes_network import ShapesFeatureConfig, ShapesFeatureNet, label_loss

SIZE = 32  # the default benchmark's image side


def _module():
    """The LightningModule class, built on first use so that importing this file does not import Lightning."""
    import lightning as L

    class ShapesFeatureTraining(L.LightningModule):
        def __init__(self, lr: float, max_steps: int, widths: tuple[int, ...]):
            super().__init__()
            self.save_hyperparameters()
            self.net = ShapesFeatureNet(ShapesFeatureConfig(tuple(widths)))

        def training_step(self, batch, batch_idx):
            parts = label_loss(self.net.predict(batch["image"]), batch["labels"])
            loss = sum(parts.values())
            self.log("loss", loss, prog_bar=True)
            self.log_dict({f"loss/{k}": v for k, v in parts.items()})
            return loss

        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.hparams.lr, weight_decay=1e-4)
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.hparams.max_steps)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}

    return ShapesFeatureTraining


@torch.no_grad()
def held_out_report(net: ShapesFeatureNet, n: int = 256, size: int = SIZE) -> dict[str, float]:
    """How well the network reads unseen scenes (the test split): accuracy of the background kind and the shape
    count, mean absolute error of the background colours (in [0, 1] units)."""
    data = ShapesDataset("test", size, labels=True, limit=n)
    items = [data[i] for i in range(len(data))]
    images, labels = torch.stack([x["image"] for x in items]), torch.stack([x["labels"] for x in items])
    pred = net.eval().predict(images)
    colours, truth = pred[:, 1:7], labels[:, 1:7]
    swapped = truth.reshape(-1, 2, 3).flip(1).reshape(-1, 6)
    colour_error = torch.minimum((colours - truth).abs().mean(1), (colours - swapped).abs().mean(1))
    return {"stripes_accuracy": float(((pred[:, 0] > 0) == (labels[:, 0] > 0.5)).float().mean()),
            "count_accuracy": float((pred[:, 7:10].argmax(1) == labels[:, 7:10].argmax(1)).float().mean()),
            "background_colour_mae": float(colour_error.mean())}


def train_features(out: Path = Path("runs/features"), max_steps: int = 6000, batch_size: int = 64, lr: float = 2e-3,
                   seed: int = 0, size: int = SIZE, widths: tuple[int, ...] = (32, 64, 128),
                   export_tiny: bool = False, resume: bool = False) -> Path:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from ..nets.checkpoint_files import CHECKPOINT_DIR, pin_shipped
    from ..nets.checkpoints import save_safetensors
    from .progress import TrainingProgressBar, quiet_framework
    from .train import checked_resume, lightning_checkpoint_types

    L.seed_everything(seed, workers=True, verbose=False)
    model = _module()(lr, max_steps, widths)
    data = ShapesDataset("train", size, labels=True)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    out = Path(out) / "shapes_features"
    ckpt = ModelCheckpoint(dirpath=out / "checkpoints", save_last=True, every_n_train_steps=max(1, min(500, max_steps)),
                           enable_version_counter=False)
    with quiet_framework():
        trainer = L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=CSVLogger(str(out), name="logs"),
                            callbacks=[ckpt, TrainingProgressBar()], enable_model_summary=False, log_every_n_steps=10)
        last = out / "checkpoints" / "last.ckpt"
        with lightning_checkpoint_types():
            trainer.fit(model, train_dataloaders=loader, weights_only=True,
                        ckpt_path=checked_resume(last) if resume and last.exists() else None)
    report = held_out_report(model.net, size=size)
    path = (CHECKPOINT_DIR / "shapes_features_tiny.safetensors") if export_tiny else out / "shapes_features.safetensors"
    meta = {"method": "shapes_features", "dataset": "shapes", "split": "train",
            "config": json.dumps(model.net.config.as_dict()), "size": size, "steps": max_steps,
            "batch_size": batch_size, "lr": lr, "seed": seed, **{k: f"{v:.4f}" for k, v in report.items()}}
    save_safetensors(model.net, path, half=False, metadata=meta)
    if export_tiny:
        pin_shipped(path)
    print("held-out (test split):", ", ".join(f"{k} {v:.3f}" for k, v in report.items()))
    return path
