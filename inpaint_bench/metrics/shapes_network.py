"""The feature network for the default `shapes` benchmark: a small CNN trained to read a scene's parameters.

Why supervised on the scene parameters (`data/shapes.py` draws them): what makes a `shapes` scene is exactly its
background kind and colours, how many shapes of which kinds, where, and in which colours. A network that must
recover those from pixels learns colour, edge and layout features — the things an inpainting result gets right or
wrong — and nothing else. A self-supervised objective with the usual augmentations (crops, blur, colour jitter)
would instead be trained to be *blind* to blur and colour shifts, the very failures a benchmark must see.

Three stages of two 3×3 convolutions (32², 16², 8² at a 32² input), each with GroupNorm and ReLU, over the image plus two coordinate
channels (y, x in [−1, 1], "CoordConv"), so that the pooled features keep where things are. FID/KID use the 128-d
spatial mean of the last stage (as Inception's pool3); the perceptual distance uses all three stages in LPIPS's
form (`shapes_features.py`). It lives with the metrics (not in nets/) because it is one: metrics and nets
are sibling layers. The heads map the pooled features to the label vector of
`data/shapes.label_vector`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.shapes import KINDS, LABEL_SIZE, MAX_SHAPES


@dataclass(frozen=True)
class ShapesFeatureConfig:
    widths: tuple[int, ...] = (32, 64, 128)

    def as_dict(self) -> dict:
        return asdict(self)


def _stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, 1, 1), nn.GroupNorm(8, c_out), nn.ReLU())


class ShapesFeatureNet(nn.Module):
    """images [B, 3, H, W] in [-1, 1] → the activations of each stage; `pooled` → [B, widths[-1]];
    `predict` → the label vector's logits / values."""

    def __init__(self, config: ShapesFeatureConfig = ShapesFeatureConfig()):
        super().__init__()
        self.config = config
        widths = config.widths
        inputs = (3 + 2, *widths[:-1])  # + the two coordinate channels
        self.stages = nn.ModuleList(_stage(c_in, c_out, 1 if i == 0 else 2)
                                    for i, (c_in, c_out) in enumerate(zip(inputs, widths, strict=True)))
        self.head = nn.Linear(widths[-1], LABEL_SIZE)

    def activations(self, images: torch.Tensor) -> list[torch.Tensor]:
        b, _, h, w = images.shape
        ys = torch.linspace(-1, 1, h, device=images.device, dtype=images.dtype)
        xs = torch.linspace(-1, 1, w, device=images.device, dtype=images.dtype)
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")).expand(b, -1, -1, -1)
        out, x = [], torch.cat([images, grid], 1)
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def pooled(self, images: torch.Tensor) -> torch.Tensor:
        return self.activations(images)[-1].mean((2, 3))

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(images))


SLOT_ORDERS = torch.tensor(list(itertools.permutations(range(MAX_SHAPES))))  # [24, 4]


def _best_match(p: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ over slots of weight·‖p_slot − y_slot‖², under the slot order of `p` that makes it smallest, per image
    (set prediction: which predicted slot holds which shape is the network's choice)."""
    cost = (((p[:, :, None] - y[:, None]) ** 2).sum(-1) * weight[:, None])  # [B, pred slot, true slot]
    slots = torch.arange(p.shape[1])
    totals = cost[:, SLOT_ORDERS, slots].sum(-1)  # [B, orders]
    return totals.min(1).values


LOSS_WEIGHTS = {"background": 10.0, "shapes": 10.0}  # colour/position MSEs are ~0.05 against CEs of ~1: lift them


def label_loss(prediction: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """The parts of the training loss over `data/shapes.label_vector`'s layout: background kind (BCE), background
    colours (MSE, the two colours in either order: which one a gradient or stripe pattern starts with is not
    visible), shape count (3-way CE), shapes per kind (MSE), and the drawn shapes' colours and centres as a set
    (MSE under the best slot assignment, over the slots that hold a shape; presence by BCE)."""
    f = nn.functional
    parts, at = {}, 0

    def take(n):
        nonlocal at
        p, y = prediction[:, at:at + n], labels[:, at:at + n]
        at += n
        return p, y

    p, y = take(1)
    parts["stripes"] = f.binary_cross_entropy_with_logits(p, y)
    p, y = take(6)
    swapped = y.reshape(-1, 2, 3).flip(1).reshape(-1, 6)
    parts["background"] = torch.minimum(((p - y) ** 2).mean(1), ((p - swapped) ** 2).mean(1)).mean()
    p, y = take(3)
    parts["count"] = f.cross_entropy(p, y.argmax(1))
    p, y = take(len(KINDS))
    parts["kinds"] = f.mse_loss(p, y)
    p, y = take(MAX_SHAPES * 6)
    p, y = p.reshape(-1, MAX_SHAPES, 6), y.reshape(-1, MAX_SHAPES, 6)
    present = y[..., 0]
    parts["present"] = f.binary_cross_entropy_with_logits(p[..., 0], present)
    parts["shapes"] = _best_match(p[..., 1:], y[..., 1:], present).sum() / (present.sum() * 5).clamp(min=1)
    return {k: v * LOSS_WEIGHTS.get(k, 1.0) for k, v in parts.items()}
