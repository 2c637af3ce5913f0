"""StrDiffusion against htyjers/StrDiffusion's test code: the texture (SPADE) and structure UNets, the
discriminator, the gray/edge structure, and a whole sampling run at T = 20 through both stages and three
resampling windows, with a scripted discriminator that walks the official accept rule's branches
(fixtures from `generate.py strdiffusion`, commit in fixtures/strdiffusion.json)."""

import pytest
import torch
from parity_common import load_fixture, parity_weights, weights_sha256

from inpaint_bench.diffusion.noise import ReplayNoise
from inpaint_bench.nets.checkpoints import load_into
from inpaint_bench.nets.discriminator import DiscriminatorConfig, TimeDiscriminator
from inpaint_bench.nets.irsde_unet import ConditionalUNet, IRUNetConfig

FIX, HEADER = load_fixture("strdiffusion")
TEXTURE = IRUNetConfig(**HEADER["texture"], guide_channels=1)
STRUCTURE = IRUNetConfig(**HEADER["structure"])
DISCRIMINATOR = DiscriminatorConfig(**HEADER["discriminator"])


def filled(net, name):
    weights = parity_weights({k: tuple(v.shape) for k, v in net.state_dict().items()}, HEADER["seeds"][name])
    assert weights_sha256(weights) == HEADER["weights_sha256"][name]  # official keys and shapes
    load_into(net, weights, f"{name} parity weights")
    return net.eval()


def close(out, ref, rel=1e-5):
    return (out - ref).abs().max() <= rel * max(1.0, ref.abs().max())


def test_texture_unet_with_spade_equals_the_official_network():
    net = filled(ConditionalUNet(TEXTURE), "texture")
    with torch.no_grad():
        out = net(FIX["texture/xt"], FIX["texture/mu"], FIX["texture/t"], FIX["texture/guide"])
    assert close(out, FIX["texture/out"])


def test_structure_unet_equals_the_official_network():
    net = filled(ConditionalUNet(STRUCTURE), "structure")
    with torch.no_grad():
        out = net(FIX["structure/xt"], FIX["structure/mu"], FIX["texture/t"])
    assert close(out, FIX["structure/out"])


def test_discriminator_equals_the_official_network():
    d = filled(TimeDiscriminator(DISCRIMINATOR), "discriminator")
    with torch.no_grad():
        out = d(FIX["texture/t"].float(), FIX["texture/xt"], FIX["texture/guide"])
    assert close(out.view(-1), FIX["dis/out"].view(-1))


def test_gray_and_edges_equal_the_official_test_data():
    from inpaint_bench.methods.strdiffusion import canny_edges, gray_image

    gray = gray_image(FIX["run/gt"])
    assert torch.allclose(gray, FIX["run/gray"], atol=1e-6)
    assert torch.equal(canny_edges(gray, sigma=2.0 * 256 / gray.shape[-1]), FIX["run/edge"])


class ScriptedDiscriminator(torch.nn.Module):
    """The generator's script: within each resampling window (one t), the k-th call returns script[k]."""

    def __init__(self, script):
        super().__init__()
        self.script, self.calls = script, []

    def forward(self, t, y, x, group=None):
        self.calls.append(int(t.reshape(-1)[0]))
        k = self.calls.count(self.calls[-1]) - 1
        return torch.full((len(y), 1), self.script[min(k, len(self.script) - 1)])


def suite_run(replay: bool = True, **overrides):
    from inpaint_bench.methods.strdiffusion import StrDiffusion

    sde = HEADER["sde"]
    method = StrDiffusion(checkpoint=None, structure_checkpoint=None, discriminator_checkpoint=None,
                          net=TEXTURE.to_dict(), structure_net=STRUCTURE.to_dict(),
                          discriminator_net=DISCRIMINATOR.to_dict(), T=sde["T"], max_sigma=sde["max_sigma"] / 255,
                          eps=sde["eps"], jump=5, re=5, u_max=6, u_min=3, **overrides)  # the values hard-coded at HEAD
    filled(method.net, "texture")
    filled(method.structure_net, "structure")
    method.discriminator = ScriptedDiscriminator(HEADER["script"])
    gray, edge = FIX["run/gray"], FIX["run/edge"]
    method.structures = lambda y0, keep, training: (gray * keep, edge * keep)  # the official test's inputs
    sizes = FIX["run/noise_shapes"].tolist()
    flat = FIX["run/noise"].split([c * 16 * 16 for c in sizes])
    noise = ReplayNoise([d.view(1, c, 16, 16) for d, c in zip(flat, sizes, strict=True)])
    if not replay:  # another rule draws another amount of noise: per-sample generators instead
        from inpaint_bench.diffusion.noise import sample_generators

        noise = sample_generators(0, ["a"])
    gt, keep = FIX["run/gt"], FIX["run/keep"]
    image, mask = gt * 2 - 1, 1 - keep
    out = (method.inpaint(image * (1 - mask), mask, noise) + 1) / 2
    return method, noise, gt * keep + out * (1 - keep)


def test_sampling_run_equals_the_official_one():
    method, noise, out = suite_run()
    assert noise.used == HEADER["draws"]  # every official draw consumed, in order and shape
    windows = [t for t in HEADER["discriminator_calls"] if t % 5 == 0]  # the suite skips Δ where nothing resamples
    assert method.discriminator.calls == windows
    assert close(out, FIX["run/out"])


def test_nfe_follows_the_official_count():
    method, _, _ = suite_run()
    T, boundary = HEADER["sde"]["T"], int(0.4 * HEADER["sde"]["T"])
    # windows at t = 20 (re cut to T − t + 1 = 1), 15 and 10 (re = 5); iterations run: 4 each (script stops at 4)
    resampling = 4 * (1 + 1) + 4 * (5 + 1) + 4 * (5 + 1)
    assert method.nfe == 2 * (T - boundary + 1) + (boundary - 1) + resampling
    assert method.aux_nfe == {"discriminator": len(method.discriminator.calls)}


def test_the_paper_accept_rule_differs_from_the_official_one():
    _, _, official = suite_run(replay=False)
    method, _, paper = suite_run(replay=False, accept="paper")
    with pytest.raises(AssertionError):
        assert close(paper, official)
    assert method.discriminator.calls.count(20) == 2  # Δ, then the first proposal is worse: stop


DLOSS, DLOSS_HEADER = load_fixture("strdiffusion_dloss")


@pytest.mark.parametrize("form", [None, "per_image", "batch_vector"])
def test_discriminator_loss_equals_the_official_training_code_at_batch_3(form):
    """The official scores are [B, 1] (recorded), so its TripletMarginLoss averages B per-image triplets; the
    default (None) and `per_image` give the official loss, `batch_vector` (one triplet over the batch) does not."""
    from inpaint_bench.methods.strdiffusion import StrDiffusion

    assert DLOSS_HEADER["score_shape"] == [3, 1]
    method = StrDiffusion(checkpoint=None, structure_checkpoint=None, discriminator_checkpoint=None, T=20,
                          discriminator_net=DLOSS_HEADER["discriminator"], **({"triplet_form": form} if form else {}))
    weights = parity_weights({k: tuple(v.shape) for k, v in method.discriminator.state_dict().items()},
                             DLOSS_HEADER["seed"])
    assert weights_sha256(weights) == DLOSS_HEADER["weights_sha256"]
    load_into(method.discriminator, weights, "discriminator parity weights")
    method.discriminator.eval()
    with torch.no_grad():
        loss = method.discriminator_loss(DLOSS["y_prev"], DLOSS["yt"], DLOSS["x_prev"], DLOSS["keep"],
                                         DLOSS["t"].view(-1))
    matches = torch.allclose(loss, DLOSS["loss_d"], rtol=1e-5, atol=1e-6)
    assert matches == (form != "batch_vector"), (form, float(loss), float(DLOSS["loss_d"]))
