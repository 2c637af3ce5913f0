"""StrDiffusion fixtures from htyjers/StrDiffusion (test/texture/config/inpainting, the official test code at HEAD).

Recorded: the texture `ConditionalUNet` (SPADE), the structure `ConditionalUNets` and the time-conditioned
`Discriminator` forwards on `parity_weights`; the test data's gray image and Canny edges (`image_to_edge`,
σ = 2); and one whole `IRSDE.reverse_sde` sampling run at T = 20 (both stages, three resampling windows) with
every `torch.randn_like` draw and a scripted discriminator whose scores walk through every branch of the
official accept rule. The official code calls `.cuda()` throughout: here it is the identity (CPU run), and the
CUDA extension loader is stubbed (the CPU paths of its ops are pure PyTorch).
"""

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
    upstream_commit,
    weights_sha256,
)

TEXTURE = dict(in_nc=3, out_nc=3, nf=8, depth=3)
STRUCTURE = dict(in_nc=1, out_nc=1, nf=8, depth=3)
DISCRIMINATOR = dict(nc=4, ngf=8, t_emb_dim=32)
SDE = dict(max_sigma=30, T=20, schedule="cosine", eps=0.005)
SEEDS = {"texture": 31, "structure": 32, "discriminator": 33}
# D_n, then D_p per iteration (u_min 3, u_max 6 at HEAD): reject → average, accept, accept (i ≥ u_min), reject → stop
SCRIPT = [0.5, 0.7, 0.3, 0.4, 0.9]


class ScriptedDiscriminator(torch.nn.Module):
    """Returns the scores of SCRIPT in turn for each resampling window, and records the times it is asked at."""

    def __init__(self):
        super().__init__()
        self.calls: list[int] = []

    def forward(self, t, x, s):
        self.calls.append(int(t.reshape(-1)[0]))
        window = [i for i, c in enumerate(self.calls) if c == self.calls[-1]]
        return torch.tensor([[SCRIPT[min(len(window) - 1, len(SCRIPT) - 1)]]])


def _stub_environment():
    import torch.utils.cpp_extension

    torch.utils.cpp_extension.load = lambda *a, **k: None  # CUDA ops are only used on CUDA tensors
    torch.Tensor.cuda = lambda self, *a, **k: self
    for name in ("lmdb", "matplotlib", "matplotlib.pyplot"):  # imported by the official files, unused here
        sys.modules.setdefault(name, types.ModuleType(name))


def _filled(module: torch.nn.Module, seed: int) -> tuple[torch.nn.Module, str]:
    weights = parity_weights({k: tuple(v.shape) for k, v in module.state_dict().items()}, seed)
    module.load_state_dict(weights)
    return module.eval(), weights_sha256(weights)


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    _stub_environment()
    root = upstream / "test/texture/config/inpainting"
    sys.path.insert(0, str(root))
    from models.modules.DenoisingUNet_arch import ConditionalUNet, ConditionalUNets
    from models.networks import Discriminator

    texture_sde = load_module("strdiff_sde_utils", root / "utils/sde_utils.py")
    structure_sde = load_module("strdiff_str_sde_utils", root / "str_utils/sde_utils.py")
    gt_dataset = load_module("strdiff_gt_dataset", root / "data/GT_dataset.py")

    texture, tex_sha = _filled(ConditionalUNet(**TEXTURE), SEEDS["texture"])
    structure, str_sha = _filled(ConditionalUNets(**STRUCTURE), SEEDS["structure"])
    dis, dis_sha = _filled(Discriminator(**DISCRIMINATOR, act=torch.nn.LeakyReLU(0.2)), SEEDS["discriminator"])
    header = {"family": "strdiffusion", "upstream": "htyjers/StrDiffusion", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_strdiffusion.py", "texture": TEXTURE, "structure": STRUCTURE,
              "discriminator": DISCRIMINATOR, "sde": SDE, "seeds": SEEDS, "script": SCRIPT,
              "weights_sha256": {"texture": tex_sha, "structure": str_sha, "discriminator": dis_sha}}
    tensors: dict[str, torch.Tensor] = {}

    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        xt, mu, guide = (torch.rand(2, c, 16, 16, generator=g) for c in (3, 3, 1))
        t = torch.tensor([4, 17])
        tensors.update({"texture/xt": xt, "texture/mu": mu, "texture/guide": guide, "texture/t": t,
                        "texture/out": texture(xt, mu, t, guide)})
        xs, mus = torch.rand(2, 1, 16, 16, generator=g), torch.rand(2, 1, 16, 16, generator=g)
        tensors.update({"structure/xt": xs, "structure/mu": mus, "structure/out": structure(xs, mus, t)})
        tensors["dis/out"] = dis(t, xt, guide)  # inputs: texture/t, texture/xt, texture/guide

    # an 8-bit image; +0.25 so the official ToPILImage truncation and the suite's rounding give the same bytes
    gt = (torch.randint(0, 256, (1, 3, 16, 16), generator=g).float() + 0.25) / 255
    edge, gray = gt_dataset.image_to_edge(gt[0], sigma=2.0)
    keep = torch.ones(1, 1, 16, 16)
    keep[..., 3:11, 5:13] = 0
    tensors.update({"run/gt": gt, "run/gray": gray[None], "run/edge": edge[None], "run/keep": keep})

    sde = texture_sde.IRSDE(device="cpu", **SDE)
    s_sde = structure_sde.IRSDE(device="cpu", **SDE)
    sde.set_model(texture)
    s_sde.set_model(structure)
    scripted = ScriptedDiscriminator()
    torch.manual_seed(11)
    with RecordedRandnLike() as recorder, torch.no_grad():
        y_gt, x_gt, x_lq = gt, gray[None], edge[None]  # as test.py: GT, GT_gray, GT_edge
        noisy_state = sde.noise_state(y_gt * keep)
        noisy_states = s_sde.noise_state(x_lq * keep)
        sde.set_mu(y_gt * keep)  # DenoisingModel.test: sde.set_mu(condition), S_sde.set_mu(S_LQ)
        s_sde.set_mu(x_lq * keep)
        out = sde.reverse_sde(noisy_state, GT=y_gt, mask=keep, S_sde=s_sde, S_GT=x_gt, S_LQ=noisy_states,
                              dis=scripted, S_LQs=x_lq * keep)
    tensors["run/noise_shapes"] = torch.tensor([d.shape[1] for d in recorder.draws])
    tensors["run/noise"] = torch.cat([d.flatten() for d in recorder.draws])
    tensors["run/out"] = out
    header["draws"] = len(recorder.draws)
    header["discriminator_calls"] = scripted.calls
    return save_fixture("strdiffusion", tensors, header, out_dir)
