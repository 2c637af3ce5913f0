"""Pretrained weight files the suite uses: where each lives, where it comes from, how it is checked and loaded.

Nothing is downloaded. A missing file raises WeightsMissing naming the file, the folder it belongs in, the URL it
comes from and its hash. torchvision-style files carry the first 8 hex digits of their sha256 in their name; that
prefix is verified before loading. Loading always uses `torch.load(weights_only=True)` or safetensors.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .atomic import atomic_write
from .hashing import sha256_of
from .provenance import note_file

_ARCHITECTURE_ONLY = contextvars.ContextVar("architecture_only", default=False)


@contextlib.contextmanager
def architecture_only():
    """Inside: a missing registry file resolves to the path it would have, and the network that loads it stays
    as built — the published architecture with random weights. For timing a method's networks (`plan
    --measure`) where the weights are not downloaded; never for scores."""
    token = _ARCHITECTURE_ONLY.set(True)
    try:
        yield
    finally:
        _ARCHITECTURE_ONLY.reset(token)


def architecture_only_active() -> bool:
    return _ARCHITECTURE_ONLY.get()


def shape_hints(path) -> dict:
    """What a loader would read from the registry file at `path` to shape its network (`WeightFile.shape_hints`),
    for building it without the file; {} for other paths."""
    return next((dict(w.shape_hints) for w in CHECKPOINTS.values() if w.path() == Path(path)), {})


class WeightsMissing(FileNotFoundError):
    """A weight file that is not in the cache; the message says where to put it and where to get it."""


class WeightsCorrupt(ValueError):
    """A weight file whose sha256 does not match."""


@dataclass(frozen=True)
class WeightFile:
    key: str
    file: str
    folder: str  # "torch_hub" → $TORCH_HOME/hub/checkpoints, "cache" → $INPAINT_BENCH_HOME/weights
    url: str
    sha256_prefix: str | None  # first hex digits of the sha256, as in torchvision / torch.hub file names
    used_for: str
    architecture: str = ""
    shape_hints: tuple = ()  # (field, value) pairs the loader reads from the file itself, e.g. num_classes: used
    #                          only to build the published architecture without the file (`architecture_only`)

    def path(self) -> Path:
        if self.folder == "package":
            return paths.ASSETS_DIR / "checkpoints" / self.file
        base = paths.torch_home() / "hub" / "checkpoints" if self.folder == "torch_hub" else paths.cache_dir() / "weights"
        return base / self.file

    def describe_hash(self) -> str:
        return f"sha256 {self.sha256_prefix}…" if self.sha256_prefix else "sha256 not published upstream"

    def status(self) -> str:
        p = self.path()
        if p.exists():
            return f"found at {p}"
        how = f"`inpaint-bench fetch {self.key}`" if self.url.startswith("http") else f"get it from {self.url}"
        return f"MISSING: {how} (puts {self.file} in {p.parent})" if self.url.startswith("http") else \
            f"MISSING: put {self.file} in {p.parent} ({how})"

    def require(self) -> Path:
        """The verified path of this file, or a clear error."""
        p = self.path()
        if not p.exists() and _ARCHITECTURE_ONLY.get():
            return p
        if not p.exists():
            raise WeightsMissing(
                f"weight file {self.file} ({self.used_for}) not found at {p}. "
                + (f"Run `inpaint-bench fetch {self.key}` (on a machine with internet), or download it from "
                   f"{self.url} " if self.url.startswith("http") else f"Get it from {self.url} ")
                + f"({self.describe_hash()}) and place it there; nothing is downloaded automatically. "
                f"Or use labelled random features: --features untrained (run, sweep, bench) or "
                f"--untrained-features (score)."
            )
        if self.sha256_prefix:
            digest = sha256_of(p)
            if not digest.startswith(self.sha256_prefix):
                raise WeightsCorrupt(f"{p} has sha256 {digest[:12]}…, expected {self.sha256_prefix}…: the file is "
                                     f"corrupt or a different version; download it again from {self.url}")
        else:
            check_first_use(p, self.url)
        note_file(p)
        return p

    def load_state_dict(self) -> dict:
        import torch

        p = self.require()
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p))
        return torch.load(p, map_location="cpu", weights_only=True)


def pins_path() -> Path:
    return paths.cache_dir() / "weights" / "sha256.json"


def check_first_use(path: Path, url: str) -> None:
    """For files without a published hash: record the sha256 on first use (in `pins_path()`), refuse a later file
    with another one (trust on first use), so a replaced or truncated file is never loaded silently."""
    import json

    pins_file = pins_path()
    try:
        pins = json.loads(pins_file.read_text()) if pins_file.exists() else {}
    except json.JSONDecodeError:
        pins = {}
    digest = sha256_of(path)
    key = str(path.resolve())
    if key not in pins:
        pins[key] = digest
        try:
            atomic_write(pins_file, (json.dumps(pins, indent=1, sort_keys=True) + "\n").encode())
        except OSError:
            pass  # a read-only cache still loads; the file is then checked from the next writable run on
    elif pins[key] != digest:
        raise WeightsCorrupt(f"{path} has sha256 {digest[:12]}…, but {pins[key][:12]}… when it was first used "
                             f"(recorded in {pins_file}): the file changed. Download it again from {url}, or remove "
                             f"its line from {pins_file.name} to accept the new file.")


WEIGHTS: dict[str, WeightFile] = {
    w.key: w
    for w in [
        WeightFile("inception_legacy_pytorch", "pt_inception-2015-12-05-6726825d.pth", "torch_hub",
                   "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
                   "6726825d", "FID/KID/IS, clean-fid mode legacy_pytorch (and IS in every mode)"),
        WeightFile("inception_torchscript", "inception-2015-12-05.pt", "cache",
                   "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
                   None, "FID/KID, clean-fid modes clean and legacy_tensorflow (TorchScript)"),
        WeightFile("resnet50", "resnet50-0676ba61.pth", "torch_hub",
                   "https://download.pytorch.org/models/resnet50-0676ba61.pth", "0676ba61",
                   "classifier accuracy (torchvision ResNet50 IMAGENET1K_V1)"),
        WeightFile("alexnet", "alexnet-owt-7be5be79.pth", "torch_hub",
                   "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79",
                   "LPIPS (alex, the default) and diversity backbone"),
        WeightFile("vgg16", "vgg16-397923af.pth", "torch_hub",
                   "https://download.pytorch.org/models/vgg16-397923af.pth", "397923af", "LPIPS (vgg) backbone"),
    ]
}


def get(key: str) -> WeightFile:
    if key not in WEIGHTS:
        raise KeyError(f"unknown weight file {key!r}; known: {', '.join(WEIGHTS)}")
    return WEIGHTS[key]


# Method checkpoints. Upstream files publish no hashes: the sha256 of a file is printed by `checkpoints verify`
# so a user can pin it; the suite's own tiny checkpoints are pinned in assets/checkpoints/manifest.json.
CHECKPOINTS: dict[str, WeightFile] = {
    w.key: w
    for w in [
        WeightFile("adm_imagenet256_uncond", "256x256_diffusion_uncond.pt", "cache",
                   "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_diffusion_uncond.pt",
                   None, "repaint / ddnm / isdiff_* on ImageNet (arch=adm)", "ADM 256 uncond, learned sigma"),
        WeightFile("adm_imagenet256_cond", "256x256_diffusion.pt", "cache",
                   "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_diffusion.pt",
                   None, "repaint / isdiff_repaint on ImageNet as RePaint's test_inet256_* (arch=adm)",
                   "ADM 256 class-conditional (1000 classes), learned sigma", (("num_classes", 1000),)),
        WeightFile("guided_diffusion_classifier256", "256x256_classifier.pt", "cache",
                   "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_classifier.pt",
                   None, "classifier guidance for repaint / isdiff_repaint on ImageNet (classifier=)",
                   "guided-diffusion EncoderUNet width 128 depth 2, attention pool"),
        WeightFile("repaint_celeba256", "celeba256_250000.pt", "cache",
                   "RePaint README (Google Drive, download.sh): github.com/andreas128/RePaint", None,
                   "repaint / isdiff_repaint on CelebA-HQ (arch=adm)", "ADM 256 uncond, learned sigma"),
        WeightFile("repaint_places256", "places256_300000.pt", "cache",
                   "RePaint README (Google Drive, download.sh): github.com/andreas128/RePaint", None,
                   "repaint / isdiff_repaint on Places2 (arch=adm)", "ADM 256 uncond, learned sigma"),
        WeightFile("ddnm_celeba_hq", "celeba_hq.ckpt", "cache",
                   "https://image-editing-test-12345.s3-us-west-2.amazonaws.com/checkpoints/celeba_hq.ckpt", None,
                   "ddnm / isdiff_ddnm on CelebA-HQ (arch=ddpm)", "DDPM UNet ch128 (1,1,2,2,4,4)"),
        WeightFile("i2sb_inpaint_center", "i2sb_inpaint_center.pt", "cache",
                   "NVlabs/I2SB scripts/download_checkpoint.sh (inpaint-center latest.pt, renamed)", None,
                   "i2sb on ImageNet center masks", "ADM 256 uncond, 3-channel output"),
        WeightFile("i2sb_inpaint_freeform1020", "i2sb_inpaint_freeform1020.pt", "cache",
                   "NVlabs/I2SB scripts/download_checkpoint.sh (inpaint-freeform1020 latest.pt, renamed)", None,
                   "i2sb on ImageNet freeform 10-20 %", "ADM 256 uncond, 3-channel output"),
        WeightFile("i2sb_inpaint_freeform2030", "i2sb_inpaint_freeform2030.pt", "cache",
                   "NVlabs/I2SB scripts/download_checkpoint.sh (inpaint-freeform2030 latest.pt, renamed)", None,
                   "i2sb on ImageNet freeform 20-30 %", "ADM 256 uncond, 3-channel output"),
        WeightFile("strdiffusion_places2_texture", "strdiffusion_places2_texture.pth", "cache",
                   "StrDiffusion README, Places2 T=400 (Baidu pan 1vxZ57te6TratZwKsuUYV8Q, code n8dr): texture.pth",
                   None, "strdiffusion on Places2 (checkpoint=, T=400)", "IR-SDE ConditionalUNet nf64 depth4 + SPADE"),
        WeightFile("strdiffusion_places2_structure", "strdiffusion_places2_structure.pth", "cache",
                   "StrDiffusion README, Places2 T=400 (same archive): structure.pth", None,
                   "strdiffusion on Places2 (structure_checkpoint=)", "IR-SDE ConditionalUNets nf64 depth4, 1 channel"),
        WeightFile("strdiffusion_places2_discriminator", "strdiffusion_places2_discriminator.pth", "cache",
                   "StrDiffusion README, Places2 T=400 (same archive): discriminator.pth", None,
                   "strdiffusion on Places2 (discriminator_checkpoint=)", "DDGAN small discriminator nc4 ngf64"),
        WeightFile("irsde_celebahq_inpainting", "irsde_celebahq_inpainting.pth", "cache",
                   "image-restoration-sde README, inpainting (CelebA-HQ) pretrained model, renamed", None,
                   "irsde on CelebA-HQ (checkpoint=, T=100)", "IR-SDE ConditionalUNet nf64 depth4"),
    ]
}


def shipped_manifest() -> dict:
    import json

    path = paths.ASSETS_DIR / "checkpoints" / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def shipped(name: str) -> WeightFile:
    """A tiny checkpoint shipped in the package, pinned by the full sha256 in its manifest."""
    digest = shipped_manifest().get(name, {}).get("sha256")
    return WeightFile(f"{name}_tiny", f"{name}_tiny.safetensors", "package", "this repository (make tiny-checkpoints)",
                      digest, f"{name} on the tiny dataset", "tiny")

