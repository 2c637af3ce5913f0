"""DDNM: Zero-Shot Image Restoration Using Denoising Diffusion Null-Space Model (Wang et al., ICLR 2023,
arXiv 2212.00490). Official code: github.com/wyhuai/DDNM.

For inpainting A = diag(keep mask) and A† = A, so the range–null-space step (Eq 13/17)
  x̂0 = x0|t − A†(A x0|t − y)
keeps the measured pixels y = A x and the network's content in the hole. Sampling is DDIM with η = 0.85 over
100 steps (the official default), optional time travel (jump_n_sample > 1) which re-noises the uncorrected x0|t.

`update="repo"` (default) reproduces the official simplified noise-free path, whose noise scale is
√(1−ᾱ'²)·√(1−ᾱ') (squared ᾱ' in the first root); `update="ddim"` is textbook DDIM with the same η.

`clip_x0=True` (default) clamps x0|t to [−1, 1] as RePaint and guided-diffusion do. The official DDNM path does not
clip; with its well-trained priors x0|t stays in range and nothing changes, while weak priors (the tiny one)
diverge without it. `clip_x0=False` reproduces the official code exactly.
"""

from __future__ import annotations

from ..diffusion import gaussian as G
from .ddpm_prior import DiffusionPrior, ddim_times, walk
from .registry import register


def range_null_space(x0_t, image, mask):
    """Eq 13: x̂0 = x0|t − A†(A x0|t − y) with A = A† = keep mask, y = keep ⊙ image."""
    keep = 1 - mask
    return x0_t - keep * (keep * x0_t - keep * image)


@register("ddnm")
class DDNM(DiffusionPrior):
    def __init__(self, checkpoint="tiny", steps: int = 100, eta: float = 0.85, update: str = "repo",
                 jump_length: int = 1, jump_n_sample: int = 1, clip_x0: bool = True, **prior):
        super().__init__(checkpoint=checkpoint, **prior)
        self.save_hyperparameters()
        if update not in ("repo", "ddim"):
            raise ValueError(f"update must be 'repo' or 'ddim', got {update!r}")
        self.update_rule = update  # (hparams.update would be the dict's method)
        self.times = ddim_times(self.schedule.n, steps, jump_length, jump_n_sample)

    def sample(self, x, times, image, mask, generators):
        x0_t = x0_hat = None
        s, eta = self.schedule, self.hparams.eta
        for kind, t, t_next in walk(times):
            if kind == "up":  # time travel: re-noise the uncorrected x0|t to level t_next
                x = G.q_sample(x0_t, s.abar(t_next), self.noise(x, generators))
                continue
            eps, _ = self.model_out(x, t, s)
            self.nfe += 1
            x0_t = G.x0_from_eps(x, eps, s.abar(t))  # Eq 12
            if self.hparams.clip_x0:
                x0_t = x0_t.clamp(-1, 1)
                eps = G.eps_from_x0(x, x0_t, s.abar(t))
            x0_hat = range_null_space(x0_t, image, mask)  # Eq 13
            noise = self.noise(x, generators)
            if self.update_rule == "repo":
                x = G.ddnm_repo_step(x0_hat, eps, s.abar(t_next), eta, noise)
            else:
                x = G.ddim_step(x0_hat, G.eps_from_x0(x, x0_hat, s.abar(t)), s.abar(t), s.abar(t_next), eta, noise)
        return x, x0_hat

    def describe(self) -> dict:
        h = self.hparams
        return {"class": "DDNM", "steps": h.steps, "eta": h.eta, "update": self.update_rule,
                "jump_n_sample": h.jump_n_sample, "checkpoint": str(h.checkpoint)}
