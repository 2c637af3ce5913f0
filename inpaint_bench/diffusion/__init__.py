"""Diffusion math shared by all methods, as small pure functions."""

from .bridge import (
    asymmetric_betas,
    bridge_posterior,
    bridge_stds,
    ddpm_posterior_step,
    gaussian_product_coef,
    i2sb_betas,
    space_indices,
)
from .gaussian import GaussianSchedule, ddim_step, linear_betas, repaint_jump_schedule
from .irsde import IRSDESchedule, irsde_thetas, structure_guided_target
from .noise import per_sample_randn

__all__ = [
    "GaussianSchedule",
    "IRSDESchedule",
    "irsde_thetas",
    "structure_guided_target",
    "ddim_step",
    "linear_betas",
    "repaint_jump_schedule",
    "asymmetric_betas",
    "bridge_posterior",
    "bridge_stds",
    "ddpm_posterior_step",
    "gaussian_product_coef",
    "i2sb_betas",
    "per_sample_randn",
    "space_indices",
]
