"""StrDiffusion's discriminator loss from htyjers/StrDiffusion's training code, at batch 3 (issue 25).

`train/discriminator/config/inpainting/models/denoising_model.py`, `optimize_parameters`: the official
`Discriminator` (the training folder's `networks.py`, here at the tiny width on `parity_weights`) scores
D_real = D(t, y*_{t−1}, x*_{t−1}), D_fake = D(t, y_t, x*_{t−1}) and the anchor
_D_fake = D(t, y*_{t−1}·M + y_t·(1 − M), x*_{t−1}); the loss is softplus(−D_real).mean() + softplus(D_fake).mean()
+ nn.TripletMarginLoss()(_D_fake, D_real, D_fake). Recorded: the inputs, the three score tensors (their shapes
decide how the triplet loss groups them) and each loss term, with the upstream commit.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch.nn.functional as F
from parity_common import FIXTURE_DIR, parity_weights, save_fixture, upstream_commit, weights_sha256

DISCRIMINATOR = dict(nc=4, ngf=8, t_emb_dim=32)
SEED = 34
BATCH = 3


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    root = upstream / "train/discriminator/config/inpainting"
    for name in ("lmdb", "matplotlib", "matplotlib.pyplot", "cv2"):  # imported by the package, unused here
        sys.modules.setdefault(name, types.ModuleType(name))
    import torch
    import torch.utils.cpp_extension

    torch.utils.cpp_extension.load = lambda *a, **k: None  # the CUDA ops' loader; CPU paths are pure PyTorch
    sys.path.insert(0, str(root))
    from models.networks import Discriminator

    dis = Discriminator(**DISCRIMINATOR, act=torch.nn.LeakyReLU(0.2))
    weights = parity_weights({k: tuple(v.shape) for k, v in dis.state_dict().items()}, SEED)
    dis.load_state_dict(weights)
    dis.eval()

    g = torch.Generator().manual_seed(5)
    y_prev, yt = torch.rand(BATCH, 3, 16, 16, generator=g), torch.rand(BATCH, 3, 16, 16, generator=g)
    x_prev = torch.rand(BATCH, 1, 16, 16, generator=g)
    keep = torch.ones(BATCH, 1, 16, 16)
    keep[..., 4:12, 3:11] = 0
    t = torch.tensor([[7], [19], [3]])  # the official `timesteps` [B, 1], squeezed before the call
    with torch.no_grad():
        d_real = dis(t.squeeze(), y_prev, x_prev)
        d_fake = dis(t.squeeze(), yt, x_prev)
        d_anchor = dis(t.squeeze(), y_prev * keep + yt * (1 - keep), x_prev)
        err_real = F.softplus(-d_real.view(-1)).mean()
        err_fake = F.softplus(d_fake.view(-1)).mean()
        err_anchor = torch.nn.TripletMarginLoss()(d_anchor, d_real, d_fake)
    tensors = {"y_prev": y_prev, "yt": yt, "x_prev": x_prev, "keep": keep, "t": t, "d_real": d_real,
               "d_fake": d_fake, "d_anchor": d_anchor, "err_real": err_real, "err_fake": err_fake,
               "err_anchor": err_anchor, "loss_d": err_real + err_fake + err_anchor}
    header = {"family": "strdiffusion_dloss", "upstream": "htyjers/StrDiffusion", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_strdiffusion_dloss.py",
              "source": "train/discriminator/config/inpainting/models/denoising_model.py (optimize_parameters)",
              "discriminator": DISCRIMINATOR, "seed": SEED, "weights_sha256": weights_sha256(weights),
              "score_shape": list(d_real.shape)}
    return save_fixture("strdiffusion_dloss", tensors, header, out_dir)
