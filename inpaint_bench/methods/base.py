"""The method contract: `InpaintMethod.inpaint(image, mask, generator) -> image`, and how the runner calls it."""

from __future__ import annotations

import lightning as L
import torch

from ..convention import check_image, check_mask, known_region, paste_known


class MethodOutputError(RuntimeError):
    """A method returned something unusable (wrong shape, NaN/Inf); the message names the method."""


class InpaintMethod(L.LightningModule):
    """Base class of every benchmark row.

    Subclasses implement `inpaint(image, mask, generator=None)`:
      image     [B, 3, H, W] in [-1, 1], hole already zeroed by the runner
      mask      [B, 1, H, W] in {0, 1}, 1 = hole
      generator one torch.Generator per sample (list of length B), or None
      labels    [B] class labels, passed only to methods with `uses_labels` (None when the dataset has none)
    and set `self.nfe` to the number of network evaluations per image of that call. Calls of auxiliary networks
    that are not the diffusion denoiser (AsyncDSB's gradient net, StrDiffusion's discriminator) go into
    `self.aux_nfe`, a dict name → calls per image, recorded beside NFE.
    """

    nfe: int = 0
    aux_nfe: dict[str, int] = {}
    uses_labels: bool = False  # True: `inpaint` also takes `labels` (class labels, e.g. a class-conditional prior)

    def inpaint(self, image: torch.Tensor, mask: torch.Tensor, generator=None) -> torch.Tensor:
        raise NotImplementedError

    def for_mask(self, family: str) -> None:
        """Adapt mask-type-dependent defaults ("box" or "irregular"); most methods have none."""

    def describe(self) -> dict:
        """What the results store records about this method's configuration."""
        return {"class": type(self).__name__}


@torch.inference_mode()
def run_inpaint(method: InpaintMethod, image: torch.Tensor, mask: torch.Tensor, generator=None, labels=None):
    """Call a method under the suite's contract.

    Checks the convention, zeroes the hole so its content cannot leak, calls `method.inpaint`, checks the
    output, then pastes the known region back. Returns `(output, known_drift)`: `known_drift` is each image's
    mean absolute change outside the hole before pasting (how much a method rewrote known pixels).
    """
    check_image(image)
    check_mask(mask, image)
    extra = {"labels": labels} if method.uses_labels else {}
    raw = method.inpaint(known_region(image, mask), mask, generator, **extra)
    name = type(method).__name__
    if not isinstance(raw, torch.Tensor) or raw.shape != image.shape:
        shape = list(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__
        raise MethodOutputError(f"{name}.inpaint returned {shape}, expected {list(image.shape)}")
    if not torch.isfinite(raw).all():
        raise MethodOutputError(f"{name}.inpaint returned NaN or Inf values (check the weights and the schedule)")
    raw = raw.clamp(-1, 1)
    keep = 1 - mask
    drift = ((raw - image).abs() * keep).flatten(1).sum(1) / (3 * keep.flatten(1).sum(1)).clamp_min(1)
    return paste_known(raw, image, mask), drift
