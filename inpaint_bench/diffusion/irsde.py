"""The mean-reverting SDE of IR-SDE (Luo et al., ICML 2023), the base of StrDiffusion (Liu et al., CVPR 2024).

StrDiffusion Eq 1:  dy = θ_t (μ − y) dt + σ_t dw,  with σ_t² / θ_t = 2λ² (stationary std λ).
Discretised as in the official code (github.com/Algolzw/image-restoration-sde): states t = 0 … T, step t − 1 → t
uses θ_t; θ̄_t = Σ_{i≤t} θ_i − θ_0 (so θ̄_0 = 0), and every integral carries the factor dt, chosen so that
exp(−θ̄_T·dt) = eps (the mean has almost fully reverted to μ at T).

Closed forms (time t as an integer state index, per sample):
  mean  m_t = μ + (y0 − μ) e^{−θ̄_t dt}                     (forward marginal mean)
  std   σ̄_t = λ sqrt(1 − e^{−2 θ̄_t dt})                     (forward marginal std)
  Eq 4  y*_{t−1}: the optimal reverse state given y_t and y0 (also Eq 10 for the structure, with δ for θ)
  Eq 2  reverse SDE step with the score −ε/σ̄_t.
All functions take state indices `t` as an int or a LongTensor [B] and broadcast over [B, C, H, W].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LAMBDA_INPAINT = 30 / 255  # stationary noise level λ for inpainting (official max_sigma = 30)


def irsde_thetas(T: int, schedule: str = "cosine", max_sigma: float = LAMBDA_INPAINT, eps: float = 0.005) -> dict:
    """θ_t, θ̄_t, σ_t for t = 0 … T and the time step dt, as the official IR-SDE code defines them.

    cosine: θ = 1 − ᾱ over T + 2 points (s = 0.008), truncated at both ends; linear: DDPM's β range rescaled to T;
    constant: θ ≡ 1. Returns float64 tensors `thetas`, `thetas_cumsum`, `sigmas` (length T + 1), `sigma_bars`,
    and the float `dt` = −ln(eps) / θ̄_T.
    """
    if schedule == "cosine":
        n = T + 2
        x = torch.linspace(0, n, n + 1, dtype=torch.float64)
        alphas_cumprod = torch.cos(((x / n) + 0.008) / 1.008 * math.pi / 2) ** 2
        thetas = 1 - (alphas_cumprod / alphas_cumprod[0])[1:-1]
    elif schedule == "linear":
        scale = 1000 / (T + 1)
        thetas = torch.linspace(scale * 1e-4, scale * 0.02, T + 1, dtype=torch.float64)
    elif schedule == "constant":
        thetas = torch.ones(T + 1, dtype=torch.float64)
    else:
        raise ValueError(f"unknown θ schedule {schedule!r}; choose cosine, linear or constant")
    sigmas = torch.sqrt(2 * max_sigma**2 * thetas)  # σ_t² = 2 λ² θ_t
    thetas_cumsum = torch.cumsum(thetas, 0) - thetas[0]
    dt = -math.log(eps) / thetas_cumsum[-1].item()
    sigma_bars = max_sigma * torch.sqrt(1 - torch.exp(-2 * thetas_cumsum * dt))
    return {"thetas": thetas, "thetas_cumsum": thetas_cumsum, "sigmas": sigmas, "sigma_bars": sigma_bars, "dt": dt}


def _at(table: torch.Tensor, t, like: torch.Tensor) -> torch.Tensor:
    """table[t] shaped to broadcast against `like` ([B, ...]); `t` an int or a LongTensor [B]."""
    if isinstance(t, int):
        return table[t].to(like.dtype)
    return table[t.to(table.device)].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


@dataclass
class IRSDESchedule:
    """The discretised mean-reverting SDE (θ schedule, λ, dt) and its closed forms."""

    T: int = 100
    schedule: str = "cosine"
    max_sigma: float = LAMBDA_INPAINT
    eps: float = 0.005

    def __post_init__(self):
        tables = irsde_thetas(self.T, self.schedule, self.max_sigma, self.eps)
        self.dt = tables.pop("dt")
        self.tables = tables  # float64; each lookup is cast to the dtype of the tensor it multiplies
        self._device_tables = {}

    def table(self, name: str, device) -> torch.Tensor:
        """A schedule table on `device`, moved there once."""
        key = (name, str(device))
        if key not in self._device_tables:
            self._device_tables[key] = self.tables[name].to(device)
        return self._device_tables[key]

    def decay(self, t, like) -> torch.Tensor:
        """e^{−θ̄_t dt}."""
        return torch.exp(-_at(self.table("thetas_cumsum", like.device), t, like) * self.dt)

    def mean(self, x0, mu, t) -> torch.Tensor:
        """Forward marginal mean m_t = μ + (x0 − μ) e^{−θ̄_t dt}."""
        return mu + (x0 - mu) * self.decay(t, x0)

    def std(self, t, like) -> torch.Tensor:
        """Forward marginal std σ̄_t = λ sqrt(1 − e^{−2 θ̄_t dt})."""
        return _at(self.table("sigma_bars", like.device), t, like)

    def sample(self, x0, mu, t, noise) -> torch.Tensor:
        """x_t ~ q(x_t | x0) = N(m_t, σ̄_t²)."""
        return self.mean(x0, mu, t) + self.std(t, x0) * noise

    def x0_from_noise(self, xt, mu, noise_pred, t) -> torch.Tensor:
        """x̂0 = μ + (x_t − σ̄_t ε̂ − μ) / e^{−θ̄_t dt}: the forward marginal (`sample`) solved for x0."""
        return mu + (xt - self.std(t, xt) * noise_pred - mu) / self.decay(t, xt)

    def optimal_reverse(self, xt, x0, mu, t) -> torch.Tensor:
        """Eq 4 (Eq 10 for the structure): argmin −log q(x_{t−1} | x_t, x0), with θ'_t = θ_t dt, θ̄ = θ̄·dt."""
        step = torch.exp(-_at(self.table("thetas", xt.device), t, xt) * self.dt)  # e^{−θ'_t}
        now, before = self.decay(t, xt), self.decay(t - 1, xt)  # e^{−θ̄_t}, e^{−θ̄_{t−1}}
        coef_xt = (1 - before**2) / (1 - now**2) * step
        coef_x0 = (1 - step**2) / (1 - now**2) * before
        return coef_xt * (xt - mu) + coef_x0 * (x0 - mu) + mu

    def reverse_mean(self, xt, mu, noise_pred, t) -> torch.Tensor:
        """The drift part of the reverse SDE step (Eq 2) with the score −ε/σ̄_t: x_t − (θ_t(μ − x) − σ_t² s) dt."""
        theta = _at(self.table("thetas", xt.device), t, xt)
        sigma = _at(self.table("sigmas", xt.device), t, xt)
        score = -noise_pred / self.std(t, xt)
        return xt - (theta * (mu - xt) - sigma**2 * score) * self.dt

    def reverse_step(self, xt, mu, noise_pred, t, noise) -> torch.Tensor:
        """One Euler–Maruyama step of the reverse SDE (Eq 2), state t → t − 1."""
        sigma = _at(self.table("sigmas", xt.device), t, xt)
        return self.reverse_mean(xt, mu, noise_pred, t) - sigma * math.sqrt(self.dt) * noise

    def forward_step(self, x, mu, t, noise) -> torch.Tensor:
        """One Euler–Maruyama step of the forward SDE (Eq 1), state t − 1 → t (uses θ_t, σ_t)."""
        theta = _at(self.table("thetas", x.device), t, x)
        sigma = _at(self.table("sigmas", x.device), t, x)
        return x + theta * (mu - x) * self.dt + sigma * math.sqrt(self.dt) * noise


def structure_guided_target(texture: IRSDESchedule, structure: IRSDESchedule, x_t, x0, mu_x, y0, mu_y, t):
    """StrDiffusion Eq 24 (= Eq 11): the optimal texture state ỹ*_{t−1} under the structure's guidance.

    ỹ* = c (x_t − μ_x) − c e^{−δ̄_t} (x0 − μ_x) + e^{−θ̄_{t−1}} (y0 − μ_y) + μ_y,
    c = (1 − e^{−2θ̄_{t−1}}) / (1 − e^{−2δ̄_t}) · e^{−δ'_t};  θ from the texture schedule, δ from the structure's.
    The one-channel structure terms broadcast over the texture's three channels.
    """
    delta_step = torch.exp(-_at(structure.table("thetas", x_t.device), t, x_t) * structure.dt)  # e^{−δ'_t}
    delta_bar = structure.decay(t, x_t)  # e^{−δ̄_t}
    theta_before = texture.decay(t - 1, y0)  # e^{−θ̄_{t−1}}
    c = (1 - theta_before**2) / (1 - delta_bar**2) * delta_step
    return c * (x_t - mu_x) - c * delta_bar * (x0 - mu_x) + theta_before * (y0 - mu_y) + mu_y
