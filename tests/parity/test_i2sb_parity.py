"""I²SB against NVlabs/I2SB: schedule tables, step lists, the ADM UNet, the checkpoint layout, whole sampling runs.

Fixtures come from `generate.py i2sb` (the official `Runner` and `ddpm_sampling`, commit in fixtures/i2sb.json).
"""

import hashlib

import pytest
import torch
from parity_common import load_fixture, parity_weights, tensor_sha256, weights_sha256

from inpaint_bench.diffusion import bridge
from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_unet
from inpaint_bench.nets.unet import UNetConfig, UNetModel

FIX, HEADER = load_fixture("i2sb")
CONFIG = UNetConfig.from_guided_diffusion(**HEADER["net_kwargs"])
PREFIX = "diffusion_model."


def official_weights() -> dict:
    shapes = {k: tuple(v.shape) for k, v in UNetModel(CONFIG).state_dict().items()}
    weights = parity_weights(shapes, HEADER["weight_seed"])
    assert weights_sha256(weights) == HEADER["weights_sha256"]  # same layout, same recipe as the generator
    return weights


@pytest.fixture(scope="module")
def official_checkpoint(tmp_path_factory):
    """A `latest.pt` in the official layout: `net` with the prefix (zeros here), `ema` with the real weights as
    shadow params in the official parameter order, so a loader that ignores the EMA or its order fails."""
    weights = official_weights()
    net = {PREFIX + k: torch.zeros_like(v) for k, v in weights.items()}
    shadow = [weights[k.removeprefix(PREFIX)] for k in HEADER["param_order"]]
    ckpt = {"net": net, "ema": {"decay": 0.99, "num_updates": 7, "shadow_params": shadow, "collected_params": None},
            "optimizer": {}, "sched": None}
    assert sorted(ckpt) == sorted(HEADER["checkpoint_layout"]["top"])
    assert sorted(ckpt["ema"]) == HEADER["checkpoint_layout"]["ema"]
    path = tmp_path_factory.mktemp("i2sb") / "latest.pt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("beta_max", [1.0, 0.3])
def test_schedule_tables_equal_the_official_runner(beta_max):
    tag = f"schedule/b{beta_max}"
    betas = bridge.i2sb_betas(1000, beta_max)
    assert torch.allclose(betas, FIX[f"{tag}/betas64"], rtol=0, atol=1e-12)
    assert torch.equal(betas.float(), FIX[f"{tag}/betas"])
    fwd, bwd = bridge.bridge_stds(betas)
    mu_x0, mu_x1, var = bridge.gaussian_product_coef(fwd, bwd)
    for name, ours in {"std_fwd": fwd, "std_bwd": bwd, "std_sb": var.sqrt(), "mu_x0": mu_x0, "mu_x1": mu_x1}.items():
        assert torch.equal(ours.float(), FIX[f"{tag}/{name}"]), name  # the official tables are float32
    # the suite's float32 tables (what sampling reads) and the network times
    table_fwd, table_bwd = bridge.BridgeSchedule(1000, beta_max).row(500)
    assert torch.equal(table_fwd, FIX[f"{tag}/std_fwd"]) and torch.equal(table_bwd, FIX[f"{tag}/std_bwd"])
    assert torch.equal(bridge.network_times(1000), FIX[f"{tag}/noise_levels"])


def test_the_asynchronous_family_contains_the_official_schedule():
    official = FIX["schedule/b1.0/betas64"].numpy()
    assert (bridge.asymmetric_betas(1000, 500, 1.0) == official).all()  # bit for bit at the peak n/2


def test_official_numbers_pinned():
    betas = bridge.i2sb_betas(1000, 1.0)
    fwd, bwd = bridge.bridge_stds(betas)
    assert betas.max().item() == pytest.approx(4.3266e-4, rel=1e-4)
    assert fwd[999].item() == pytest.approx(0.496919, abs=1e-6)
    assert bridge.gaussian_product_coef(fwd[500], bwd[500])[2].sqrt().item() == pytest.approx(0.249, abs=1e-3)
    assert bridge.space_indices(1000, 21)[10] == 499
    assert bridge.space_indices(10, 3) == [0, 4, 9]


def test_step_lists_equal_the_official_ones_for_every_nfe():
    digests = FIX["steps/sha256"]
    for nfe in range(1, 1000):
        steps = torch.tensor(bridge.space_indices(1000, nfe + 1))
        assert hashlib.sha256(steps.numpy().tobytes()).digest() == bytes(digests[nfe - 1].tolist()), nfe
    differ = sum(bridge.space_indices(1000, n + 1) != [round(i * (999 / n)) for i in range(n + 1)]
                 for n in range(1, 1000))
    assert differ == 278  # the accumulated cursor is not round(i·stride): the two differ this often


def test_unet_forward_equals_the_official_network(official_checkpoint):
    net = load_unet(official_checkpoint, CONFIG).eval()
    with torch.no_grad():
        out = net(FIX["net/x"], bridge.network_times(1000)[FIX["net/steps"]])
    ref = FIX["net/out"]
    assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_official_checkpoint_without_ema_loads_the_net_weights(official_checkpoint):
    net = load_unet(official_checkpoint, CONFIG, use_ema=False)
    assert all((p == 0).all() for p in net.parameters())  # `net` of this file is zeros: the EMA was skipped


def _suite_i2sb(official_checkpoint):
    from inpaint_bench.methods.i2sb import I2SB

    return I2SB(checkpoint=str(official_checkpoint), net=CONFIG.to_dict())


@pytest.mark.parametrize("run", HEADER["runs"], ids=[r["key"] for r in HEADER["runs"]])
def test_sampling_equals_the_official_run(run, official_checkpoint):
    key = run["key"]
    if f"{key}/noise" in FIX:
        draws = list(FIX[f"{key}/noise"])
    else:  # a long run: the official code drew from the global generator after manual_seed
        torch.manual_seed(run["seed"])
        draws = [torch.randn(run["draw_shape"]) for _ in range(run["draws"])]
    assert tensor_sha256(torch.cat([d.flatten() for d in draws])) == run["noise_sha256"]
    noise = ReplayNoise(draws)
    method = _suite_i2sb(official_checkpoint)
    image, mask = FIX["run/clean"], FIX["run/mask"]
    out = method.inpaint(image * (1 - mask), mask, noise, nfe=run["nfe"], ot_ode=run["ot_ode"])
    assert noise.used == run["draws"]  # every recorded draw consumed, none invented
    ref = FIX[f"{key}/out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
