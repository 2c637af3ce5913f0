"""I²SB / AsyncDSB math: schedules, the posterior, Algorithm 2 with an oracle network, DDPM marginals."""

import numpy as np
import pytest
import torch

from inpaint_bench.diffusion import (
    asymmetric_betas,
    bridge_posterior,
    bridge_stds,
    ddpm_posterior_step,
    gaussian_product_coef,
    i2sb_betas,
    space_indices,
)
from inpaint_bench.diffusion.bridge import BridgeSchedule, sample_bridge_inpaint
from inpaint_bench.diffusion.noise import sample_generators


def test_i2sb_betas_keep_the_first_half_of_an_n_point_ramp():
    """Official runner.py: the ramp spans n points up to √(β_max/n), only its first n//2 are kept (the exact
    tables are checked against the official code in tests/parity/test_i2sb_parity.py)."""
    betas = i2sb_betas(1000, beta_max=1.0).numpy()
    root = np.sqrt(betas[:500])
    step = (np.sqrt(1.0 / 1000) - 1e-2) / 999
    assert np.allclose(np.diff(root), step, rtol=1e-9)  # the n-point ramp's step, not the n/2-point one
    assert np.array_equal(betas[500:], betas[:500][::-1]) and betas[0] == pytest.approx(1e-4)
    assert betas.max() == pytest.approx((1e-2 + 499 * step) ** 2) and betas.max() < 1.0 / 1000 / 2
    assert np.array_equal(asymmetric_betas(1000, 500, 1.0), betas)  # AsyncDSB's family contains I²SB's
    shifted = asymmetric_betas(1000, 200, 1.0)
    assert shifted.argmax() in (199, 200) and shifted[0] == shifted[-1] == pytest.approx(1e-4)
    assert shifted.max() == pytest.approx(betas.max())  # the peak moves, its height stays
    fwd, bwd = bridge_stds(betas)
    assert fwd[-1] ** 2 == pytest.approx(betas.sum()) and bwd[0] ** 2 == pytest.approx(betas.sum())
    assert torch.allclose(fwd**2 + bwd**2, torch.full_like(fwd, betas.sum()) + torch.from_numpy(betas))
    with pytest.raises(ValueError, match="even"):
        i2sb_betas(999)


def test_gaussian_product_and_space_indices():
    c0, c1, var = gaussian_product_coef(torch.tensor(3.0), torch.tensor(4.0))
    assert (c0.item(), c1.item(), var.item()) == pytest.approx((16 / 25, 9 / 25, 144 / 25))
    assert space_indices(10, 3) == [0, 4, 9]  # round half to even, as I²SB
    assert space_indices(1000, 21)[10] == 499  # accumulated stride (round(10·49.95) would be 500)
    assert space_indices(1000, 2) == [0, 999] and len(space_indices(1000, 1000)) == 1000


def _setup(n=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, size, size)
    mask[:, :, 4:12, 4:12] = 1
    x1 = (1 - mask) * x0 + mask * torch.randn(n, 3, size, size, generator=g)
    return x0, x1, mask


@pytest.mark.parametrize("nfe", [1, 2, 7, 999])
def test_oracle_network_recovers_x0_for_any_nfe(nfe):
    schedule = BridgeSchedule(1000)
    x0, x1, mask = _setup()
    peak = 500

    def oracle_eps(x, n):  # the true ε = (X_n − X_0)/σ_n
        return (x - x0) / schedule.std(n, peak)[0]

    out = sample_bridge_inpaint(oracle_eps, x1, mask, schedule, peak, nfe, ot_ode=True)
    # OT-ODE with the true x0 lands on the posterior mean μ_0(x0, x1) exactly (Prop 3.3/3.4) …
    fwd0, bwd0 = schedule.std(0, peak)
    expected = (1 - mask) * x0 + mask * bridge_posterior(x0, x1, fwd0, bwd0)
    assert torch.allclose(out, expected, atol=1e-5)
    # … which is x0 up to σ_0²/(σ_0²+σ̄_0²) = 1e-4/(1e-4 + 0.247) ≈ 4e-4 of (x1 − x0)
    assert (out - x0).abs().max() < 4.1e-4 * (x1 - x0).abs().max()


def test_stochastic_oracle_sampling_also_recovers_x0():
    schedule = BridgeSchedule(1000)
    x0, x1, mask = _setup()
    out = sample_bridge_inpaint(lambda x, n: (x - x0) / schedule.std(n, 500)[0], x1, mask, schedule, 500, 10,
                                ot_ode=False, generators=sample_generators(0, ["a", "b"]))
    # the last step keeps σ_0²/σ_n² of the noisy X_n (σ_0 = 0.01): small but not float-small under the SDE
    err = (mask * (out - x0)).abs()
    assert err.max() < 0.05 and err.sum() / mask.sum() / 3 < 5e-3


def test_ddpm_recursion_marginal_matches_the_bridge_posterior():
    """Prop 3.3: running p(X_{n'} | X_0, X_n) from N down to n gives q(X_n | X_0, X_N) (Monte Carlo)."""
    schedule = BridgeSchedule(1000)
    fwd, bwd = schedule.row(500)
    torch.manual_seed(0)
    samples = 200_000
    x0, x1 = torch.full((samples,), 0.7), torch.full((samples,), -0.4)
    steps = [999, 800, 600, 450, 300]
    x = bridge_posterior(x0, x1, fwd[999], bwd[999], torch.randn(samples))
    for n, prev in zip(steps[:-1], steps[1:], strict=True):
        x = ddpm_posterior_step(x, x0, fwd[n], fwd[prev], torch.randn(samples))
    mu, _, var = gaussian_product_coef(fwd[300], bwd[300])
    mean = mu * 0.7 + (1 - mu) * -0.4
    assert x.mean().item() == pytest.approx(mean.item(), abs=4 * var.sqrt().item() / samples**0.5)
    assert x.std().item() == pytest.approx(var.sqrt().item(), rel=0.01)


def test_ot_ode_is_deterministic_and_sde_is_seeded():
    from inpaint_bench.methods.i2sb import I2SB

    torch.manual_seed(0)
    method = I2SB(checkpoint=None, nfe=4)
    x0, _, mask = _setup(size=32)
    image = x0 * (1 - mask)
    a = method.inpaint(image, mask, sample_generators(1, ["a", "b"]), ot_ode=True)
    b = method.inpaint(image, mask, sample_generators(2, ["a", "b"]), ot_ode=True)
    c = method.inpaint(image, mask, sample_generators(1, ["a", "b"]), ot_ode=False)
    d = method.inpaint(image, mask, sample_generators(1, ["a", "b"]), ot_ode=False)
    assert torch.equal(c, d)  # same generators → same stochastic sample
    # OT-ODE uses noise only for X_1; with equal X_1 noise the path is fixed
    gens = sample_generators(1, ["a", "b"])
    assert torch.equal(a, method.inpaint(image, mask, gens, ot_ode=True))
    assert not torch.equal(a, b) and method.nfe == 4


def test_per_sample_generators_make_results_independent_of_batching():
    from inpaint_bench.methods.i2sb import I2SB

    torch.manual_seed(0)
    method = I2SB(checkpoint=None, nfe=3, ot_ode=False)
    x0, _, mask = _setup(n=3, size=32)
    image = x0 * (1 - mask)
    whole = method.inpaint(image, mask, sample_generators(0, ["a", "b", "c"]))
    parts = torch.cat([method.inpaint(image[:1], mask[:1], sample_generators(0, ["a"])),
                       method.inpaint(image[1:], mask[1:], sample_generators(0, ["b", "c"]))])
    assert torch.allclose(whole, parts, atol=1e-5)
