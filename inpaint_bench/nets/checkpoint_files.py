"""Which checkpoint file a network loads: the shipped tiny file (pinned by sha256), a registry key, or a path;
and the export of trained networks as safetensors with their config in the metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..files import paths

CHECKPOINT_DIR = paths.ASSETS_DIR / "checkpoints"


def tiny_checkpoint(name: str) -> Path:
    """The shipped tiny checkpoint `<name>_tiny.safetensors`, verified against its manifest sha256."""
    from ..files import weights

    path = CHECKPOINT_DIR / f"{name}_tiny.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"tiny checkpoint {path} is missing; `make tiny-checkpoints` trains and writes it")
    return weights.shipped(name).require()


def resolve_checkpoint(checkpoint, name: str):
    """`"tiny"` → the shipped file; a registry key (`inpaint-bench checkpoints list`) → its verified cached file;
    None → untrained (for training); anything else → a path."""
    from ..files import weights

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
    from .checkpoints import CheckpointError, safetensors_metadata

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
    from .checkpoints import save_safetensors

    meta = {"unet_config": json.dumps(net.config.to_dict()), **(extra or {})}
    save_safetensors(net, path, metadata=meta)
    if path.parent == CHECKPOINT_DIR:
        pin_shipped(path)
    return path


def pin_shipped(path: Path) -> None:
    """Record a shipped checkpoint's sha256 in assets/checkpoints/manifest.json (verified before every load)."""
    import hashlib

    from ..files.atomic import atomic_write

    manifest_path = CHECKPOINT_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    name = path.name.removesuffix("_tiny.safetensors")
    manifest[name] = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "bytes": path.stat().st_size}
    atomic_write(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
