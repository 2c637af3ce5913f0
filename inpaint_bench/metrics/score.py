"""The suite's yardstick for any folder of outputs (front-end: `inpaint-bench score`, `cli/score.py`).

Layouts (`--layout`):
  folders  outputs and references paired by relative path (both folders hold the same names); masks, when given,
           paired by sorted order (mask i ↔ image i). Hole-only metrics need masks.
  lama     LaMa's evaluation layout: `--ref` holds `X.png` with its masks `X_mask000.png`, `X_mask001.png`, …
           (white = hole) side by side, `--pred` one output per mask, named like the mask (`X_mask000.png`, what
           LaMa's `bin/predict.py` writes). Every (image, mask) pair is one scored image.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.images import list_images, load_rgb, to_tensor
from ..files.provenance import VERSION
from .suite import MetricSuite

BATCH = 16


def _progress(starts, total: int, label: str):
    """Batch starts, with a rich progress bar over the images on stderr (hidden when not a terminal)."""
    import sys

    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), disable=not sys.stderr.isatty(), transient=True) as progress:
        task = progress.add_task(label, total=total)
        for start in starts:
            yield start
            progress.update(task, completed=min(start + BATCH, total))


def _stack(files: list[Path]) -> torch.Tensor:
    """The images as one batch; every image must be square and of one size, and a file that is not says so."""
    images = [to_tensor(load_rgb(f)) for f in files]
    for f, x in zip(files, images, strict=True):
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"{f} is {x.shape[-1]}×{x.shape[-2]}: score compares square images of one size (the "
                             "suite's outputs); crop or resize the folder first")
        if x.shape != images[0].shape:
            raise ValueError(f"{f} is {x.shape[-1]}×{x.shape[-2]} but {files[0]} is {images[0].shape[-1]}×"
                             f"{images[0].shape[-2]}: every image of a folder must have one size")
    return torch.stack(images)


def _pairs(pred: Path, ref: Path) -> list[str]:
    p, r = list_images(pred), list_images(ref)
    if not p:
        raise FileNotFoundError(f"no images in {pred}")
    missing = sorted(set(p) ^ set(r))
    if missing:
        raise ValueError(f"--pred and --ref must hold the same file names; {len(missing)} differ, e.g. {missing[0]}")
    return p


def lama_triples(pred: Path, ref: Path) -> list[tuple[Path, Path, Path]]:
    """(output, reference image, mask) for LaMa's layout, sorted by mask name."""
    import re

    masks = sorted(f for f in list_images(ref) if re.search(r"_mask\d+\.[^.]+$", f))
    if not masks:
        raise FileNotFoundError(f"no LaMa-style masks (NAME_mask000.png) in {ref}")
    out = []
    for m in masks:
        stem = re.sub(r"_mask\d+$", "", Path(m).stem)
        images = [f for f in list_images(ref) if Path(f).parent == Path(m).parent and Path(f).stem == stem]
        if not images:
            raise FileNotFoundError(f"{ref / m}: no image {stem}.* beside it")
        output = pred / Path(m).with_suffix(".png")
        if not output.exists():
            raise FileNotFoundError(f"no output {output} for mask {m} (LaMa names outputs like their masks)")
        out.append((output, ref / images[0], ref / m))
    return out


def score_lama(pred: Path, ref: Path, metrics: list[str], mode: str = "clean", untrained: bool = False,
               lpips_net: str = "alex") -> dict:
    from ..masks.folder import read_binary

    triples = lama_triples(Path(pred), Path(ref))
    suite = MetricSuite(metrics, mode=mode, untrained=untrained, lpips_net=lpips_net)
    for start in _progress(range(0, len(triples), BATCH), len(triples), "scoring"):
        chunk = triples[start : start + BATCH]
        p = _stack([o for o, _, _ in chunk])
        r = _stack([i for _, i, _ in chunk])
        m = torch.stack([torch.from_numpy(read_binary(k, "hole")).float()[None] for _, _, k in chunk])
        if p.shape != r.shape or m.shape[-2:] != p.shape[-2:]:
            raise ValueError(f"{chunk[0][2]}: output, image and mask sizes differ")
        suite.update(p, r, m, torch.arange(start, start + len(chunk)))
    return {"metrics": suite.compute(), "labels": suite.labels(), "n_images": suite.count(), "layout": "lama",
            "fid_mode": mode, "untrained_features": untrained, "pred": str(pred), "ref": str(ref),
            "code_version": VERSION}


def score(pred: Path, ref: Path, metrics: list[str], masks: str | None = None, mode: str = "clean",
          untrained: bool = False, lpips_net: str = "alex", mask_polarity: str = "hole",
          resize_masks: bool = False) -> dict:
    from .. import masks as mask_registry

    names = _pairs(Path(pred), Path(ref))
    if any(m.endswith("_hole") for m in metrics) and not masks:
        raise ValueError("hole-only metrics need --masks NAME or --masks DIR")
    suite = MetricSuite(metrics, mode=mode, untrained=untrained, lpips_net=lpips_net)
    source = None
    for start in _progress(range(0, len(names), BATCH), len(names), "scoring"):
        chunk = names[start : start + BATCH]
        p = _stack([Path(pred) / n for n in chunk])
        r = _stack([Path(ref) / n for n in chunk])
        if p.shape != r.shape:
            raise ValueError(f"{chunk[0]}: output {list(p.shape[1:])} and reference {list(r.shape[1:])} differ in size")
        if masks and source is None:
            name = f"folder:{masks}" if Path(masks).is_dir() else masks
            source = mask_registry.mask_source(name, size=p.shape[-1], polarity=mask_polarity, resize=resize_masks)
        idx = torch.arange(start, start + len(chunk))
        m = torch.stack([source(int(i)) for i in idx]) if source else torch.zeros(len(chunk), 1, *p.shape[-2:])
        suite.update(p, r, m, idx)
    return {"metrics": suite.compute(), "labels": suite.labels(), "n_images": suite.count(),
            "fid_mode": mode, "untrained_features": untrained, "masks": masks, "pred": str(pred), "ref": str(ref),
            "code_version": VERSION}
