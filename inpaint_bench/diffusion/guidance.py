"""Classifier guidance (Dhariwal & Nichol 2021, "Diffusion Models Beat GANs", Algorithms 1 and 2).

  Alg 1 (DDPM)  x_{t−1} ~ N(μ + s Σ ∇_{x_t} log p_φ(y | x_t), Σ)       gaussian.ddpm_step(guidance=s ∇ log p)
  Alg 2 (DDIM)  ε̂' = ε̂ − √(1−ᾱ_t) s ∇_{x_t} log p_φ(y | x_t)          guided_eps

`log_prob_gradient` is guided-diffusion's / RePaint's `cond_fn`: the gradient of the selected log-softmax, times
the guidance scale s (`classifier_scale`, 1.0 in RePaint's ImageNet configs).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def log_prob_gradient(classifier, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, scale: float):
    """s · ∇_x log p_φ(y | x, t) per sample (each sample's log-probability only depends on its own x).

    Works under `torch.inference_mode()` (the runner's): the input is cloned into a normal tensor there."""
    with torch.inference_mode(False), torch.enable_grad():
        x_in = x.detach().clone().requires_grad_(True)
        log_probs = F.log_softmax(classifier(x_in, t.clone()), dim=-1)
        selected = log_probs[torch.arange(len(x_in), device=x.device), labels.clone().view(-1)]
        grad = torch.autograd.grad(selected.sum(), x_in)[0]
    return grad.detach() * scale


def guided_eps(eps: torch.Tensor, gradient: torch.Tensor, abar_t: float) -> torch.Tensor:
    """Alg 2: ε̂' = ε̂ − √(1−ᾱ_t) · s∇ log p (guided-diffusion's `condition_score`)."""
    return eps - math.sqrt(1 - abar_t) * gradient
