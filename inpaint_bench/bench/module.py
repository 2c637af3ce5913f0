"""The LightningModule that runs one cell: inpaint each batch under the contract, score it, time it.

Run with `Trainer.predict`, whose distributed sampler never pads, so each image is processed once; the metric
states de-duplicate by index anyway, and every rank computes the synced result at the end of the epoch.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from PIL import Image

from ..data.images import to_uint8
from ..diffusion.noise import sample_generators
from ..methods.base import run_inpaint
from ..metrics.base import PerImageMetric
from ..metrics.suite import MetricSuite

COST_COLUMNS = ("seconds", "nfe", "known_drift", "aux_nfe", "hole_ratio")


class CostRows(PerImageMetric):
    """Per image: seconds, network evaluations, known-region drift (mean |output − input| outside the hole),
    auxiliary-network evaluations (not the denoiser: gradient net, discriminator), hole ratio."""

    def update(self, seconds, nfe, drift, aux_nfe, hole_ratio, index) -> None:
        self.add_rows(torch.stack([seconds, nfe, drift, aux_nfe, hole_ratio], dim=1), index)

    def compute(self):  # torchmetrics syncs the states across processes around compute()
        return self.unique_rows()


class MaskDigests(PerImageMetric):
    """Per image: the first 48 bits of the sha256 of its mask bits (exact in the float64 rows), for `masks_sha256`:
    the exact masks a cell used, whatever their source, synced and ordered by index like every per-image row."""

    def update(self, mask, index) -> None:
        bits = (mask.detach().cpu().numpy() > 0.5).reshape(len(mask), -1)
        digests = [int.from_bytes(hashlib.sha256(np.packbits(b).tobytes()).digest()[:6], "little") for b in bits]
        self.add_rows(torch.tensor(digests, dtype=torch.float64, device=mask.device)[:, None], index)

    def compute(self) -> str:
        rows, index = self.unique_rows()
        h = hashlib.sha256()
        for i, d in zip(index.tolist(), rows[:, 0].tolist(), strict=True):
            h.update(f"{i}:{int(d):012x}\n".encode())
        return h.hexdigest()


def save_png(img, path: Path) -> None:
    """An output PNG written atomically (a full disk leaves no truncated file)."""
    import io

    from ..files.atomic import atomic_write

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    atomic_write(path, buf.getvalue())


class BenchModule(L.LightningModule):
    def __init__(self, method, suite: MetricSuite, seed: int, sample_dir: Path | None = None, sample_count: int = 0,
                 output_dir: Path | None = None, noise: str = "cpu"):
        super().__init__()
        self.method, self.suite, self.seed, self.noise = method, suite, seed, noise
        self.cost = CostRows()
        self.mask_digests = MaskDigests()
        self.sample_dir, self.sample_count, self.output_dir = sample_dir, sample_count, output_dir
        self.result: dict = {}
        self._aux_kinds: set[str] = set()

    def predict_step(self, batch, batch_idx):
        image, mask, index, keys = batch["image"], batch["mask"], batch["index"], batch["key"]
        generators = sample_generators(self.seed, keys, image.device if self.noise == "device" else "cpu")
        if image.is_cuda:
            torch.cuda.synchronize(image.device)
        start = time.perf_counter()
        out, drift = run_inpaint(self.method, image, mask, generators, batch.get("label"))
        if image.is_cuda:
            torch.cuda.synchronize(image.device)
        seconds = torch.full((len(image),), (time.perf_counter() - start) / len(image), device=image.device)
        self.suite.update(out, image, mask, index, batch.get("label"))
        self.mask_digests.update(mask, index)
        aux = float(sum(self.method.aux_nfe.values()))
        self._aux_kinds.update(self.method.aux_nfe)
        self.cost.update(seconds, torch.full_like(seconds, float(self.method.nfe)), drift.to(seconds),
                         torch.full_like(seconds, aux), mask.flatten(1).mean(1).to(seconds), index)
        self._save(out, index)
        return None

    def _save(self, out, index) -> None:
        for img, i in zip(to_uint8(out), index.tolist(), strict=True):
            if self.sample_dir is not None and i < self.sample_count:
                save_png(img, self.sample_dir / f"{i:06d}.png")
            if self.output_dir is not None:
                save_png(img, self.output_dir / f"{i:06d}.png")

    def on_predict_epoch_end(self) -> None:
        metrics = self.suite.compute()
        hole_counts = self.suite.hole_counts()
        rows, index = self.cost.compute()
        rows, index = rows.reshape(-1, len(COST_COLUMNS)), index.reshape(-1)  # torchmetrics squeezes one image
        self.per_image = {"index": index.tolist(), **{c: rows[:, k].tolist() for k, c in enumerate(COST_COLUMNS)},
                          **self.suite.per_image()}
        self.result = {
            "metrics": metrics,
            "metrics_ci95": self.suite.bootstrap(seed=self.seed),  # over images (per-image means; FID/KID)
            "n_images": int(len(rows)),
            "nfe": float(rows[:, 1].mean()),
            "seconds_per_image": float(rows[:, 0].mean()),
            "known_drift": float(rows[:, 2].mean()),
            "aux_nfe": float(rows[:, 3].mean()),
            "aux_nfe_networks": sorted(self._aux_kinds),
            "per_image_seconds": [round(float(s), 6) for s in rows[:, 0]],
            "n_hole_images": hole_counts,
            "masks_sha256": self.mask_digests.compute(),
        }
