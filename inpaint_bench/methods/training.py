"""What the trainable methods share: random training masks, EMA and optimiser. (Checkpoint files: `nets/checkpoint_files.py`.)"""

from __future__ import annotations

import lightning as L
import torch

TRAIN_MASKS = ("center", "half", "wide", "narrow", "medium", "freeform_10_20", "freeform_20_30", "freeform_30_40")


def training_masks(n: int, size: int, start: int, seed: int = 1234, device=None,
                   names: tuple[str, ...] = TRAIN_MASKS) -> torch.Tensor:
    """`n` masks cycling over `names` (box and irregular types), mask k drawn with registry index start + k."""
    from .. import masks

    out = torch.empty(n, 1, size, size)
    for k in range(n):
        i = start + k
        out[k, 0] = torch.from_numpy(masks.generate_one(names[i % len(names)], i, size, seed))
    return out.to(device)


class EMAUpdate(L.Callback):
    """Calls the method's `update_ema` after each training batch, then flags it as trained.

    A callback rather than the LightningModule's own `on_train_batch_end`: Lightning runs the callbacks' hook
    before the module's, and moves checkpoint callbacks last, so ModelCheckpoint (which saves in the same hook)
    now sees this step's EMA. Otherwise `last.ckpt` lacks its own step's update: an export from a resumed run
    would differ from the uninterrupted one, and a resumed run would lose that update for good.
    """

    def on_train_batch_end(self, trainer, pl_module, *args):
        pl_module.update_ema()
        pl_module._ema_updated = True  # a Python flag, so sampling never syncs with the device to ask


class EMATrained:
    """Mixin for methods trained with AdamW on `self.net` and an EMA copy in `self.ema` (used for sampling).

    AdamW with weight decay 0 (the official I²SB `--l2-norm 0.0` and guided-diffusion's default, not torch's
    0.01); `lr_decay = (every, gamma)` adds a per-iteration StepLR (I²SB: ×0.99 every 1000 iterations). Methods
    with `lr_steps` / `lr_gamma` hyper-parameters also multiply the lr by `lr_gamma` at each listed iteration (a
    recipe choice for the short CPU runs of the tiny checkpoints; empty = the official schedule).
    """

    lr_decay: tuple[int, float] | None = None

    def configure_callbacks(self):
        return [EMAUpdate()]

    def update_ema(self) -> None:
        """One EMA update after an optimiser step (every step here; IR-SDE and StrDiffusion override it)."""
        self.ema.update_parameters(self.net)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.hparams.lr, weight_decay=0.0)
        decay = self.lr_schedule(optimizer)
        if decay is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": decay, "interval": "step"}}

    def lr_schedule(self, optimizer):
        """StepLR (`lr_decay`), MultiStepLR (`lr_steps`), both chained, or None."""
        schedules = []
        if self.lr_decay is not None:
            every, gamma = self.lr_decay
            schedules.append(torch.optim.lr_scheduler.StepLR(optimizer, step_size=every, gamma=gamma))
        steps = list(self.hparams.get("lr_steps") or ())
        if steps:
            schedules.append(torch.optim.lr_scheduler.MultiStepLR(optimizer, steps, self.hparams.lr_gamma))
        if len(schedules) < 2:
            return schedules[0] if schedules else None
        return torch.optim.lr_scheduler.ChainedScheduler(schedules, optimizer)

    @property
    def training_happened(self) -> bool:
        return getattr(self, "_ema_updated", False)

    def inference_net(self):
        """The EMA weights once this process has trained; the loaded weights otherwise."""
        return self.ema.module if self.training_happened else self.net
