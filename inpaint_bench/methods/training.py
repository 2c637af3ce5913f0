"""What the trainable methods share: random training masks, EMA, optimiser, export of shipped checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import paths

TRAIN_MASKS = ("center", "half", "wide", "narrow", "medium", "freeform_10_20", "freeform_20_30", "freeform_30_40")
CHECKPOINT_DIR = paths.ASSETS_DIR / "checkpoints"


def training_masks(n: int, size: int, start: int, seed: int = 1234, device=None,
                   names: tuple[str, ...] = TRAIN_MASKS) -> torch.Tensor:
    """`n` masks cycling over `names` (box and irregular types), mask k drawn with registry index start + k."""
    from .. import masks

    out = torch.empty(n, 1, size, size)
    for k in range(n):
        i = start + k
        out[k, 0] = torch.from_numpy(masks.generate_one(names[i % len(names)], i, size, seed))
    return out.to(device)


def tiny_checkpoint(name: str) -> Path:
    """The shipped tiny checkpoint `<name>_tiny.safetensors`, verified against its manifest sha256."""
    from .. import weights

    path = CHECKPOINT_DIR / f"{name}_tiny.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"tiny checkpoint {path} is missing; `make tiny-checkpoints` trains and writes it")
    return weights.shipped(name).require()


def resolve_checkpoint(checkpoint, name: str):
    """`"tiny"` → the shipped file; a registry key (`inpaint-bench checkpoints list`) → its verified cached file;
    None → untrained (for training); anything else → a path."""
    from .. import weights

    if checkpoint == "tiny":
        return tiny_checkpoint(name)
    if checkpoint in weights.CHECKPOINTS:
        return weights.CHECKPOINTS[checkpoint].require()
    if checkpoint is None:
        return None
    path = Path(checkpoint).expanduser()
    check_trained_for(path, name)
    return path


def check_trained_for(path: Path, name: str) -> None:
    """Refuse a suite checkpoint whose metadata says it was trained for another method (e.g. `ddpm_tiny` as an
    I²SB network): it may even fit the architecture and would be scored without a word. Official files carry no
    such metadata and are checked by their key layout when loaded."""
    from ..nets.checkpoints import CheckpointError, safetensors_metadata

    family = name.split("_")[0]
    if not family or family == "classifier" or path.suffix != ".safetensors" or not path.exists():
        return
    trained_for = safetensors_metadata(path).get("method")
    if trained_for and trained_for != family:
        raise CheckpointError(f"{path} was trained for method {trained_for!r} (its metadata says so), not for "
                              f"{family!r}; pass a {family} checkpoint")


def export_unet(net: torch.nn.Module, path: Path, extra: dict | None = None) -> Path:
    """Save a network (fp16 safetensors) with its config (`net.config.to_dict()`) in the metadata, so it loads
    without one; into the package (`CHECKPOINT_DIR`) it is also pinned by sha256."""
    from ..nets.checkpoints import save_safetensors

    meta = {"unet_config": json.dumps(net.config.to_dict()), **(extra or {})}
    save_safetensors(net, path, metadata=meta)
    if path.parent == CHECKPOINT_DIR:
        pin_shipped(path)
    return path


def pin_shipped(path: Path) -> None:
    """Record a shipped checkpoint's sha256 in assets/checkpoints/manifest.json (verified before every load)."""
    import hashlib

    from ..masks.frozen import atomic_write

    manifest_path = CHECKPOINT_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    name = path.name.removesuffix("_tiny.safetensors")
    manifest[name] = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "bytes": path.stat().st_size}
    atomic_write(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


class EMATrained:
    """Mixin for methods trained with AdamW on `self.net` and an EMA copy in `self.ema` (used for sampling).

    AdamW with weight decay 0 (the official I²SB `--l2-norm 0.0` and guided-diffusion's default, not torch's
    0.01); `lr_decay = (every, gamma)` adds a per-iteration StepLR (I²SB: ×0.99 every 1000 iterations).
    """

    lr_decay: tuple[int, float] | None = None

    def on_train_batch_end(self, *args):
        self.ema.update_parameters(self.net)
        self._ema_updated = True  # a Python flag, so sampling never syncs with the device to ask

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.hparams.lr, weight_decay=0.0)
        if self.lr_decay is None:
            return optimizer
        every, gamma = self.lr_decay
        decay = torch.optim.lr_scheduler.StepLR(optimizer, step_size=every, gamma=gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": decay, "interval": "step"}}

    @property
    def training_happened(self) -> bool:
        return getattr(self, "_ema_updated", False)

    def inference_net(self):
        """The EMA weights once this process has trained; the loaded weights otherwise."""
        return self.ema.module if self.training_happened else self.net
