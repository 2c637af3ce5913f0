"""Classifier guidance and class-conditional priors (RePaint's ImageNet setting): the gradient against its closed
form, both guided update rules, the labels a run conditions on, and loading the official files' layouts."""

import math

import pytest
import torch
from torch import nn

from inpaint_bench.diffusion import gaussian as G
from inpaint_bench.diffusion.guidance import guided_eps, log_prob_gradient
from inpaint_bench.methods.base import run_inpaint
from inpaint_bench.methods.repaint import RePaint
from inpaint_bench.nets.classifier import ClassifierConfig, NoisyClassifier, load_classifier

NET = dict(image_size=16, model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(2,),
           out_channels=6, num_classes=10)
CLS = dict(image_size=16, model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(2,),
           num_head_channels=32, out_channels=10)


class LinearClassifier(nn.Module):
    """logits = W·vec(x) + b: ∇_x log softmax_y = W_y − Σ_k p_k W_k in closed form."""

    def __init__(self, dim, classes):
        super().__init__()
        self.lin = nn.Linear(dim, classes)

    def forward(self, x, t):
        return self.lin(x.flatten(1))


def test_log_prob_gradient_is_the_softmax_closed_form_times_the_scale_even_under_inference_mode():
    torch.manual_seed(0)
    clf = LinearClassifier(3 * 4 * 4, 5)
    x, y = torch.randn(2, 3, 4, 4), torch.tensor([1, 4])
    with torch.inference_mode():  # the runner's mode
        grad = log_prob_gradient(clf, x, torch.tensor([3, 3]), y, scale=2.5)
    w = clf.lin.weight.detach()
    p = torch.softmax(clf(x, None).detach(), dim=-1)
    expected = (w[y] - p @ w).view_as(x) * 2.5
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)


def test_ddpm_step_guidance_shifts_the_mean_by_the_model_variance_and_ddim_uses_condition_score():
    s = G.GaussianSchedule.respaced(G.linear_betas(1000), 10)
    x_t, x0, noise, grad = (torch.randn(1, 3, 4, 4) for _ in range(4))
    var = torch.rand(1, 3, 4, 4) * 2 - 1
    for t in (5, 0):
        shifted = G.ddpm_step(s, x_t, x0, t, noise, var, guidance=grad) - G.ddpm_step(s, x_t, x0, t, noise, var)
        frac = (var + 1) / 2
        sigma2 = torch.exp(frac * math.log(s.betas[t]) + (1 - frac) * float(s.posterior_log_variance_clipped[t]))
        torch.testing.assert_close(shifted, sigma2 * grad)  # Alg 1: μ + Σ·s∇ log p, at t = 0 too
    eps = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(guided_eps(eps, grad, 0.36), eps - 0.8 * grad)  # Alg 2: √(1 − ᾱ) = 0.8


def class_cond_repaint(**kw):
    return RePaint(checkpoint=None, net=NET, t_T=6, jump_length=2, jump_n_sample=2, classifier="random",
                   classifier_net=CLS, **kw)


def test_class_labels_from_the_dataset_or_drawn_per_image_from_its_own_generator():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    m = class_cond_repaint(class_labels="dataset")
    assert m.uses_labels
    with pytest.raises(ValueError, match="no class labels"):
        run_inpaint(m, x, mask, None, None)
    assert m.labels_for([3, 7], None, 2, x.device).tolist() == [3, 7]
    r = class_cond_repaint()  # random, as RePaint's test.py
    gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    drawn = r.labels_for(None, gens, 2, x.device)
    again = r.labels_for(None, [torch.Generator().manual_seed(s) for s in (2,)], 1, x.device)
    assert drawn[1] == again[0] and 0 <= drawn.min() and drawn.max() < 10  # per image, not per batch
    out_a, _ = run_inpaint(m, x, mask, [torch.Generator().manual_seed(0) for _ in range(2)], torch.tensor([0, 0]))
    out_b, _ = run_inpaint(m, x, mask, [torch.Generator().manual_seed(0) for _ in range(2)], torch.tensor([5, 5]))
    assert (out_a - out_b).abs().max() > 1e-4  # the labels reach the network and the classifier
    assert m.aux_nfe == {"classifier": m.nfe}
    with pytest.raises(ValueError, match="class-conditional"):
        RePaint(checkpoint=None, net={**NET, "num_classes": None}, classifier="random", classifier_net=CLS)


def test_isdiff_repaint_on_imagenet_setting_passes_labels_and_counts_classifier_calls():
    from inpaint_bench.methods.isdiff import isdiff_repaint

    m = isdiff_repaint(checkpoint=None, net=NET, classifier="random", classifier_net=CLS, ddim_steps=10, t_start=500,
                       t_check=200, t_step=100,
                       class_labels="dataset")
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 2:10, 3:13] = 1
    out, _ = run_inpaint(m, x, mask, [torch.Generator().manual_seed(i) for i in range(2)], torch.tensor([1, 2]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert 0 < m.aux_nfe["classifier"] <= m.nfe


def test_official_layouts_load_class_conditional_adm_and_the_noisy_classifier(tmp_path):
    from inpaint_bench.files import weights
    from inpaint_bench.nets.checkpoints import load_unet
    from inpaint_bench.nets.unet import UNetConfig, UNetModel

    small = UNetConfig(**{**NET, "num_classes": None})
    official = UNetModel(UNetConfig(**NET))
    path = tmp_path / "256x256_diffusion.pt"
    torch.save(official.state_dict(), path)
    loaded = load_unet(path, None, official_config=small)  # the class embedding is found in the file
    assert loaded.config.num_classes == 10
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), official.state_dict().values(), strict=True))
    clf = NoisyClassifier(ClassifierConfig(**CLS))
    cpath = tmp_path / "256x256_classifier.pt"
    torch.save(clf.state_dict(), cpath)
    again = load_classifier(str(cpath), CLS)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), clf.state_dict().values(), strict=True))
    for key, file in (("adm_imagenet256_cond", "256x256_diffusion.pt"),
                      ("guided_diffusion_classifier256", "256x256_classifier.pt")):
        entry = weights.CHECKPOINTS[key]
        assert entry.file == file and entry.url == f"https://openaipublic.blob.core.windows.net/diffusion/jul-2021/{file}"


def test_official_classifier_architecture_ends_in_the_attention_pool_of_create_classifier():
    # create_classifier(256, width 128, depth 2, "32,16,8", attention pool): 512 channels at 8², 64-channel heads
    sd = NoisyClassifier(ClassifierConfig()).state_dict()
    assert sd["out.2.positional_embedding"].shape == (512, 8 * 8 + 1)
    assert sd["out.2.qkv_proj.weight"].shape == (3 * 512, 512, 1)
    assert sd["out.2.c_proj.weight"].shape == (1000, 512, 1)
    assert sd["time_embed.0.weight"].shape == (512, 128)
    assert not any(k.startswith("output_blocks") for k in sd)


def test_repaint_passes_its_own_classifier_scale_to_the_guidance():
    """The call site: RePaint's guidance is s times the unit-scale gradient (the fixture runs at s = 1.0, where
    passing a constant 1.0 instead of `classifier_scale` would go unnoticed)."""
    torch.manual_seed(0)
    m = class_cond_repaint(classifier_scale=2.5)
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([1, 3])
    with torch.inference_mode():
        guided = m.guidance(x, 3, y)
        unit = log_prob_gradient(m.classifier, x, m.net_time(x, 3, m.sched), y, 1.0)
    assert unit.abs().max() > 0
    torch.testing.assert_close(guided, 2.5 * unit)
