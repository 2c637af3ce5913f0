"""RePaint, DDNM and IS-Diff: jump schedule, oracle recovery, the range–null-space constraint, IS-Diff's logic."""

import math

import pytest
import torch
from conftest import random_batch

from inpaint_bench.diffusion import gaussian as G
from inpaint_bench.diffusion import repaint_jump_schedule
from inpaint_bench.diffusion.noise import sample_generators
from inpaint_bench.methods import isdiff as isdiff_module
from inpaint_bench.methods.ddnm import DDNM
from inpaint_bench.methods.ddpm_prior import load_prior_net
from inpaint_bench.methods.isdiff import dce, gmm_seed, isdiff_ddnm, isdiff_repaint
from inpaint_bench.methods.repaint import RePaint
from inpaint_bench.nets.ddpm_unet import DDPMConfig, DDPMUNet


def batch(n=2, size=32, seed=0):
    return random_batch(n, size, seed)


def oracle(method, x0):
    method.model_out = lambda x, t, s, labels=None: (G.eps_from_x0(x, x0, s.abar(t)), None)
    return method


def test_jump_schedule_matches_the_official_pattern():
    assert repaint_jump_schedule(10, 5, 2) == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, -1]
    ts = repaint_jump_schedule(250, 10, 10)
    down = sum(b == a - 1 for a, b in zip(ts, ts[1:], strict=False))
    up = sum(b == a + 1 for a, b in zip(ts, ts[1:], strict=False))
    assert (len(ts), down, up, ts[0], ts[-1]) == (4571, 2410, 2160, 249, -1)
    assert all(abs(b - a) == 1 for a, b in zip(ts, ts[1:], strict=False))


@pytest.mark.parametrize("make", [
    lambda: RePaint(checkpoint=None, t_T=50, jump_length=5, jump_n_sample=3),
    lambda: RePaint(checkpoint=None, sampler="ddim", ddim_steps=25, jump_n_sample=1),
    lambda: RePaint(checkpoint=None, sampler="ddim", ddim_steps=25, jump_length=3, jump_n_sample=2),
    lambda: DDNM(checkpoint=None, steps=25),
    lambda: DDNM(checkpoint=None, steps=25, update="ddim", jump_length=3, jump_n_sample=2),
])
def test_oracle_network_recovers_x0(make):
    x0, mask = batch()
    method = oracle(make(), x0)
    out = method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "ab"))
    assert (out - x0).abs().max() < 1e-5 and method.nfe > 0


@pytest.mark.parametrize("update", ["svd", "simplified", "ddim"])
def test_ddnm_output_satisfies_the_measurement(update):
    torch.manual_seed(0)
    method = DDNM(checkpoint=None, steps=10, update=update)
    torch.nn.init.normal_(method.net.out[2].weight, std=0.05)  # a network that says something
    x0, mask = batch()
    image = x0 * (1 - mask)
    out = method.inpaint(image, mask, sample_generators(0, "ab"))
    keep = 1 - mask
    assert torch.allclose(keep * out, keep * image, atol=1e-5)  # A x = y
    assert (mask * (out - x0)).abs().mean() > 0.05  # and the hole is the network's, not the truth


def test_repaint_injects_the_known_region_before_every_step():
    torch.manual_seed(0)
    method = RePaint(checkpoint=None, t_T=20, jump_length=5, jump_n_sample=2)
    x0, mask = batch()
    seen = []
    original = method.model_out

    def spy(x, t, s, labels=None):
        seen.append((t, x.clone()))
        return original(x, t, s, labels)

    method.model_out = spy
    method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "ab"))
    keep = 1 - mask
    for t, x in seen:
        # known pixels = √ᾱ_t x0 + √(1−ᾱ_t) z, so their distance to √ᾱ_t x0 is a (6σ-bounded) draw of √(1−ᾱ_t) z
        bound = 6 * (1 - method.sched.abar(t)) ** 0.5 + 1e-6
        assert (keep * (x - method.sched.abar(t) ** 0.5 * x0)).abs().max() < bound
    assert len(seen) == method.nfe == sum(b == a - 1 for a, b in zip(method.times, method.times[1:], strict=False))


def test_gmm_seed_matches_known_region_statistics():
    g = torch.Generator().manual_seed(0)
    colours = torch.tensor([[0.6, -0.2, 0.1], [-0.5, 0.4, -0.3]])
    pick = torch.randint(0, 2, (1, 64, 64), generator=g)
    image = colours[pick].permute(0, 3, 1, 2) + 0.05 * torch.randn(1, 3, 64, 64, generator=g)
    mask = torch.zeros(1, 1, 64, 64)
    mask[:, :, 16:48, 16:48] = 1
    seed = gmm_seed(image, mask, 3, 0.0, sample_generators(0, "a"))
    hole = seed[0][:, mask[0, 0].bool()]
    known = image[0][:, ~mask[0, 0].bool()]
    assert torch.allclose(hole.mean(1), known.mean(1), atol=0.05)
    assert torch.allclose(hole.std(1), known.std(1), atol=0.05)
    assert torch.equal(seed[:, :, :16], image[:, :, :16])  # known pixels untouched


def test_dce_is_low_for_matching_histograms():
    x0, mask = batch(1, 64)
    same = dce(x0, mask)
    flat = x0.clone()
    flat[mask.expand_as(flat).bool()] = 0.9  # a constant hole: its histogram misses the known colours
    assert dce(flat, mask) > same + 1


def test_isdiff_attempts_follow_the_threshold_and_keep_the_lowest_dce(monkeypatch):
    x0, mask = batch(1)
    image = x0 * (1 - mask)
    once = isdiff_ddnm(checkpoint=None, dce_threshold=float("inf"))
    oracle(once.base, x0)
    once.inpaint(image, mask, sample_generators(0, "a"))
    assert once.attempts == 1
    scores = iter([5.0, 3.0, 4.0])
    monkeypatch.setattr(isdiff_module, "dce", lambda x0, mask, bins, features: torch.tensor([next(scores)], dtype=torch.float64))
    method = isdiff_repaint(checkpoint=None, dce_threshold=float("-inf"), max_attempts=3)
    oracle(method.base, x0)
    calls = []
    sample = method.base.sample

    def spy(x, times, *args, **kwargs):
        out = sample(x, times, *args, **kwargs)
        calls.append((x.clone(), out[0].clone()))
        return out

    method.base.sample = spy
    method.inpaint(image, mask, sample_generators(0, "a"))
    assert method.attempts == 3 and method.last_dce.item() == 3.0
    assert torch.equal(calls[-1][0], calls[1][1])  # the final pass starts from attempt 2's state at t_c
    # each retry starts with less noise (t_s moves down by t_step, on the DDIM grid), never up
    starts = method.attempt_starts
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == 3
    assert [method.snap(400 - k * 50) for k in range(3)] == starts
    with pytest.raises(ValueError, match="t_check"):
        isdiff_ddnm(checkpoint=None, t_start=400, t_check=300, t_step=100, max_attempts=3)


@pytest.mark.parametrize("make", [isdiff_repaint, isdiff_ddnm])
def test_isdiff_diffuses_its_seed_to_t_start_and_samples_from_there(make, monkeypatch):
    """The first base call starts at t_s (snapped to the DDIM grid), from x_{t_s} ~ q(x_{t_s} | seed):
    (x − √ᾱ_{t_s} seed)/√(1 − ᾱ_{t_s}) is standard normal. (With an oracle network x̂0 ≡ x0, the level the
    seed was diffused to would not show in the output.)"""
    x0, mask = batch(2)
    method = make(checkpoint=None, dce_threshold=float("inf"))
    seeds, calls = [], []
    real_seed, sample = isdiff_module.gmm_seed, method.base.sample
    monkeypatch.setattr(isdiff_module, "gmm_seed", lambda *a, **k: seeds.append(real_seed(*a, **k)) or seeds[-1])

    def spy(x, times, *args, **kwargs):
        calls.append((x.clone(), list(times)))
        return sample(x, times, *args, **kwargs)

    method.base.sample = spy
    method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "ab"))
    t_s = method.snap(method.t_start)
    start, times = calls[0]
    assert times[0] == t_s and t_s > method.snap(method.t_check)
    abar = method.base.schedule.abar(t_s)
    z = (start - abar**0.5 * seeds[0]) / (1 - abar) ** 0.5
    assert abs(z.mean().item()) < 0.05 and abs(z.std().item() - 1) < 0.05


def test_isdiff_costs_at_most_a_fifth_of_repaint():
    repaint_nfe = sum(b == a - 1 for a, b in zip(RePaint(checkpoint=None).times, RePaint(checkpoint=None).times[1:], strict=False))
    x0, mask = batch(1)
    worst = oracle(isdiff_repaint(checkpoint=None, dce_threshold=float("-inf")).base, x0)
    method = isdiff_repaint(checkpoint=None, dce_threshold=float("-inf"))
    method.base = worst
    method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    assert method.attempts == 3 and method.nfe <= 0.2 * repaint_nfe  # even when every retry is taken


def test_official_prior_layouts_load(tmp_path):
    with torch.device("meta"):
        official = set(DDPMUNet(DDPMConfig.celeba_hq()).state_dict())
    small = DDPMConfig(resolution=64, ch=32, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attn_resolutions=(4,))
    ref = DDPMUNet(small)
    assert set(ref.state_dict()) == official  # same names as DDNM's celeba_hq.ckpt
    torch.save(ref.state_dict(), tmp_path / "celeba_hq.ckpt")
    net = load_prior_net(tmp_path / "celeba_hq.ckpt", "ddpm", small.to_dict())
    assert torch.equal(net.up[4].attn[0].q.weight, ref.up[4].attn[0].q.weight)
    from test_unet_checkpoints import SMALL_ADM

    from inpaint_bench.nets.unet import UNetModel

    adm = UNetModel(SMALL_ADM).state_dict()  # learned σ: 6 output channels, as RePaint's checkpoints
    torch.save(adm, tmp_path / "places256_300000.pt")
    prior = RePaint(checkpoint=str(tmp_path / "places256_300000.pt"), net=SMALL_ADM.to_dict(), t_T=10,
                    jump_n_sample=1)
    assert prior.net.out[2].weight.shape[0] == 6
    x0, mask = batch(1, 64)
    assert torch.isfinite(prior.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))).all()


def test_ddnm_update_rules_follow_their_formulas():
    x0, eps, z = torch.ones(3), torch.full((3,), 0.5), torch.full((3,), -1.0)
    a_next, eta = 0.5, 0.85
    # official simplified path: √ᾱ' x0 + √(1−ᾱ'²)(√(1−ᾱ') η z + √(1−ᾱ') √(1−η²) ε)
    gamma, c = (1 - a_next**2) ** 0.5, (1 - a_next) ** 0.5
    repo = a_next**0.5 * 1 + gamma * (c * eta * -1 + c * (1 - eta**2) ** 0.5 * 0.5)
    assert torch.allclose(G.ddnm_repo_step(x0, eps, a_next, eta, z), torch.full((3,), repo))
    sigma = eta * ((1 - a_next) / (1 - 0.3)) ** 0.5 * (1 - 0.3 / a_next) ** 0.5
    ddim = a_next**0.5 + (1 - a_next - sigma**2) ** 0.5 * 0.5 - sigma
    assert torch.allclose(G.ddim_step(x0, eps, 0.3, a_next, eta, z), torch.full((3,), ddim))
    # and the method really switches between them
    torch.manual_seed(0)
    a, b = DDNM(checkpoint=None, steps=10, update="simplified"), DDNM(checkpoint=None, steps=10, update="ddim")
    torch.nn.init.normal_(a.net.out[2].weight, std=0.05)
    b.net.load_state_dict(a.net.state_dict())
    x, mask = batch()
    out_a = a.inpaint(x * (1 - mask), mask, sample_generators(0, "ab"))
    out_b = b.inpaint(x * (1 - mask), mask, sample_generators(0, "ab"))
    assert not torch.allclose(out_a, out_b)


def test_renoise_has_the_forward_marginal():
    """Diffusing x_t ~ q(x_t | x0) up to level u in one draw gives q(x_u | x0) = N(√ᾱ_u x0, 1 − ᾱ_u)."""
    torch.manual_seed(0)
    n, x0, abar_t, abar_u = 200_000, 0.6, 0.8, 0.3
    x_t = G.q_sample(torch.full((n,), x0), abar_t, torch.randn(n))
    x_u = G.renoise(x_t, abar_t, abar_u, torch.randn(n))
    assert x_u.mean().item() == pytest.approx(abar_u**0.5 * x0, abs=0.01)
    assert x_u.std().item() == pytest.approx((1 - abar_u) ** 0.5, rel=0.01)


@pytest.mark.parametrize("update, hole_std", [("svd", 0.418), ("simplified", 0.100), ("ddim", 0.472)])
def test_ddnm_update_rules_on_gaussian_data_with_a_known_answer(update, hole_std):
    """Every pixel i.i.d. N(0, 0.5²) and the exact ε-posterior mean as the network: the correct hole std is 0.50.
    The official SVD update (the paper's evaluation path) gives 0.418, the simplified demo path 0.100 and textbook
    DDIM 0.472 (η = 0.85, 100 steps), as measured with the official code; a swapped rule lands elsewhere."""
    s2 = 0.25
    method = DDNM(checkpoint=None, steps=100, eta=0.85, update=update)
    method.model_out = lambda x, t, s, labels=None: ((1 - s.abar(t)) ** 0.5 * x / (s.abar(t) * s2 + 1 - s.abar(t)), None)
    g = torch.Generator().manual_seed(0)
    image = torch.randn(4, 3, 32, 32, generator=g) * s2**0.5
    mask = torch.ones(4, 1, 32, 32)
    mask[..., :2, :2] = 0  # a few known pixels: the hole is (almost) the whole image
    out = method.inpaint(image * (1 - mask), mask, sample_generators(0, "abcd"))
    assert out[mask.expand_as(out).bool()].std().item() == pytest.approx(hole_std, abs=0.012)


def test_ddim_steps_as_ddnm_builds_them():
    from inpaint_bench.methods.ddpm_prior import ddim_times

    thirty = ddim_times(1000, 30)
    assert thirty[0] == 957 and len(thirty) == 31 and thirty[-1] == -1  # 30 steps from 29·33, then −1
    assert ddim_times(1000, 100)[:2] == [990, 980] and len(ddim_times(1000, 100)) == 101


@pytest.mark.parametrize("make", [isdiff_repaint, isdiff_ddnm])
def test_isdiff_checks_dce_on_the_estimate_the_base_would_form(make, monkeypatch):
    """The base forms x̂0 at t_c its own way (RePaint: the known region injected before the network call; DDNM:
    the projected x̂0), and DCE scores the inpainting result: that x̂0 in the hole, the input outside, on both."""
    x0, mask = batch(1)
    method = make(checkpoint=None, dce_threshold=float("inf"))  # one attempt
    torch.nn.init.normal_(method.base.net.out[2].weight, std=0.05)  # ε ≠ 0
    scored, calls, states, estimates = [], [], [], []
    monkeypatch.setattr(isdiff_module, "dce", lambda x0, mask, bins, features: scored.append(x0) or torch.zeros(len(x0)))
    model_out, sample, checkpoint_x0 = method.base.model_out, method.base.sample, method.base.checkpoint_x0

    def spy_model(x, t, s, labels=None):
        calls.append((x.clone(), t))
        return model_out(x, t, s, labels)

    def spy_sample(x, times, *args, **kwargs):
        out = sample(x, times, *args, **kwargs)
        states.append(out[0].clone())
        return out

    def spy_estimate(*args, **kwargs):
        estimates.append(checkpoint_x0(*args, **kwargs))
        return estimates[-1]

    method.base.model_out, method.base.sample, method.base.checkpoint_x0 = spy_model, spy_sample, spy_estimate
    method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    t_check = method.snap(method.t_check)
    dce_input = next(x for x, t in calls if t == t_check)  # the segment stops at t_c; the DCE call is the first
    keep = (1 - mask).expand_as(x0).bool()
    assert torch.equal(scored[0][keep], x0[keep])  # the input outside the hole, on both bases
    assert torch.equal(scored[0][~keep], estimates[0][~keep])  # the base's estimate inside
    if make is isdiff_ddnm:
        assert torch.equal(dce_input, states[0])  # DDNM's x̂0 comes from x_t itself
    else:
        changed = (dce_input - states[0]).abs()
        assert changed[~keep].max() == 0 and changed[keep].max() > 0  # injected, in the known region only
        assert (estimates[0][keep] - x0[keep]).abs().max() > 1e-3  # RePaint's own x̂0 would not be the input


def test_dce_is_the_cross_entropy_of_the_known_histogram_under_the_hole_histogram():
    """H(p_known, p_hole), not the reverse: a known region of two grey levels 50/50 and a hole of one of them
    scores −½ log(1 + ε) − ½ log ε (≈ 6.9 nats); the other direction would be log 2."""
    x = torch.full((1, 3, 8, 8), -1.0)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 4:] = 1  # right half is the hole: all −1
    x[..., 0:4:2, :4] = 1.0  # the known left half: rows alternate +1 / −1 … half of its pixels at +1
    x[..., 4:8:2, :4] = 1.0
    score = dce(x, mask, bins=8, features="intensity").item()
    eps = 1e-6
    assert abs(score - (-0.5 * math.log(1 + eps) - 0.5 * math.log(eps))) < 1e-6


def test_dce_texture_term_tells_apart_holes_with_the_same_colours_in_another_texture():
    """Known region: a 1-pixel checkerboard of two colours. Hole A: the same checkerboard; hole B: the same two
    colours in large blocks. Intensity histograms agree for both (50/50), so intensity-only DCE cannot tell them
    apart; the LBP texture histogram can."""
    size = 32
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    fine = ((yy + xx) % 2).float() * 1.6 - 0.8
    blocks = (((yy // 8) + (xx // 8)) % 2).float() * 1.6 - 0.8
    mask = torch.zeros(1, 1, size, size)
    mask[..., 8:24, 8:24] = 1
    same = fine.expand(1, 3, size, size).clone()
    other = torch.where(mask.bool(), blocks, fine).expand(1, 3, size, size).clone()
    intensity = [dce(x, mask, features="intensity").item() for x in (same, other)]
    both = [dce(x, mask).item() for x in (same, other)]
    assert abs(intensity[0] - intensity[1]) < 0.05
    assert both[1] > both[0] + 1.0


def test_isdiff_refuses_a_t_step_the_ddim_grid_snaps_back_and_lists_its_starts():
    """DDIM-10 steps are 100 apart: t_step 40 snaps 400 − 40 back to 400, so every retry would repeat the start."""
    with pytest.raises(ValueError, match="does not move t_s"):
        isdiff_ddnm(checkpoint=None, steps=10, t_start=400, t_check=100, t_step=40)
    ok = isdiff_ddnm(checkpoint=None, steps=10, t_start=400, t_check=100, t_step=60)
    assert ok.planned_starts() == sorted(set(ok.planned_starts()), reverse=True) and len(ok.planned_starts()) == 3
    with pytest.raises(ValueError, match="dce_features"):
        isdiff_ddnm(checkpoint=None, dce_features="colour")


@pytest.mark.parametrize("make", [isdiff_repaint, isdiff_ddnm])
def test_isdiff_resamples_each_segment_with_repaints_jump_schedule(make):
    """Each segment (t_s → t_c, t_c → 0) walks RePaint's jump schedule over its own DDIM steps: with DDIM-20
    (steps 50 apart), jump length 2 and 2 samples, t_s 400 → t_c 250 goes back up two steps once at t_c, and
    t_c → 0 at 100 and 0. Every move is one grid step, and NFE counts each step down, resampled ones included."""
    kw = {"ddim_steps": 20} if make is isdiff_repaint else {"steps": 20}
    method = make(checkpoint=None, dce_threshold=float("inf"), jump_length=2, jump_n_sample=2, **kw)
    assert method.segment(400, 250) == [400, 350, 300, 250, 300, 350, 300, 250]
    assert method.segment(250, -1) == [250, 200, 150, 100, 150, 200, 150, 100, 50, 0, 50, 100, 50, 0, -1]
    plain = make(checkpoint=None, jump_n_sample=1, **kw)
    assert plain.segment(400, 250) == [400, 350, 300, 250] and plain.segment(250, -1)[-2:] == [0, -1]
    x0, mask = batch(1)
    oracle(method.base, x0)
    walked, sample = [], method.base.sample
    method.base.sample = lambda x, times, *a, **k: walked.append(list(times)) or sample(x, times, *a, **k)
    method.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    walks = [method.segment(400, 250), method.segment(250, -1)]
    assert walked == walks  # the base walks the resampled segments, not the plain grid
    downs = sum(b < a for walk in walks for a, b in zip(walk[:-1], walk[1:], strict=True))
    assert method.attempts == 1 and method.nfe == downs + 1  # + the DCE check's x̂0
    with pytest.raises(ValueError, match="jump_length"):
        make(checkpoint=None, jump_length=0, **kw)


def test_gmm_seed_is_not_clamped_to_the_image_range():
    """The paper adds its slight noise without clamping; with colours near ±1 the seed goes past them."""
    image = torch.full((1, 3, 16, 16), 0.98)
    image[..., ::2, :] = -0.98
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    seed = gmm_seed(image, mask, 2, 0.3, sample_generators(0, "a"))
    assert seed.abs().max() > 1.0 and torch.equal(seed[mask.expand_as(seed) == 0], image[mask.expand_as(seed) == 0])


def test_default_dce_threshold_follows_its_rule_on_the_training_split():
    """τ is the 75th percentile of the ground truth's DCE on shapes' training split with the default masks
    (benchmarks/dce_threshold.py, 512 scenes); on a disjoint part of that split the ground truth passes about
    three times in four."""
    from inpaint_bench.data import build_datamodule
    from inpaint_bench.methods.isdiff import DCE_THRESHOLD

    scores = []
    for mask in ("center", "wide"):
        dm = build_datamodule("shapes", split="train", mask=mask, limit=768, batch_size=128)
        for batch in dm.predict_dataloader():
            if batch["index"].min() >= 512:  # not the scenes the default was set on
                scores.append(dce(batch["image"], batch["mask"]))
    passed = (torch.cat(scores) <= DCE_THRESHOLD).double().mean().item()
    assert 0.65 <= passed <= 0.85


def test_prior_lr_is_constant_by_default_and_steps_down_at_lr_steps():
    """guided-diffusion trains at a constant lr; `lr_steps` (the tiny prior's recipe) multiplies it by lr_gamma
    from each listed iteration on."""
    assert isinstance(RePaint(checkpoint=None, lr=1e-3).configure_optimizers(), torch.optim.AdamW)
    config = RePaint(checkpoint=None, lr=1e-3, lr_steps=(2,), lr_gamma=0.25).configure_optimizers()
    optimizer, decay = config["optimizer"], config["lr_scheduler"]
    assert decay["interval"] == "step"
    lrs = []
    for _ in range(4):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        decay["scheduler"].step()
    assert lrs == pytest.approx([1e-3, 1e-3, 2.5e-4, 2.5e-4])
