"""RePaint: Inpainting using Denoising Diffusion Probabilistic Models (Lugmayr et al., CVPR 2022, arXiv 2201.09865).

Official code: github.com/andreas128/RePaint. Equation map:
  Eq 8   x^known_{t−1} = √ᾱ_t x0 + √(1−ᾱ_t) ε      q_sample of the known pixels before each denoising step
  Eq 9   x^unknown_{t−1} ~ p_θ(x_{t−1} | x_t)      diffusion/gaussian.py: ddpm_step (learned σ when available)
  Eq 10  x_{t−1} = m ⊙ known + (1−m) ⊙ unknown    RePaint.sample (suite mask: 1 = hole)
  Alg 1  resampling: x_t ~ N(√(1−β_t) x_{t−1}, β_t) diffusion/gaussian.py: undo_step, repaint_jump_schedule
Defaults from the official configs: 250 respaced steps, jump length 10, 10 resamplings (≈ 2,410 NFE), clipped x̂0.
`sampler="ddim"`: the DDIM-100 variant IS-Diff compares against (η = 0, known region injected each step); the
jump parameters then count DDIM steps (`jump_n_sample: 1` for plain DDIM).

ImageNet (`test_inet256_*` configs): the class-conditional ADM `256x256_diffusion.pt` (`checkpoint:
adm_imagenet256_cond`; a class-conditional network is recognised from its `label_emb` weights) with classifier
guidance from the noisy classifier `256x256_classifier.pt` (`classifier: guided_diffusion_classifier256`,
`classifier_scale` 1.0). Guidance follows guided-diffusion: the mean shift Σ·s∇ log p_φ(y | x_t) of Alg 1 after
the known region is injected (DDPM), `condition_score` (Alg 2) on the DDIM path. Labels: `class_labels="random"`
(default) draws one per image as the official `test.py` does (uniform over the 1,000 classes, here from the
image's own generator); `"dataset"` conditions on the dataset's labels (ImageNet's), a choice the paper does not make.
"""

from __future__ import annotations

import torch

from ..diffusion import gaussian as G
from ..diffusion.guidance import guided_eps, log_prob_gradient
from ..nets.classifier import load_classifier
from .ddpm_prior import DiffusionPrior, ddim_times, walk
from .registry import register


@register("repaint")
class RePaint(DiffusionPrior):
    def __init__(self, checkpoint="tiny", sampler: str = "ddpm", t_T: int = 250, jump_length: int = 10,
                 jump_n_sample: int = 10, ddim_steps: int = 100, eta: float = 0.0, classifier=None,
                 classifier_scale: float = 1.0, classifier_net: dict | None = None, **prior):
        super().__init__(checkpoint=checkpoint, **prior)
        self.save_hyperparameters()
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        self.classifier = None if classifier is None else load_classifier(classifier, classifier_net).eval()
        if self.classifier is not None and self.num_classes is None:
            raise ValueError("classifier guidance needs a class-conditional network (RePaint's ImageNet setting: "
                             "checkpoint adm_imagenet256_cond); this one has no class embedding")
        if self.classifier is not None:
            self.classifier.requires_grad_(False)
        if sampler == "ddpm":
            self.sched = G.GaussianSchedule.respaced(self.base_betas, t_T)
            self.times = G.repaint_jump_schedule(t_T, jump_length, jump_n_sample)
        else:
            self.sched = self.schedule
            self.times = ddim_times(self.schedule.n, ddim_steps, jump_length, jump_n_sample)

    def known_at(self, image, t, generators):
        """Eq 8: the known pixels diffused to level t (clean at t < 0)."""
        return image if t < 0 else G.q_sample(image, self.sched.abar(t), self.noise(image, generators))

    def guidance(self, x, t: int, labels):
        """s∇ log p_φ(y | x_t) at step t (None without a classifier); one classifier call per image."""
        if self.classifier is None:
            return None
        self.aux_nfe = {**self.aux_nfe, "classifier": self.aux_nfe.get("classifier", 0) + 1}
        return log_prob_gradient(self.classifier, x, self.net_time(x, t, self.sched), labels,
                                 self.hparams.classifier_scale)

    def sample(self, x, times, image, mask, generators, from_noise: bool = False, labels=None):
        """Walk `times` from x; returns (x at the end, the last x̂0).

        As the official `p_sample`: each denoising step draws its posterior noise first, then injects the known
        region (a second draw); from pure noise (`from_noise`) the very first step injects nothing.
        """
        x0 = None
        ddpm = self.hparams.sampler == "ddpm"
        for kind, t, t_next in walk(times):
            if kind == "up":
                if ddpm:
                    x = G.undo_step(self.sched, x, t_next, self.noise(x, generators))
                else:  # jump up over DDIM steps: diffuse x_t to t_next in closed form
                    x = G.renoise(x, self.sched.abar(t), self.sched.abar(t_next), self.noise(x, generators))
                continue
            noise = self.noise(x, generators) if ddpm or self.hparams.eta > 0 else None
            if not (from_noise and x0 is None):
                x = mask * x + (1 - mask) * self.known_at(image, t, generators)  # Eq 10
            eps, var = self.model_out(x, t, self.sched, labels)
            self.nfe += 1
            x0 = G.x0_from_eps(x, eps, self.sched.abar(t)).clamp(-1, 1)
            grad = self.guidance(x, t, labels)
            if ddpm:
                x = G.ddpm_step(self.sched, x, x0, t, noise, var, guidance=grad)  # Eq 9 (+ Alg 1 shift)
            else:
                eps = G.eps_from_x0(x, x0, self.sched.abar(t))
                if grad is not None:  # Alg 2; x̂0 is not re-clipped, as guided-diffusion's condition_score
                    eps = guided_eps(eps, grad, self.sched.abar(t))
                    x0 = G.x0_from_eps(x, eps, self.sched.abar(t))
                x = G.ddim_step(x0, eps, self.sched.abar(t), self.sched.abar(t_next), self.hparams.eta, noise)
        return x, x0

    @torch.inference_mode()
    def inpaint(self, image, mask, generator=None, labels=None):
        self.nfe, self.aux_nfe = 0, {}
        y = self.labels_for(labels, generator, len(image), image.device)
        x = self.noise(image, generator)
        return self.sample(x, self.times, image, mask, generator, from_noise=True, labels=y)[0]

    def checkpoint_x0(self, x, t, image, mask, generators, labels=None):
        """x̂0 at step t as this sampler would form it there: the known region injected first (Eq 10)."""
        x = mask * x + (1 - mask) * self.known_at(image, t, generators)
        eps, _ = self.model_out(x, t, self.sched, labels)
        return G.x0_from_eps(x, eps, self.sched.abar(t)).clamp(-1, 1)

    def describe(self) -> dict:
        h = self.hparams
        return {"class": "RePaint", "sampler": h.sampler, "t_T": h.t_T, "jump_length": h.jump_length,
                "jump_n_sample": h.jump_n_sample, "ddim_steps": h.ddim_steps, "checkpoint": str(h.checkpoint),
                "class_conditional": self.num_classes is not None, "class_labels": self.class_labels_mode,
                "classifier": None if h.classifier is None else str(h.classifier),
                "classifier_scale": h.classifier_scale}
