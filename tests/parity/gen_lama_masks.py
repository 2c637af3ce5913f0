"""LaMa mask fixtures from advimman/lama: the hole ratios of masks drawn by its own `MixedMaskGenerator` with the
`configs/data_gen/random_{thin,medium,thick}_256.yaml` settings, kept as `bin/gen_mask_dataset.py` keeps them
(a candidate covering more than `max_tamper_area` = 0.5 is dropped). The suite's `narrow` / `medium` / `wide`
generators are compared with these distributions (they draw from NumPy's Generator, not the global RNG, so the
comparison is of distributions, not of masks). Its two imports unrelated to these generators (segmentation
masks, a LinearRamp for training schedules) are stubbed."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import torch
from parity_common import FIXTURE_DIR, load_module, save_fixture, upstream_commit

N = 2000
SEED = 0
CONFIGS = {  # configs/data_gen/random_*_256.yaml at the recorded commit
    "narrow": dict(irregular_proba=1, irregular_kwargs=dict(min_times=4, max_times=50, max_width=10, max_angle=4,
                                                            max_len=40), box_proba=0, segm_proba=0, squares_proba=0),
    "medium": dict(irregular_proba=1, irregular_kwargs=dict(min_times=4, max_times=5, max_width=50, max_angle=4,
                                                            max_len=100),
                   box_proba=0.3, box_kwargs=dict(margin=0, bbox_min_size=10, bbox_max_size=50, max_times=5,
                                                  min_times=1), segm_proba=0, squares_proba=0),
    "wide": dict(irregular_proba=1, irregular_kwargs=dict(min_times=1, max_times=5, max_width=100, max_angle=4,
                                                          max_len=200),
                 box_proba=0.3, box_kwargs=dict(margin=10, bbox_min_size=30, bbox_max_size=150, max_times=3,
                                                min_times=1), segm_proba=0, squares_proba=0),
}
MAX_TAMPER_AREA = 0.5


def _stub(name: str, **attrs) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def generate(upstream: Path, out_dir: Path = FIXTURE_DIR) -> Path:
    for pkg in ("saicinpainting", "saicinpainting.evaluation", "saicinpainting.evaluation.masks"):
        _stub(pkg)
    _stub("saicinpainting.evaluation.masks.mask", SegmentationMask=None)
    _stub("saicinpainting.utils", LinearRamp=None)
    masks = load_module("lama_masks", upstream / "saicinpainting/training/data/masks.py")
    image = np.zeros((3, 256, 256), np.float32)
    tensors, header = {}, {"family": "lama_masks", "upstream": "advimman/lama", "commit": upstream_commit(upstream),
                           "generator": "tests/parity/gen_lama_masks.py", "n": N, "seed": SEED,
                           "max_tamper_area": MAX_TAMPER_AREA, "configs": CONFIGS, "means": {}}
    for name, kwargs in CONFIGS.items():
        np.random.seed(SEED)
        generator = masks.MixedMaskGenerator(**kwargs)
        ratios = []
        while len(ratios) < N:
            ratio = float(generator(image)[0].mean())
            if ratio <= MAX_TAMPER_AREA:
                ratios.append(ratio)
        tensors[name] = torch.tensor(ratios, dtype=torch.float32)
        header["means"][name] = round(float(np.mean(ratios)), 4)
    return save_fixture("lama_masks", tensors, header, out_dir)
