"""RePaint fixtures from andreas128/RePaint: its guided-diffusion `create_model` / `create_gaussian_diffusion` and
`p_sample_loop` with a short jump schedule (t_T 10, jump 3 × 2) and a learned-σ network on `parity_weights`,
every draw recorded (the start noise is passed in, `torch.randn_like` is wrapped).

A second run is RePaint's ImageNet setting (`test_inet256_*`): a class-conditional learned-σ network and classifier
guidance from guided-diffusion's `EncoderUNetModel` (attention pool), with `cond_fn` / `model_fn` written as
`test.py` (lines 94–107 at the recorded commit) defines them; the classifier's logits and gradient at one point are
stored too."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from parity_common import (
    FIXTURE_DIR,
    RecordedRandnLike,
    parity_weights,
    save_fixture,
    tiny_adm_kwargs,
    upstream_commit,
    weights_sha256,
)

SIZE = 16
NET_KWARGS = tiny_adm_kwargs(SIZE, learn_sigma=True)
JUMP = dict(t_T=10, n_sample=1, jump_length=3, jump_n_sample=2)
WEIGHT_SEED = 41
CLASSIFIER_KWARGS = dict(image_size=SIZE, in_channels=3, model_channels=32, out_channels=1000, num_res_blocks=1,
                         attention_resolutions=[2], channel_mult=[1, 2], num_head_channels=32,
                         use_scale_shift_norm=True, resblock_updown=True, pool="attention")
GUIDED = dict(classifier_scale=1.0, labels=[417], class_seed=43, classifier_seed=47)


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    sys.path.insert(0, str(upstream))
    from conf_mgt import Default_Conf
    from guided_diffusion.script_util import create_gaussian_diffusion, create_model

    conf = Default_Conf()
    conf.update({"inpa_inj_sched_prev": True, "inpa_inj_sched_prev_cumnoise": False, "diffusion_steps": 1000,
                 "schedule_jump_params": dict(JUMP)})
    model = create_model(**NET_KWARGS, conf=conf).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in model.state_dict().items()}, WEIGHT_SEED)
    model.load_state_dict(weights)
    diffusion = create_gaussian_diffusion(steps=1000, learn_sigma=True, noise_schedule="linear",
                                          timestep_respacing=str(JUMP["t_T"]), conf=conf)
    g = torch.Generator().manual_seed(4)
    gt = torch.rand(1, 3, SIZE, SIZE, generator=g) * 2 - 1
    keep = torch.ones(1, 1, SIZE, SIZE)
    keep[..., 4:12, 2:10] = 0
    start = torch.randn(1, 3, SIZE, SIZE, generator=g)
    torch.manual_seed(9)
    with RecordedRandnLike() as recorder, torch.no_grad():
        out = diffusion.p_sample_loop(model, (1, 3, SIZE, SIZE), noise=start, clip_denoised=True,
                                      model_kwargs={"gt": gt, "gt_keep_mask": keep}, conf=conf, progress=False)
    tensors = {"gt": gt, "keep": keep, "noise": torch.stack([start] + recorder.draws), "out": out}
    header = {"family": "repaint", "upstream": "andreas128/RePaint", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_repaint.py", "net_kwargs": NET_KWARGS, "jump": JUMP,
              "weight_seed": WEIGHT_SEED, "weights_sha256": weights_sha256(weights),
              "draws": 1 + len(recorder.draws)}
    guided_tensors, guided_header = guided_run(conf, diffusion, gt, keep, create_model)
    tensors.update(guided_tensors)
    header["guided"] = guided_header
    return save_fixture("repaint", tensors, header, out_dir)


def guided_run(conf, diffusion, gt, keep, create_model):
    import torch.nn.functional as F
    from guided_diffusion.unet import EncoderUNetModel

    model = create_model(**{**NET_KWARGS, "class_cond": True}, conf=conf).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in model.state_dict().items()}, GUIDED["class_seed"])
    model.load_state_dict(weights)
    kwargs = {**CLASSIFIER_KWARGS, "attention_resolutions": tuple(CLASSIFIER_KWARGS["attention_resolutions"]),
              "channel_mult": tuple(CLASSIFIER_KWARGS["channel_mult"])}
    classifier = EncoderUNetModel(**kwargs).eval()
    cweights = parity_weights({k: tuple(v.shape) for k, v in classifier.state_dict().items()}, GUIDED["classifier_seed"])
    classifier.load_state_dict(cweights)

    def cond_fn(x, t, y=None, gt=None, **kwargs):  # test.py's cond_fn
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            log_probs = F.log_softmax(classifier(x_in, t), dim=-1)
            selected = log_probs[range(len(log_probs)), y.view(-1)]
            return torch.autograd.grad(selected.sum(), x_in)[0] * GUIDED["classifier_scale"]

    def model_fn(x, t, y=None, gt=None, **kwargs):  # test.py's model_fn with class_cond: true
        return model(x, t, y, gt=gt)

    labels = torch.tensor(GUIDED["labels"])
    g = torch.Generator().manual_seed(6)
    probe_x, probe_t = torch.randn(1, 3, SIZE, SIZE, generator=g), torch.tensor([637])
    with torch.no_grad():
        probe_logits = classifier(probe_x, probe_t)
    probe_grad = cond_fn(probe_x, probe_t, y=labels)
    start = torch.randn(1, 3, SIZE, SIZE, generator=g)
    torch.manual_seed(11)
    with RecordedRandnLike() as recorder, torch.no_grad():
        out = diffusion.p_sample_loop(model_fn, (1, 3, SIZE, SIZE), noise=start, clip_denoised=True, cond_fn=cond_fn,
                                      model_kwargs={"gt": gt, "gt_keep_mask": keep, "y": labels}, conf=conf, device="cpu",
                                      progress=False)
    tensors = {"guided_noise": torch.stack([start] + recorder.draws), "guided_out": out, "probe_x": probe_x,
               "probe_t": probe_t, "probe_logits": probe_logits, "probe_grad": probe_grad}
    header = {**GUIDED, "classifier_kwargs": CLASSIFIER_KWARGS, "weights_sha256": weights_sha256(weights),
              "classifier_weights_sha256": weights_sha256(cweights), "draws": 1 + len(recorder.draws)}
    return tensors, header
