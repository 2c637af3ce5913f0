"""Where an IR-SDE-family network's estimate fails: hole PSNR of x̂0 by step t (issue 25's diagnosis).

For each t, x_t ~ q(x_t | x0) (Eq 1's marginal, fixed noise), ε̂ = net(x_t, μ, t), and x̂0 = μ + (x_t − σ̄_t ε̂ − μ)
/ e^{−θ̄_t dt} (the marginal mean solved for x0). A network that has learned step t reconstructs the hole there;
the reverse process starts at t = T, so the early (large-t) estimates decide whether it leaves the white hole.

`--reverse` adds a second column: the hole PSNR at the end of IR-SDE's reverse process (Eq 2) started from the
true forward state x_t ~ q(x_t | x0) instead of from y_T = μ + λε. It shows from which t on the network's steps
bring the image home: the x̂0 column weighs each step's error by σ̄_t / e^{−θ̄_t dt}, the reverse process by the
step's own σ_t² dt / σ̄_t (the training loss's weight), so the two can disagree.

    python benchmarks/x0_by_t.py --checkpoint runs/tiny32/irsde/irsde.safetensors [--images 16] [--mask center]
                                 [--reverse]
"""

from __future__ import annotations

import argparse

import torch


def unit_problem(image, mask):
    """(y0, μ, hole) in IR-SDE's [0, 1] convention: the clean image, the white-hole condition, the hole map."""
    from inpaint_bench.methods.irsde import to_unit, white_hole

    y0, keep = to_unit(image, mask)
    return y0, white_hole(y0, keep), (1 - keep).expand_as(y0)


def hole_psnr(x, y0, hole) -> float:
    mse = ((x.clamp(0, 1) - y0) ** 2 * hole).sum() / hole.sum()
    return float(10 * torch.log10(1 / mse))


def x0_psnr_by_t(method, image, mask, times) -> dict[int, float]:
    y0, mu, hole = unit_problem(image, mask)
    noise = torch.randn(y0.shape, generator=torch.Generator().manual_seed(0))
    net, sde, out = method.inference_net().eval(), method.sde, {}
    for t in times:
        steps = torch.full((len(y0),), t, dtype=torch.long)
        with torch.no_grad():
            xt = sde.sample(y0, mu, steps, noise)
            out[t] = hole_psnr(sde.x0_from_noise(xt, mu, net(xt, mu, method.times[steps]), steps), y0, hole)
    return out


def reverse_psnr_from(method, image, mask, t_start: int, seed: int = 0) -> float:
    """Hole PSNR of IR-SDE's reverse process (`IRSDE.reverse`, Eq 2) run from x_{t_start} ~ q(· | x0)."""
    from inpaint_bench.diffusion.noise import per_sample_randn, sample_generators

    y0, mu, hole = unit_problem(image, mask)
    gens = sample_generators(seed, range(len(y0)))  # one per image, as the benchmark draws
    steps = torch.full((len(y0),), t_start, dtype=torch.long)
    with torch.no_grad():
        y = method.reverse(method.sde.sample(y0, mu, steps, per_sample_randn(y0.shape, gens)), mu, t_start, gens)
    return hole_psnr(y, y0, hole)


def main(argv=None) -> int:
    from inpaint_bench import methods
    from inpaint_bench.data import build_datamodule

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="tiny")
    p.add_argument("--method", default="irsde")
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--mask", default="center")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--reverse", action="store_true", help="also run the reverse process from the true x_t")
    a = p.parse_args(argv)
    method = methods.build(a.method, checkpoint=a.checkpoint).eval()
    dm = build_datamodule("shapes", size=a.size, mask=a.mask, limit=a.images, batch_size=a.images)
    batch = next(iter(dm.predict_dataloader()))  # the benchmark's own scenes and masks
    image, mask = batch["image"], batch["mask"]
    T = method.sde.T
    times = sorted({1, *range(max(1, T // 20), T + 1, max(1, T // 10)), T})
    for t, psnr in x0_psnr_by_t(method, image, mask, times).items():
        reverse = f"   reverse from x_t: {reverse_psnr_from(method, image, mask, t):6.2f} dB" if a.reverse else ""
        print(f"t = {t:4d}   x̂0 hole PSNR {psnr:6.2f} dB{reverse}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
