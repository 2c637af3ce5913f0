"""I²SB: Image-to-Image Schrödinger Bridge (Liu et al., ICML 2023, arXiv 2302.05872).

Official code: github.com/NVlabs/I2SB. Equation map (paper → code):
  Eq 11   posterior q(X_t | X_0, X_1)          diffusion/bridge.py: bridge_posterior
  Eq 12   loss ‖ε(X_t, t) − (X_t − X_0)/σ_t‖   I2SB.training_step (hole only, as the official inpainting loss)
  Alg 2   DDPM posterior sampling             diffusion/bridge.py: sample_bridge_inpaint, ddpm_posterior_step
  Prop 3.4 OT-ODE                             the same with the noise removed (`ot_ode=True`)
Defaults from the official repo: T = 1000, β_max = 1.0 (inpainting), ε output, network time linspace(1e-4, 1)·T,
x1 = known pixels + N(0, I) in the hole, OT-ODE on (the released models were trained with it), NFE = T − 1,
AdamW lr 5e-5, EMA 0.99. Known region reset after every step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..diffusion import bridge, per_sample_randn
from ..nets.checkpoint_files import resolve_checkpoint
from ..nets.checkpoints import load_unet
from ..nets.unet import UNetConfig
from .base import InpaintMethod
from .ema import make_ema
from .registry import register
from .training import TRAIN_MASKS, EMATrained, training_masks

SCHEDULE_TAG = "i2sb-runner-v1"  # the official schedule: ramp over n points, first n//2 kept, mirrored

TINY_NET = UNetConfig(image_size=64, model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
                      attention_resolutions=(4,))


class BridgeMethod(EMATrained, InpaintMethod):
    """A UNet ε(X_t, t) on an I²SB bridge schedule; subclasses decide the schedule peak (scalar or per pixel)."""

    tiny_name = "i2sb"
    train_masks: tuple[str, ...] = TRAIN_MASKS
    lr_decay = (1000, 0.99)  # official `--lr-step 1000 --lr-gamma 0.99`

    def __init__(self, checkpoint="tiny", net: dict | None = None, nfe: int = 999, ot_ode: bool = True,
                 n_timestep: int = 1000, beta_max: float = 1.0, clip_denoise: bool = False, use_ema: bool = True,
                 lr: float = 5e-5, ema_decay: float = 0.99, lr_steps: tuple[int, ...] = (), lr_gamma: float = 0.5):
        super().__init__()
        self.save_hyperparameters()
        path = resolve_checkpoint(checkpoint, self.tiny_name)
        check_bridge_checkpoint(path, type(self).__name__.lower(), n_timestep, beta_max)
        config = UNetConfig(**net) if net else (TINY_NET if path is None else None)
        self.net = load_unet(path, config, UNetConfig.adm256_uncond(learn_sigma=False), use_ema=use_ema)
        self.ema = make_ema(self.net, ema_decay)
        self.schedule = bridge.BridgeSchedule(n_timestep, beta_max)
        self.register_buffer("times", bridge.network_times(n_timestep), persistent=False)
        if not 1 <= nfe < n_timestep:
            raise ValueError(f"nfe must be in [1, {n_timestep - 1}], got {nfe}")
        self.nfe = 0

    # ---- the schedule peak: N/2 everywhere for I²SB ------------------------------------------------------------
    def peak(self, image, mask, training: bool = False):
        return self.schedule.n // 2

    # ---- training: Algorithm 1 / Eq 12 -------------------------------------------------------------------------
    def bridge_loss(self, x0, mask, peak) -> torch.Tensor:
        b = len(x0)
        x1 = (1 - mask) * x0 + mask * torch.randn_like(x0)
        steps = torch.randint(0, self.schedule.n, (b,), device=x0.device)
        std_fwd, std_bwd = self.schedule.std_at_steps(steps, peak)
        noise = None if self.hparams.ot_ode else torch.randn_like(x0)
        xt = bridge.bridge_posterior(x0, x1, std_fwd, std_bwd, noise)  # Eq 11
        label = (xt - x0) / std_fwd  # Eq 12 target
        pred = self.net(xt, self.times[steps])
        return F.mse_loss(mask * pred, mask * label)

    def training_step(self, batch, batch_idx):
        x0 = batch["image"]
        mask = training_masks(len(x0), x0.shape[-1], self.global_step * len(x0), device=x0.device,
                              names=self.train_masks)
        loss = self.bridge_loss(x0, mask, self.peak(x0, mask, training=True))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    # ---- inference: Algorithm 2 --------------------------------------------------------------------------------
    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None, nfe: int | None = None, ot_ode: bool | None = None):
        nfe = nfe or self.hparams.nfe
        ot_ode = self.hparams.ot_ode if ot_ode is None else ot_ode
        net = self.inference_net()
        peak = self.peak(image, mask)
        x1 = (1 - mask) * image + mask * per_sample_randn(image.shape, generator, image.device)

        def eps(x, n):
            return net(x, self.times[n].expand(len(x)))

        out = bridge.sample_bridge_inpaint(eps, x1, mask, self.schedule, peak, nfe, ot_ode, generator,
                                           self.hparams.clip_denoise)
        self.nfe = nfe
        return out

    def export_metadata(self) -> dict:
        """Written into exported safetensors and checked when they are loaded again."""
        return {"schedule": SCHEDULE_TAG, "n_timestep": int(self.schedule.n), "beta_max": float(self.schedule.beta_max)}

    def describe(self) -> dict:
        return {"class": type(self).__name__, "nfe": self.hparams.nfe, "ot_ode": self.hparams.ot_ode,
                "checkpoint": str(self.hparams.checkpoint)}


def check_bridge_checkpoint(path, method: str, n_timestep: int, beta_max: float) -> None:
    """Refuse a suite checkpoint trained for another method or another bridge schedule (its metadata says).

    Official `latest.pt` files carry no schedule (it is in `options.pkl`, which is never unpickled): for those
    `n_timestep` and `beta_max` must be set as in the run that trained them (inpainting: 1000 and 1.0).
    """
    from pathlib import Path

    from ..nets.checkpoints import CheckpointError, safetensors_metadata

    if path is None or Path(path).suffix != ".safetensors":
        return
    meta = safetensors_metadata(path)
    if "method" not in meta:
        return
    want = {"method": method, "schedule": SCHEDULE_TAG, "n_timestep": str(int(n_timestep)),
            "beta_max": str(float(beta_max))}  # normalised as written: beta_max=1 and 1.0 are the same schedule
    differs = [f"{k}: checkpoint {meta.get(k, '(none: trained before the schedule fix)')!s} vs {v}"
               for k, v in want.items() if meta.get(k) != v]
    if differs:
        raise CheckpointError(f"{path} was trained for something else ({'; '.join(differs)}); retrain it "
                              f"(`make tiny-checkpoints` for the shipped ones) or set the matching options")


@register("i2sb")
class I2SB(BridgeMethod):
    """I²SB with the symmetric schedule (peak at T/2)."""
