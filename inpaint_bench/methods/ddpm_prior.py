"""The unconditional DDPM prior shared by RePaint, DDNM and IS-Diff: an ε-network (ADM or DDPM UNet, with or
without learned σ), its β schedule, training on the tiny dataset, and the step walk both samplers use.

Checkpoints: the shipped tiny ADM (`ddpm_tiny.safetensors`); guided-diffusion `256x256_diffusion_uncond.pt`,
RePaint `celeba256_250000.pt` / `places256_300000.pt` (ADM 256, learned σ; `arch="adm"`); DDNM's CelebA-HQ
`celeba_hq.ckpt` (`arch="ddpm"`, the DDPM UNet, fixed σ).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..diffusion import gaussian as G
from ..diffusion.noise import ReplayNoise, per_sample_randn
from ..nets.checkpoint_files import resolve_checkpoint
from ..nets.checkpoints import load_into, load_unet, read_state, unet_state
from ..nets.ddpm_unet import DDPMConfig, DDPMUNet
from ..nets.unet import UNetConfig
from .base import InpaintMethod
from .ema import make_ema
from .training import EMATrained

TINY_PRIOR = UNetConfig(image_size=64, model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
                        attention_resolutions=(4,))


def load_prior_net(checkpoint, arch: str, net: dict | None):
    path = resolve_checkpoint(checkpoint, "ddpm")
    if arch == "adm":
        config = UNetConfig(**net) if net else (TINY_PRIOR if path is None else None)
        return load_unet(path, config, UNetConfig.adm256_uncond(learn_sigma=True), use_ema=False)
    if arch == "ddpm":
        model = DDPMUNet(DDPMConfig(**net) if net else DDPMConfig.celeba_hq() if path else DDPMConfig())
        if path is not None:
            load_into(model, unet_state(read_state(path), model), source=str(path))
        return model
    raise ValueError(f"arch must be 'adm' or 'ddpm', got {arch!r}")


def walk(times: list[int]):
    """Pairs (t, t_next) of a time sequence, tagged 'down' (a denoising step) or 'up' (re-noising)."""
    for t, t_next in zip(times[:-1], times[1:], strict=True):
        yield ("down" if t_next < t else "up"), t, t_next


def ddim_times(n_timestep: int, steps: int, jump_length: int = 1, jump_n_sample: int = 1) -> list[int]:
    """DDNM's steps k·skip for k < `steps`, skip = T // steps (exactly `steps` of them, as upstream: steps 30 →
    30 steps from 957), walked from the top down to −1, with RePaint-style time travel over the step indices when
    `jump_n_sample` > 1 (DDNM's time-travel trick)."""
    skip = n_timestep // steps
    return G.jump_walk([k * skip for k in range(steps)], jump_length, jump_n_sample)


class DiffusionPrior(EMATrained, InpaintMethod):
    """ε̂(x_t, t) (+ learned σ) on a linear β schedule. Subclasses implement the inpainting sampler."""

    def __init__(self, checkpoint="tiny", arch: str = "adm", net: dict | None = None, n_timestep: int = 1000,
                 lr: float = 2e-4, ema_decay: float = 0.999, class_labels: str = "random",
                 lr_steps: tuple[int, ...] = (), lr_gamma: float = 0.5):
        super().__init__()
        self.save_hyperparameters()
        if class_labels not in ("random", "dataset"):
            raise ValueError(f"class_labels must be 'random' or 'dataset', got {class_labels!r}")
        self.class_labels_mode = class_labels
        self.net = load_prior_net(checkpoint, arch, net)
        self.ema = make_ema(self.net, ema_decay)
        self.base_betas = G.linear_betas(n_timestep)
        self.schedule = G.GaussianSchedule(self.base_betas)
        self.nfe = 0

    def model_out(self, x, t: int, schedule: G.GaussianSchedule, labels=None):
        """(ε̂, learned-σ output or None) at step t of `schedule` (the network sees the original timestep);
        `labels` are the class labels of a class-conditional network (None for unconditional ones)."""
        out = self.inference_net()(x, self.net_time(x, t, schedule), labels)
        return (out[:, :3], out[:, 3:]) if out.shape[1] == 6 else (out, None)

    @staticmethod
    def net_time(x, t: int, schedule: G.GaussianSchedule) -> torch.Tensor:
        """The networks' timestep input for step t of `schedule` (respaced step → original timestep)."""
        return torch.full((len(x),), int(schedule.timestep_map[t]), device=x.device)

    @property
    def num_classes(self) -> int | None:
        """Classes of a class-conditional network (guided-diffusion's ImageNet models: 1000), else None."""
        return getattr(self.net.config, "num_classes", None)

    def labels_for(self, labels, generators, batch: int, device):
        """The labels y the network is conditioned on: None for an unconditional network; the dataset's labels
        (`class_labels="dataset"`), or one label per sample drawn uniformly from its own generator
        (`class_labels="random"`, as RePaint's `test.py` draws them when no `cond_y` is set)."""
        k = self.num_classes
        if k is None:
            return None
        if self.class_labels_mode == "dataset":
            if labels is None:
                raise ValueError("class_labels='dataset' but this dataset has no class labels (ImageNet has them); "
                                 "use class_labels: random for a class-conditional network on other data")
            return torch.as_tensor(labels, device=device).long().view(-1)
        if generators is None or isinstance(generators, ReplayNoise):
            return torch.randint(0, k, (batch,), device=device)
        return torch.cat([torch.randint(0, k, (1,), generator=g, device=g.device) for g in generators]).to(device)

    def noise(self, x, generators):
        return per_sample_randn(x.shape, generators, x.device)

    # ---- training: L_simple (Ho et al. Eq 14) ------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        x0 = batch["image"]
        t = torch.randint(0, self.schedule.n, (len(x0),), device=x0.device)
        abar = torch.from_numpy(self.schedule.alphas_cumprod).to(x0)[t].view(-1, 1, 1, 1)
        noise = torch.randn_like(x0)
        x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
        out = self.net(x_t, t.float())
        loss = F.mse_loss(out[:, :3], noise)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    # ---- inference: start from pure noise at T and walk the sampler's time sequence ----------------------------
    def sample(self, x, times, image, mask, generators):
        raise NotImplementedError("the DDPM prior is used through repaint, ddnm or isdiff_*")

    @property
    def uses_labels(self) -> bool:
        return self.num_classes is not None

    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None, labels=None):
        self.nfe = 0
        y = self.labels_for(labels, generator, len(image), image.device)
        x, _ = self.sample(self.noise(image, generator), self.times, image, mask, generator, labels=y)
        return x


class DDPMPrior(DiffusionPrior):
    """The prior on its own, for `inpaint-bench train ddpm` (not a benchmark row)."""

    times: list[int] = []
