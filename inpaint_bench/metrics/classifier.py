"""Classifier accuracy as I²SB reports it: torchvision ResNet50 IMAGENET1K_V1, top-1 on the inpainted images.

Following I²SB's `evaluation/resnet.py`: the whole image (no centre crop) goes from [-1, 1] to [0, 1], is resized
to 224² with torch bicubic (no antialias) and ImageNet-normalised. Images are uint8-quantised first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..files import weights
from ..files.provenance import reused
from .base import MeanPerImage
from .inception import UNTRAINED
from .pixel import quantise

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def build_resnet50(untrained: bool = False):
    import torchvision

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torchvision.models.resnet50(weights=None)
    if not untrained:
        model.load_state_dict(weights.get("resnet50").load_state_dict())
    return model.eval().requires_grad_(False)


classifier_network = reused(build_resnet50)  # once per process (per sweep, not per cell)


class ClassifierAccuracy(MeanPerImage):
    """Top-1 accuracy (fraction in [0, 1]) of ResNet50 on the outputs against the dataset labels."""

    higher_is_better = True

    def __init__(self, untrained: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.untrained = untrained
        self.label = "resnet50-IMAGENET1K_V1" + (f"/{UNTRAINED}" if untrained else "")
        self._model = [classifier_network(untrained)]

    def update(self, pred, target, mask, index, label=None) -> None:
        if label is None:
            raise ValueError("classifier accuracy needs class labels: use a dataset that has them (imagenet)")
        x = F.interpolate(quantise(pred).float(), size=(224, 224), mode="bicubic", align_corners=False)
        x = (x - torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)) / torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
        with torch.inference_mode():
            top1 = self._model[0].to(x.device)(x).argmax(1)
        self.add_rows((top1 == torch.as_tensor(label, device=x.device)).double(), index)
