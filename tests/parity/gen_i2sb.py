"""I²SB fixtures from NVlabs/I2SB: the official `Runner` (schedule, network wrapper, EMA) and `ddpm_sampling`.

Recorded: the schedule tables of `Runner.__init__` (runner.py lines 58–63) for β_max 1.0 and 0.3; the sha256 of
`util.space_indices(1000, nfe + 1)` for every NFE in 1..999; the official ADM UNet forward on `parity_weights`;
the layout of the official `latest.pt` (`net`, `ema` shadow order); and full inpainting runs of
`Runner.ddpm_sampling` (OT-ODE and stochastic, NFE 1, 20, 999) with every `torch.randn_like` draw recorded.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from parity_common import (
    FIXTURE_DIR,
    RecordedRandnLike,
    parity_weights,
    save_fixture,
    tensor_sha256,
    tiny_adm_kwargs,
    upstream_commit,
    weights_sha256,
)

# the official modules import ipdb only to have a debugger at hand; give them an inert one
sys.modules.setdefault("ipdb", types.SimpleNamespace(set_trace=lambda *a, **k: None))

SIZE = 16
NET_KWARGS = tiny_adm_kwargs(SIZE, learn_sigma=False)
WEIGHT_SEED = 13
RUNS = [(True, 1), (True, 20), (True, 999), (False, 1), (False, 20), (False, 999)]  # (ot_ode, nfe)
RECORD_LIMIT = 64  # runs with more draws store a seed and the sha256 of the stream instead of the draws


def _official_runner(workdir: Path, beta_max: float, state: dict, net_kwargs: dict = NET_KWARGS):
    from i2sb import ckpt_util, runner

    data = workdir / "data"
    data.mkdir(exist_ok=True)
    with open(data / ckpt_util.I2SB_IMG256_UNCOND_PKL, "wb") as f:
        pickle.dump(dict(net_kwargs), f)  # the network kwargs file the official Image256Net reads
    torch.save(state, data / ckpt_util.I2SB_IMG256_UNCOND_CKPT)  # loaded by Image256Net before the EMA is built
    opt = types.SimpleNamespace(ckpt_path=workdir, interval=1000, beta_max=beta_max, device="cpu", t0=1e-4, T=1.0,
                                use_fp16=False, cond_x1=False, ema=0.99, load=None, ot_ode=True)
    log = types.SimpleNamespace(info=lambda *a, **k: None, warning=lambda *a, **k: None)
    captured = {}

    class RecordingDiffusion(runner.Diffusion):  # keeps the float64 β the Runner computes (stored as float32)
        def __init__(self, betas, device):
            captured["betas"] = torch.from_numpy(np.array(betas, dtype=np.float64))
            super().__init__(betas, device)

    cwd = os.getcwd()
    os.chdir(workdir)  # Image256Net reads its files from "data/"
    runner.Diffusion, original = RecordingDiffusion, runner.Diffusion
    try:
        return runner.Runner(opt, log, save_opt=False), opt, captured["betas"]
    finally:
        os.chdir(cwd)
        runner.Diffusion = original


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    from guided_diffusion.script_util import create_model
    from i2sb import util

    tensors: dict[str, torch.Tensor] = {}
    header = {"family": "i2sb", "upstream": "NVlabs/I2SB", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_i2sb.py", "net_kwargs": NET_KWARGS, "weight_seed": WEIGHT_SEED}

    shapes = {k: tuple(v.shape) for k, v in create_model(**NET_KWARGS).state_dict().items()}
    weights = parity_weights(shapes, WEIGHT_SEED)
    header["weights_sha256"] = weights_sha256(weights)

    with tempfile.TemporaryDirectory() as tmp:
        runners = {}
        for beta_max in (1.0, 0.3):
            work = Path(tmp) / f"b{beta_max}"
            work.mkdir()
            run, opt, betas64 = _official_runner(work, beta_max, weights)
            runners[beta_max] = (run, opt)
            d = run.diffusion
            tag = f"schedule/b{beta_max}"
            for name in ("betas", "std_fwd", "std_bwd", "std_sb", "mu_x0", "mu_x1"):
                tensors[f"{tag}/{name}"] = getattr(d, name).clone()
            tensors[f"{tag}/betas64"] = betas64
            tensors[f"{tag}/noise_levels"] = run.net.noise_levels.clone()

        # step lists for every NFE: sha256 of the int64 list
        digests = [hashlib.sha256(torch.tensor(util.space_indices(1000, nfe + 1)).numpy().tobytes()).digest()
                   for nfe in range(1, 1000)]
        tensors["steps/sha256"] = torch.frombuffer(bytearray(b"".join(digests)), dtype=torch.uint8).view(999, 32)

        run, opt = runners[1.0]
        header["param_order"] = [k for k, _ in run.net.named_parameters()]
        header["checkpoint_layout"] = {"top": ["net", "ema", "optimizer", "sched"],
                                       "ema": sorted(run.ema.state_dict())}

        g = torch.Generator().manual_seed(1)
        x = torch.randn(2, 3, SIZE, SIZE, generator=g)
        steps = torch.tensor([3, 640])
        with torch.no_grad():
            tensors["net/x"], tensors["net/steps"], tensors["net/out"] = x, steps, run.net(x, steps)

        clean = torch.rand(1, 3, SIZE, SIZE, generator=g) * 2 - 1
        mask = torch.zeros(1, 1, SIZE, SIZE)
        mask[..., 4:12, 3:11] = 1
        tensors["run/clean"], tensors["run/mask"] = clean, mask
        header["runs"] = []
        for ot_ode, nfe in RUNS:
            opt.ot_ode = ot_ode
            key = f"run/{'ode' if ot_ode else 'sde'}{nfe}"
            seed = 100 + nfe + (0 if ot_ode else 5000)
            torch.manual_seed(seed)
            with RecordedRandnLike() as recorder:
                xs, _ = run.ddpm_sampling(opt, clean * (1 - mask), mask=mask, cond=None, clip_denoise=False,
                                          nfe=nfe, verbose=False)
            draws = recorder.draws
            tensors[f"{key}/out"] = xs[:, 0].contiguous()
            stream = torch.cat([d.flatten() for d in draws])
            entry = {"key": key, "ot_ode": ot_ode, "nfe": nfe, "seed": seed, "draws": len(draws),
                     "draw_shape": list(draws[0].shape), "noise_sha256": tensor_sha256(stream)}
            if len(draws) <= RECORD_LIMIT:
                tensors[f"{key}/noise"] = torch.stack(draws)
            header["runs"].append(entry)
    return save_fixture("i2sb", tensors, header, out_dir)
