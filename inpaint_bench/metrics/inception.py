"""Inception features exactly as clean-fid computes them, from local weight files only.

Modes (recorded with every number):
  clean              PIL bicubic resize in float to 299², TorchScript `inception-2015-12-05.pt`
  legacy_tensorflow  the TorchScript network resizes inside itself
  legacy_pytorch     torch bilinear resize (no antialias), `pt_inception-2015-12-05-6726825d.pth` (I²SB's choice)
`untrained=True` swaps the weights for fixed-seed random ones of the legacy Inception architecture, keeping the
mode's resize; every number from it carries the label UNTRAINED-FEATURES.

Images arrive in the suite's convention ([-1, 1] floats) and are quantised to uint8 first — what a saved PNG
holds, and what clean-fid reads from a folder — so features equal clean-fid's on the same images.
"""

from __future__ import annotations

import contextlib
import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..files import weights
from ..files.provenance import reused

MODES = ("clean", "legacy_pytorch", "legacy_tensorflow")
UNTRAINED = "UNTRAINED-FEATURES"
UNTRAINED_SEED = 0


def mode_label(mode: str, untrained: bool) -> str:
    return f"{mode}/{UNTRAINED}" if untrained else mode


@contextlib.contextmanager
def _state_from(state: dict):
    """Make clean-fid's legacy Inception take `state` instead of downloading (it calls load_state_dict_from_url)."""
    from cleanfid import inception_pytorch

    original = inception_pytorch.load_state_dict_from_url
    inception_pytorch.load_state_dict_from_url = lambda *args, **kwargs: state
    try:
        yield
    finally:
        inception_pytorch.load_state_dict_from_url = original


def _fid_architecture() -> nn.Module:
    """clean-fid's FID Inception (torchvision Inception v3 with the FID blocks), default-initialised."""
    import torchvision
    from cleanfid import inception_pytorch as ip

    net = torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=True)
    for name, block in [("Mixed_5b", ip.FIDInceptionA(192, pool_features=32)),
                        ("Mixed_5c", ip.FIDInceptionA(256, pool_features=64)),
                        ("Mixed_5d", ip.FIDInceptionA(288, pool_features=64)),
                        ("Mixed_6b", ip.FIDInceptionC(768, channels_7x7=128)),
                        ("Mixed_6c", ip.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6d", ip.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6e", ip.FIDInceptionC(768, channels_7x7=192)),
                        ("Mixed_7b", ip.FIDInceptionE_1(1280)), ("Mixed_7c", ip.FIDInceptionE_2(2048))]:
        setattr(net, name, block)
    return net


@lru_cache(maxsize=1)
def untrained_state() -> dict:
    """Fixed-seed random weights of the FID Inception architecture, identical on every machine.

    Random weights alone give features that are nearly constant (activations shrink layer by layer), so the
    BatchNorm statistics are then set from one forward pass over fixed-seed smooth noise images: the features
    vary with the input, which lets the pipeline and the metric arithmetic be exercised offline. They measure
    nothing perceptual — hence the UNTRAINED-FEATURES label.
    """
    with torch.random.fork_rng():
        torch.manual_seed(UNTRAINED_SEED)
        net = _fid_architecture()
        smooth = nn.functional.avg_pool2d(torch.rand(4, 3, 299 + 15, 299 + 15) * 2 - 1, 16, stride=1)
        calibration = smooth / smooth.std() * 0.5  # about the spread of natural images in [-1, 1]
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration pass
    net.train()
    with torch.no_grad():
        net(calibration)
        net.eval()
        # scale the last block's output BatchNorms so pooled features are ~1 on average, like the real network's
        pooled = _pool_features(net, calibration).mean()
        last = net.Mixed_7c
        for branch in (last.branch1x1, last.branch3x3_2a, last.branch3x3_2b, last.branch3x3dbl_3a,
                       last.branch3x3dbl_3b, last.branch_pool):
            branch.bn.weight /= pooled
            branch.bn.bias /= pooled
    return {k: v.clone() for k, v in net.state_dict().items()}


def _pool_features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The 2048-d average-pooled features of a torchvision-style Inception v3."""
    for name, module in net.named_children():
        if name in ("avgpool", "dropout", "fc"):
            break
        x = module(x)
    return x.mean((2, 3))


def legacy_state(untrained: bool) -> dict:
    return untrained_state() if untrained else weights.get("inception_legacy_pytorch").load_state_dict()


class InceptionFeatures(nn.Module):
    """images [B, 3, H, W] in [-1, 1] → 2048-d pool features (float32), clean-fid's pipeline for `mode`."""

    def __init__(self, mode: str = "clean", untrained: bool = False):
        super().__init__()
        from cleanfid.resize import build_resizer

        if mode not in MODES:
            raise ValueError(f"unknown FID mode {mode!r}; valid: {', '.join(MODES)}")
        self.mode, self.untrained, self.label = mode, untrained, mode_label(mode, untrained)
        self.resize = build_resizer(mode)
        if mode == "legacy_pytorch" or untrained:
            from cleanfid.inception_pytorch import InceptionV3

            with _state_from(legacy_state(untrained)), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # clean-fid passes torchvision's deprecated `pretrained=False`
                self.legacy = InceptionV3(output_blocks=[3], resize_input=mode == "legacy_tensorflow")
        else:
            from cleanfid.inception_torchscript import InceptionV3W

            path = weights.get("inception_torchscript").require()
            self.torchscript = InceptionV3W(str(path.parent), download=False, resize_inside=mode == "legacy_tensorflow")
        self.eval().requires_grad_(False)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Quantise to uint8 and resize each image with clean-fid's resizer, as its folder reader does."""
        from ..data.images import to_uint8

        out = []
        for arr in to_uint8(images):
            resized = self.resize(arr)
            t = torch.from_numpy(np.ascontiguousarray(resized.transpose(2, 0, 1)))
            out.append(t.float().div(255).mul(255) if resized.dtype == np.uint8 else t.float())
        return torch.stack(out).to(images.device)

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.prepare(images)
        if hasattr(self, "legacy"):
            return self.legacy(x / 255)[0].flatten(1)
        return self.torchscript(x)


class InceptionLogits(nn.Module):
    """images → 1008 Inception logits for the Inception Score: pool features × the fc weights, *without* the fc
    bias, as the original implementation (`tf.matmul(pool3, w)` on the softmax MatMul's weights), torch-fidelity
    (`logits_unbiased`) and torchmetrics compute it."""

    def __init__(self, untrained: bool = False):
        super().__init__()
        self.features = InceptionFeatures("legacy_pytorch", untrained=untrained)
        state = legacy_state(untrained)
        self.fc = nn.Linear(2048, 1008, bias=False)
        self.fc.load_state_dict({"weight": state["fc.weight"]})
        self.label = mode_label("legacy_pytorch", untrained)
        self.eval().requires_grad_(False)

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(images))


@reused
def feature_extractor(mode: str, untrained: bool) -> InceptionFeatures:
    """One extractor per (mode, untrained) per process (per sweep, not per cell), shared by FID and KID and the
    reference cache; each cell still records its weight file. Mode `shapes-features`: the `shapes` dataset's own
    trained network (`shapes_features.py`) instead of Inception."""
    from .shapes_features import SHAPES, ShapesFeatures

    return ShapesFeatures() if mode == SHAPES else InceptionFeatures(mode, untrained)
