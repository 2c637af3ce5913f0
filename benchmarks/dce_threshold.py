"""IS-Diff's DCE threshold τ from a stated rule: a percentile of the ground truth's own DCE.

A real completion should pass the refinement check about as often as the ground truth itself would, so τ is the
upper quartile (75th percentile) of DCE(ground truth, mask) over a dataset's training split with the benchmark's
masks (image i with mask i of each set). The default (`methods/isdiff.py` DCE_THRESHOLD) is this rule on the
default benchmark: `shapes` train, the first 512 scenes, masks `center` and `wide`, DCE features
intensity+texture. The same rule on another dataset gives that dataset's τ (pass `dce_threshold:` in a sweep).

    python benchmarks/dce_threshold.py [--dataset shapes] [--split train] [--n 512] [--masks center,wide]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from inpaint_bench.data import build_datamodule
from inpaint_bench.methods.isdiff import DCE_THRESHOLD, dce

PERCENTILE = 75


def ground_truth_dce(dataset: str, split: str, n: int, mask: str, features: str = "intensity+texture") -> np.ndarray:
    dm = build_datamodule(dataset, split=split, mask=mask, limit=n, batch_size=64)
    scores = [dce(batch["image"], batch["mask"], features=features) for batch in dm.predict_dataloader()]
    return torch.cat(scores).numpy()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="shapes")
    p.add_argument("--split", default="train")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--masks", default="center,wide")
    p.add_argument("--features", default="intensity+texture")
    a = p.parse_args(argv)
    pooled = []
    print(f"DCE of the ground truth ({a.features}), {a.dataset} {a.split}, first {a.n} images")
    print("| mask | n | median | 75th pct | 90th pct | max |\n|---|---|---|---|---|---|")
    for mask in a.masks.split(","):
        s = ground_truth_dce(a.dataset, a.split, a.n, mask, a.features)
        pooled.append(s)
        print(f"| {mask} | {len(s)} | {np.median(s):.3f} | {np.percentile(s, 75):.3f} | {np.percentile(s, 90):.3f} "
              f"| {s.max():.3f} |")
    pooled = np.concatenate(pooled)
    tau = float(np.percentile(pooled, PERCENTILE))
    print(f"τ = {PERCENTILE}th percentile over both masks: {tau:.3f} nats (DCE_THRESHOLD in the code: {DCE_THRESHOLD})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
