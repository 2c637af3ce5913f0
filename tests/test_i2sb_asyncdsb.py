"""I²SB and AsyncDSB as methods: AsyncDSB's reduction to I²SB, the τ map, training, the train command."""

import pytest
import torch
from conftest import random_batch

from inpaint_bench.diffusion.noise import sample_generators
from inpaint_bench.methods.asyncdsb import AsyncDSB
from inpaint_bench.methods.i2sb import I2SB
from inpaint_bench.nets.gradient import gradient_map


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
    opt = model.configure_optimizers()

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
        x_cg = gradient_map(x0) * (1 - mask)
        pred = model.gradient_net(x0 * (1 - mask), mask, x_cg)
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
    from inpaint_bench.train import train

    path = train(method, max_steps=2, batch_size=4, out=tmp_path, accelerator="cpu", devices=1)
    kwargs = {"gradient_checkpoint": path.with_name("asyncdsb_gradient.safetensors")} if method == "asyncdsb" else {}
    m = methods.build(method, checkpoint=str(path), nfe=2, **kwargs)
    x0, mask = batch(1, 64)
    out = m.inpaint(x0 * (1 - mask), mask, sample_generators(0, "a"))
    assert out.shape == x0.shape and torch.isfinite(out).all()
    assert (tmp_path / method / "checkpoints" / "last.ckpt").exists()
