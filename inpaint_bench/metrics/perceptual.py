"""LPIPS (the lpips package) and the diversity score, with the backbone loaded from the local cache.

The package ships the linear heads (`weights/v0.1/<net>.pth`); the ImageNet backbone (torchvision AlexNet or
VGG16) normally downloads on construction, so here it is built random and then filled from the cached torchvision
file. LPIPS inputs are the uint8-quantised images mapped back to [-1, 1]. AlexNet is the package default (LaMa's
evaluation used VGG); the backbone is recorded in the metric's label.
"""

from __future__ import annotations

import warnings

import torch

from ..files import weights
from ..files.provenance import reused
from .base import MeanPerImage, PerImageMetric
from .inception import UNTRAINED
from .pixel import quantise

BACKBONES = {"alex": "alexnet", "vgg": "vgg16"}


def build_lpips(net: str = "alex", untrained: bool = False):
    """lpips.LPIPS with the package's linear heads and the backbone from the cache (or seeded random)."""
    import lpips

    if net not in BACKBONES:
        raise ValueError(f"LPIPS backbone must be one of {list(BACKBONES)}, got {net!r}")
    with warnings.catch_warnings(), torch.random.fork_rng():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    if not untrained:
        tv_state = weights.get(BACKBONES[net]).load_state_dict()
        # lpips splits torchvision's `features` into slices that keep the layer index: sliceK.I.* ← features.I.*
        mapped = {k: tv_state[f"features.{k.split('.', 1)[1]}"] for k in model.net.state_dict()}
        model.net.load_state_dict(mapped)
    return model.eval().requires_grad_(False)


@reused
def lpips_network(net: str, untrained: bool):
    """`build_lpips` once per process (per sweep, not per cell); frozen, so the metrics can share it."""
    return build_lpips(net, untrained)


def _label(net: str, untrained: bool) -> str:
    return f"lpips-{net}" + (f"/{UNTRAINED}" if untrained else "")


class LPIPS(MeanPerImage):
    """Mean per-image LPIPS distance between output and ground truth (lower is better)."""

    higher_is_better = False

    def __init__(self, net: str = "alex", untrained: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.net_name, self.untrained, self.label = net, untrained, _label(net, untrained)
        self._model = [lpips_network(net, untrained)]  # a list keeps it out of the metric's state_dict

    def distance(self, a, b) -> torch.Tensor:
        model = self._model[0].to(a.device)
        with torch.inference_mode():
            return model(quantise(a).float() * 2 - 1, quantise(b).float() * 2 - 1).flatten()

    def per_image(self, pred, target, mask):
        return self.distance(pred, target)


class Diversity(PerImageMetric):
    """IS-Diff's diversity: mean LPIPS distance between two samples of the same input (higher = more diverse)."""

    higher_is_better = True

    def __init__(self, net: str = "alex", untrained: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.lpips = LPIPS(net, untrained)
        self.label = self.lpips.label

    def update(self, sample_a, sample_b, index) -> None:
        self.add_rows(self.lpips.distance(sample_a, sample_b), index)

    def compute(self) -> torch.Tensor:
        rows, _ = self.unique_rows()
        return rows[:, 0].mean()
