"""AsyncDSB: Schedule-Asynchronous Diffusion Schrödinger Bridge for image inpainting (AAAI 2025). No public code.

Built on I²SB (T = 1000). Equation map:
  Eq 9    x̂_gg = f(x_c, x_m, x_cg)        nets/gradient.py: GradientCompletionNet
  Eq 10   λ_adv·L_adv + λ_FM·L_FM (EdgeConnect's edge model)  AsyncDSB.gradient_losses
  Eq 11   τ_ij = norm(gauss(x̂_gg))·(τmax − τmin) + τmin      AsyncDSB.tau_map
  Eq 12   per-pixel β_{t,i,j} and σ², σ̄²       diffusion/bridge.py: asymmetric_betas, BridgeSchedule (peak = τ_ij)
  Eq 13   pixel-wise posterior sampling       diffusion/bridge.py: sample_bridge_inpaint with a peak map

Choices where the paper is silent (all exposed as parameters):
- β_{t,i,j}: I²SB's schedule with its peak moved from T/2 to τ_ij (rising on [0, τ], falling on [τ, T]);
  τmin = τmax = 0.5 is then exactly I²SB (tested bit for bit).
- ε is predicted per pixel, ε = (X_t − X_0)/σ_{t,i,j}, so the network is trained on the per-pixel bridge; during
  training τ comes from the ground-truth gradient map, at inference from the completion network's prediction
  merged with the known gradients outside the hole.
- x_cg (the known gradients fed to f): Sobel magnitude wherever the 3×3 stencil sees only known pixels
  (`nets/gradient.py: known_gradients`), the same in training and at inference; the completed map keeps x_cg
  there and f's prediction on the hole dilated by one pixel.
- Eq 10 has no reconstruction term; `gradient_l1` (default 0) adds EdgeConnect-style L1 as an explicit option.
- gauss(): a Gaussian blur of σ = `blur_sigma` pixels at 256² (scaled with the image size), default 3.
Defaults (τmin, τmax): (0.2T, 0.5T) for box masks, (0.001T, 0.4T) for irregular ones, chosen from the mask type.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from ..nets.checkpoint_files import resolve_checkpoint
from ..nets.checkpoints import load_into, read_state
from ..nets.gradient import GradientCompletionNet, PatchDiscriminator, gradient_map, known_gradients
from .i2sb import BridgeMethod
from .registry import register
from .training import training_masks

TAU_BY_FAMILY = {"box": (0.2, 0.5), "irregular": (0.001, 0.4)}
LAMBDA_ADV, LAMBDA_FM = 1.0, 10.0  # EdgeConnect's edge-model weights (Eq 10 gives no values)


@register("asyncdsb")
class AsyncDSB(BridgeMethod):
    """I²SB with a per-pixel schedule peak τ_ij from the completed gradient map."""

    tiny_name = "asyncdsb"

    def __init__(self, checkpoint="tiny", gradient_checkpoint="tiny", tau_min: float | None = None,
                 tau_max: float | None = None, mask_family: str = "irregular", blur_sigma: float = 3.0,
                 gradient_width: int = 16, gradient_blocks: int = 2, gradient_lr: float = 1e-4,
                 gradient_l1: float = 0.0, **bridge_kwargs):
        super().__init__(checkpoint=checkpoint, **bridge_kwargs)
        self.save_hyperparameters()
        if mask_family not in TAU_BY_FAMILY:
            raise ValueError(f"mask_family must be one of {list(TAU_BY_FAMILY)}, got {mask_family!r}")
        default = TAU_BY_FAMILY[mask_family]
        self.tau_min = default[0] if tau_min is None else tau_min
        self.tau_max = default[1] if tau_max is None else tau_max
        if not 0 < self.tau_min <= self.tau_max < 1:
            raise ValueError(f"need 0 < tau_min <= tau_max < 1 (fractions of T), got {self.tau_min}, {self.tau_max}")
        self.gradient_net = GradientCompletionNet(gradient_width, gradient_blocks)
        self.discriminator = PatchDiscriminator()
        path = resolve_checkpoint(gradient_checkpoint, "asyncdsb_gradient")
        if path is not None:
            load_into(self.gradient_net, read_state(path), source=str(path))
        if checkpoint is None:  # training from scratch: three optimisers, stepped by hand
            self.automatic_optimization = False

    def for_mask(self, family: str) -> None:
        """Pick the paper's τ range for the mask family unless one was given explicitly."""
        if self.hparams.tau_min is None and self.hparams.tau_max is None:
            self.tau_min, self.tau_max = TAU_BY_FAMILY[family]

    # ---- Eq 11: the τ map -------------------------------------------------------------------------------------
    def tau_map(self, gradients: torch.Tensor) -> torch.Tensor:
        """τ_ij ∈ [τmin, τmax] (fractions of T) from a gradient map [B, 1, H, W]."""
        sigma = self.hparams.blur_sigma * gradients.shape[-1] / 256
        radius = max(1, int(3 * sigma + 0.5))
        g = gaussian_blur(gradients, [2 * radius + 1] * 2, [sigma, sigma])
        lo, hi = g.amin((1, 2, 3), keepdim=True), g.amax((1, 2, 3), keepdim=True)
        norm = (g - lo) / (hi - lo).clamp_min(1e-12)
        return norm * (self.tau_max - self.tau_min) + self.tau_min

    def peak_map(self, tau: torch.Tensor) -> torch.Tensor:
        return (tau * self.schedule.n).round().long().clamp(1, self.schedule.n - 1)

    def completed_gradients(self, image, mask) -> torch.Tensor:
        """x̂_gg merged with the known gradients (Eq 9); one call of the gradient network per image."""
        x_cg, valid = known_gradients(image, mask)
        predicted = self.gradient_net(image * (1 - mask), mask, x_cg)
        self.aux_nfe = {"gradient_net": 1}
        return valid * x_cg + (1 - valid) * predicted

    def peak(self, image, mask, training: bool = False):
        self.aux_nfe = {}
        if self.tau_min == self.tau_max:
            return self.peak_map(torch.full_like(mask, self.tau_min))
        gradients = gradient_map(image) if training else self.completed_gradients(image, mask)
        return self.peak_map(self.tau_map(gradients))

    # ---- Eq 10: gradient completion, EdgeConnect-style --------------------------------------------------------
    def gradient_losses(self, x0, mask):
        truth = gradient_map(x0)
        x_cg, valid = known_gradients(x0, mask)
        fake = self.gradient_net(x0 * (1 - mask), mask, x_cg)
        merged = valid * truth + (1 - valid) * fake
        gray = x0.mean(1, keepdim=True)
        real_logits, real_feats = self.discriminator(torch.cat([truth, gray], 1))
        fake_logits, _ = self.discriminator(torch.cat([merged.detach(), gray], 1))
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))) / 2
        g_logits, g_feats = self.discriminator(torch.cat([merged, gray], 1))
        adv = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
        fm = sum(F.l1_loss(f, r.detach()) for f, r in zip(g_feats, real_feats, strict=True))
        g_loss = LAMBDA_ADV * adv + LAMBDA_FM * fm  # Eq 10
        if self.hparams.gradient_l1:
            g_loss = g_loss + self.hparams.gradient_l1 * F.l1_loss(fake, truth)
        return g_loss, d_loss

    def training_step(self, batch, batch_idx):
        x0 = batch["image"]
        mask = training_masks(len(x0), x0.shape[-1], self.global_step * len(x0), device=x0.device,
                              names=self.train_masks)
        opt_net, opt_g, opt_d = self.optimizers()
        g_loss, d_loss = self.gradient_losses(x0, mask)
        opt_d.zero_grad()
        self.manual_backward(d_loss, inputs=list(self.discriminator.parameters()))
        opt_d.step()
        opt_g.zero_grad()
        self.manual_backward(g_loss, inputs=list(self.gradient_net.parameters()))
        opt_g.step()
        loss = self.bridge_loss(x0, mask, self.peak(x0, mask, training=True))
        opt_net.zero_grad()
        self.manual_backward(loss)
        opt_net.step()
        self.lr_schedulers().step()  # manual optimisation: Lightning does not step it
        self.log_dict({"train/loss": loss, "train/g_loss": g_loss, "train/d_loss": d_loss}, prog_bar=True)
        return loss

    def configure_optimizers(self):
        lr = self.hparams.gradient_lr
        bridge = super().configure_optimizers()  # the bridge net as I²SB: AdamW + step decay
        return ([bridge["optimizer"],
                 torch.optim.Adam(self.gradient_net.parameters(), lr=lr, betas=(0.0, 0.9)),
                 torch.optim.Adam(self.discriminator.parameters(), lr=lr / 10, betas=(0.0, 0.9))],
                [bridge["lr_scheduler"]])

    def describe(self) -> dict:
        return {**super().describe(), "tau_min": self.tau_min, "tau_max": self.tau_max}
