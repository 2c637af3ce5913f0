"""DDNM fixtures from wyhuai/DDNM: `functions/svd_ddnm.py: ddnm_diffusion` (the SVD path that `evaluation.sh`
runs for inpainting: no `--simplified`) with the `Inpainting` A-operator and time travel, on a learned-σ
guided-diffusion UNet with `parity_weights`; every draw recorded. The official function moves tensors to
'cuda' at each step: here `.to('cuda')` keeps them on the CPU."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch
from parity_common import (
    FIXTURE_DIR,
    RecordedRandnLike,
    load_module,
    parity_weights,
    save_fixture,
    tiny_adm_kwargs,
    upstream_commit,
    weights_sha256,
)

SIZE = 16
NET_KWARGS = tiny_adm_kwargs(SIZE, learn_sigma=True)
RUN = dict(T_sampling=20, travel_length=4, travel_repeat=2, eta=0.85)
WEIGHT_SEED = 51


def _cpu_only():
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        args = tuple("cpu" if a == "cuda" or (isinstance(a, torch.device) and a.type == "cuda") else a for a in args)
        if kwargs.get("device") in ("cuda", torch.device("cuda")):
            kwargs["device"] = "cpu"
        return original(self, *args, **kwargs)

    torch.Tensor.to = to


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    _cpu_only()
    sys.path.insert(0, str(upstream))
    from guided_diffusion.script_util import create_model

    svd_ddnm = load_module("ddnm_svd_ddnm", upstream / "functions/svd_ddnm.py")
    operators = load_module("ddnm_svd_operators", upstream / "functions/svd_operators.py")

    model = create_model(**NET_KWARGS).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in model.state_dict().items()}, WEIGHT_SEED)
    model.load_state_dict(weights)

    g = torch.Generator().manual_seed(5)
    gt = torch.rand(1, 3, SIZE, SIZE, generator=g) * 2 - 1
    keep = torch.ones(1, 1, SIZE, SIZE)
    keep[..., 3:13, 4:12] = 0
    missing_r = torch.nonzero(keep.reshape(-1) == 0).long().reshape(-1) * 3  # as DDNM's main: pixel-major, RGB
    missing = torch.cat([missing_r, missing_r + 1, missing_r + 2])
    a_funcs = operators.Inpainting(3, SIZE, missing, "cpu")
    y = a_funcs.A(gt)
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64).float()  # DDNM's linear schedule
    config = types.SimpleNamespace(diffusion=types.SimpleNamespace(num_diffusion_timesteps=1000),
                                   time_travel=types.SimpleNamespace(T_sampling=RUN["T_sampling"],
                                                                     travel_length=RUN["travel_length"],
                                                                     travel_repeat=RUN["travel_repeat"]))
    start = torch.randn(1, 3, SIZE, SIZE, generator=g)
    torch.manual_seed(10)
    with RecordedRandnLike() as recorder, torch.no_grad():
        xs, x0s = svd_ddnm.ddnm_diffusion(start, model, betas, RUN["eta"], a_funcs, y, config=config)
    tensors = {"gt": gt, "keep": keep, "betas": betas, "noise": torch.stack([start] + recorder.draws),
               "out": xs[0], "x0": x0s[0]}
    header = {"family": "ddnm", "upstream": "wyhuai/DDNM", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_ddnm.py", "net_kwargs": NET_KWARGS, "run": RUN,
              "weight_seed": WEIGHT_SEED, "weights_sha256": weights_sha256(weights), "draws": 1 + len(recorder.draws)}
    return save_fixture("ddnm", tensors, header, out_dir)
