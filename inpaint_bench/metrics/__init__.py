"""Metrics that mean the same thing for every method: FID/KID/IS, LPIPS, PSNR/SSIM (+ hole-only), classifier
accuracy, diversity. Every metric keeps per-image rows keyed by dataset index, so DDP runs count each image once.
"""

from .inception import MODES, UNTRAINED
from .shapes_features import SHAPES, SHAPES_METRICS
from .suite import FEATURE_METRICS, METRIC_NAMES, MetricSuite, build_metric, feature_tag, metric_label

__all__ = ["FEATURE_METRICS", "METRIC_NAMES", "MODES", "SHAPES", "SHAPES_METRICS", "UNTRAINED", "MetricSuite",
           "build_metric", "feature_tag", "metric_label"]
