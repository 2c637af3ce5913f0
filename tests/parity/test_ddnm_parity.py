"""DDNM against wyhuai/DDNM's SVD path (`ddnm_diffusion`, what `evaluation.sh` runs for inpainting) with time
travel, on a learned-σ guided-diffusion UNet (fixtures from `generate.py ddnm`, commit in fixtures/ddnm.json)."""

from parity_common import load_fixture, parity_weights, weights_sha256

from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_into
from inpaint_bench.nets.unet import UNetConfig

FIX, HEADER = load_fixture("ddnm")
CONFIG = UNetConfig.from_guided_diffusion(**HEADER["net_kwargs"])


def test_ddnm_svd_run_with_time_travel_equals_the_official_one():
    from inpaint_bench.methods.ddnm import DDNM

    run = HEADER["run"]
    method = DDNM(checkpoint=None, net=CONFIG.to_dict(), steps=run["T_sampling"], eta=run["eta"], update="svd",
                  jump_length=run["travel_length"], jump_n_sample=run["travel_repeat"])
    assert method.hparams.clip_x0 is False  # the official default: x0|t is not clipped
    weights = parity_weights({k: tuple(v.shape) for k, v in method.net.state_dict().items()}, HEADER["weight_seed"])
    assert weights_sha256(weights) == HEADER["weights_sha256"]
    load_into(method.net, weights, "parity weights")
    noise = ReplayNoise(FIX["noise"])
    image, mask = FIX["gt"], 1 - FIX["keep"]
    out = method.inpaint(image * (1 - mask), mask, noise)
    assert noise.used == HEADER["draws"]
    ref = FIX["out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
