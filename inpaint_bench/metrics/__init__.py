"""Metrics that mean the same thing for every method: FID/KID/IS, LPIPS, PSNR/SSIM (+ hole-only), classifier
accuracy, diversity. Every metric keeps per-image rows keyed by dataset index, so DDP runs count each image once.
"""

from .inception import MODES, UNTRAINED
from .suite import FEATURE_METRICS, METRIC_NAMES, MetricSuite, build_metric, metric_label

__all__ = ["FEATURE_METRICS", "METRIC_NAMES", "MODES", "UNTRAINED", "MetricSuite", "build_metric", "metric_label"]
