"""Mask registry: every mask type the papers use, generated from a seed and frozen with checksums (1 = hole).

Public API:
    names() -> list[str]
    generate(name, n, size=256, seed=0) -> float tensor [n, 1, size, size] in {0, 1}
    load(name, n=None, size=256) -> the frozen set from mask_sets/, checksum verified
    mask_source(name, size, seed) -> callable index -> [1, size, size] (frozen when available)
"""

from __future__ import annotations

from .generate import generate, generate_one, names, scale, spec
from .source import load, mask_source
from .spec import BASE_SIZE, MaskError, MaskSpec

__all__ = ["BASE_SIZE", "MaskError", "MaskSpec", "generate", "generate_one", "load", "mask_source", "names", "scale",
           "spec"]
