"""What a mask type is: a drawing function, whether it is random, and its documented hole-ratio range."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..registry import Registry

BASE_SIZE = 256  # random masks are defined (drawn) at 256², then scaled


class MaskError(ValueError):
    """A mask name, file or set that cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True)
class MaskSpec:
    """One registered mask type.

    `draw(rng, size)` returns a bool array [size, size], True = hole. Geometric masks (`random=False`) are
    computed exactly at any size and ignore `rng`; random masks are drawn at BASE_SIZE and scaled.
    """

    name: str
    draw: Callable[[np.random.Generator, int], np.ndarray]
    random: bool
    hole_range: tuple[float, float]  # documented [min, max] hole fraction at 256²
    family: str  # "box" or "irregular": picks defaults such as AsyncDSB's τ range
    doc: str


MASKS: Registry[MaskSpec] = Registry("mask")


def register(name: str, *, random: bool, hole_range: tuple[float, float], family: str, doc: str):
    def add(draw):
        MASKS.register(name)(MaskSpec(name, draw, random, hole_range, family, doc))
        return draw

    return add


def index_rng(name: str, seed: int, index: int) -> np.random.Generator:
    """The generator of mask `index` of set (`name`, `seed`): independent of n, order, threads and machine."""
    name_key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index, name_key])))
