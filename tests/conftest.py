import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty weight/data cache: nothing leaks in from the developer's machine."""
    monkeypatch.setenv("INPAINT_BENCH_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(0)
    np.random.seed(0)


def random_batch(n=2, size=32, seed=0):
    """`n` random images in [-1, 1] with a centre-ish square hole (rows/cols 8–23), as the method tests use."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, size, size)
    mask[:, :, 8:24, 8:24] = 1
    return x0, mask
