"""FID, KID and Inception Score over per-image Inception features (clean-fid's formulas, DDP-exact states).

FID and KID compare the outputs with reference features: the ground-truth test images at the same resolution,
computed once per (dataset, split, size, mode) and cached (`reference.py`), or — when no reference is given —
the `target` images of each update. KID is clean-fid's `kernel_distance` (cubic polynomial kernel, 100 subsets of
up to 1,000 features) with the subset draw seeded, its subsets computed in batches (`kernel_distance_batched`).
IS uses the 1008 logits of the legacy Inception, 10 splits.
"""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np
import torch

from ..files.provenance import reused
from .base import PerImageMetric
from .inception import InceptionLogits, feature_extractor
from .reference import ReferenceStats

KID_SEED = 0
KID_MIN_IMAGES = 2  # the unbiased MMD estimate needs two images per side; below clean-fid's subset size


@contextlib.contextmanager
def numpy_seed(seed: int):
    """Seed NumPy's global RNG (clean-fid's KID draws from it) and restore its state afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


_SHARED: list[dict] = []  # open sharing scopes: (mode, untrained, id(images)) → (images, features)


@contextlib.contextmanager
def shared_features():
    """A scope (one `MetricSuite.update`, where no metric changes its inputs) in which FID and KID compute the
    Inception features of each batch once; outside it every update computes its own."""
    _SHARED.append({})
    try:
        yield
    finally:
        _SHARED.pop()


class _ReferencedFeatures(PerImageMetric):
    """Inception features of the outputs, and of the references when none were given up front."""

    higher_is_better = False

    def __init__(self, mode: str = "clean", untrained: bool = False, reference: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.mode, self.untrained = mode, untrained
        self.label = feature_extractor(mode, untrained).label
        self.stats = reference if isinstance(reference, ReferenceStats) else None
        self.reference = None if reference is None or self.stats else np.asarray(reference, dtype=np.float64)
        self.add_state("ref_rows", default=[], dist_reduce_fx="cat")
        self.add_state("ref_index", default=[], dist_reduce_fx="cat")

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        """The batch's features; inside `shared_features()` (one suite update) computed once for FID and KID."""
        key = (self.mode, self.untrained, id(images))
        if _SHARED and key in _SHARED[-1]:
            return _SHARED[-1][key][1]
        features = feature_extractor(self.mode, self.untrained).to(images.device)(images)
        if _SHARED:
            _SHARED[-1][key] = (images, features)  # holding the tensor keeps its id from being reused meanwhile
        return features

    def update(self, pred, target, mask, index, label=None) -> None:
        self.add_rows(self._features(pred), index)
        if self.reference is None:
            self.ref_rows.append(self._features(target).double())
            self.ref_index.append(torch.as_tensor(index, device=pred.device).reshape(-1).long())

    def prepared_reference(self):
        """What `value` compares against, computed once (FID: μ, Σ; KID: the feature rows)."""
        raise NotImplementedError

    def value(self, feats: np.ndarray, reference) -> float:
        raise NotImplementedError

    def compute(self) -> torch.Tensor:
        return torch.tensor(self.value(self.unique_rows()[0].cpu().numpy(), self.prepared_reference()),
                            dtype=torch.float64)

    def bootstrap(self, n_boot: int, seed: int = 0) -> tuple[float, float]:
        """95 % percentile interval of the metric over `n_boot` resamples (with replacement) of the output
        images' feature rows, the reference held fixed (prepared once); all processes' rows. A resample repeats
        images, and FID's bias grows as the number of distinct images falls: the interval shows the spread, not
        the bias."""
        with self.sync_context(should_sync=True, should_unsync=True):
            feats = self.unique_rows()[0].cpu().numpy()
            reference = self.prepared_reference()
            rng = np.random.default_rng(seed)
            values = [self.value(feats[rng.integers(0, len(feats), len(feats))], reference) for _ in range(n_boot)]
        low, high = np.percentile(values, [2.5, 97.5])
        return float(low), float(high)

    def reference_rows(self) -> np.ndarray:
        if self.stats is not None:
            raise ValueError(f"{type(self).__name__} needs reference features, and the reference is statistics "
                             f"({self.stats.source}); use reference: folder:PATH or test-images")
        if self.reference is not None:
            return self.reference
        ref, idx = self.ref_rows, self.ref_index
        ref = ref if isinstance(ref, torch.Tensor) else torch.cat(ref)
        idx = idx if isinstance(idx, torch.Tensor) else torch.cat(idx)
        order = torch.argsort(idx, stable=True)
        idx, ref = idx[order], ref[order]
        keep = torch.ones_like(idx, dtype=torch.bool)
        keep[1:] = idx[1:] != idx[:-1]
        return ref[keep].cpu().numpy()


_ROOTS: dict[str, np.ndarray] = {}  # content digest of Σ → Σ^½ (the few references of a sweep)
_LAST: list[tuple[np.ndarray, np.ndarray]] = []  # (the Σ array last asked for, its Σ^½)


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Σ^½ of a covariance (symmetric PSD) by its eigendecomposition, cached by content: a sweep's reference
    covariance is factored once, not once per cell. The array last asked for is answered without hashing it
    again (a 2048² Σ costs ≈ 50 ms to digest, and FID's bootstrap asks for the same one a hundred times); the
    references are never changed in place."""
    if _LAST and _LAST[0][0] is sigma:
        return _LAST[0][1]
    given = sigma
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    digest = hashlib.blake2b(sigma.tobytes(), digest_size=16).hexdigest()
    if digest not in _ROOTS:
        w, v = np.linalg.eigh((sigma + sigma.T) / 2)
        if len(_ROOTS) >= 4:
            _ROOTS.pop(next(iter(_ROOTS)))
        _ROOTS[digest] = (v * np.sqrt(w.clip(min=0))) @ v.T
    _LAST[:] = [(given, _ROOTS[digest])]
    return _ROOTS[digest]


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^½.

    Σ1 Σ2 is similar to the symmetric PSD R Σ1 R with R = Σ2^½, so tr (Σ1 Σ2)^½ = Σ √λ_i(R Σ1 R), from a symmetric
    eigensolver (4× faster than the general one, and R is cached per reference). This equals clean-fid's
    `frechet_distance` (scipy sqrtm) wherever that one succeeds (tested), and stays defined with fewer images than
    feature dimensions, where sqrtm returns complex values and clean-fid raises.
    """
    root = psd_sqrt(sigma2)
    product = root @ sigma1 @ root
    eig = np.linalg.eigvalsh((product + product.T) / 2).clip(min=0)
    return _frechet(mu1, np.trace(sigma1), mu2, sigma2, np.sqrt(eig).sum())


def frechet_distance_features(feats: np.ndarray, mu2, sigma2) -> float:
    """The Fréchet distance of features `feats` [n, d] (their mean and covariance) to (μ2, Σ2).

    With n ≤ d the covariance Σ1 = XᵀX/(n − 1) (X centred) has rank < n, and the non-zero eigenvalues of
    R Σ1 R = (XR)ᵀ(XR)/(n − 1) are those of the n × n Gram matrix (XR)(XR)ᵀ/(n − 1): the same number from an
    n × n problem instead of a d × d one (a small cell's FID in milliseconds, not seconds).
    """
    feats = np.asarray(feats, dtype=np.float64)
    n, d = feats.shape
    if n > d:
        return frechet_distance(feats.mean(0), np.cov(feats, rowvar=False), mu2, sigma2)
    centred = feats - feats.mean(0)
    projected = centred @ psd_sqrt(sigma2)
    eig = np.linalg.eigvalsh(projected @ projected.T / (n - 1)).clip(min=0)
    trace1 = (centred * centred).sum() / (n - 1)
    return _frechet(feats.mean(0), trace1, mu2, sigma2, np.sqrt(eig).sum())


def _frechet(mu1, trace1: float, mu2, sigma2, trace_sqrt: float) -> float:
    diff = mu1 - mu2
    return float(diff @ diff + trace1 + np.trace(sigma2) - 2 * trace_sqrt)


class FID(_ReferencedFeatures):
    """Fréchet Inception Distance on float64 means and covariances of the features."""

    def prepared_reference(self) -> tuple[np.ndarray, np.ndarray]:
        """(μ, Σ) of the reference: published statistics (e.g. I²SB's 50k ImageNet val), or of its feature rows."""
        if self.stats is not None:
            return self.stats.mu, self.stats.sigma
        ref = self.reference_rows()
        if len(ref) < 2:
            raise ValueError("FID needs at least 2 images on each side")
        return ref.mean(0), np.cov(ref, rowvar=False)

    def value(self, feats: np.ndarray, reference: tuple[np.ndarray, np.ndarray]) -> float:
        if len(feats) < 2:
            raise ValueError("FID needs at least 2 images on each side")
        return frechet_distance_features(feats, *reference)


KID_BATCH_ELEMENTS = 2**22  # at most this many kernel entries (or gathered features) per side and batch of subsets


def kernel_distance_batched(feats1: np.ndarray, feats2: np.ndarray, num_subsets: int = 100,
                            max_subset_size: int = 1000) -> float:
    """clean-fid's `kernel_distance` (KID: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³,
    averaged over `num_subsets` subsets of m = min(n₁, n₂, max_subset_size) rows each side) with the same subset
    draws from NumPy's global RNG in the same order, the subsets' kernel sums computed a batch of subsets at a time
    (memory bounded by KID_BATCH_ELEMENTS: 100 subsets of 64 at once, 4 of 1,000 × 2,048 Inception features).
    When the kernel matrix of all n₁ + n₂ rows fits in that bound (a few hundred images: the default benchmark, and
    each resample of its bootstrap interval), it is computed once and each subset's sums are read from it
    (`_subset_mmd_from_gram`), instead of three m × d by d × m products per subset.
    Why not call clean-fid: its Python loop over subsets made KID's bootstrap interval (100 resamples × 100 subsets
    per cell) a third of `make bench`'s harness time; tests/test_metrics_kid.py holds the two equal."""
    d = feats1.shape[1]
    m = min(feats1.shape[0], feats2.shape[0], max_subset_size)
    draws = [(np.random.choice(feats2.shape[0], m, replace=False), np.random.choice(feats1.shape[0], m, replace=False))
             for _ in range(num_subsets)]
    if (len(feats1) + len(feats2)) ** 2 <= KID_BATCH_ELEMENTS:
        return _subset_mmd_from_gram(_cubic_gram(feats2, feats1), draws, len(feats2)) / m
    per_batch = max(1, KID_BATCH_ELEMENTS // (m * max(m, d)))
    total = 0.0
    for start in range(0, num_subsets, per_batch):
        batch = draws[start:start + per_batch]
        x = feats2[np.stack([ix for ix, _ in batch])]  # [S, m, d]
        y = feats1[np.stack([iy for _, iy in batch])]
        kxx = (x @ x.transpose(0, 2, 1) / d + 1) ** 3
        kyy = (y @ y.transpose(0, 2, 1) / d + 1) ** 3
        within = kxx.sum((1, 2)) + kyy.sum((1, 2)) - np.trace(kxx, axis1=1, axis2=2) - np.trace(kyy, axis1=1, axis2=2)
        del kxx, kyy
        kxy = (x @ y.transpose(0, 2, 1) / d + 1) ** 3
        total += float((within / (m - 1) - kxy.sum((1, 2)) * 2 / m).sum())
    return total / num_subsets / m


def _subset_mmd_from_gram(gram: np.ndarray, draws: list, offset: int) -> float:
    """The mean over subsets of m·MMD²ᵤ from the joint kernel matrix: with cₓ, c_y the 0/1 indicator rows of a
    subset's draws (feats1's rows after `offset`), Σ kxx = cₓᵀ K cₓ, its trace cₓ · diag K, Σ kxy = cₓᵀ K c_y."""
    ix, iy = np.stack([ix for ix, _ in draws]), np.stack([iy for _, iy in draws]) + offset  # [S, m] rows of K
    m, rows = ix.shape[1], np.arange(len(draws))[:, None]
    cx, cy = np.zeros((len(draws), len(gram))), np.zeros((len(draws), len(gram)))
    cx[rows, ix], cy[rows, iy] = 1.0, 1.0
    kcx, kcy, diag = cx @ gram, cy @ gram, np.diag(gram)
    within = (kcx * cx).sum(1) + (kcy * cy).sum(1) - cx @ diag - cy @ diag
    return float((within / (m - 1) - (kcx * cy).sum(1) * 2 / m).mean())


def _cubic_gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(zᵢ, zⱼ) = (zᵢ·zⱼ/d + 1)³ for every pair of rows of z = [a; b]."""
    z = np.concatenate([a, b])
    return (z @ z.T / z.shape[1] + 1) ** 3


class KID(_ReferencedFeatures):
    """Kernel Inception Distance (clean-fid's `kernel_distance` as `kernel_distance_batched`, subset draw seeded
    with KID_SEED)."""

    def prepared_reference(self) -> np.ndarray:
        return self.reference_rows()

    def value(self, feats: np.ndarray, reference: np.ndarray) -> float:
        if min(len(feats), len(reference)) < KID_MIN_IMAGES:
            raise ValueError(f"KID needs at least {KID_MIN_IMAGES} images on each side (got {len(feats)} outputs, "
                             f"{len(reference)} references): with fewer, clean-fid's subsets repeat a handful of "
                             "images")
        with numpy_seed(KID_SEED):
            return kernel_distance_batched(feats, reference)


@reused
def logits_extractor(untrained: bool) -> InceptionLogits:
    return InceptionLogits(untrained)


def split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    """The original IS code's splits of n predictions: [i·n // splits, (i + 1)·n // splits) (fewer splits than
    `splits` only when there are fewer images than splits)."""
    k = min(splits, n)
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]


def inception_score(probs: torch.Tensor, splits: int = 10) -> torch.Tensor:
    """mean over splits of exp(E_x KL(p(y|x) ‖ p(y))), p(y) the split's mean prediction."""
    scores = []
    for lo, hi in split_bounds(len(probs), splits):
        part = probs[lo:hi]
        p_y = part.mean(0, keepdim=True)
        kl = (part * (torch.log(part.clamp_min(1e-30)) - torch.log(p_y.clamp_min(1e-30)))).sum(1).mean()
        scores.append(torch.exp(kl))
    return torch.stack(scores).mean()


class InceptionScore(PerImageMetric):
    """Inception Score exp(E_x KL(p(y|x) ‖ p(y))), mean over `splits` contiguous splits in index order, with the
    original code's split boundaries and logits without the fc bias (`InceptionLogits`)."""

    higher_is_better = True

    def __init__(self, untrained: bool = False, splits: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.untrained, self.splits = untrained, splits
        self.label = logits_extractor(untrained).label

    def update(self, pred, target, mask, index, label=None) -> None:
        self.add_rows(logits_extractor(self.untrained).to(pred.device)(pred), index)

    def compute(self) -> torch.Tensor:
        logits, _ = self.unique_rows()
        return inception_score(torch.softmax(logits, dim=1), self.splits)
