"""Gaussian (DDPM/DDIM) diffusion algebra shared by RePaint, DDNM and IS-Diff; pure functions on ᾱ tables.

Ho et al. 2020 (DDPM), Nichol & Dhariwal 2021 (learned σ), Song et al. 2021 (DDIM). The ᾱ tables are float64
NumPy arrays on the host; each step reads Python floats from them, so no tensor is allocated for a coefficient.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .bridge import space_indices


def linear_betas(n_timestep: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """guided-diffusion's linear schedule, scaled to `n_timestep` (float64)."""
    scale = 1000 / n_timestep
    return np.linspace(scale * beta_start, scale * beta_end, n_timestep, dtype=np.float64)


def space_timesteps(n_timestep: int, count: int) -> list[int]:
    """guided-diffusion `space_timesteps(T, "count")`: `count` original steps by an accumulated fractional
    stride, rounded (the construction I²SB copied: `bridge.space_indices`)."""
    if count > n_timestep:
        raise ValueError(f"cannot take {count} steps out of {n_timestep}")
    return sorted(set(space_indices(n_timestep, count)))


class GaussianSchedule:
    """ᾱ_t and the DDPM posterior of a (possibly respaced) schedule; `timestep_map[t]` is the network's t input."""

    def __init__(self, betas: np.ndarray, timestep_map=None):
        self.betas = np.asarray(betas, dtype=np.float64)
        self.n = len(self.betas)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.posterior_variance = self.betas * (1 - self.alphas_cumprod_prev) / (1 - self.alphas_cumprod)
        self.posterior_log_variance_clipped = np.log(np.append(self.posterior_variance[1], self.posterior_variance[1:]))
        self.posterior_mean_coef1 = self.betas * np.sqrt(self.alphas_cumprod_prev) / (1 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1 - self.alphas_cumprod_prev) * np.sqrt(1 - self.betas) / (1 - self.alphas_cumprod)
        self.timestep_map = np.arange(self.n) if timestep_map is None else np.asarray(timestep_map)

    @classmethod
    def respaced(cls, base_betas: np.ndarray, count: int) -> GaussianSchedule:
        """Keep `count` of the base steps (guided-diffusion respacing): β'_i = 1 − ᾱ_{k_i}/ᾱ_{k_{i−1}}."""
        keep = space_timesteps(len(base_betas), count)
        abar = np.cumprod(1.0 - np.asarray(base_betas, dtype=np.float64))
        prev, betas = 1.0, []
        for k in keep:
            betas.append(1 - abar[k] / prev)
            prev = abar[k]
        return cls(np.array(betas), keep)

    def abar(self, t: int) -> float:
        """ᾱ_t, with ᾱ_{−1} = 1."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])


def q_sample(x0, abar: float, noise):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε (forward diffusion in closed form)."""
    return math.sqrt(abar) * x0 + math.sqrt(1 - abar) * noise


def x0_from_eps(x_t, eps, abar: float):
    """x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t (DDPM Eq 15 / DDNM Eq 12)."""
    return (x_t - math.sqrt(1 - abar) * eps) / math.sqrt(abar)


def eps_from_x0(x_t, x0, abar: float):
    return (x_t - math.sqrt(abar) * x0) / math.sqrt(1 - abar)


def ddpm_step(schedule: GaussianSchedule, x_t, x0, t: int, noise, model_var=None, guidance=None):
    """Sample p(x_{t−1} | x_t, x̂0): the DDPM posterior mean, with the learned-range variance when the network
    predicts one (`model_var` ∈ [−1, 1], Improved DDPM Eq 15) and the clipped posterior variance otherwise.
    `guidance` (s∇ log p_φ(y | x_t), diffusion/guidance.py) shifts the mean by Σ·guidance (Dhariwal & Nichol
    Alg 1; at t = 0 too, as guided-diffusion). No noise is added at t = 0."""
    mean = float(schedule.posterior_mean_coef1[t]) * x0 + float(schedule.posterior_mean_coef2[t]) * x_t
    min_log = float(schedule.posterior_log_variance_clipped[t])
    if model_var is None:  # fixed σ: scalars, no per-step tensors
        if guidance is not None:
            mean = mean + float(schedule.posterior_variance[t]) * guidance  # guided-diffusion: unclipped variance
        return mean if t == 0 else mean + math.exp(0.5 * min_log) * noise
    frac = (model_var + 1) / 2
    log_var = frac * math.log(schedule.betas[t]) + (1 - frac) * min_log
    if guidance is not None:
        mean = mean + torch.exp(log_var) * guidance
    return mean if t == 0 else mean + torch.exp(0.5 * log_var) * noise


def renoise(x_t, abar_t: float, abar_up: float, noise):
    """q(x_up | x_t) = N(√(ᾱ_up/ᾱ_t) x_t, 1 − ᾱ_up/ᾱ_t): jump from level t up to a noisier level in one draw."""
    ratio = abar_up / abar_t
    return math.sqrt(ratio) * x_t + math.sqrt(1 - ratio) * noise


def undo_step(schedule: GaussianSchedule, x_prev, t: int, noise):
    """q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t): RePaint's step back up the chain."""
    beta = float(schedule.betas[t])
    return math.sqrt(1 - beta) * x_prev + math.sqrt(beta) * noise


def ddim_step(x0, eps, abar_t: float, abar_prev: float, eta: float, noise):
    """DDIM (Song et al. 2021, Eq 12): σ = η √((1−ᾱ')/(1−ᾱ)) √(1−ᾱ/ᾱ'); x' = √ᾱ' x̂0 + √(1−ᾱ'−σ²) ε̂ + σ z."""
    sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar_t)) * math.sqrt(max(0.0, 1 - abar_t / abar_prev))
    out = math.sqrt(abar_prev) * x0 + math.sqrt(max(0.0, 1 - abar_prev - sigma**2)) * eps
    return out + sigma * noise if sigma > 0 and noise is not None else out


def ddnm_svd_step(x0, eps, abar_prev: float, eta: float, noise):
    """DDNM's update on the official evaluation path (`ddnm_diffusion`, run without `--simplified`):
    x' = √ᾱ' x̂0 + √(1−ᾱ') · (η z + √(1−η²) ε), with the network's raw ε."""
    out = math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * math.sqrt(1 - eta**2) * eps
    return out + math.sqrt(1 - abar_prev) * eta * noise if noise is not None else out


def ddnm_repo_step(x0, eps, abar_prev: float, eta: float, noise):
    """DDNM's simplified noise-free update (the official `--simplified` demo path) as the official code writes it:
    x' = √ᾱ' x̂0 + √(1−ᾱ'²) · √(1−ᾱ') · (η z + √(1−η²) ε̂)  — note the squared ᾱ' in the first root."""
    gamma = math.sqrt(1 - abar_prev**2)
    c1, c2 = math.sqrt(1 - abar_prev) * eta, math.sqrt(1 - abar_prev) * math.sqrt(1 - eta**2)
    out = math.sqrt(abar_prev) * x0 + gamma * c2 * eps
    return out + gamma * c1 * noise if noise is not None else out


def repaint_jump_schedule(t_T: int = 250, jump_length: int = 10, jump_n_sample: int = 10) -> list[int]:
    """RePaint's time sequence (`get_schedule_jump` with n_sample = 1): walk down from t_T − 1; at each
    multiple of `jump_length` below t_T − jump_length, jump back up `jump_length` steps, `jump_n_sample` − 1 times.
    Ends with −1. Consecutive entries t → t−1 are denoising steps (one network call), t → t+1 re-noising steps."""
    jumps = {j: jump_n_sample - 1 for j in range(0, t_T - jump_length, jump_length)}
    t, ts = t_T, []
    while t >= 1:
        t -= 1
        ts.append(t)
        if jumps.get(t, 0) > 0:
            jumps[t] -= 1
            for _ in range(jump_length):
                t += 1
                ts.append(t)
    ts.append(-1)
    return ts


def jump_walk(grid: list[int], jump_length: int = 1, jump_n_sample: int = 1) -> list[int]:
    """RePaint's jump schedule over the indices of an ascending timestep grid (a DDIM grid), mapped onto the grid:
    from grid[-1] down to grid[0], then −1; `jump_n_sample` 1 is the plain walk down."""
    return [grid[i] if i >= 0 else -1 for i in repaint_jump_schedule(len(grid), jump_length, jump_n_sample)]
