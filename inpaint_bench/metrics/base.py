"""Per-image metric states that reduce exactly across DDP processes.

Every metric stores one row per image together with the image's dataset index (`dist_reduce_fx="cat"`). At
compute time rows are de-duplicated by index (sampler padding can hand an image to two processes) and sorted by
index, then reduced in float64: N images count exactly N times and the result does not depend on how the images
were split across processes or batches.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class PerImageMetric(Metric):
    """Collects `rows` [B, D] with `index` [B]; `compute()` sees unique rows sorted by index."""

    full_state_update = False
    higher_is_better: bool | None = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("rows", default=[], dist_reduce_fx="cat")
        self.add_state("index", default=[], dist_reduce_fx="cat")

    def add_rows(self, rows: torch.Tensor, index: torch.Tensor) -> None:
        rows = rows.detach().to(torch.float64)
        self.rows.append(rows.reshape(len(rows), -1))
        self.index.append(torch.as_tensor(index, device=rows.device).reshape(-1).long())

    def unique_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.rows if isinstance(self.rows, torch.Tensor) else torch.cat(self.rows) if self.rows else None
        index = self.index if isinstance(self.index, torch.Tensor) else torch.cat(self.index) if self.index else None
        if rows is None or len(rows) == 0:
            raise ValueError(f"{type(self).__name__}: no images were scored")
        order = torch.argsort(index, stable=True)
        index, rows = index[order], rows[order]
        keep = torch.ones_like(index, dtype=torch.bool)
        keep[1:] = index[1:] != index[:-1]
        return rows[keep], index[keep]

    def synced_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`unique_rows()` over all processes (a collective call under DDP)."""
        with self.sync_context(should_sync=True, should_unsync=True):
            return self.unique_rows()

    @property
    def count(self) -> int:
        """Number of distinct images scored, across all processes."""
        with self.sync_context(should_sync=True, should_unsync=True):
            return len(self.unique_rows()[1])


class MeanPerImage(PerImageMetric):
    """The mean over images of a per-image value (PSNR, SSIM, LPIPS, ...)."""

    def per_image(self, pred, target, mask) -> torch.Tensor:
        raise NotImplementedError

    def update(self, pred, target, mask, index, label=None) -> None:
        self.add_rows(self.per_image(pred, target, mask), index)

    def compute(self) -> torch.Tensor:
        """The mean over the images that have a value: a NaN row (a hole-only metric of an image without a hole)
        is excluded, never scored; `n_scored` says how many counted."""
        rows, _ = self.unique_rows()
        values = rows[:, 0]
        scored = ~torch.isnan(values)
        if not scored.any():
            raise ValueError(f"{type(self).__name__}: no image could be scored (no image has a hole?)")
        return values[scored].mean()

    def bootstrap(self, n_boot: int, seed: int = 0) -> tuple[float, float]:
        """95 % percentile interval of the mean over `n_boot` resamples (with replacement) of the scored images;
        all processes' rows."""
        import numpy as np

        with self.sync_context(should_sync=True, should_unsync=True):
            values = self.unique_rows()[0][:, 0].cpu().numpy()
        values = values[~np.isnan(values)]
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(1)
        low, high = np.percentile(means, [2.5, 97.5])
        return float(low), float(high)

    @property
    def n_scored(self) -> int:
        """Images with a value (across all processes)."""
        with self.sync_context(should_sync=True, should_unsync=True):
            return int((~torch.isnan(self.unique_rows()[0][:, 0])).sum())
