"""Noise drawn per sample, so results do not depend on batch size, batch order or process count."""

from __future__ import annotations

import torch


class ReplayNoise:
    """Noise recorded elsewhere (an official implementation's run), handed out in the order it was drawn.

    Passed where a sampler takes its per-sample generators, so parity tests feed the suite exactly the official
    draws. A draw of another shape than the recorded one, or more draws than recorded, is an error; `used` tells
    how many were consumed (a dropped noise term leaves some unused).
    """

    def __init__(self, draws):
        self.draws, self.used = list(draws), 0

    def draw(self, shape, device=None, dtype=torch.float32) -> torch.Tensor:
        if self.used >= len(self.draws):
            raise RuntimeError(f"the sampler asked for noise draw {self.used + 1}; only {len(self.draws)} recorded")
        x = self.draws[self.used]
        if tuple(x.shape) != tuple(shape):
            raise ValueError(f"noise draw {self.used}: recorded shape {tuple(x.shape)}, sampler asks {tuple(shape)}")
        self.used += 1
        return x.to(device=device, dtype=dtype)


def per_sample_randn(shape, generators, device=None, dtype=torch.float32) -> torch.Tensor:
    """Standard normal noise [B, ...]: row b drawn from `generators[b]` (a list of torch.Generator), on the
    generator's own device, then moved to `device`.

    `generators=None` draws from the global generator; a `ReplayNoise` replays recorded draws. CPU generators
    (`noise: cpu`, the default) give the same numbers on every device; generators on the accelerator
    (`noise: device`) skip the host-side draw and copy, and are reproducible on that device type.
    """
    if isinstance(generators, ReplayNoise):
        return generators.draw(shape, device, dtype)
    if generators is None:
        return torch.randn(shape, device=device, dtype=dtype)
    if isinstance(generators, torch.Generator):
        generators = [generators]
    if len(generators) != shape[0]:
        raise ValueError(f"need one generator per sample: {len(generators)} generators for batch {shape[0]}")
    rows = [torch.randn(shape[1:], generator=g, device=g.device, dtype=dtype) for g in generators]
    return torch.stack(rows).to(device)


NOISE_MODES = ("cpu", "device")


def sample_generators(seed: int, keys, device="cpu") -> list[torch.Generator]:
    """One generator per sample, seeded from (seed, sample key) — stable across batchings and process counts.
    On the CPU (`noise: cpu`) also across machines and devices; on `device` (`noise: device`) across runs on
    that device type."""
    import hashlib

    gens = []
    for key in keys:
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        gens.append(torch.Generator(device=device).manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)))
    return gens


def fork_generator(g: torch.Generator) -> torch.Generator:
    """A fresh generator on g's device, seeded by one draw from g."""
    seed = int(torch.randint(2**62, (1,), generator=g, device=g.device))
    return torch.Generator(device=g.device).manual_seed(seed)
