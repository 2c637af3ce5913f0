"""Masks defined by geometry alone, exact at any size (1 = hole)."""

from __future__ import annotations

import numpy as np

from .spec import register


@register("center", random=False, hole_range=(0.25, 0.25), family="box",
          doc="centre box of half the side (128×128 at 256²), as I²SB and AsyncDSB")
def center(rng, size: int) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[size // 4 : size // 4 + size // 2, size // 4 : size // 4 + size // 2] = True
    return m


@register("half", random=False, hole_range=(0.5, 0.5), family="box",
          doc="right half is the hole, the left half is kept (RePaint `genhalf` keeps one half)")
def half(rng, size: int) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[:, size // 2 :] = True
    return m


@register("expand", random=False, hole_range=(0.9375, 0.9375), family="box",
          doc="keep only the centre quarter side (64×64 at 256²), RePaint `ex64` / IS-Diff `expand`")
def expand(rng, size: int) -> np.ndarray:
    m = np.ones((size, size), bool)
    k = size // 4
    m[(size - k) // 2 : (size - k) // 2 + k, (size - k) // 2 : (size - k) // 2 + k] = False
    return m


@register("ev2li", random=False, hole_range=(0.5, 0.5), family="box",
          doc="every second row is a hole (rows 1, 3, 5, …), RePaint `ev2li`")
def every_second_line(rng, size: int) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[1::2, :] = True
    return m


@register("nn2", random=False, hole_range=(0.75, 0.75), family="box",
          doc="keep the top-left pixel of each 2×2 block (2× super-resolution pattern), RePaint `nn2`")
def nearest_neighbour_2x(rng, size: int) -> np.ndarray:
    m = np.ones((size, size), bool)
    m[0::2, 0::2] = False
    return m
