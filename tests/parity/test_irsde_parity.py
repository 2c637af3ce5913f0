"""IR-SDE against Algolzw/image-restoration-sde: the ConditionalUNet, the θ tables, the degradation, a whole
reverse-SDE run at T = 10 (fixtures from `generate.py irsde`, commit in fixtures/irsde.json)."""

import pytest
import torch
from parity_common import load_fixture, parity_weights, weights_sha256

from inpaint_bench.diffusion.irsde import irsde_thetas
from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_into
from inpaint_bench.nets.irsde_unet import ConditionalUNet, IRUNetConfig

FIX, HEADER = load_fixture("irsde")
CONFIG = IRUNetConfig(**HEADER["net"])  # official attention: 4 heads of 32


def official_net() -> ConditionalUNet:
    net = ConditionalUNet(CONFIG).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in net.state_dict().items()}, HEADER["weight_seed"])
    assert weights_sha256(weights) == HEADER["weights_sha256"]  # the official keys and shapes, the same recipe
    load_into(net, weights, "parity weights")
    return net


@pytest.mark.parametrize("size", [16, 12])
def test_unet_forward_equals_the_official_network(size):
    with torch.no_grad():
        out = official_net()(FIX[f"net{size}/xt"], FIX[f"net{size}/mu"], FIX[f"net{size}/t"])
    ref = FIX[f"net{size}/out"]
    assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_schedule_equals_the_official_tables():
    sde = HEADER["sde"]
    ours = irsde_thetas(sde["T"], sde["schedule"], sde["max_sigma"] / 255, sde["eps"])
    for name in ("thetas", "sigmas", "thetas_cumsum", "sigma_bars"):
        assert torch.allclose(ours[name].float(), FIX[f"sde/{name}"], rtol=1e-5, atol=1e-7), name
    assert ours["dt"] == pytest.approx(FIX["sde/dt"].item(), rel=1e-6)


def test_white_hole_degradation_equals_mask_to():
    from inpaint_bench.methods.irsde import white_hole

    assert torch.equal(white_hole(FIX["run/gt"], FIX["run/keep"]), FIX["run/lq"])


def test_reverse_sde_run_equals_the_official_one(tmp_path):
    from inpaint_bench.methods.irsde import IRSDE

    path = tmp_path / "irsde.pth"
    torch.save({f"module.{k}": v for k, v in official_net().state_dict().items()}, path)  # DataParallel layout
    sde = HEADER["sde"]
    method = IRSDE(checkpoint=str(path), net=CONFIG.to_dict(), T=sde["T"], max_sigma=sde["max_sigma"] / 255,
                   eps=sde["eps"])
    noise = ReplayNoise(FIX["run/noise"])
    image, mask = FIX["run/gt"] * 2 - 1, 1 - FIX["run/keep"]
    out = (method.inpaint(image * (1 - mask), mask, noise) + 1) / 2
    assert noise.used == HEADER["draws"] and method.nfe == sde["T"]
    ref = FIX["run/out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
