"""IR-SDE and StrDiffusion: the SDE's closed forms, Eq 4/10/24, the oracle sampler, Canny, Algorithm 1, training,
official key layouts."""

import math

import pytest
import torch
from conftest import random_batch

from inpaint_bench.diffusion import IRSDESchedule, irsde_thetas, structure_guided_target
from inpaint_bench.diffusion.noise import sample_generators
from inpaint_bench.methods.irsde import IRSDE, l1_weighted, to_unit, white_hole
from inpaint_bench.methods.strdiffusion import StrDiffusion, canny_edges, gray_image, resampling_decision
from inpaint_bench.nets.discriminator import DiscriminatorConfig, TimeDiscriminator
from inpaint_bench.nets.irsde_unet import ConditionalUNet, IRUNetConfig

SMALL = IRUNetConfig(3, 3, nf=8, depth=2, attn_heads=1, attn_dim_head=8)
SMALL_TEXTURE = IRUNetConfig(3, 3, nf=8, depth=2, guide_channels=1, attn_heads=1, attn_dim_head=8)
SMALL_STRUCTURE = IRUNetConfig(1, 1, nf=8, depth=2, attn_heads=1, attn_dim_head=8)
SMALL_D = {"nc": 4, "ngf": 4, "t_emb_dim": 16}


def untrained_strdiffusion(**kw):
    return StrDiffusion(checkpoint=None, structure_checkpoint=None, discriminator_checkpoint=None,
                        net=SMALL_TEXTURE.to_dict(), structure_net=SMALL_STRUCTURE.to_dict(),
                        discriminator_net=SMALL_D, **kw)


def test_theta_schedule_matches_the_official_definition():
    s = irsde_thetas(100)
    thetas, cumsum = s["thetas"], s["thetas_cumsum"]
    assert thetas.shape == cumsum.shape == s["sigmas"].shape == (101,)
    x = torch.arange(103, dtype=torch.float64)
    abar = torch.cos((x / 102 + 0.008) / 1.008 * math.pi / 2) ** 2
    assert torch.allclose(thetas, 1 - abar[1:-1] / abar[0])  # cosine over T + 2 points, both ends cut
    assert cumsum[0] == 0 and torch.allclose(cumsum[1:], torch.cumsum(thetas, 0)[1:] - thetas[0])
    assert math.exp(-cumsum[-1].item() * s["dt"]) == pytest.approx(0.005)  # mean fully reverted at T
    assert torch.allclose(s["sigmas"] ** 2, 2 * (30 / 255) ** 2 * thetas)  # σ_t² = 2λ²θ_t


@pytest.mark.parametrize("t", [150, 600, 1000])
def test_forward_closed_form_matches_an_euler_maruyama_simulation(t):
    sde = IRSDESchedule(T=1000)  # small steps: Euler–Maruyama's bias is ~1 %
    gen = torch.Generator().manual_seed(0)
    x0, mu = torch.full((40000,), 0.9), torch.full((40000,), 0.2)
    x = x0.clone()
    for s in range(1, t + 1):
        x = sde.forward_step(x, mu, s, torch.randn(x.shape, generator=gen))
    mean, std = sde.mean(x0, mu, t)[0].item(), sde.std(t, x0).item()
    assert x.mean().item() == pytest.approx(mean, abs=0.02 * abs(mean - 0.2) + 4 * std / 200)
    assert x.std().item() == pytest.approx(std, rel=0.03)


def test_optimal_reverse_state_is_the_gaussian_posterior_mode():
    """Eq 4 against a direct product of q(x_t | x_{t−1}) and q(x_{t−1} | x0)."""
    sde = IRSDESchedule(T=100)
    gen = torch.Generator().manual_seed(1)
    x0, mu, xt = (torch.rand(5, 3, 4, 4, generator=gen, dtype=torch.float64) for _ in range(3))
    t = torch.tensor([1, 2, 17, 50, 100])
    a = torch.exp(-sde.tables["thetas"][t] * sde.dt).view(-1, 1, 1, 1)  # one step: x_t = μ + a(x_{t−1} − μ) + …
    lam2 = sde.max_sigma**2
    var_step = lam2 * (1 - a**2)
    prior_mean, prior_var = sde.mean(x0, mu, t - 1), sde.std(t - 1, x0) ** 2
    # maximise N(x_t; μ + a(x − μ), var_step) · N(x; prior_mean, prior_var) over x
    precision = a**2 / var_step + 1 / prior_var.clamp_min(1e-30)
    mode = (a * (xt - mu + a * mu) / var_step + prior_mean / prior_var.clamp_min(1e-30)) / precision
    mode = torch.where(t.view(-1, 1, 1, 1) == 1, x0, mode)  # t − 1 = 0: the prior is a point mass at x0
    assert torch.allclose(sde.optimal_reverse(xt, x0, mu, t), mode, atol=1e-9)


def test_eq24_equals_eq20_with_the_optimal_structure_state():
    """The supplement's algebra: Eq 20 with x*_{t−1} from Eq 21 simplifies to Eq 24."""
    texture, structure = IRSDESchedule(T=100), IRSDESchedule(T=100, schedule="linear")
    gen = torch.Generator().manual_seed(2)
    x0, mu_x, xt = (torch.rand(4, 1, 6, 6, generator=gen) for _ in range(3))
    y0, mu_y = (torch.rand(4, 3, 6, 6, generator=gen) for _ in range(2))
    t = torch.tensor([2, 10, 60, 100])
    x_star = structure.optimal_reverse(xt, x0, mu_x, t)  # Eq 21
    theta_before = texture.decay(t - 1, y0)
    delta_before = structure.decay(t - 1, x0)
    eq20 = ((1 - theta_before**2) * (x_star - mu_x) / (1 - delta_before**2)
            - (1 - theta_before**2) * delta_before * (x0 - mu_x) / (1 - delta_before**2)
            + theta_before * (y0 - mu_y) + mu_y)
    assert torch.allclose(structure_guided_target(texture, structure, xt, x0, mu_x, y0, mu_y, t), eq20, atol=1e-5)


class Oracle(torch.nn.Module):
    """ε(x_t, μ, t) = the true noise of x_t given the clean x0: the reverse SDE must then land on x0."""

    def __init__(self, sde, x0):
        super().__init__()
        self.sde, self.x0, self.calls = sde, x0, 0

    def forward(self, xt, mu, t, guide=None):
        self.calls += 1
        t = int(t.reshape(-1)[0])
        return (xt - self.sde.mean(self.x0, mu, t)) / self.sde.std(t, xt)


def test_irsde_with_an_oracle_network_recovers_the_image():
    image, mask = random_batch()
    method = IRSDE(checkpoint=None, net=SMALL.to_dict(), T=100)
    method.net = Oracle(method.sde, to_unit(image, mask)[0])
    out = method.inpaint(image * (1 - mask), mask, sample_generators(0, ["a", "b"]))
    hole = mask.expand_as(out).bool()
    assert (out - image)[hole].abs().mean() < 0.02
    assert method.nfe == 100 == method.net.calls


def test_strdiffusion_with_oracle_networks_recovers_the_image_and_counts_resampling_nfe():
    image, mask = random_batch()
    method = untrained_strdiffusion(T=40, jump=3, re=2, u_max=4, u_min=4)  # i < u_min always: accept or average
    y0, keep = to_unit(image, mask)
    method.net = Oracle(method.sde, y0)
    method.structure_net = Oracle(method.structure_sde, gray_image(y0))  # gray → edges: x₀ is the gray image
    out = method.inpaint(image * (1 - mask), mask, sample_generators(0, ["a", "b"]))
    assert (out - image)[mask.expand_as(out).bool()].abs().mean() < 0.03
    boundary = int(0.4 * 40)
    resampled = [t for t in range(40, boundary - 1, -1) if method.resampling_at(t)]
    assert resampled == [39, 36, 33, 30, 27, 24, 21, 18]  # t % jump == 0 in the early stage [int(0.4T), T]
    extra = sum((min(2, 40 - t + 1) + 1) * 3 for t in resampled)  # (re structure + 1 texture) × (u_max − 1)
    assert method.nfe == 2 * (40 - boundary + 1) + (boundary - 1) + extra == method.net.calls + method.structure_net.calls
    assert method.structure_net.calls == (40 - boundary + 1) + sum(min(2, 41 - t) * 3 for t in resampled)
    assert method.aux_nfe == {"discriminator": 4 * len(resampled)}  # Δ and one score per iteration


def test_resampling_off_costs_the_official_count():
    image, mask = random_batch()
    method = untrained_strdiffusion(T=10, resampling=False)
    method.inpaint(image * (1 - mask), mask)
    assert method.nfe == 2 * (0.6 * 10 + 1) + (0.4 * 10 - 1) and method.discriminator_evals == 0


@pytest.mark.parametrize("rule", ["official", "paper"])
def test_resampling_decisions_follow_the_accept_rule(rule):
    better = torch.tensor([True, False])
    accept, average = resampling_decision(rule, 1, 3, better)  # an early iteration (i < u_min)
    assert accept.tolist() == [True, False]
    assert average.tolist() == ([False, True] if rule == "official" else [False, False])  # else: stop
    accept, average = resampling_decision(rule, 3, 3, better)  # i ≥ u_min: a worse pair stops
    assert accept.tolist() == [True, False] and average.tolist() == [False, False]


def test_strdiffusion_images_do_not_depend_on_their_batch():
    image, mask = random_batch()
    torch.manual_seed(3)
    method = untrained_strdiffusion(T=8, jump=2, re=1, u_max=4, u_min=2, early_stage=0.25)
    both = method.inpaint(image * (1 - mask), mask, sample_generators(0, ["a", "b"]))
    nfe_both = method.nfe
    one = method.inpaint(image[1:] * (1 - mask[1:]), mask[1:], sample_generators(0, ["b"]))
    assert torch.allclose(both[1:], one, atol=1e-5)
    assert nfe_both >= method.nfe > 16


def test_canny_edges_of_a_square_lie_on_its_outline():
    for size in (256, 64):
        image = torch.zeros(1, 3, size, size)
        lo, hi = size // 4, 3 * size // 4
        image[:, :, lo:hi, lo:hi] = 1
        edges = canny_edges(gray_image(image), sigma=3.0)[0, 0]
        assert set(edges.unique().tolist()) == {0.0, 1.0}
        ys, xs = torch.nonzero(edges, as_tuple=True)
        dist = torch.minimum(torch.minimum((ys - lo).abs(), (ys - hi + 1).abs()),
                             torch.minimum((xs - lo).abs(), (xs - hi + 1).abs()))
        inside = (ys >= lo - 2) & (ys <= hi + 1) & (xs >= lo - 2) & (xs <= hi + 1)
        assert bool((dist <= 1).all() and inside.all())  # every edge pixel on the outline
        assert len(ys) >= 0.8 * 4 * (hi - lo)  # and the outline is (nearly) closed
    assert canny_edges(gray_image(torch.full((1, 3, 64, 64), 0.5)), 3.0).sum() == 0  # flat: no structure


def test_sampling_edges_come_from_known_pixels_only():
    image, mask = random_batch(1, 64)
    flat = torch.full_like(image, 0.3)
    y0, keep = to_unit(flat * (1 - mask), mask)  # the runner zeroes the hole
    method = untrained_strdiffusion()
    gray, mu_x = method.structures(y0, keep, training=False)
    assert mu_x.sum() == 0  # no false edge along the hole border
    assert canny_edges(gray_image(y0), 2.0).sum() > 0  # which the unmasked detector would report
    assert torch.equal(gray, gray_image(y0) * keep)
    with pytest.raises(ValueError, match="early_stage"):
        untrained_strdiffusion(T=10, early_stage=0.05)


def _losses_after(method, loss_fn, opt, steps):
    before = loss_fn()
    for _ in range(steps):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return before.item(), loss_fn().item()


def test_irsde_and_strdiffusion_losses_decrease_on_tiny_data():
    image, mask = random_batch()
    y0, keep = to_unit(image, mask)
    steps = torch.tensor([30, 70])
    irsde = IRSDE(checkpoint=None, net=SMALL.to_dict())

    def irsde_loss():
        torch.manual_seed(0)
        return irsde.texture_loss(y0, keep, steps)

    before, after = _losses_after(irsde, irsde_loss, torch.optim.Adam(irsde.net.parameters(), 3e-3), 60)
    assert after < 0.9 * before

    strd = untrained_strdiffusion(target="eq4")  # Eq 24's target is checked by its algebra above
    for k, net in ((0, strd.structure_net), (1, strd.net)):  # Eq 10 structure loss, Eq 13 texture loss

        def str_loss(k=k):
            torch.manual_seed(0)
            return strd.losses(y0, keep, steps)[k]

        before, after = _losses_after(strd, str_loss, torch.optim.Adam(net.parameters(), 3e-3), 60)
        assert after < 0.9 * before, k


def test_matching_loss_weights_the_hole_ten_times():
    pred, target = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    keep = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # one known pixel, three hole pixels
    assert l1_weighted(pred, target, keep, hole_weight=10.0).item() == pytest.approx((1 + 3 * 10) / 4)
    assert white_hole(torch.zeros(1, 3, 2, 2), keep)[0, :, 1, 1].tolist() == [1.0, 1.0, 1.0]  # IR-SDE only
    strd = untrained_strdiffusion()
    assert strd.hparams.hole_weight == 10.0


def _official_state(model, gen):
    return {f"module.{k}": torch.randn(v.shape, generator=gen) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("official", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_official_checkpoint_layouts_load(tmp_path, official):
    """Random state dicts with the official key layout (DataParallel `module.` prefix, .pth) load into the method."""
    gen = torch.Generator().manual_seed(0)
    texture = IRUNetConfig.official_texture() if official else SMALL_TEXTURE
    structure = IRUNetConfig.official_structure() if official else SMALL_STRUCTURE
    d_config = DiscriminatorConfig() if official else DiscriminatorConfig(**SMALL_D)
    files = {}
    for name, model in (("texture", ConditionalUNet(texture)), ("structure", ConditionalUNet(structure)),
                        ("discriminator", TimeDiscriminator(d_config))):
        files[name] = (tmp_path / f"{name}.pth", _official_state(model, gen))
        torch.save(files[name][1], files[name][0])
    extra = {} if official else {"net": texture.to_dict(), "structure_net": structure.to_dict(),
                                 "discriminator_net": d_config.to_dict()}
    method = StrDiffusion(checkpoint=files["texture"][0], structure_checkpoint=files["structure"][0],
                          discriminator_checkpoint=files["discriminator"][0], T=400, **extra)
    for name, net in (("texture", method.net), ("structure", method.structure_net),
                      ("discriminator", method.discriminator)):
        state = net.state_dict()
        assert all(torch.equal(state[k.removeprefix("module.")], v) for k, v in files[name][1].items())
    assert method.resampling == {"jump": 5, "re": 5, "u_max": 6, "u_min": 3}  # the official T = 400 row


def test_official_key_names():
    """Key names of the official StrDiffusion/IR-SDE networks (built on the meta device: no memory)."""
    with torch.device("meta"):
        texture = ConditionalUNet(IRUNetConfig.official_texture()).state_dict()
        structure = ConditionalUNet(IRUNetConfig.official_structure()).state_dict()
        d = TimeDiscriminator().state_dict()
    for key, shape in {"init_conv.weight": (64, 6, 7, 7), "time_mlp.1.weight": (256, 64),
                       "downs.0.0.mlp.1.weight": (128, 256), "downs.0.2.fn.fn.to_qkv.weight": (384, 64, 1, 1),
                       "downs.0.2.fn.norm.g": (1, 64, 1, 1), "downs.0.3.weight": (128, 64, 4, 4),
                       "downs.0.4.conv_0.weight_orig": (128, 128, 3, 3), "downs.0.4.conv_0.weight_u": (128,),
                       "downs.3.4.norm_1.mlp_gamma.weight": (1024, 16, 3, 3),
                       "downs.0.4.norm_0.mlp_shared.0.weight": (16, 1, 3, 3), "mid_attn.fn.fn.to_out.1.g":
                       (1, 1024, 1, 1), "ups.0.3.1.weight": (512, 1024, 3, 3), "ups.1.3.1.weight": (256, 512, 3, 3),
                       "ups.3.3.weight": (64, 128, 3, 3),
                       "final_res_block.res_conv.weight": (64, 128, 1, 1), "final_conv.weight": (3, 64, 3, 3)}.items():
        assert tuple(texture[key].shape) == shape, key
    assert tuple(structure["init_conv.weight"].shape) == (64, 2, 7, 7) and "downs.0.4.conv_0.bias" not in structure
    for key, shape in {"t_embed.main.0.weight": (256, 256), "start_conv.weight": (128, 4, 1, 1),
                       "conv2.conv1.0.weight": (256, 128, 3, 3), "conv2.dense_t1.weight": (256, 256),
                       "conv4.skip.0.weight": (512, 512, 1, 1), "final_conv.weight": (512, 513, 3, 3),
                       "end_linear.weight": (1, 512)}.items():
        assert tuple(d[key].shape) == shape, key


def test_checkpoint_trained_for_another_T_is_refused(tmp_path):
    method = IRSDE(checkpoint=None, net=SMALL.to_dict(), T=20)
    path = method.export_weights(tmp_path, tiny=False, meta={})
    assert IRSDE(checkpoint=path, T=20).net.config == SMALL
    with pytest.raises(ValueError, match="trained with T = 20"):
        IRSDE(checkpoint=path, T=100)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        IRSDE(checkpoint=tmp_path / "missing.pth")


def test_strdiffusion_exports_three_networks_that_load_back(tmp_path):
    method = untrained_strdiffusion(T=20)
    method.export_weights(tmp_path, tiny=False, meta={})
    back = StrDiffusion(checkpoint=tmp_path / "strdiffusion.safetensors", T=20,
                        structure_checkpoint=tmp_path / "strdiffusion_structure.safetensors",
                        discriminator_checkpoint=tmp_path / "strdiffusion_discriminator.safetensors")
    for a, b in ((method.net, back.net), (method.structure_net, back.structure_net),
                 (method.discriminator, back.discriminator)):
        assert a.config == b.config
        assert all(torch.equal(v.half().float(), b.state_dict()[k]) for k, v in a.state_dict().items())


def test_a_strdiffusion_warm_start_fills_all_three_networks_and_both_emas(tmp_path):
    """`train --init`: a new stage of training starts from every exported network, not only the texture UNet
    (a fresh structure net or discriminator would undo what the earlier stage learned)."""
    from inpaint_bench.bench.train import warm_start

    trained = untrained_strdiffusion(T=20)
    trained.export_weights(tmp_path, tiny=False, meta={"method": "strdiffusion"})
    torch.manual_seed(1)  # a different random start: nothing matches by chance
    fresh = untrained_strdiffusion(T=20)
    pairs = ((trained.net, fresh.net), (trained.structure_net, fresh.structure_net),
             (trained.discriminator, fresh.discriminator), (trained.net, fresh.ema.module),
             (trained.structure_net, fresh.structure_ema.module))

    def same(a, b):
        return all(torch.equal(v.half().float(), b.state_dict()[k]) for k, v in a.state_dict().items())

    assert not any(same(a, b) for a, b in pairs)
    warm_start(fresh, str(tmp_path / "strdiffusion.safetensors"))
    assert all(same(a, b) for a, b in pairs)
    (tmp_path / "strdiffusion_discriminator.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="discriminator"):
        warm_start(untrained_strdiffusion(T=20), str(tmp_path / "strdiffusion.safetensors"))


def test_ema_follows_the_ema_pytorch_rule():
    from inpaint_bench.methods.ema import ema_pytorch_update, make_ema

    net = torch.nn.Linear(2, 1, bias=False)
    ema = make_ema(net, 0.995)
    with torch.no_grad():
        net.weight.fill_(1.0)
        ema.module.weight.fill_(0.0)
    ema_pytorch_update(ema, net, 105, 0.995)  # not a multiple of update_every = 10: untouched
    assert ema.module.weight.eq(0).all()
    ema_pytorch_update(ema, net, 50, 0.995)  # before update_after_step = 100: a copy
    assert ema.module.weight.eq(1).all()
    with torch.no_grad():
        ema.module.weight.fill_(0.0)
    ema_pytorch_update(ema, net, 110, 0.995)  # warm-up decay 1 − (1 + 9)^(−2/3) ≈ 0.785
    decay = 1 - 10 ** (-2 / 3)
    assert torch.allclose(ema.module.weight, torch.full_like(net.weight, 1 - decay))
    with torch.no_grad():
        ema.module.weight.fill_(0.0)
    ema_pytorch_update(ema, net, 100_000, 0.995)  # late: capped at beta
    assert torch.allclose(ema.module.weight, torch.full_like(net.weight, 0.005))


def test_x0_from_noise_inverts_the_forward_marginal():
    """Given the true noise, x̂0 recovers x0 exactly at every t (the marginal solved for x0); a wrong noise
    estimate is amplified by σ̄_t / e^{−θ̄_t dt}, largest at T."""
    sde = IRSDESchedule(T=100)
    gen = torch.Generator().manual_seed(0)
    x0, mu, noise = (torch.rand(4, 3, 8, 8, generator=gen) for _ in range(3))
    t = torch.tensor([1, 30, 70, 100])
    xt = sde.sample(x0, mu, t, noise)
    assert torch.allclose(sde.x0_from_noise(xt, mu, noise, t), x0, atol=1e-4)
    gain = (sde.x0_from_noise(xt, mu, noise + 0.01, t) - x0).abs().flatten(1).mean(1) / 0.01
    expected = (sde.std(t, xt) / sde.decay(t, xt)).flatten()
    assert torch.allclose(gain, expected, rtol=1e-3)
    assert gain[-1] > 20 > gain[0]


def test_a_texture_only_run_leaves_the_structure_net_and_discriminator_as_loaded(tmp_path):
    """`train_networks: [texture]` (upstream trains the three networks in three runs): the structure net and the
    discriminator come out exactly as they went in, the texture network moves, and Lightning still counts three
    optimiser steps per batch (so `--max-steps` means batches, as in a run that trains all three)."""
    from inpaint_bench.bench.train import lightning_checkpoint_types, train
    from inpaint_bench.nets.checkpoints import read_state

    untrained_strdiffusion(T=10).export_weights(tmp_path / "start", tiny=False, meta={"method": "strdiffusion"})
    start = tmp_path / "start" / "strdiffusion.safetensors"
    config = {"T": 10, "net": SMALL_TEXTURE.to_dict(), "structure_net": SMALL_STRUCTURE.to_dict(),
              "discriminator_net": SMALL_D}
    common = dict(dataset="shapes", mask="center", batch_size=2, size=32, accelerator="cpu", devices=1, lr=1e-2,
                  max_steps=2, init=str(start))
    trained = {}
    for run, only in (("texture", ["texture"]), ("all", None)):
        extra = {"train_networks": only} if only else {}
        train("strdiffusion", out=tmp_path / run, method_config={**config, **extra}, **common)
        with lightning_checkpoint_types():
            state = torch.load(tmp_path / run / "strdiffusion" / "checkpoints" / "last.ckpt", weights_only=True)
        assert state["global_step"] == 6
        trained[run] = state["state_dict"]

    def unmoved(run, module, role):
        loaded = read_state(start.with_name(f"strdiffusion{role}.safetensors"))
        return all(torch.equal(trained[run][f"{module}.{k}"], v.float()) for k, v in loaded.items())

    roles = (("net", ""), ("structure_net", "_structure"), ("discriminator", "_discriminator"))
    assert [unmoved("texture", *role) for role in roles] == [False, True, True]
    assert [unmoved("all", *role) for role in roles] == [False, False, False]
    with pytest.raises(ValueError, match="train_networks"):
        untrained_strdiffusion(train_networks=["texture", "edges"])
