"""Exponential moving average of a network's weights (torch.optim.swa_utils), shared by the trainable methods."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def make_ema(net: nn.Module, decay: float) -> AveragedModel:
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_pytorch_update(ema: AveragedModel, net: nn.Module, step: int, beta: float, update_every: int = 10,
                       update_after_step: int = 100, power: float = 2 / 3) -> None:
    """The EMA rule of `ema_pytorch.EMA` (IR-SDE / StrDiffusion: beta 0.995, update_every 10), after optimiser
    step `step`: a copy of the weights until `update_after_step`, then every `update_every` steps a decay of
    min(beta, 1 − (1 + k)^(−power)), k = step − update_after_step − 1 (its warm-up, inv_gamma 1). Buffers are
    copied."""
    if step % update_every:
        return
    target = ema.module
    params, ema_params = list(net.parameters()), list(target.parameters())
    if step <= update_after_step:
        decay = 0.0
    else:
        decay = min(beta, max(0.0, 1 - (1 + step - update_after_step - 1) ** -power))
    torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1 - decay)
    for b_ema, b in zip(target.buffers(), net.buffers(), strict=True):
        b_ema.copy_(b)
