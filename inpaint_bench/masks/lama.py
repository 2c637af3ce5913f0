"""LaMa's random masks at 256² (advimman/lama), the `narrow` / `medium` / `wide` sets (RePaint's thin/thick).

Each mask is either irregular strokes or boxes, never both (a mixed generator picks one). A stroke is 1–5 chained
segments: angle 0.01 + k rad (k ∈ 0..max_angle−1, mirrored on alternate strokes), length 10..max_len+9, width
5..max_width+4, drawn as thick lines (OpenCV rounds their ends). Upstream's dataset script drops candidates covering
more than 50 % of the image; so do we, by redrawing from the same per-mask generator.

The counts are those of upstream's generator classes, which widen the config's ranges before calling the drawing
functions (`RandomIrregularMaskGenerator`: max_times + 1 → min_times..max_times + 1 strokes;
`RandomRectangleMaskGenerator`: bbox_max_size + 1 → box sides bbox_min_size..bbox_max_size inclusive, capped at
size − 2·margin − 1). The hole-ratio distributions match upstream's (tests/parity/test_lama_masks_parity.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .spec import register

MAX_HOLE = 0.5  # upstream drops candidates above this


@dataclass(frozen=True)
class Strokes:
    max_angle: int
    max_len: int
    max_width: int
    min_times: int
    max_times: int


@dataclass(frozen=True)
class Boxes:
    margin: int
    min_size: int
    max_size: int
    min_times: int
    max_times: int


def draw_strokes(rng: np.random.Generator, m: np.ndarray, p: Strokes, times: int | None = None) -> np.ndarray:
    """LaMa `make_random_irregular_mask`: `times` strokes (drawn from [min_times, max_times + 1] if None, as
    `RandomIrregularMaskGenerator` calls it).

    The random numbers are drawn in a few vectorised calls (same distributions as upstream, which used the
    global NumPy RNG and so fixed no sequence anyway); the segments are then chained and drawn in order.
    """
    size = m.shape[0]
    times = int(rng.integers(p.min_times, p.max_times + 2)) if times is None else times
    starts = rng.integers(size, size=(times, 2))
    n_segments = 1 + rng.integers(5, size=times)
    total = int(n_segments.sum())
    angles = 0.01 + rng.integers(p.max_angle, size=total)
    lengths = 10 + rng.integers(p.max_len, size=total)
    widths = 5 + rng.integers(p.max_width, size=total)
    stroke_of = np.repeat(np.arange(times), n_segments)
    angles = np.where(stroke_of % 2 == 0, 2 * np.pi - angles, angles)  # mirrored on alternate strokes
    dx, dy = lengths * np.sin(angles), lengths * np.cos(angles)
    seg = 0
    for i in range(times):
        x, y = int(starts[i, 0]), int(starts[i, 1])
        for _ in range(int(n_segments[i])):
            end_x = min(max(int(x + dx[seg]), 0), size)
            end_y = min(max(int(y + dy[seg]), 0), size)
            cv2.line(m, (x, y), (end_x, end_y), 1, int(widths[seg]))
            x, y, seg = end_x, end_y, seg + 1
    return m


def draw_boxes(rng: np.random.Generator, m: np.ndarray, p: Boxes) -> np.ndarray:
    """LaMa `make_random_rectangle_mask`: min_times..max_times axis-aligned boxes inside a margin, sides
    min_size..max_size inclusive (as `RandomRectangleMaskGenerator` calls it), capped by the margin."""
    size = m.shape[0]
    side_end = min(p.max_size + 1, size - 2 * p.margin)  # exclusive, as upstream's randint
    for _ in range(int(rng.integers(p.min_times, p.max_times + 1))):
        w, h = int(rng.integers(p.min_size, side_end)), int(rng.integers(p.min_size, side_end))
        x0 = int(rng.integers(p.margin, size - p.margin - w + 1))
        y0 = int(rng.integers(p.margin, size - p.margin - h + 1))
        m[y0 : y0 + h, x0 : x0 + w] = 1
    return m


def mixed(rng, size, strokes: Strokes, boxes: Boxes | None, box_proba: float) -> np.ndarray:
    """One mask: strokes with probability 1/(1+box_proba), else boxes; redrawn while it covers > 50 % or 0 %."""
    p_boxes = box_proba / (1 + box_proba) if boxes else 0.0
    while True:
        m = np.zeros((size, size), np.uint8)
        if rng.random() < p_boxes:
            draw_boxes(rng, m, boxes)
        else:
            draw_strokes(rng, m, strokes)
        ratio = cv2.countNonZero(m) / m.size
        if 0 < ratio <= MAX_HOLE:
            return m.astype(bool)


THIN = Strokes(max_angle=4, max_len=40, max_width=10, min_times=4, max_times=50)
MEDIUM = Strokes(max_angle=4, max_len=100, max_width=50, min_times=4, max_times=5)
MEDIUM_BOXES = Boxes(margin=0, min_size=10, max_size=50, min_times=1, max_times=5)
THICK = Strokes(max_angle=4, max_len=200, max_width=100, min_times=1, max_times=5)
THICK_BOXES = Boxes(margin=10, min_size=30, max_size=150, min_times=1, max_times=3)


@register("narrow", random=True, hole_range=(0.0, 0.5), family="irregular",
          doc="LaMa thin (RePaint `thin`): 4–51 strokes, width ≤ 14, length ≤ 49; mean hole ≈ 0.29")
def narrow(rng, size):
    return mixed(rng, size, THIN, None, 0.0)


@register("medium", random=True, hole_range=(0.0, 0.5), family="irregular",
          doc="LaMa medium: 4–6 strokes of width ≤ 54, or 1–5 boxes of side 10–50; mean hole ≈ 0.24")
def medium(rng, size):
    return mixed(rng, size, MEDIUM, MEDIUM_BOXES, 0.3)


@register("wide", random=True, hole_range=(0.0, 0.5), family="irregular",
          doc="LaMa thick (RePaint `thick`): 1–6 strokes of width ≤ 104, or 1–3 boxes of side 30–150; mean ≈ 0.27")
def wide(rng, size):
    return mixed(rng, size, THICK, THICK_BOXES, 0.3)
