"""FID/KID features and a perceptual distance for the `shapes` dataset, from the shipped feature network.

The network (`shapes_network.py`) was trained on the `shapes` train split to read each scene's parameters
(`make shapes-features`); its file ships in the package, pinned by sha256. Numbers made with it carry the label
`shapes-features` wherever they are shown: they are neither Inception/AlexNet numbers nor UNTRAINED ones, and
they mean something only on `shapes` images.

- FID/KID: the 128-d spatial mean of the last stage, as Inception's pool3 (`ShapesFeatures`).
- Distance (`ShapesDistance`): LPIPS's form without learned heads — for every stage, unit-normalise each pixel's
  feature vector over channels, take the squared difference, sum over channels, average over space; sum over
  the stages (LPIPS Eq 1 with w_l = 1, its "baseline" variant).

Images are quantised to uint8 first (what a saved PNG holds), like every other metric of the suite.
"""

from __future__ import annotations

import torch
from torch import nn

from ..files.provenance import reused
from .base import MeanPerImage
from .pixel import quantise

SHAPES = "shapes-features"  # the label of every number these networks make
SHAPES_METRICS = {"fid", "kid", "lpips"}  # the feature metrics it can stand in for (not IS, not CA)


def load_network():
    """The shipped feature network (sha256-verified), in eval mode, frozen."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    from ..files import weights
    from .shapes_network import ShapesFeatureConfig, ShapesFeatureNet

    path = weights.shipped("shapes_features").require()  # sha256-verified; a clear error names `make` if missing
    with safe_open(str(path), framework="pt") as f:
        config = json.loads(f.metadata()["config"])
    net = ShapesFeatureNet(ShapesFeatureConfig(tuple(config["widths"])))
    net.load_state_dict(load_file(str(path)))  # strict: a file of another architecture is refused
    return net.eval().requires_grad_(False)


@reused
def shapes_network():
    """`load_network` once per process; each cell still records the file."""
    return load_network()


def _prepared(images: torch.Tensor) -> torch.Tensor:
    return (quantise(images) * 2 - 1).float()


class ShapesFeatures(nn.Module):
    """images [B, 3, H, W] in [-1, 1] → [B, 128] pooled features (the FID/KID extractor for `shapes`)."""

    mode, untrained, label = SHAPES, False, SHAPES

    def __init__(self):
        super().__init__()
        self._net = [shapes_network()]  # a list: not a submodule, so `.to()` here does not move a shared network

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._net[0].to(images.device).pooled(_prepared(images))


def feature_distance(net, a: torch.Tensor, b: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Σ_l mean_hw ‖â_l − b̂_l‖² over the stages l, with x̂ the feature vector at a pixel divided by its norm."""
    total = torch.zeros(len(a), dtype=torch.float64, device=a.device)
    for fa, fb in zip(net.activations(a), net.activations(b), strict=True):
        fa = fa / (fa.norm(dim=1, keepdim=True) + eps)
        fb = fb / (fb.norm(dim=1, keepdim=True) + eps)
        total += ((fa - fb) ** 2).sum(1).mean((1, 2)).double()
    return total


class ShapesDistance(MeanPerImage):
    """Mean per-image feature distance between output and ground truth (lower is better); the `lpips` column on
    `shapes` when the AlexNet/VGG weights are absent."""

    higher_is_better = False
    label = f"distance/{SHAPES}"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._net = [shapes_network()]

    def per_image(self, pred, target, mask):
        net = self._net[0].to(pred.device)
        with torch.inference_mode():
            return feature_distance(net, _prepared(pred), _prepared(target))
