"""RePaint fixtures from andreas128/RePaint: its guided-diffusion `create_model` / `create_gaussian_diffusion` and
`p_sample_loop` with a short jump schedule (t_T 10, jump 3 × 2) and a learned-σ network on `parity_weights`,
every draw recorded (the start noise is passed in, `torch.randn_like` is wrapped)."""

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
    return save_fixture("repaint", tensors, header, out_dir)
