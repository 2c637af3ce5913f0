"""I²SB and AsyncDSB as methods: AsyncDSB's reduction to I²SB, the τ map, training, the train command."""

import pytest
import torch
from conftest import random_batch

from inpaint_bench.diffusion.noise import sample_generators
from inpaint_bench.methods.asyncdsb import AsyncDSB
from inpaint_bench.methods.i2sb import I2SB
from inpaint_bench.nets.checkpoints import CheckpointError
from inpaint_bench.nets.gradient import gradient_map, known_gradients


def batch(n=2, size=32, seed=0):
    return random_batch(n, size, seed)


def pair(tau, **kw):
    torch.manual_seed(0)
    i2sb = I2SB(checkpoint=None, nfe=6, **kw)
    torch.nn.init.normal_(i2sb.net.out[2].weight, std=0.05)  # ADM zero-initialises the output: make ε ≠ 0
    async_ = AsyncDSB(checkpoint=None, gradient_checkpoint=None, nfe=6, tau_min=tau, tau_max=tau, **kw)
    async_.net.load_state_dict(i2sb.net.state_dict())
    return i2sb, async_


@pytest.mark.parametrize("ot_ode", [True, False])
def test_asyncdsb_with_equal_taus_is_i2sb_bit_for_bit(ot_ode):
    i2sb, async_ = pair(0.5)
    x0, mask = batch()
    image = x0 * (1 - mask)
    a = i2sb.inpaint(image, mask, sample_generators(0, "ab"), ot_ode=ot_ode)
    b = async_.inpaint(image, mask, sample_generators(0, "ab"), ot_ode=ot_ode)
    assert torch.equal(a, b)


def test_equal_taus_elsewhere_equal_i2sb_with_that_peak():
    class ShiftedI2SB(I2SB):
        def peak(self, image, mask, training=False):
            return 200

    torch.manual_seed(0)
    shifted = ShiftedI2SB(checkpoint=None, nfe=6)
    async_ = AsyncDSB(checkpoint=None, gradient_checkpoint=None, nfe=6, tau_min=0.2, tau_max=0.2)
    async_.net.load_state_dict(shifted.net.state_dict())
    x0, mask = batch()
    image = x0 * (1 - mask)
    assert torch.equal(shifted.inpaint(image, mask, sample_generators(3, "ab"), ot_ode=False),
                       async_.inpaint(image, mask, sample_generators(3, "ab"), ot_ode=False))


def test_asynchronous_schedule_changes_the_sample():
    i2sb, _ = pair(0.5)
    async_ = AsyncDSB(checkpoint=None, gradient_checkpoint=None, nfe=6, tau_min=0.001, tau_max=0.4)
    async_.net.load_state_dict(i2sb.net.state_dict())
    x0, mask = batch()
    image = x0 * (1 - mask)
    peak = async_.peak(image, mask)
    assert peak.shape == mask.shape and peak.min() >= 1 and peak.max() <= 400 and peak.unique().numel() > 10
    a = i2sb.inpaint(image, mask, sample_generators(0, "ab"))
    b = async_.inpaint(image, mask, sample_generators(0, "ab"))
    assert not torch.allclose(a, b) and async_.nfe == 6


def test_tau_map_eq11():
    m = AsyncDSB(checkpoint=None, gradient_checkpoint=None, tau_min=0.2, tau_max=0.5)
    grads = torch.zeros(1, 1, 64, 64)
    grads[:, :, :, 40:] = 1.0
    tau = m.tau_map(grads)
    assert tau.min().item() == pytest.approx(0.2) and tau.max().item() == pytest.approx(0.5)
    row = tau[0, 0, 32]
    assert (row[1:] - row[:-1] >= -1e-7).all()  # a blurred step: monotone from τmin to τmax
    assert 0.2 < row[40].item() < 0.5  # blurred across the edge, not a hard switch
    flat = m.tau_map(torch.full((1, 1, 32, 32), 0.3))
    assert torch.allclose(flat, torch.full_like(flat, 0.2))


def test_tau_defaults_follow_the_mask_family():
    m = AsyncDSB(checkpoint=None, gradient_checkpoint=None)
    assert (m.tau_min, m.tau_max) == (0.001, 0.4)
    m.for_mask("box")
    assert (m.tau_min, m.tau_max) == (0.2, 0.5)
    fixed = AsyncDSB(checkpoint=None, gradient_checkpoint=None, tau_min=0.1, tau_max=0.3)
    fixed.for_mask("box")
    assert (fixed.tau_min, fixed.tau_max) == (0.1, 0.3)
    with pytest.raises(ValueError, match="tau_min"):
        AsyncDSB(checkpoint=None, gradient_checkpoint=None, tau_min=0.6, tau_max=0.3)


def test_gradient_map_of_a_step_edge():
    image = -torch.ones(1, 3, 16, 16)
    image[:, :, :, 8:] = 1
    g = gradient_map(image)
    assert g[0, 0, :, 7:9].min() > 0.5 and g[0, 0, :, :6].max() == 0 and g[0, 0, :, 10:].max() == 0


def test_a_few_training_steps_lower_the_bridge_loss():
    from inpaint_bench.data import build_datamodule
    from inpaint_bench.methods.training import training_masks

    torch.manual_seed(0)
    model = I2SB(checkpoint=None, lr=1e-3)
    x0 = next(iter(build_datamodule("tiny", split="train", batch_size=8).train_dataloader()))["image"]
    mask = training_masks(8, 64, 0)
    opt = model.configure_optimizers()["optimizer"]

    def loss():
        torch.manual_seed(1)  # the same t, noise and x1 every time
        return model.bridge_loss(x0, mask, 500)

    before = loss().item()
    for _ in range(15):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 0.7 * before


def test_asyncdsb_gradient_net_learns():
    torch.manual_seed(0)
    model = AsyncDSB(checkpoint=None, gradient_checkpoint=None)
    x0, mask = batch(4, 32)
    opt = torch.optim.Adam(model.gradient_net.parameters(), lr=1e-3)

    def l1():
        pred = model.gradient_net(x0 * (1 - mask), mask, known_gradients(x0, mask)[0])
        return torch.nn.functional.l1_loss(pred, gradient_map(x0))

    before = l1().item()
    for _ in range(15):
        g_loss, d_loss = model.gradient_losses(x0, mask)
        opt.zero_grad()
        g_loss.backward()
        opt.step()
    assert torch.isfinite(d_loss) and l1().item() < before


@pytest.mark.parametrize("method", ["i2sb", "asyncdsb"])
def test_train_command_exports_a_loadable_checkpoint(tmp_path, method):
    from inpaint_bench import methods
    from inpaint_bench.bench.train import train

    path = train(method, mask="mixed", max_steps=2, batch_size=4, out=tmp_path, accelerator="cpu", devices=1)
    kwargs = {"gradient_checkpoint": path.with_name("asyncdsb_gradient.safetensors")} if method == "asyncdsb" else {}
    m = methods.build(method, checkpoint=str(path), nfe=2, **kwargs)
    x0, mask = batch(1, 64)
    out = m.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    assert out.shape == x0.shape and torch.isfinite(out).all()
    assert (tmp_path / method / "checkpoints" / "last.ckpt").exists()


def test_known_gradients_do_not_depend_on_the_hole_and_show_no_false_edge():
    x0, mask = batch(2, 32)
    clean, _ = known_gradients(x0, mask)
    zero_filled, valid = known_gradients(x0 * (1 - mask), mask)
    assert torch.equal(clean, zero_filled)  # training (clean image) and inference (hole zeroed) see the same map
    flat = torch.zeros(1, 3, 32, 32)  # a flat image: any gradient on the hole border would be a false edge
    g, _ = known_gradients(flat * (1 - mask[:1]), mask[:1])
    assert g.abs().max() == 0
    assert gradient_map(flat * (1 - mask[:1]) + mask[:1]).max() > 0.1  # the naive map shows the border
    assert valid[0, 0, 7, 7] == 0 and valid[0, 0, 6, 6] == 1  # one-pixel ring around the hole (rows 8–23)


def test_gradient_loss_is_eq10_and_l1_is_an_explicit_option():
    x0, mask = batch(2, 32)
    model = AsyncDSB(checkpoint=None, gradient_checkpoint=None)
    with_l1 = AsyncDSB(checkpoint=None, gradient_checkpoint=None, gradient_l1=2.0)
    with_l1.load_state_dict(model.state_dict())
    g, _ = model.gradient_losses(x0, mask)
    g_l1, _ = with_l1.gradient_losses(x0, mask)
    x_cg, valid = known_gradients(x0, mask)
    fake = model.gradient_net(x0 * (1 - mask), mask, x_cg)
    l1 = torch.nn.functional.l1_loss(fake, gradient_map(x0))
    assert g_l1.item() == pytest.approx(g.item() + 2.0 * l1.item(), rel=1e-5)


def test_gradient_network_call_is_counted_apart_from_nfe():
    x0, mask = batch(1, 32)
    m = AsyncDSB(checkpoint=None, gradient_checkpoint=None, nfe=3)
    m.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    assert m.nfe == 3 and m.aux_nfe == {"gradient_net": 1}
    same = AsyncDSB(checkpoint=None, gradient_checkpoint=None, nfe=3, tau_min=0.3, tau_max=0.3)
    same.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    assert same.aux_nfe == {}  # equal τ: no gradient map needed


def test_optimiser_as_the_official_runs():
    opt = I2SB(checkpoint=None).configure_optimizers()
    adamw, decay = opt["optimizer"], opt["lr_scheduler"]
    assert adamw.param_groups[0]["weight_decay"] == 0.0 and adamw.param_groups[0]["lr"] == 5e-5
    assert decay["interval"] == "step" and decay["scheduler"].step_size == 1000
    assert decay["scheduler"].gamma == 0.99


def test_lr_steps_chain_a_drop_onto_the_official_step_decay():
    """`lr_steps` (the tiny recipes' drop) multiplies on top of I²SB's ×0.99 every 1000: at iteration i the lr is
    lr · 0.99^⌊i/1000⌋ · γ^[i ≥ step]."""
    opt = I2SB(checkpoint=None, lr=1e-3, lr_steps=(1500,), lr_gamma=0.25).configure_optimizers()
    adamw, decay = opt["optimizer"], opt["lr_scheduler"]["scheduler"]
    seen = {}
    for i in range(2100):
        seen[i] = adamw.param_groups[0]["lr"]
        adamw.step()
        decay.step()
    for i in (0, 999, 1000, 1499, 1500, 2000):
        assert seen[i] == pytest.approx(1e-3 * 0.99 ** (i // 1000) * (0.25 if i >= 1500 else 1.0)), i


def test_bridge_methods_train_one_model_per_mask_by_default(tmp_path):
    from inpaint_bench.bench.train import train

    with pytest.raises(ValueError, match="one model per mask type"):
        train("i2sb", max_steps=1, out=tmp_path)


def _export(tmp_path, **meta):
    from inpaint_bench.nets.checkpoint_files import export_unet

    return export_unet(I2SB(checkpoint=None).net, tmp_path / "net.safetensors", meta)


def test_checkpoints_for_another_schedule_or_method_are_refused(tmp_path):
    good = I2SB(checkpoint=None).export_metadata()
    I2SB(checkpoint=str(_export(tmp_path, method="i2sb", **good)))  # loads
    I2SB(checkpoint=str(_export(tmp_path, method="i2sb", **good)), beta_max=1)  # an int β_max is the same value
    with pytest.raises(CheckpointError, match="trained before the schedule fix"):
        I2SB(checkpoint=str(_export(tmp_path, method="i2sb")))
    with pytest.raises(CheckpointError, match="beta_max: checkpoint 0.3 vs 1.0"):
        I2SB(checkpoint=str(_export(tmp_path, method="i2sb", **{**good, "beta_max": 0.3})))
    with pytest.raises(CheckpointError, match="trained for method .ddpm."):
        I2SB(checkpoint=str(_export(tmp_path, method="ddpm", **good)))


def test_a_cond_x1_checkpoint_is_refused_with_its_reason(tmp_path):
    from inpaint_bench.nets.checkpoints import load_unet
    from inpaint_bench.nets.unet import UNetConfig, UNetModel

    config = UNetConfig(image_size=32)
    cond = UNetModel(UNetConfig(image_size=32, in_channels=6))
    path = tmp_path / "latest.pt"
    torch.save({"net": {"diffusion_model." + k: v for k, v in cond.state_dict().items()}}, path)
    with pytest.raises(CheckpointError, match="cond-x1"):
        load_unet(path, config, use_ema=False)
