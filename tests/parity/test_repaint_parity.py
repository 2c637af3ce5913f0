"""RePaint against andreas128/RePaint: a whole DDPM run with a short jump schedule and a learned-σ network
(fixtures from `generate.py repaint`, commit in fixtures/repaint.json)."""

from parity_common import load_fixture, parity_weights, weights_sha256

from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_into
from inpaint_bench.nets.unet import UNetConfig

FIX, HEADER = load_fixture("repaint")
CONFIG = UNetConfig.from_guided_diffusion(**HEADER["net_kwargs"])


def test_repaint_ddpm_run_equals_the_official_one():
    from inpaint_bench.methods.repaint import RePaint

    jump = HEADER["jump"]
    method = RePaint(checkpoint=None, net=CONFIG.to_dict(), t_T=jump["t_T"], jump_length=jump["jump_length"],
                     jump_n_sample=jump["jump_n_sample"])
    weights = parity_weights({k: tuple(v.shape) for k, v in method.net.state_dict().items()}, HEADER["weight_seed"])
    assert weights_sha256(weights) == HEADER["weights_sha256"]  # guided-diffusion's keys and shapes
    load_into(method.net, weights, "parity weights")
    noise = ReplayNoise(FIX["noise"])
    image, mask = FIX["gt"], 1 - FIX["keep"]
    out = method.inpaint(image * (1 - mask), mask, noise)
    assert noise.used == HEADER["draws"]  # start noise, posterior + injection per step, one per undo
    ref = FIX["out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
