"""A named set of metrics updated together, with the label (mode, weights) of every number."""

from __future__ import annotations

import torch

from .base import MeanPerImage
from .distribution import shared_features
from .inception import UNTRAINED

METRIC_NAMES = ("fid", "kid", "is", "lpips", "psnr", "ssim", "psnr_hole", "ssim_hole", "ca")
FEATURE_METRICS = {"fid", "kid", "is", "lpips", "ca", "diversity"}  # the ones untrained features affect


def build_metric(name: str, mode: str = "clean", untrained: bool = False, reference=None, lpips_net: str = "alex"):
    from .classifier import ClassifierAccuracy
    from .distribution import FID, KID, InceptionScore
    from .perceptual import LPIPS
    from .pixel import PSNR, SSIM

    factories = {
        "fid": lambda: FID(mode, untrained, reference),
        "kid": lambda: KID(mode, untrained, reference),
        "is": lambda: InceptionScore(untrained),
        "lpips": lambda: LPIPS(lpips_net, untrained),
        "psnr": lambda: PSNR(),
        "ssim": lambda: SSIM(),
        "psnr_hole": lambda: PSNR(masked=True),
        "ssim_hole": lambda: SSIM(masked=True),
        "ca": lambda: ClassifierAccuracy(untrained),
    }
    if name not in factories:
        raise KeyError(f"unknown metric {name!r}; valid: {', '.join(METRIC_NAMES)}")
    return factories[name]()


def floor_levels(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] → the float of the uint8 level I²SB's `((x + 1) * 127.5).clamp(0, 255).to(torch.uint8)` keeps
    (truncation). Images already on uint8 levels (references read from PNG) stay exactly where they are: the
    1e-4 guards against their float error."""
    levels = ((images.double() + 1) * 127.5 + 1e-4).floor().clamp(0, 255)
    return (levels / 127.5 - 1).to(images.dtype)


class MetricSuite(torch.nn.Module):
    """`update(pred, target, mask, index, label)` on every metric; `compute()` → {name: float}."""

    def __init__(self, names, mode: str = "clean", untrained: bool = False, reference=None, lpips_net: str = "alex",
                 quantize: str = "round"):
        super().__init__()
        if quantize not in ("round", "floor"):
            raise ValueError(f"quantize must be 'round' or 'floor', got {quantize!r}")
        self.quantize = quantize
        self.names = list(names)
        self.metrics = torch.nn.ModuleDict(
            {n: build_metric(n, mode, untrained, reference, lpips_net) for n in self.names})
        self.untrained = untrained

    def update(self, pred, target, mask, index, label=None) -> None:
        if self.quantize == "floor":  # the metrics round to uint8; on floor levels rounding is the identity
            pred, target = floor_levels(pred), floor_levels(target)
        with shared_features():  # FID and KID share one Inception pass over the batch
            for metric in self.metrics.values():
                metric.update(pred, target, mask, index, label)

    def compute(self) -> dict[str, float]:
        return {n: float(m.compute()) for n, m in self.metrics.items()}

    def per_image(self) -> dict[str, list[float]]:
        """Each per-image metric's value per image in index order (NaN: not scored, e.g. no hole), all processes."""
        out = {}
        for n, m in self.metrics.items():
            if isinstance(m, MeanPerImage):
                rows, _ = m.synced_rows()
                out[n] = rows[:, 0].tolist()
        return out

    def hole_counts(self) -> dict[str, int]:
        """Images each hole-only metric scored (`n_hole_images`): images without a hole are left out, not 100 dB."""
        return {n: m.n_scored for n, m in self.metrics.items() if n.endswith("_hole")}

    def count(self) -> int:
        return next(iter(self.metrics.values())).count

    def labels(self) -> dict[str, str]:
        """How each number was made: FID mode and weights, LPIPS backbone, ..., with UNTRAINED-FEATURES marked."""
        out = {}
        for n, m in self.metrics.items():
            if hasattr(m, "label"):
                out[n] = m.label
            elif isinstance(m, MeanPerImage):
                out[n] = "uint8-quantised, per-image mean" + (", hole only" if n.endswith("_hole") else "")
        return out

    def display_names(self) -> dict[str, str]:
        """Column names for tables: affected metrics carry the UNTRAINED-FEATURES tag."""
        return {n: f"{n} [{UNTRAINED}]" if self.untrained and n in FEATURE_METRICS else n for n in self.names}
