"""LaMa's `narrow` / `medium` / `wide` masks against advimman/lama's own generator (fixtures from
`generate.py lama_masks`: 2,000 hole ratios per type, drawn by upstream's `MixedMaskGenerator` with the
`random_*_256.yaml` settings and its 50 % area filter). Distributions, not masks: upstream draws from NumPy's
global RNG, the suite from one seeded Generator per mask."""

import numpy as np
import pytest
from parity_common import load_fixture
from scipy import stats

from inpaint_bench.masks import generate_one

FIX, HEADER = load_fixture("lama_masks")


@pytest.mark.parametrize("name", ["narrow", "medium", "wide"])
def test_lama_hole_ratio_distribution_matches_upstream(name):
    ours = np.array([generate_one(name, i, 256, 0).mean() for i in range(HEADER["n"])])
    theirs = FIX[name].numpy()
    assert abs(ours.mean() - theirs.mean()) < 0.01  # upstream medium 0.239; the off-by-one version gave 0.220
    assert stats.ks_2samp(ours, theirs).pvalue > 0.01


class RecordingRng:
    """A NumPy Generator that records the bounds of every `integers` call (the count draws come first)."""

    def __init__(self):
        self.rng, self.calls = np.random.default_rng(0), []

    def integers(self, *args, **kwargs):
        self.calls.append(args)
        return self.rng.integers(*args, **kwargs)

    def random(self):
        return self.rng.random()


def test_stroke_counts_and_box_sides_use_the_ranges_of_upstreams_generator_classes():
    from inpaint_bench.masks import lama

    for strokes in (lama.THIN, lama.MEDIUM, lama.THICK):  # RandomIrregularMaskGenerator: max_times + 1 inclusive
        rng = RecordingRng()
        lama.draw_strokes(rng, np.zeros((256, 256), np.uint8), strokes)
        assert rng.calls[0] == (strokes.min_times, strokes.max_times + 2)
    for boxes in (lama.MEDIUM_BOXES, lama.THICK_BOXES):  # RandomRectangleMaskGenerator: sides ≤ bbox_max_size
        rng = RecordingRng()
        lama.draw_boxes(rng, np.zeros((256, 256), np.uint8), boxes)
        assert rng.calls[0] == (boxes.min_times, boxes.max_times + 1)
        assert rng.calls[1] == (boxes.min_size, min(boxes.max_size + 1, 256 - 2 * boxes.margin))
