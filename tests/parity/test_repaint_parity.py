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


GUIDED = HEADER["guided"]
CLASS_CONFIG = UNetConfig.from_guided_diffusion(**{**HEADER["net_kwargs"], "class_cond": True})


def _classifier_config() -> dict:
    kw = GUIDED["classifier_kwargs"]
    return dict(image_size=kw["image_size"], model_channels=kw["model_channels"], out_channels=kw["out_channels"],
                num_res_blocks=kw["num_res_blocks"], attention_resolutions=tuple(kw["attention_resolutions"]),
                channel_mult=tuple(kw["channel_mult"]), num_head_channels=kw["num_head_channels"],
                use_scale_shift_norm=kw["use_scale_shift_norm"], resblock_updown=kw["resblock_updown"],
                pool=kw["pool"])


def _load_parity(net, seed, expected_sha):
    weights = parity_weights({k: tuple(v.shape) for k, v in net.state_dict().items()}, seed)
    assert weights_sha256(weights) == expected_sha  # guided-diffusion's keys and shapes
    load_into(net, weights, "parity weights")


def guided_repaint(classifier="random", scale=None):
    from inpaint_bench.methods.repaint import RePaint

    jump = HEADER["jump"]
    method = RePaint(checkpoint=None, net=CLASS_CONFIG.to_dict(), t_T=jump["t_T"], jump_length=jump["jump_length"],
                     jump_n_sample=jump["jump_n_sample"], classifier=classifier, classifier_net=_classifier_config(),
                     classifier_scale=GUIDED["classifier_scale"] if scale is None else scale, class_labels="dataset")
    _load_parity(method.net, GUIDED["class_seed"], GUIDED["weights_sha256"])
    if classifier is not None:
        _load_parity(method.classifier, GUIDED["classifier_seed"], GUIDED["classifier_weights_sha256"])
    return method


def test_noisy_classifier_logits_and_guidance_gradient_equal_the_official_ones():
    import torch

    from inpaint_bench.diffusion.guidance import log_prob_gradient

    classifier = guided_repaint().classifier
    with torch.no_grad():
        logits = classifier(FIX["probe_x"], FIX["probe_t"])
    assert (logits - FIX["probe_logits"]).abs().max() <= 1e-5 * max(1.0, FIX["probe_logits"].abs().max())
    grad = log_prob_gradient(classifier, FIX["probe_x"], FIX["probe_t"], torch.tensor(GUIDED["labels"]),
                             GUIDED["classifier_scale"])
    ref = FIX["probe_grad"]
    assert ref.abs().max() > 0
    assert (grad - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_repaint_imagenet_setting_class_conditional_with_classifier_guidance_equals_the_official_run():
    import torch

    method = guided_repaint()
    image, mask = FIX["gt"], 1 - FIX["keep"]
    noise = ReplayNoise(FIX["guided_noise"])
    out = method.inpaint(image * (1 - mask), mask, noise, labels=torch.tensor(GUIDED["labels"]))
    assert noise.used == GUIDED["draws"]
    assert method.aux_nfe == {"classifier": method.nfe}  # one classifier gradient per denoising step
    ref = FIX["guided_out"]
    assert (out - ref).abs().max() <= 1e-5 * max(1.0, ref.abs().max())
    # the guidance is visible at this tolerance: the same run without it lands elsewhere
    unguided = guided_repaint(classifier=None).inpaint(image * (1 - mask), mask, ReplayNoise(FIX["guided_noise"]),
                                                       labels=torch.tensor(GUIDED["labels"]))
    assert (unguided - ref).abs().max() > 1e-3
