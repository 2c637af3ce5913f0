"""A named set of metrics updated together, with the label (mode, weights) of every number."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registry import Registry
from .base import MeanPerImage
from .distribution import shared_features
from .inception import UNTRAINED
from .shapes_features import SHAPES

METRICS: Registry = Registry("metric")  # name → factory(options) of a torchmetrics Metric
BOOT_PER_IMAGE = 1000  # bootstrap resamples of a per-image mean (cheap: a mean of n values)
BOOT_FEATURES = 100  # bootstrap resamples of FID/KID (each recomputes the statistic: eigenvalues, kernel sums)
FEATURE_METRICS = {"fid", "kid", "is", "lpips", "ca", "diversity"}  # the ones untrained features affect


def metric_label(name: str, weights) -> str:
    """A metric's name wherever a number is shown: `fid [UNTRAINED-FEATURES]` when random networks made it,
    `fid [shapes-features]` when the `shapes` feature network did. `weights`: a cell's `feature_weights`
    (`pretrained`, UNTRAINED-FEATURES, shapes-features) or a bool (untrained)."""
    tag = UNTRAINED if weights is True else weights if weights in (UNTRAINED, SHAPES) else None
    return f"{name} [{tag}]" if tag and name in FEATURE_METRICS else name


def feature_tag(result: dict):
    """A cell result's `feature_weights` (or, for results written before it existed, its `untrained_features`)."""
    return result.get("protocol", {}).get("feature_weights") or bool(result.get("untrained_features"))


@dataclass(frozen=True)
class MetricOptions:
    """What a metric factory may read: clean-fid mode, labelled random features, FID/KID reference, LPIPS net."""

    mode: str = "clean"
    untrained: bool = False
    reference: object = None
    lpips_net: str = "alex"


@METRICS.register("fid")
def _fid(o: MetricOptions):
    from .distribution import FID

    return FID(o.mode, o.untrained, o.reference)


@METRICS.register("kid")
def _kid(o: MetricOptions):
    from .distribution import KID

    return KID(o.mode, o.untrained, o.reference)


@METRICS.register("is")
def _inception_score(o: MetricOptions):
    from .distribution import InceptionScore

    return InceptionScore(o.untrained)


@METRICS.register("lpips")
def _lpips(o: MetricOptions):
    from .perceptual import LPIPS
    from .shapes_features import ShapesDistance

    return ShapesDistance() if o.lpips_net == SHAPES else LPIPS(o.lpips_net, o.untrained)


@METRICS.register("psnr")
def _psnr(o: MetricOptions):
    from .pixel import PSNR

    return PSNR()


@METRICS.register("ssim")
def _ssim(o: MetricOptions):
    from .pixel import SSIM

    return SSIM()


@METRICS.register("psnr_hole")
def _psnr_hole(o: MetricOptions):
    from .pixel import PSNR

    return PSNR(masked=True)


@METRICS.register("ssim_hole")
def _ssim_hole(o: MetricOptions):
    from .pixel import SSIM

    return SSIM(masked=True)


@METRICS.register("psnr_seam")
def _psnr_seam(o: MetricOptions):
    from .seam import SeamPSNR

    return SeamPSNR()


@METRICS.register("seam_jump")
def _seam_jump(o: MetricOptions):
    from .seam import SeamJump

    return SeamJump()


@METRICS.register("ca")
def _classifier_accuracy(o: MetricOptions):
    from .classifier import ClassifierAccuracy

    return ClassifierAccuracy(o.untrained)


METRIC_NAMES = tuple(METRICS.in_order())  # fid, kid, is, lpips, psnr, ssim, psnr_hole, ssim_hole, ca


def build_metric(name: str, mode: str = "clean", untrained: bool = False, reference=None, lpips_net: str = "alex"):
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; valid: {', '.join(METRIC_NAMES)}")
    return METRICS.get(name)(MetricOptions(mode, untrained, reference, lpips_net))


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
        self.quantize, self.mode = quantize, mode
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

    def bootstrap(self, seed: int = 0) -> dict[str, list[float]]:
        """95 % bootstrap intervals over images, [low, high] per metric that has one: per-image metrics
        (BOOT_PER_IMAGE resamples of the mean), FID and KID (BOOT_FEATURES resamples of the output feature rows,
        each recomputing the statistic). A collective call under DDP; the same seeded draw on every process."""
        from .distribution import FID, KID

        out = {}
        for name, metric in self.metrics.items():
            if isinstance(metric, MeanPerImage):
                out[name] = list(metric.bootstrap(BOOT_PER_IMAGE, seed))
            elif isinstance(metric, (FID, KID)):
                out[name] = list(metric.bootstrap(BOOT_FEATURES, seed))
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
        """Column names for tables: affected metrics carry the UNTRAINED-FEATURES or shapes-features tag."""
        return {n: metric_label(n, self.feature_weights) for n in self.names}

    @property
    def feature_weights(self) -> str:
        """What made the feature metrics: `pretrained`, UNTRAINED-FEATURES or shapes-features."""
        return UNTRAINED if self.untrained else SHAPES if self.mode == SHAPES else "pretrained"
