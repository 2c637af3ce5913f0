"""IR-SDE fixtures from Algolzw/image-restoration-sde (codes/config/inpainting, codes/utils/sde_utils.py).

Recorded: the official `ConditionalUNet` forward on `parity_weights` (a size the net must pad, and one it need
not), the official IRSDE tables at T = 10, the official degradation `mask_to` (white hole), and one full
`IRSDE.reverse_sde` run from `noise_state` with every `torch.randn_like` draw.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
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

NET = dict(in_nc=3, out_nc=3, nf=8, depth=3)
SDE = dict(max_sigma=30, T=10, schedule="cosine", eps=0.005)
WEIGHT_SEED = 21


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    import cv2

    sys.path.insert(0, str(upstream / "codes/config/inpainting"))
    from models.modules.DenoisingUNet_arch import ConditionalUNet

    sde_utils = load_module("irsde_sde_utils", upstream / "codes/utils/sde_utils.py")
    deg_utils = load_module("irsde_deg_utils", upstream / "codes/utils/deg_utils.py")

    net = ConditionalUNet(**NET).eval()
    weights = parity_weights({k: tuple(v.shape) for k, v in net.state_dict().items()}, WEIGHT_SEED)
    net.load_state_dict(weights)
    tensors: dict[str, torch.Tensor] = {}
    header = {"family": "irsde", "upstream": "Algolzw/image-restoration-sde", "commit": upstream_commit(upstream),
              "generator": "tests/parity/gen_irsde.py", "net": NET, "sde": SDE, "weight_seed": WEIGHT_SEED,
              "weights_sha256": weights_sha256(weights)}

    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for size in (16, 12):  # 12 is not a multiple of 2^depth: the official net reflect-pads
            xt, mu = torch.rand(2, 3, size, size, generator=g), torch.rand(2, 3, size, size, generator=g)
            t = torch.tensor([3, 9])
            tensors[f"net{size}/xt"], tensors[f"net{size}/mu"], tensors[f"net{size}/t"] = xt, mu, t
            tensors[f"net{size}/out"] = net(xt, mu, t)

    sde = sde_utils.IRSDE(device="cpu", **SDE)
    for name in ("thetas", "sigmas", "thetas_cumsum", "sigma_bars"):
        tensors[f"sde/{name}"] = getattr(sde, name).clone()
    tensors["sde/dt"] = torch.tensor([float(sde.dt)], dtype=torch.float64)

    gt = torch.rand(1, 3, 16, 16, generator=g)
    keep = np.full((16, 16, 3), 255, np.uint8)
    keep[4:12, 5:13] = 0  # 255 = keep, as the official mask files
    with tempfile.TemporaryDirectory() as root:
        cv2.imwrite(str(Path(root) / "000000.png"), keep)
        lq = deg_utils.mask_to(gt, root, mask_id=0)
    tensors["run/gt"], tensors["run/keep"], tensors["run/lq"] = gt, torch.from_numpy(keep[None, None, ..., 0] / 255.0).float(), lq

    torch.manual_seed(7)
    sde.set_model(net)
    sde.set_mu(lq)
    with RecordedRandnLike() as recorder, torch.no_grad():
        noisy = sde.noise_state(lq)
        out = sde.reverse_sde(noisy, save_states=False)
    tensors["run/noise"] = torch.stack(recorder.draws)
    tensors["run/out"] = out
    header["draws"] = len(recorder.draws)
    return save_fixture("irsde", tensors, header, out_dir)
