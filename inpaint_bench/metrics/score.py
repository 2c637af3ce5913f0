"""`inpaint-bench score --pred DIR --ref DIR`: the suite's yardstick for any folder of outputs.

Outputs and references are paired by relative path (both folders must hold the same names); masks, when given,
are paired by sorted order (mask i ↔ image i). Hole-only metrics need masks.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import __version__
from ..data.images import list_images, load_rgb, to_tensor
from ..masks.frozen import atomic_write
from .inception import MODES
from .suite import METRIC_NAMES, MetricSuite

BATCH = 16


def _pairs(pred: Path, ref: Path) -> list[str]:
    p, r = list_images(pred), list_images(ref)
    if not p:
        raise FileNotFoundError(f"no images in {pred}")
    missing = sorted(set(p) ^ set(r))
    if missing:
        raise ValueError(f"--pred and --ref must hold the same file names; {len(missing)} differ, e.g. {missing[0]}")
    return p


def score(pred: Path, ref: Path, metrics: list[str], masks: str | None = None, mode: str = "clean",
          untrained: bool = False, lpips_net: str = "alex", mask_polarity: str = "hole",
          resize_masks: bool = False) -> dict:
    from .. import masks as mask_registry

    names = _pairs(Path(pred), Path(ref))
    if any(m.endswith("_hole") for m in metrics) and not masks:
        raise ValueError("hole-only metrics need --masks NAME or --masks DIR")
    suite = MetricSuite(metrics, mode=mode, untrained=untrained, lpips_net=lpips_net)
    source = None
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        p = torch.stack([to_tensor(load_rgb(Path(pred) / n)) for n in chunk])
        r = torch.stack([to_tensor(load_rgb(Path(ref) / n)) for n in chunk])
        if p.shape != r.shape:
            raise ValueError(f"{chunk[0]}: output {list(p.shape[1:])} and reference {list(r.shape[1:])} differ in size")
        if masks and source is None:
            name = f"folder:{masks}" if Path(masks).is_dir() else masks
            source = mask_registry.mask_source(name, size=p.shape[-1], polarity=mask_polarity, resize=resize_masks)
        idx = torch.arange(start, start + len(chunk))
        m = torch.stack([source(int(i)) for i in idx]) if source else torch.zeros(len(chunk), 1, *p.shape[-2:])
        suite.update(p, r, m, idx)
    return {"metrics": suite.compute(), "labels": suite.labels(), "n_images": suite.count(),
            "fid_mode": mode, "untrained_features": untrained, "masks": masks, "pred": str(pred), "ref": str(ref),
            "code_version": __version__}


def add_parser(sub) -> None:
    p = sub.add_parser("score", help="score a folder of outputs against a folder of references")
    p.add_argument("--pred", type=Path, required=True)
    p.add_argument("--ref", type=Path, required=True)
    p.add_argument("--masks", default=None, help="mask name (e.g. center) or a folder of PNG masks")
    p.add_argument("--mask-polarity", choices=("hole", "keep"), default="hole")
    p.add_argument("--resize-masks", action="store_true", help="resize masks of another size (nearest)")
    p.add_argument("--metrics", default="fid,kid,lpips,psnr,ssim", help=f"comma list from {','.join(METRIC_NAMES)}")
    p.add_argument("--fid-mode", choices=MODES, default="clean")
    p.add_argument("--lpips-net", choices=("alex", "vgg"), default="alex")
    p.add_argument("--untrained-features", action="store_true",
                   help="fixed-seed random feature networks (offline; numbers labelled UNTRAINED-FEATURES)")
    p.add_argument("--json", type=Path, default=None, help="write the result here (atomically)")

    def run(a) -> int:
        result = score(a.pred, a.ref, [m.strip() for m in a.metrics.split(",") if m.strip()], a.masks,
                       a.fid_mode, a.untrained_features, a.lpips_net, a.mask_polarity, a.resize_masks)
        text = json.dumps(result, indent=1, sort_keys=True)
        if a.json:
            atomic_write(a.json, (text + "\n").encode())
        print(text)
        return 0

    p.set_defaults(func=run)
