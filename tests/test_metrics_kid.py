"""KID's batched estimator equals clean-fid's `kernel_distance` draw for draw (metrics/distribution.py)."""

import numpy as np
import pytest
from cleanfid.fid import kernel_distance

from inpaint_bench.metrics.distribution import kernel_distance_batched, numpy_seed


@pytest.mark.parametrize("n1, n2, max_subset", [(64, 256, 1000), (64, 64, 1000), (300, 200, 50), (7, 9, 1000)])
@pytest.mark.parametrize("batch_elements", [2**22, 3000])  # all subsets in one batch; a few subsets per batch
def test_batched_kid_equals_clean_fid_with_the_same_seed(n1, n2, max_subset, batch_elements, monkeypatch):
    from inpaint_bench.metrics import distribution

    monkeypatch.setattr(distribution, "KID_BATCH_ELEMENTS", batch_elements)
    rng = np.random.default_rng(n1 + n2)
    a = rng.normal(size=(n1, 16))
    b = rng.normal(0.3, 1.2, size=(n2, 16))
    with numpy_seed(5):
        expected = kernel_distance(a, b, max_subset_size=max_subset)
    with numpy_seed(5):
        got = kernel_distance_batched(a, b, max_subset_size=max_subset)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert abs(expected) > 1e-3  # the two sets differ: a value a wrong kernel or draw would miss


def test_batched_kid_leaves_the_global_draws_where_clean_fid_does():
    a, b = np.ones((10, 4)), np.zeros((12, 4))
    with numpy_seed(1):
        kernel_distance(a, b)
        after_clean_fid = np.random.random()
    with numpy_seed(1):
        kernel_distance_batched(a, b)
        after_batched = np.random.random()
    assert after_batched == after_clean_fid
