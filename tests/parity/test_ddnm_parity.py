"""DDNM against wyhuai/DDNM (fixtures from `generate.py ddnm`, commit in fixtures/ddnm.json): the SVD path
(`ddnm_diffusion`, what `evaluation.sh` runs for inpainting) and the `--simplified` path (`simplified_ddnm_plus`),
both with time travel on a learned-σ guided-diffusion UNet, and the DDPM `Model` forward (`celeba_hq.ckpt`'s
architecture, small)."""

from parity_common import load_fixture, parity_weights, weights_sha256

from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_into
from inpaint_bench.nets.unet import UNetConfig

FIX, HEADER = load_fixture("ddnm")
CONFIG = UNetConfig.from_guided_diffusion(**HEADER["net_kwargs"])


def ddnm(run: dict, update: str):
    from inpaint_bench.methods.ddnm import DDNM

    method = DDNM(checkpoint=None, net=CONFIG.to_dict(), steps=run["T_sampling"], eta=run["eta"], update=update,
                  jump_length=run["travel_length"], jump_n_sample=run["travel_repeat"])
    assert method.hparams.clip_x0 is False  # the official default: x0|t is not clipped
    weights = parity_weights({k: tuple(v.shape) for k, v in method.net.state_dict().items()}, HEADER["weight_seed"])
    assert weights_sha256(weights) == HEADER["weights_sha256"]
    load_into(method.net, weights, "parity weights")
    return method


def assert_run_matches(method, image, keep, draws, expected_draws, ref):
    noise = ReplayNoise(draws)
    mask = 1 - keep
    out = method.inpaint(image * (1 - mask), mask, noise)
    assert noise.used == expected_draws
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())


def test_ddnm_svd_run_with_time_travel_equals_the_official_one():
    assert_run_matches(ddnm(HEADER["run"], "svd"), FIX["gt"], FIX["keep"], FIX["noise"], HEADER["draws"], FIX["out"])


def test_ddnm_simplified_run_with_time_travel_equals_the_official_one():
    run = HEADER["simplified"]
    assert_run_matches(ddnm(run, "simplified"), FIX["simplified_image"], FIX["keep"], FIX["simplified_noise"],
                       run["draws"], FIX["simplified_out"])


def test_ddpm_unet_forward_equals_the_official_ddnm_model():
    import torch

    from inpaint_bench.nets.ddpm_unet import DDPMConfig, DDPMUNet

    spec = HEADER["ddpm_model"]
    net = DDPMUNet(DDPMConfig(resolution=spec["image_size"], in_channels=spec["in_channels"], out_ch=spec["out_ch"],
                              ch=spec["ch"], ch_mult=tuple(spec["ch_mult"]), num_res_blocks=spec["num_res_blocks"],
                              attn_resolutions=tuple(spec["attn_resolutions"]), dropout=spec["dropout"])).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in net.state_dict().items()}, spec["seed"])
    assert weights_sha256(weights) == spec["weights_sha256"]  # models/diffusion.py's keys and shapes
    load_into(net, weights, "parity weights")
    with torch.no_grad():
        out = net(FIX["ddpm_x"], FIX["ddpm_t"])
    ref = FIX["ddpm_out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
