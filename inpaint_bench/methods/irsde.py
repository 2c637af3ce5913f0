"""IR-SDE inpainting (Luo et al., ICML 2023, arXiv 2301.11699): the mean-reverting SDE StrDiffusion builds on.

Official code: github.com/Algolzw/image-restoration-sde (codes/config/inpainting). Equation map (StrDiffusion's
numbering, which restates IR-SDE, `../shared/papers/001_…`):
  Eq 1  forward SDE dy = θ_t(μ − y)dt + σ_t dw        diffusion/irsde.py: IRSDESchedule.forward_step / sample
  Eq 2  reverse SDE with score −ε_φ/σ̄_t               IRSDESchedule.reverse_step
  Eq 4  optimal reverse state y*_{t−1}               IRSDESchedule.optimal_reverse
  Eq 5  L1 between the network's reverse step and y*  IRSDE.texture_loss
Defaults from the official inpainting options: T = 100, cosine θ, λ = 30/255, eps = 0.005, μ = the masked image
with a white hole, y_T = μ + λ·N(0, I), network input (y_t − μ, μ), Adam (0.9, 0.99) lr 1e-4, EMA 0.995.
`T=None` (the default) takes the T a suite checkpoint was trained with (its metadata), else the official 100.
The method works in [0, 1] with 1 = keep, as the official code; `to_unit` / `from_unit` convert in one place.
"""

from __future__ import annotations

import torch

from ..diffusion import per_sample_randn
from ..diffusion.irsde import LAMBDA_INPAINT, IRSDESchedule
from ..nets.checkpoint_files import export_unet, resolve_checkpoint
from ..nets.checkpoints import load_network
from ..nets.irsde_unet import ConditionalUNet, IRUNetConfig
from .base import InpaintMethod
from .ema import ema_pytorch_update, make_ema
from .registry import register
from .training import TRAIN_MASKS, EMATrained, training_masks

TINY_NET = IRUNetConfig(3, 3, nf=8, depth=3, attn_heads=2, attn_dim_head=8)


def to_unit(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Suite convention ([-1, 1], mask 1 = hole) → IR-SDE's ([0, 1], keep 1 = known)."""
    return (image + 1) / 2, 1 - mask


def from_unit(image01: torch.Tensor) -> torch.Tensor:
    return image01 * 2 - 1


def white_hole(image01: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """μ: the masked image with the hole filled white (the official inpainting degradation)."""
    return image01 * keep + (1 - keep)


def l1_weighted(pred, target, keep, hole_weight: float = 1.0) -> torch.Tensor:
    """Mean |pred − target| with weight `hole_weight` on the hole and 1 on the known region (StrDiffusion's
    official `MatchingLoss`: 10 on the hole; IR-SDE: plain L1)."""
    weight = hole_weight * (1 - keep) + keep
    return (weight * (pred - target).abs()).mean()


OFFICIAL_T = 100  # IR-SDE's inpainting yml; StrDiffusion's Places2 test uses 100 as well (400 in training)


def trained_T(path) -> int | None:
    """The T a suite checkpoint was trained with (its metadata), None for files without it (official ones)."""
    from ..nets.checkpoints import safetensors_metadata

    if path is None or not str(path).endswith(".safetensors"):
        return None
    trained = safetensors_metadata(path).get("T")
    return None if trained is None else int(trained)


def check_trained_T(path, T: int) -> None:
    """A network trained on one discretisation cannot sample another (IR-SDE has no respacing): refuse early."""
    if path is not None:
        trained = trained_T(path)
        if trained is not None and trained != T:
            raise ValueError(f"{path} was trained with T = {trained}; this method was built with T = {T}. "
                             f"Pass T={trained} (IR-SDE/StrDiffusion networks are tied to their T).")


class MeanRevertingMethod(EMATrained, InpaintMethod):
    """A noise network on an IR-SDE schedule: shared by IR-SDE and StrDiffusion's texture diffusion."""

    tiny_name = "irsde"
    train_masks: tuple[str, ...] = TRAIN_MASKS
    official_net = IRUNetConfig.official_irsde()
    tiny_net = TINY_NET

    def __init__(self, checkpoint="tiny", net: dict | None = None, T: int | None = None, schedule: str = "cosine",
                 max_sigma: float = LAMBDA_INPAINT, eps: float = 0.005, use_ema: bool = True, lr: float = 1e-4,
                 ema_decay: float = 0.995, lr_steps: tuple[int, ...] = (200_000, 400_000, 600_000),
                 lr_gamma: float = 0.5):
        super().__init__()
        self.save_hyperparameters()
        path = resolve_checkpoint(checkpoint, self.tiny_name)
        T = T if T is not None else (trained_T(path) or OFFICIAL_T)  # None: the checkpoint's own T
        check_trained_T(path, T)
        config = net or (self.tiny_net if path is None else None)
        self.net = load_network(ConditionalUNet, IRUNetConfig, path, config, self.official_net)
        self.ema = make_ema(self.net, ema_decay)
        self.sde = IRSDESchedule(T, schedule, max_sigma, eps)
        self.register_buffer("times", torch.arange(T + 1, dtype=torch.float32), persistent=False)
        self.nfe = 0

    def configure_optimizers(self):
        """Adam (0.9, 0.99) with the yml's MultiStepLR (`lr_steps`, ×`lr_gamma`), per iteration."""
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr, betas=(0.9, 0.99))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.lr_decay_for(optimizer), "interval": "step"}}

    def lr_decay_for(self, optimizer):
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(self.hparams.lr_steps), self.hparams.lr_gamma)

    def update_ema(self) -> None:
        """EMA as upstream (`ema_pytorch.EMA(beta=0.995, update_every=10)`), not every step."""
        ema_pytorch_update(self.ema, self.net, self.global_step, self.hparams.ema_decay)

    def random_steps(self, n: int, device) -> torch.Tensor:
        return torch.randint(1, self.sde.T + 1, (n,), device=device)

    def batch_masks(self, x0):
        return training_masks(len(x0), x0.shape[-1], self.global_step * len(x0), device=x0.device,
                              names=self.train_masks)

    def export_weights(self, folder, tiny: bool, meta: dict):
        name = f"{self.tiny_name}_tiny" if tiny else self.tiny_name
        return export_unet(self.inference_net(), folder / f"{name}.safetensors", {**meta, "T": self.sde.T})

    def describe(self) -> dict:
        return {"class": type(self).__name__, "T": self.sde.T, "schedule": self.sde.schedule,
                "checkpoint": str(self.hparams.checkpoint)}


@register("irsde")
class IRSDE(MeanRevertingMethod):
    """IR-SDE inpainting: reverse the mean-reverting SDE from y_T = μ + λε to y_0 (T network evaluations)."""

    def texture_loss(self, y0, keep, steps) -> torch.Tensor:
        """Eq 5 with the L1 norm: ‖(y_t − dy_t(ε_φ)) − y*_{t−1}‖₁, y_t ~ q(y_t | y0) (Eq 4 target)."""
        mu = white_hole(y0, keep)
        yt = self.sde.sample(y0, mu, steps, torch.randn_like(y0))
        pred = self.sde.reverse_mean(yt, mu, self.net(yt, mu, self.times[steps]), steps)
        return l1_weighted(pred, self.sde.optimal_reverse(yt, y0, mu, steps), keep)

    def training_step(self, batch, batch_idx):
        y0, keep = to_unit(batch["image"], self.batch_masks(batch["image"]))
        loss = self.texture_loss(y0, keep, self.random_steps(len(y0), y0.device))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None):
        y0, keep = to_unit(image, mask)
        mu = white_hole(y0, keep)
        y = mu + self.sde.max_sigma * per_sample_randn(y0.shape, generator, y0.device)
        self.nfe = self.sde.T
        return from_unit(self.reverse(y, mu, self.sde.T, generator))

    def reverse(self, y, mu, t_start: int, generator=None) -> torch.Tensor:
        """Eq 2 from y_{t_start} to y_0: one network call and one noise draw per step."""
        net = self.inference_net().eval()
        for t in range(t_start, 0, -1):
            eps = net(y, mu, self.times[t])
            y = self.sde.reverse_step(y, mu, eps, t, per_sample_randn(y.shape, generator, y.device))
        return y
