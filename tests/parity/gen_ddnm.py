"""DDNM fixtures from wyhuai/DDNM: `functions/svd_ddnm.py: ddnm_diffusion` (the SVD path that `evaluation.sh`
runs for inpainting: no `--simplified`) with the `Inpainting` A-operator and time travel, on a learned-σ
guided-diffusion UNet with `parity_weights`; every draw recorded. The official function moves tensors to
'cuda' at each step: here `.to('cuda')` keeps them on the CPU.

Also: the `--simplified` path, `Diffusion.simplified_ddnm_plus` run as it is on the same network and inputs with
time travel (its dataset I/O replaced: `datasets` gives the one test image, rescaled 2X − 1 as the configs'
`rescaled: true`; the float result is taken where `inverse_data_transform` receives it (its third of four calls); the mask file it reads
from exp/inp_masks/mask.npy is written in a temporary working folder), and the DDPM `Model` (guided_diffusion/
models.py, the CelebA-HQ `celeba_hq.ckpt` architecture, small) forward at three timesteps."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
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
SIMPLIFIED = dict(T_sampling=10, travel_length=3, travel_repeat=2, eta=0.85)
DDPM_MODEL = dict(ch=32, out_ch=3, ch_mult=[1, 2], num_res_blocks=1, attn_resolutions=[8], dropout=0.0,
                  in_channels=3, resamp_with_conv=True, type="simple", image_size=SIZE)
DDPM_SEED = 53


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
    simplified_tensors, header["simplified"] = simplified_run(model, gt, keep, betas)
    model_tensors, header["ddpm_model"] = ddpm_model_forward()
    tensors.update(simplified_tensors)
    tensors.update(model_tensors)
    return save_fixture("ddnm", tensors, header, out_dir)


def simplified_run(model, gt, keep, betas):
    """`simplified_ddnm_plus` for `--deg inpainting`, σ_y = 0, with time travel."""
    seen = {}
    stub = types.ModuleType("datasets")
    stub.get_dataset = lambda args, config: (None, [((gt[0] + 1) / 2, 0)])

    def data_transform(config, x):
        seen["image"] = 2 * x - 1  # rescaled: true, no dequantisation
        return seen["image"]

    def inverse_data_transform(config, x):  # called on A†y, x_orig (saved first), the result, x_orig (for PSNR)
        seen.setdefault("calls", []).append(x.clone())
        return ((x + 1) / 2).clamp(0, 1)

    stub.data_transform, stub.inverse_data_transform = data_transform, inverse_data_transform
    sys.modules["datasets"] = stub
    ddnm = importlib.import_module("guided_diffusion.diffusion")
    ns = types.SimpleNamespace
    args = ns(deg="inpainting", sigma_y=0.0, eta=SIMPLIFIED["eta"], subset_start=-1, subset_end=-1, seed=1234)
    config = ns(sampling=ns(batch_size=1), data=ns(num_workers=0, channels=3, image_size=SIZE),
                diffusion=ns(num_diffusion_timesteps=1000),
                time_travel=ns(**{k: SIMPLIFIED[k] for k in ("T_sampling", "travel_length", "travel_repeat")}))
    starts, randn = [], torch.randn

    def recorded_randn(*a, **k):
        starts.append(randn(*a, **k))
        return starts[-1]

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            os.makedirs("exp/inp_masks")
            np.save("exp/inp_masks/mask.npy", keep[0, 0].numpy())
            args.image_folder = tmp
            runner = ns(args=args, config=config, device="cpu", betas=betas)
            torch.manual_seed(12)
            torch.randn = recorded_randn
            with RecordedRandnLike() as recorder, torch.no_grad():
                ddnm.Diffusion.simplified_ddnm_plus(runner, model, None)
        finally:
            torch.randn = randn
            os.chdir(here)
    assert len(starts) == 1, "expected one torch.randn draw (x_T)"
    assert len(seen["calls"]) == 4 and torch.equal(seen["calls"][1], seen["calls"][3])
    seen["out"] = seen["calls"][2]
    tensors = {"simplified_image": seen["image"], "simplified_noise": torch.stack(starts + recorder.draws),
               "simplified_out": seen["out"][None]}
    return tensors, {**SIMPLIFIED, "draws": 1 + len(recorder.draws)}


def ddpm_model_forward():
    models = importlib.import_module("guided_diffusion.models")
    ns = types.SimpleNamespace
    m = {k: v for k, v in DDPM_MODEL.items() if k != "image_size"}
    config = ns(model=ns(**m), data=ns(image_size=SIZE), diffusion=ns(num_diffusion_timesteps=1000))
    model = models.Model(config).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in model.state_dict().items()}, DDPM_SEED)
    model.load_state_dict(weights)
    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 3, SIZE, SIZE, generator=g)
    t = torch.tensor([0.0, 411.0, 999.0])
    with torch.no_grad():
        out = model(x, t)
    return {"ddpm_x": x, "ddpm_t": t, "ddpm_out": out}, {**DDPM_MODEL, "seed": DDPM_SEED,
                                                         "weights_sha256": weights_sha256(weights)}
