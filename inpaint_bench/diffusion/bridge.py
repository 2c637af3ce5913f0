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


def _half_ramp(n_timestep: int, beta_max: float) -> np.ndarray:
    """√β over the first n//2 points of linspace(√1e-4, √(β_max/n), n): the rising half of I²SB's schedule.

    Official code (NVlabs/I2SB `i2sb/runner.py`): `make_beta_schedule(n, linear_end=β_max/n)` ramps over **n**
    points and only its first n//2 are kept, so the peak β is ≈ 4.33e-4 for n = 1000, β_max = 1 (not β_max/n).
    """
    if n_timestep < 2 or n_timestep % 2:
        raise ValueError(f"the I²SB schedule needs an even number of steps (it mirrors n//2 of them), got {n_timestep}")
    ramp = torch.linspace(BETA_MIN**0.5, (beta_max / n_timestep) ** 0.5, n_timestep, dtype=torch.float64).numpy()
    return ramp[: n_timestep // 2]


def i2sb_betas(n_timestep: int = 1000, beta_max: float = 1.0) -> torch.Tensor:
    """I²SB's symmetric β schedule: the half ramp squared, then mirrored (official runner.py). β_max = 1 inpainting."""
    half = _half_ramp(n_timestep, beta_max) ** 2
    return torch.from_numpy(np.concatenate([half, np.flip(half)]))


def asymmetric_betas(n_timestep: int = 1000, peak: int | None = None, beta_max: float = 1.0) -> np.ndarray:
    """AsyncDSB's per-pixel family (Eq 12): I²SB's rising half stretched over `peak` steps, its mirror over the rest.

    √β is linear in the step on each side (as in I²SB), from √1e-4 up to I²SB's peak value and back, so the rise
    has `peak` points and the fall n − `peak`. The rise is the official half ramp resampled by linear
    interpolation at positions linspace(0, n/2 − 1, peak): for `peak = n/2` these are the ramp's own nodes, so the
    schedule is I²SB's bit for bit. float64.
    """
    n = n_timestep
    half = _half_ramp(n, beta_max)
    peak = n // 2 if peak is None else int(peak)
    if not 1 <= peak <= n - 1:
        raise ValueError(f"schedule peak must be within [1, {n - 1}], got {peak}")
    nodes = np.arange(len(half), dtype=np.float64)

    def stretched(count: int) -> np.ndarray:
        return np.interp(np.linspace(0.0, len(half) - 1.0, count), nodes, half) ** 2

    return np.concatenate([stretched(peak), np.flip(stretched(n - peak))])


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
    """`count` indices over [0, num_steps − 1] as I²SB builds them (official `i2sb/util.py`).

    A float cursor starts at 0 and advances by the stride (num_steps − 1)/(count − 1) once per index, each value
    rounded half to even. The accumulated sum differs from round(i·stride) in the last bit often enough to move
    a step (278 of the 999 NFE values at num_steps = 1000), so the accumulation is kept.
    """
    if not 1 <= count <= num_steps:
        raise ValueError(f"need 1 <= count <= {num_steps}, got {count}")
    stride = (num_steps - 1) / (count - 1) if count > 1 else 1
    cursor, taken = 0.0, []
    for _ in range(count):
        taken.append(round(cursor))
        cursor += stride
    return taken


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
