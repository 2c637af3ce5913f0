"""benchmarks/strdiffusion_structure.py, issue 25's structure-or-texture diagnosis: with the oracle, every structure
state is the forward marginal of the scene's true gray image, and training is untouched."""

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "strdiffusion_structure.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("strdiffusion_structure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_strdiffusion():
    from inpaint_bench.methods.strdiffusion import StrDiffusion
    from inpaint_bench.nets.irsde_unet import IRUNetConfig

    return StrDiffusion(checkpoint=None, structure_checkpoint=None, discriminator_checkpoint=None, T=10,
                        net=IRUNetConfig(3, 3, nf=8, depth=2, guide_channels=1, attn_heads=1, attn_dim_head=8).to_dict(),
                        structure_net=IRUNetConfig(1, 1, nf=8, depth=2, attn_heads=1, attn_dim_head=8).to_dict(),
                        discriminator_net={"nc": 4, "ngf": 4, "t_emb_dim": 16})


def test_oracle_structure_steps_land_on_the_true_gray_marginal(script):
    from inpaint_bench.methods.strdiffusion import StrDiffusion, gray_image

    truth = script.scenes(5, 32)
    image, mask = truth[[3, 0]].clone(), torch.zeros(2, 1, 32, 32)
    mask[..., 4:28, 10:30] = 1
    image[mask.expand_as(image).bool()] = 1.0  # the hole as the method sees it
    method = small_strdiffusion()
    keep = 1 - mask
    y0 = (image + 1) / 2
    structures = script.oracle_structures(StrDiffusion.structures, truth)
    x0_known, mu_x = structures(method, y0, keep, training=False)
    assert torch.equal(x0_known, gray_image(y0) * keep)  # the method's own inputs: the oracle only steps
    noise = torch.randn(2, 1, 32, 32)
    true_gray = gray_image((truth[[3, 0]] + 1) / 2)
    for t in (10, 4, 1):
        step = method.structure_sde.reverse_step(torch.randn_like(noise), mu_x, torch.randn_like(noise), t, noise)
        torch.testing.assert_close(step, method.structure_sde.sample(true_gray, mu_x, t - 1, noise))
    assert "reverse_step" not in vars(method.sde)  # the texture steps stay the method's
    # the hole of the oracle's state is the truth's, not the (white) input's
    assert not torch.allclose(true_gray * mask, gray_image(y0) * mask)


def test_oracle_leaves_training_and_the_texture_schedule_alone(script):
    from inpaint_bench.methods.strdiffusion import StrDiffusion

    method = small_strdiffusion()
    y0, keep = torch.rand(2, 3, 32, 32), torch.ones(2, 1, 32, 32)
    structures = script.oracle_structures(StrDiffusion.structures, None)  # training never looks up a truth
    expected = StrDiffusion.structures(method, y0, keep, training=True)
    got = structures(method, y0, keep, training=True)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    assert "reverse_step" not in vars(method.structure_sde) and "reverse_step" not in vars(method.sde)
