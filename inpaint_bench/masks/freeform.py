"""Masks binned by hole ratio: Palette/I²SB free-form buckets and the irregular ratio buckets.

- `freeform_10_20`, `_20_30`, `_30_40`: free-form brush strokes (the DeepFill v2 / Palette `brush_stroke_mask`
  algorithm: 4–11 vertices per stroke, mean angle 2π/5 ± up to 2π/15, segment length ~ N(r, r/2) clipped to
  [0, 2r] with r = diagonal/8, width 12–39, round joints), on top of one random box with probability ½.
- `ratio_00_10` … `ratio_50_60`: irregular masks like NVIDIA's (Liu et al. 2018) binned by hole ratio, as
  StrDiffusion and AsyncDSB report: LaMa-style strokes of width 5–34.

Both grow a mask one stroke at a time until its hole ratio falls in [lo, hi); a stroke that overshoots starts the
mask again, all from the mask's own generator. `ratio_00_10` requires at least 1 % hole.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .lama import Strokes, draw_strokes
from .spec import register

MIN_HOLE = 0.01


def brush_stroke(rng: np.random.Generator, m: np.ndarray) -> None:
    """One DeepFill v2 free-form brush stroke drawn into `m` (uint8, 1 = hole)."""
    size = m.shape[0]
    radius = math.sqrt(2 * size * size) / 8
    n_vertex = int(rng.integers(4, 12))
    spread = 2 * math.pi / 15
    a_min = 2 * math.pi / 5 - rng.uniform(0, spread)
    a_max = 2 * math.pi / 5 + rng.uniform(0, spread)
    start = rng.integers(0, size, size=2)
    angles = rng.uniform(a_min, a_max, size=n_vertex)
    angles = np.where(np.arange(n_vertex) % 2 == 0, 2 * math.pi - angles, angles)
    radii = np.clip(rng.normal(radius, radius // 2, size=n_vertex), 0, 2 * radius)
    points = [(int(start[0]), int(start[1]))]
    for angle, r in zip(angles, radii, strict=True):
        x = int(np.clip(points[-1][0] + r * math.cos(angle), 0, size))
        y = int(np.clip(points[-1][1] + r * math.sin(angle), 0, size))
        points.append((x, y))
    width = int(rng.uniform(12, 40) * size / 256)
    cv2.polylines(m, [np.array(points, np.int32)], False, 1, max(width, 1))
    for x, y in points:
        cv2.circle(m, (x, y), width // 2, 1, -1)


def random_box(rng: np.random.Generator, m: np.ndarray) -> None:
    size = m.shape[0]
    h, w = (int(rng.integers(size // 8, size // 4 + 1)) for _ in range(2))
    y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    m[y : y + h, x : x + w] = 1


def grow_into_bucket(rng, size: int, lo: float, hi: float, start, add_stroke) -> np.ndarray:
    """Add strokes until the hole ratio is in [lo, hi); restart the mask when a stroke overshoots."""
    lo = max(lo, MIN_HOLE)
    while True:
        m = np.zeros((size, size), np.uint8)
        start(rng, m)
        while (ratio := cv2.countNonZero(m) / m.size) < lo:
            add_stroke(rng, m)
        if ratio < hi:
            return m.astype(bool)


def _maybe_box(rng, m):
    if rng.random() < 0.5:
        random_box(rng, m)


IRREGULAR = Strokes(max_angle=4, max_len=60, max_width=30, min_times=1, max_times=1)


def _irregular_stroke(rng, m):
    draw_strokes(rng, m, IRREGULAR, times=1 + int(rng.integers(2)))


def _register_bucket(prefix: str, lo: int, hi: int, start, add_stroke, doc: str):
    name = f"{prefix}_{lo:02d}_{hi:02d}"

    @register(name, random=True, hole_range=(max(lo / 100, MIN_HOLE), hi / 100), family="irregular", doc=doc)
    def draw(rng, size):
        return grow_into_bucket(rng, size, lo / 100, hi / 100, start, add_stroke)

    draw.__name__ = name
    return draw


for _lo in (10, 20, 30):
    _register_bucket("freeform", _lo, _lo + 10, _maybe_box, brush_stroke,
                     f"Palette-style free-form brush strokes (+ a box half the time), hole {_lo}–{_lo + 10} %; "
                     f"generated, not Palette's published set (that one is palette:PATH:freeform_{_lo}_{_lo + 10})")
for _lo in range(0, 60, 10):
    _register_bucket("ratio", _lo, _lo + 10, lambda rng, m: None, _irregular_stroke,
                     f"irregular strokes binned like the NVIDIA mask set, hole {_lo}–{_lo + 10} %")
