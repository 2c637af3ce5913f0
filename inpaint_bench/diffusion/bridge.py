"""Schrödinger-bridge math shared by I²SB and AsyncDSB (pure functions; σ may be a scalar or a per-pixel tensor).

I²SB (Liu et al., ICML 2023, arXiv 2302.05872): Eq 11 posterior q(X_t | X_0, X_1), Algorithm 2's DDPM posterior
p(X_{n−1} | X_0^ε, X_n), Prop 3.4's OT-ODE (the same step with the noise removed).
AsyncDSB (AAAI 2025): a per-pixel schedule β_{t,i,j} whose peak sits at the pixel's τ_{i,j} (Eq 11–12); τ = T/2
for every pixel gives I²SB's symmetric schedule exactly.
"""

from __future__ import annotations

import numpy as np
import torch

BETA_MIN = 1e-4


def asymmetric_betas(n_timestep: int = 1000, peak: int | None = None, beta_max: float = 1.0) -> np.ndarray:
    """β_n rising as (linspace(√1e-4, √(β_max/N), ·))² over the first `peak` steps, then falling back.

    `peak = N/2` is I²SB's symmetric schedule; AsyncDSB moves the peak per pixel to τ_{i,j}. float64.
    """
    peak = n_timestep // 2 if peak is None else int(peak)
    if not 1 <= peak <= n_timestep - 1:
        raise ValueError(f"schedule peak must be within [1, {n_timestep - 1}], got {peak}")
    lo, hi = np.sqrt(BETA_MIN), np.sqrt(beta_max / n_timestep)
    rise = np.linspace(lo, hi, peak, dtype=np.float64) ** 2
    fall = np.flip(np.linspace(lo, hi, n_timestep - peak, dtype=np.float64) ** 2)
    return np.concatenate([rise, fall])


def i2sb_betas(n_timestep: int = 1000, beta_max: float = 1.0) -> torch.Tensor:
    """I²SB's symmetric β schedule: linspace(√1e-4, √(β_max/n), n/2)², mirrored. β_max = 1 for inpainting."""
    half = np.linspace(np.sqrt(BETA_MIN), np.sqrt(beta_max / n_timestep), n_timestep // 2, dtype=np.float64) ** 2
    return torch.from_numpy(np.concatenate([half, np.flip(half)]))


def bridge_stds(betas) -> tuple[torch.Tensor, torch.Tensor]:
    """σ_n = √(Σ_{k≤n} β_k) (std_fwd) and σ̄_n = √(Σ_{k≥n} β_k) (std_bwd), along the last axis (Eq 11)."""
    betas = torch.as_tensor(betas, dtype=torch.float64)
    std_fwd = torch.cumsum(betas, -1).sqrt()
    std_bwd = torch.flip(torch.cumsum(torch.flip(betas, [-1]), -1), [-1]).sqrt()
    return std_fwd, std_bwd


def gaussian_product_coef(sigma1, sigma2):
    """N(x; x0, σ1²)·N(x; x1, σ2²) ∝ N(x; c0·x0 + c1·x1, var): returns (c0, c1, var).

    c0 = σ2²/(σ1²+σ2²), c1 = σ1²/(σ1²+σ2²), var = σ1²σ2²/(σ1²+σ2²).
    """
    denom = sigma1**2 + sigma2**2
    return sigma2**2 / denom, sigma1**2 / denom, sigma1**2 * sigma2**2 / denom


def bridge_posterior(x0, x1, std_fwd, std_bwd, noise=None):
    """Sample q(X_t | X_0, X_1) (I²SB Eq 11): mean σ̄²/(σ̄²+σ²)·x0 + σ²/(σ̄²+σ²)·x1, var σ²σ̄²/(σ̄²+σ²).

    `noise=None` returns the mean, the OT-ODE path (Prop 3.4).
    """
    mu_x0, mu_x1, var = gaussian_product_coef(std_fwd, std_bwd)
    xt = mu_x0 * x0 + mu_x1 * x1
    return xt if noise is None else xt + _sqrt(var) * noise


def ddpm_posterior_step(x_n, x0_hat, std_n, std_prev, noise=None):
    """One step of Algorithm 2: sample p(X_{n'} | X_0^ε, X_n) for n' < n (DDPM posterior, I²SB Eq 4).

    With δ² = σ_n² − σ_{n'}²: mean = δ²/(σ_{n'}²+δ²)·x0 + σ_{n'}²/(σ_{n'}²+δ²)·x_n, var = σ_{n'}²δ²/σ_n².
    `noise=None` drops the noise: the OT-ODE step (Prop 3.4), also used for the final step n' = 0.
    """
    mu_x0, mu_xn, var = gaussian_product_coef(std_prev, _sqrt(std_n**2 - std_prev**2))
    x_prev = mu_x0 * x0_hat + mu_xn * x_n
    return x_prev if noise is None else x_prev + _sqrt(var) * noise


def _sqrt(v):
    return v.sqrt() if torch.is_tensor(v) else v**0.5


def space_indices(num_steps: int, count: int) -> list[int]:
    """`count` indices spread evenly over [0, num_steps − 1], rounded half to even (I²SB's sampling steps)."""
    if not 1 <= count <= num_steps:
        raise ValueError(f"need 1 <= count <= {num_steps}, got {count}")
    stride = (num_steps - 1) / (count - 1) if count > 1 else 1
    return [round(i * stride) for i in range(count)]


class BridgeSchedule:
    """Tables of one bridge schedule family, float32 like the official code: σ_n and σ̄_n for each peak K.

    `std(n, peak)` returns σ_n for a scalar peak (0-d tensor) or a per-pixel peak map (tensor of ints); I²SB uses
    peak = N/2 everywhere, AsyncDSB a per-pixel map. Both go through the same float32 arithmetic, so equal peaks
    give bit-identical samples.
    """

    def __init__(self, n_timestep: int = 1000, beta_max: float = 1.0):
        self.n, self.beta_max = n_timestep, beta_max
        self._tables: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._full = None
        self._on_device: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def row(self, peak: int) -> tuple[torch.Tensor, torch.Tensor]:
        if peak not in self._tables:
            fwd, bwd = bridge_stds(asymmetric_betas(self.n, peak, self.beta_max))
            self._tables[peak] = (fwd.float(), bwd.float())
        return self._tables[peak]

    def full(self) -> tuple[torch.Tensor, torch.Tensor]:
        """[N+1, N] tables indexed by peak (rows 0 and N unused, kept so that row index = peak)."""
        if self._full is None:
            peaks = range(1, self.n)
            fwd = torch.stack([self.row(k)[0] for k in peaks])
            bwd = torch.stack([self.row(k)[1] for k in peaks])
            pad = torch.zeros(1, self.n)
            self._full = (torch.cat([pad, fwd, pad]), torch.cat([pad, bwd, pad]))
        return self._full

    def _full_on(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """The full tables on `device`, moved once and kept (no per-step host-to-device copies)."""
        key = str(device)
        if key not in self._on_device:
            fwd, bwd = self.full()
            self._on_device[key] = (fwd.to(device), bwd.to(device))
        return self._on_device[key]

    def std(self, n: int, peak) -> tuple[torch.Tensor, torch.Tensor]:
        """(σ_n, σ̄_n) for `peak` (int → 0-d tensors; LongTensor map → tensors of the map's shape)."""
        if isinstance(peak, int):
            fwd, bwd = self.row(peak)
            return fwd[n], bwd[n]
        fwd, bwd = self._full_on(peak.device)
        return fwd[peak, n], bwd[peak, n]

    def std_at_steps(self, steps: torch.Tensor, peak) -> tuple[torch.Tensor, torch.Tensor]:
        """(σ, σ̄) at per-sample steps [B] (training), shaped to broadcast over [B, C, H, W] images."""
        if isinstance(peak, int):
            fwd, bwd = self.row(peak)
            return fwd.to(steps.device)[steps].view(-1, 1, 1, 1), bwd.to(steps.device)[steps].view(-1, 1, 1, 1)
        fwd, bwd = self._full_on(peak.device)
        idx = steps.view(-1, 1, 1, 1).expand_as(peak)
        return fwd[peak, idx], bwd[peak, idx]


def network_times(n_timestep: int = 1000) -> torch.Tensor:
    """The time fed to I²SB's network at step n: linspace(1e-4, 1, N)[n] · N."""
    return torch.linspace(BETA_MIN, 1.0, n_timestep) * n_timestep


def sample_bridge_inpaint(eps_fn, x1, mask, schedule: BridgeSchedule, peak, nfe: int, ot_ode: bool,
                          generators=None, clip_denoise: bool = False):
    """I²SB Algorithm 2 for inpainting, with σ per pixel when `peak` is a map (AsyncDSB Eq 13).

    From X_N = x1 (known pixels + noise in the hole), for the NFE+1 evenly spaced steps n → n':
      X_0^ε = X_n − σ_n · ε(X_n, n)                          (ε parameterisation, I²SB Eq 12)
      X_{n'} ~ p(X_{n'} | X_0^ε, X_n)                        (DDPM posterior; mean only under OT-ODE)
      known region reset to a draw of q(X_{n'} | x0, x1)     (x1 itself under OT-ODE)
    `eps_fn(x, n)` is the network; noise comes from one generator per sample.
    """
    from .noise import per_sample_randn

    steps = space_indices(schedule.n, nfe + 1)[::-1]
    xt = x1
    for n, prev in zip(steps[:-1], steps[1:], strict=True):
        std_n, _ = schedule.std(n, peak)
        std_prev, bwd_prev = schedule.std(prev, peak)
        x0_hat = xt - std_n * eps_fn(xt, n)
        if clip_denoise:
            x0_hat = x0_hat.clamp(-1, 1)
        stochastic = not ot_ode and prev > 0
        noise = per_sample_randn(xt.shape, generators, xt.device) if stochastic else None
        xt = ddpm_posterior_step(xt, x0_hat, std_n, std_prev, noise)
        known = x1
        if not ot_ode:
            var = gaussian_product_coef(std_prev, bwd_prev)[2]
            known = x1 + _sqrt(var) * per_sample_randn(xt.shape, generators, xt.device)
        xt = (1 - mask) * known + mask * xt
    return xt
