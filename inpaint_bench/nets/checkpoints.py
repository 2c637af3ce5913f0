"""Loading network weights safely: safetensors or `torch.load(weights_only=True)`, with a clear key report.

Understands the layouts the methods publish:
- guided-diffusion / RePaint: a plain UNet state dict;
- I²SB `latest.pt`: `{"net": {"diffusion_model.<key>": …}, "ema": {"shadow_params": [tensors in parameter order]}}`;
- the suite's own safetensors files (plain state dicts, possibly fp16).
A 6-channel (learned-σ) output layer loads into a 3-channel model by keeping the ε half, as I²SB does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint that does not fit the model; the message lists missing, unexpected and mismatched keys."""


def read_state(path: str | Path) -> dict:
    """The object stored in `path`, without unpickling arbitrary code."""
    from ..files.provenance import note_file
    from ..files.weights import architecture_only_active

    path = Path(path)
    if not path.exists() and architecture_only_active():
        return {}  # `plan --measure` without the weights: the network stays as built
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    note_file(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:  # a pickle or anything else under a .safetensors name
            raise CheckpointError(f"{path} is not a valid safetensors file ({type(err).__name__}: "
                                  f"{str(err).splitlines()[0] if str(err) else 'unreadable'}); replace it") from err
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the message of a refused pickle is long; say what to do instead
        raise CheckpointError(f"{path} cannot be loaded with weights_only=True ({type(err).__name__}: "
                              f"{str(err).splitlines()[0]}). Convert it to a plain state dict or safetensors.") from err


def unet_state(obj: dict, model: nn.Module, use_ema: bool = True, prefix: str = "diffusion_model.") -> dict:
    """Pick the UNet weights out of any supported layout, as a state dict named like `model`'s."""
    if "net" in obj and isinstance(obj["net"], dict):  # I²SB runner checkpoint
        net = {k.removeprefix(prefix): v for k, v in obj["net"].items()}
        ema = obj.get("ema")
        if use_ema and isinstance(ema, dict) and isinstance(ema.get("shadow_params"), list | tuple):
            names = [k for k, _ in model.named_parameters()]
            if len(names) != len(ema["shadow_params"]):
                raise CheckpointError(f"EMA has {len(ema['shadow_params'])} tensors, the model {len(names)} parameters")
            net.update(dict(zip(names, ema["shadow_params"], strict=True)))
        return net
    if any(k.startswith(prefix) for k in obj):
        return {k.removeprefix(prefix): v for k, v in obj.items()}
    return obj


def load_into(model: nn.Module, state: dict, source: str = "checkpoint") -> None:
    """Load `state` into `model` strictly, after adapting a learned-σ output; raise with a full key report."""
    from ..files.weights import architecture_only_active

    if not state and architecture_only_active():
        return
    own = model.state_dict()
    state = dict(state)
    for key in ("out.2.weight", "out.2.bias"):
        if key in state and key in own and state[key].shape[0] == 2 * own[key].shape[0]:
            state[key] = state[key][: own[key].shape[0]]  # keep ε, drop the variance head
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f"{k}: {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in set(own) & set(state) if state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        def head(items):
            return ", ".join(items[:5]) + (f" … (+{len(items) - 5})" if len(items) > 5 else "")

        raise CheckpointError(f"{source} does not fit {type(model).__name__}: "
                              f"{len(missing)} missing [{head(missing)}], {len(unexpected)} unexpected "
                              f"[{head(unexpected)}], {len(mismatched)} shape mismatches [{head(sorted(mismatched))}]"
                              + _input_channel_hint(state, own))
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def _input_channel_hint(state: dict, own: dict) -> str:
    key = "input_blocks.0.0.weight"  # the ADM UNet's first convolution
    if key not in state or key not in own or state[key].shape[1] == own[key].shape[1]:
        return ""
    theirs, ours = state[key].shape[1], own[key].shape[1]
    hint = (" (an I²SB model trained with --cond-x1 takes x_t ⊕ x1; the suite runs the unconditional inpainting "
            "models, trained without it)" if theirs == 2 * ours else "")
    return f". Input channels differ: checkpoint {theirs}, model {ours}{hint}"


def save_safetensors(model: nn.Module, path: str | Path, half: bool = True, metadata: dict | None = None) -> None:
    """Write `model`'s weights as safetensors (fp16 by default, to keep shipped checkpoints small)."""
    from safetensors.torch import save_file

    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={k: str(v) for k, v in (metadata or {}).items()})


def safetensors_metadata(path: str | Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def load_unet(checkpoint: str | Path | None, config=None, official_config=None, use_ema: bool = True):
    """Build a UNet and fill it from `checkpoint` (None → random init with `config`).

    The architecture comes from, in order: `config` given explicitly, the `unet_config` stored in a suite
    safetensors file, or `official_config` (the published model's architecture for foreign checkpoints).
    """
    import json

    from .unet import UNetConfig, UNetModel

    no_metadata = ""
    if checkpoint is not None and Path(checkpoint).suffix == ".safetensors" and config is None:
        meta = safetensors_metadata(checkpoint)
        if "unet_config" in meta:
            d = json.loads(meta["unet_config"])
            config = UNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        else:
            no_metadata = (f". {Path(checkpoint).name} carries no architecture (no unet_config in its metadata), so "
                           "the default architecture was built; pass the network's config (`net: {…}` in the method "
                           "config) or export it with the suite, which stores it")
    obj = None if checkpoint is None else read_state(checkpoint)
    if config is None and official_config is not None and isinstance(obj, dict) and "label_emb.weight" in obj:
        # a class-conditional release of the official architecture (guided-diffusion's 256x256_diffusion.pt)
        official_config = replace(official_config, num_classes=int(obj["label_emb.weight"].shape[0]))
    elif config is None and official_config is not None and obj == {}:  # `architecture_only`: what the file says
        from ..files.weights import shape_hints

        official_config = replace(official_config, **shape_hints(checkpoint))
    config = config or official_config or UNetConfig()
    if isinstance(config, dict):
        config = UNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
    model = UNetModel(config)
    if obj is not None:
        try:
            load_into(model, unet_state(obj, model, use_ema=use_ema), source=str(checkpoint))
        except CheckpointError as err:
            raise CheckpointError(f"{err}{no_metadata}") from None
    return model


def load_network(builder, config_cls, checkpoint: str | Path | None, config=None, official_config=None) -> nn.Module:
    """Build `builder(config)` and fill it from `checkpoint` (None → random init), for the non-ADM networks.

    The config comes from, in order: `config` given explicitly (a dataclass or dict), the `unet_config` stored in
    a suite safetensors file, or `official_config` (the published architecture, for foreign checkpoints).
    Official `.pth` files are plain state dicts, possibly saved from `DataParallel` (`module.` prefixes).
    """
    import json

    if isinstance(config, dict):
        config = config_cls(**config)
    if checkpoint is not None and Path(checkpoint).suffix == ".safetensors" and config is None:
        meta = safetensors_metadata(checkpoint)
        if "unet_config" in meta:
            config = config_cls(**json.loads(meta["unet_config"]))
    model = builder(config or official_config)
    if checkpoint is not None:
        state = {k.removeprefix("module."): v for k, v in read_state(checkpoint).items()}
        load_into(model, state, source=str(checkpoint))
    return model
