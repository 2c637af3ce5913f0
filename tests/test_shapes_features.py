"""The `shapes` feature network measures what it should (issue 25): each property is checked on the shipped
network and, as the negative control, shown to fail for a random network of the same architecture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.functional import gaussian_blur

from inpaint_bench.data.shapes import ShapesDataset
from inpaint_bench.metrics.distribution import frechet_distance_features
from inpaint_bench.metrics.shapes_features import feature_distance, load_network
from inpaint_bench.metrics.shapes_network import ShapesFeatureNet

SIZE = 32


@pytest.fixture(scope="module")
def test_images() -> torch.Tensor:
    data = ShapesDataset("test", SIZE)
    return torch.stack([data[i]["image"] for i in range(len(data))])


@pytest.fixture(scope="module")
def trained():
    return load_network()


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    return ShapesFeatureNet().eval().requires_grad_(False)


def fid(net, a: torch.Tensor, b: torch.Tensor) -> float:
    with torch.no_grad():
        fa, fb = net.pooled(a).double().numpy(), net.pooled(b).double().numpy()
    return frechet_distance_features(fa, fb.mean(0), np.cov(fb, rowvar=False))


def kid(net, a: torch.Tensor, b: torch.Tensor) -> float:
    from cleanfid.fid import kernel_distance

    from inpaint_bench.metrics.distribution import numpy_seed

    with torch.no_grad(), numpy_seed(0):
        return float(kernel_distance(net.pooled(a).double().numpy(), net.pooled(b).double().numpy()))


def distance(net, a, b) -> float:
    with torch.no_grad():
        return float(feature_distance(net, a, b).mean())


def blurred(images, sigma):
    return gaussian_blur(images, kernel_size=7, sigma=sigma)


def noisy(images, sigma):
    return (images + sigma * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)


def flat_hole(images, side):
    """A centred side × side hole filled with each image's per-channel mean of the known region."""
    out = images.clone()
    lo = (SIZE - side) // 2
    known = torch.ones(1, 1, SIZE, SIZE, dtype=torch.bool)
    known[..., lo:lo + side, lo:lo + side] = False
    mean = (images * known).sum((2, 3), keepdim=True) / known.sum()
    out[..., lo:lo + side, lo:lo + side] = mean.expand(-1, -1, side, side)
    return out


LEVELS = {"blur": (blurred, (0.5, 1.0, 1.5, 2.5)), "noise": (noisy, (0.05, 0.1, 0.2, 0.4)),
          "flat hole": (flat_hole, (4, 8, 12, 16))}
VISIBLE = {"blur": 1, "noise": 1, "flat hole": 3}  # σ 1 blur, σ 0.1 noise, the benchmark's centre hole mean-filled


def properties(net, images) -> dict[str, bool]:
    """Each property of issue 25, True when it holds for `net`."""
    half_a, half_b = images[0::2], images[1::2]
    out = {}
    for name, (degrade, levels) in LEVELS.items():
        degraded = [degrade(half_b, s) for s in levels]
        for metric, score in (("FID", fid), ("KID", kid)):
            values = [score(net, d, half_a) for d in degraded]
            out[f"{name}: {metric} rises"] = all(x < y for x, y in zip(values, values[1:], strict=False))
        dists = [distance(net, d, half_b) for d in degraded]
        out[f"{name}: distance rises"] = all(x < y for x, y in zip(dists, dists[1:], strict=False))
        # "near 0": KID (unbiased, unlike FID at 128 images) of two disjoint halves of the clean test split is
        # below a quarter of a plainly visible degradation's
        out[f"{name}: halves near 0"] = abs(kid(net, half_b, half_a)) < 0.25 * kid(net, degraded[VISIBLE[name]], half_a)
    out["centre hole: ground truth beats mean fill"] = fid(net, half_b, half_a) < fid(net, flat_hole(half_b, 16), half_a)
    return out


def test_the_shipped_network_has_every_property(trained, test_images):
    failed = [name for name, ok in properties(trained, test_images).items() if not ok]
    assert not failed, f"the shapes feature network fails: {failed}"


def test_a_random_network_fails_them(random_net, test_images):
    held = properties(random_net, test_images)
    assert not all(held.values()), "a random network passes every property: the checks have no teeth"


def test_the_network_reads_unseen_scenes(trained):
    """Its supervised task, on the test split (never trained on): far above chance (stripes 1/2, count 1/3)."""
    from inpaint_bench.bench.train_features import held_out_report

    report = held_out_report(trained, n=128)
    assert report["stripes_accuracy"] > 0.9 and report["count_accuracy"] > 0.6
    assert report["background_colour_mae"] < 0.1
