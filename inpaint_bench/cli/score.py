"""`inpaint-bench score --pred DIR --ref DIR`: the suite's yardstick for any folder of outputs (`metrics/score.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from ..files.atomic import atomic_write
from ..metrics.inception import MODES
from ..metrics.score import score, score_lama
from ..metrics.suite import METRIC_NAMES


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
    p.add_argument("--layout", choices=("folders", "lama"), default="folders",
                   help="folders: --pred/--ref with the same names; lama: --ref holds X.png + X_mask000.png")

    def run(a) -> int:
        metrics = [m.strip() for m in a.metrics.split(",") if m.strip()]
        if a.layout == "lama":
            result = score_lama(a.pred, a.ref, metrics, a.fid_mode, a.untrained_features, a.lpips_net)
        else:
            result = score(a.pred, a.ref, metrics, a.masks, a.fid_mode, a.untrained_features, a.lpips_net,
                           a.mask_polarity, a.resize_masks)
        text = json.dumps(result, indent=1, sort_keys=True)
        if a.json:
            atomic_write(a.json, (text + "\n").encode())
        print(text)
        return 0

    p.set_defaults(func=run)
