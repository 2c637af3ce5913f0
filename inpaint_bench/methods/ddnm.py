"""DDNM: Zero-Shot Image Restoration Using Denoising Diffusion Null-Space Model (Wang et al., ICLR 2023,
arXiv 2212.00490). Official code: github.com/wyhuai/DDNM.

For inpainting A = diag(keep mask) and A† = A, so the range–null-space step (Eq 13/17)
  x̂0 = x0|t − A†(A x0|t − y)
keeps the measured pixels y = A x and the network's content in the hole. Sampling is DDIM with η = 0.85 over
100 steps (the official default), optional time travel (jump_n_sample > 1) which re-noises the uncorrected x0|t.

Update rules (`update`):
- `svd` (default): the official evaluation path (`evaluation.sh` runs inpainting without `--simplified`, so the
  paper's numbers come from it): x' = √ᾱ' x̂0 + √(1−ᾱ')·(η z + √(1−η²) ε) with the network's raw ε.
- `simplified`: the official `--simplified` demo path, whose noise scale carries an extra √(1−ᾱ'²) (squared ᾱ').
- `ddim`: textbook DDIM; there η scales σ_t = η √((1−ᾱ')/(1−ᾱ)) √(1−ᾱ/ᾱ'), not the split of √(1−ᾱ') above, and
  ε is recomputed from x̂0.

`clip_x0=False` (default) as both official paths; `clip_x0=True` clamps x0|t to [−1, 1] as RePaint does (weak
priors such as the tiny one diverge without it: the tiny configs set it, and their rows say so).
DDNM+ (noisy measurements, σ_y > 0) is out of scope: benchmark inpainting measures the known pixels exactly.
"""

from __future__ import annotations

from ..diffusion import gaussian as G
from .ddpm_prior import DiffusionPrior, ddim_times, walk
from .registry import register


def range_null_space(x0_t, image, mask):
    """Eq 13: x̂0 = x0|t − A†(A x0|t − y) with A = A† = keep mask, y = keep ⊙ image."""
    keep = 1 - mask
    return x0_t - keep * (keep * x0_t - keep * image)


UPDATES = ("svd", "simplified", "ddim")


@register("ddnm")
class DDNM(DiffusionPrior):
    def __init__(self, checkpoint="tiny", steps: int = 100, eta: float = 0.85, update: str = "svd",
                 jump_length: int = 1, jump_n_sample: int = 1, clip_x0: bool = False, **prior):
        super().__init__(checkpoint=checkpoint, **prior)
        self.save_hyperparameters()
        if update not in UPDATES:
            raise ValueError(f"update must be one of {', '.join(UPDATES)}, got {update!r}")
        self.update_rule = update  # (hparams.update would be the dict's method)
        self.times = ddim_times(self.schedule.n, steps, jump_length, jump_n_sample)

    def x0_at(self, x, t, image, mask, labels=None):
        """(x0|t, x̂0): the network's clean estimate (Eq 12, clipped if `clip_x0`) and its projection (Eq 13)."""
        s = self.schedule
        eps, _ = self.model_out(x, t, s, labels)
        x0_t = G.x0_from_eps(x, eps, s.abar(t))
        if self.hparams.clip_x0:
            x0_t = x0_t.clamp(-1, 1)
            eps = G.eps_from_x0(x, x0_t, s.abar(t))
        return eps, x0_t, range_null_space(x0_t, image, mask)

    def checkpoint_x0(self, x, t, image, mask, generators, labels=None):
        """x̂0 at step t as this sampler would form it there: the range–null-space projection (Eq 13)."""
        return self.x0_at(x, t, image, mask, labels)[2]

    def sample(self, x, times, image, mask, generators, labels=None):
        """Walk `times` from x (labels: a class-conditional network's y; DDNM's ImageNet classifier guidance,
        `cls_fn`, is not implemented); returns (x at the end, the last x̂0)."""
        x0_t = x0_hat = None
        s, eta = self.schedule, self.hparams.eta
        for kind, t, t_next in walk(times):
            if kind == "up":  # time travel: re-noise the uncorrected x0|t to level t_next
                x = G.q_sample(x0_t, s.abar(t_next), self.noise(x, generators))
                continue
            eps, x0_t, x0_hat = self.x0_at(x, t, image, mask, labels)  # Eqs 12–13
            self.nfe += 1
            noise = self.noise(x, generators)
            if self.update_rule == "svd":
                x = G.ddnm_svd_step(x0_hat, eps, s.abar(t_next), eta, noise)
            elif self.update_rule == "simplified":
                x = G.ddnm_repo_step(x0_hat, eps, s.abar(t_next), eta, noise)
            else:
                x = G.ddim_step(x0_hat, G.eps_from_x0(x, x0_hat, s.abar(t)), s.abar(t), s.abar(t_next), eta, noise)
        return x, x0_hat

    def describe(self) -> dict:
        h = self.hparams
        return {"class": "DDNM", "steps": h.steps, "eta": h.eta, "update": self.update_rule,
                "jump_n_sample": h.jump_n_sample, "checkpoint": str(h.checkpoint)}
