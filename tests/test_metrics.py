import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inpaint_bench.files import weights
from inpaint_bench.metrics import MetricSuite
from inpaint_bench.metrics.distribution import FID, KID, InceptionScore, frechet_distance
from inpaint_bench.metrics.pixel import PSNR, SSIM, quantise, ssim_map


def images(n, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def to_u8(x):
    return (quantise(x) * 255).round().numpy().astype(np.uint8).transpose(0, 2, 3, 1)


def center_mask(n, size=32):
    m = torch.zeros(n, 1, size, size)
    m[:, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return m


def test_psnr_and_ssim_equal_scikit_image():
    target = images(3)
    pred = (target + 0.3 * images(3, seed=1)).clamp(-1, 1)
    mask = center_mask(3)
    psnr, ssim = PSNR(), SSIM()
    psnr.update(pred, target, mask, torch.arange(3))
    ssim.update(pred, target, mask, torch.arange(3))
    p8, t8 = to_u8(pred), to_u8(target)
    ref_psnr = np.mean([peak_signal_noise_ratio(t8[i], p8[i], data_range=255) for i in range(3)])
    ref_ssim = np.mean([structural_similarity(t8[i], p8[i], gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=255, channel_axis=-1)
                        for i in range(3)])
    assert psnr.compute().item() == pytest.approx(ref_psnr, abs=1e-9)
    assert ssim.compute().item() == pytest.approx(ref_ssim, abs=1e-9)


def test_masked_metrics_see_only_the_hole():
    target = images(2)
    pred = (target + 0.3 * images(2, seed=1)).clamp(-1, 1)
    mask = center_mask(2)
    other = torch.where(mask.bool(), pred, images(2, seed=5))  # same hole, different known region
    a, b = PSNR(masked=True), PSNR(masked=True)
    a.update(pred, target, mask, torch.arange(2))
    b.update(other, target, mask, torch.arange(2))
    assert a.compute() == b.compute()
    # masked PSNR = PSNR of the hole pixels alone, by scikit-image
    p8, t8 = to_u8(pred), to_u8(target)
    hole = mask[:, 0].bool().numpy()
    ref = np.mean([peak_signal_noise_ratio(t8[i][hole[i]], p8[i][hole[i]], data_range=255) for i in range(2)])
    assert a.compute().item() == pytest.approx(ref, abs=1e-9)
    # masked SSIM = scikit-image's SSIM map averaged over interior window centres in the hole
    s = SSIM(masked=True)
    s.update(pred, target, mask, torch.arange(2))
    maps = [structural_similarity(t8[i], p8[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=255, channel_axis=-1, full=True)[1] for i in range(2)]
    ref = np.mean([maps[i][5:-5, 5:-5][hole[i][5:-5, 5:-5]].mean() for i in range(2)])
    assert s.compute().item() == pytest.approx(ref, abs=1e-9)
    assert ssim_map(quantise(pred), quantise(target)).shape[-1] == 32 - 10


def test_frechet_distance_equals_clean_fid_formula():
    from cleanfid.fid import frechet_distance as clean_fd

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 16)), rng.normal(0.3, 1.2, size=(300, 16)) @ rng.normal(size=(16, 16))
    args = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(*args) == pytest.approx(clean_fd(*args), rel=1e-7)


def test_the_reference_root_is_factored_and_hashed_once_for_a_bootstrap(monkeypatch):
    """FID's bootstrap asks for Σ₂^½ of the same reference a hundred times: hashing a 2048² Σ each time made a
    small cell's metrics 4× slower. The same array is answered from memory; equal content in a new array still
    gets the right root, and a different Σ its own."""
    import hashlib

    from inpaint_bench.metrics import distribution

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) * 2
    sigma, other = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = distribution.psd_sqrt(sigma)
    np.testing.assert_allclose(root @ root, sigma, atol=1e-10)
    digests, blake2b = [], hashlib.blake2b
    monkeypatch.setattr(distribution.hashlib, "blake2b", lambda *a, **k: digests.append(1) or blake2b(*a, **k))
    assert all(distribution.psd_sqrt(sigma) is root for _ in range(100))
    assert digests == []
    np.testing.assert_allclose(distribution.psd_sqrt(sigma.copy()), root)
    second = distribution.psd_sqrt(other)
    np.testing.assert_allclose(second @ second, other, atol=1e-10)
    assert len(digests) == 2


def test_frechet_distance_of_few_features_by_the_gram_matrix_equals_the_full_formula():
    """n ≤ d: the n × n Gram path gives the d × d number (and the general eigensolver's), far from the reference."""
    import scipy.linalg

    from inpaint_bench.metrics.distribution import frechet_distance_features

    rng = np.random.default_rng(1)
    ref = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64))
    mu2, s2 = ref.mean(0), np.cov(ref, rowvar=False)
    for n in (5, 40, 64, 65, 200):  # below, at and above the dimension
        feats = rng.normal(0.2, 1.5, size=(n, 64))
        mu1, s1 = feats.mean(0), np.cov(feats, rowvar=False)
        general = scipy.linalg.eigvals(s1 @ s2).real.clip(min=0)
        expected = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(general).sum()
        assert frechet_distance_features(feats, mu2, s2) == pytest.approx(expected, rel=1e-7)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-7)


def test_fid_and_kid_share_one_inception_pass_per_batch_but_never_stale_features():
    from inpaint_bench.metrics.distribution import feature_extractor

    calls = []
    handle = feature_extractor("clean", True).register_forward_hook(lambda m, a, o: calls.append(a[0].shape[0]))
    try:
        ref = np.random.default_rng(0).normal(size=(8, 2048))
        suite = MetricSuite(["fid", "kid"], untrained=True, reference=ref)
        pred, target, mask = images(4), images(4, seed=1), center_mask(4)
        suite.update(pred, target, mask, torch.arange(4))
        assert calls == [4]  # FID and KID: one forward
        pred.mul_(0.5)  # the same tensor, changed in place: must be recomputed
        suite.update(pred, target, mask, torch.arange(4, 8))
        assert calls == [4, 4]
        other = images(4, seed=2)
        suite.update(other, target, mask, torch.arange(8, 12))
        assert calls == [4, 4, 4]
        fid = FID(untrained=True, reference=ref)
        fid.update(other, target, mask, torch.arange(4))
        fid.update(other, target, mask, torch.arange(4))  # outside a suite update: no sharing
        assert calls == [4, 4, 4, 4, 4]
        rows = suite.metrics["kid"].rows
        assert not torch.equal(rows[0], rows[1]) and not torch.equal(rows[1], rows[2])
    finally:
        handle.remove()


def test_metric_networks_are_built_once_per_process_and_every_cell_records_their_weights(tmp_path):
    from inpaint_bench.files.provenance import note_file, recording, reused

    weight = tmp_path / "net.pt"
    weight.write_bytes(b"version 1")
    builds = []

    @reused
    def network(name):
        note_file(weight)
        builds.append(weight.read_bytes())
        return object()

    with recording() as first:
        a = network("x")
    with recording() as second:
        b = network("x")
    assert a is b and len(builds) == 1
    assert first == second and str(weight.resolve()) in second  # the second cell records the file too
    weight.write_bytes(b"version 2, other weights")
    with recording() as third:
        c = network("x")
    assert c is not a and builds[-1] == b"version 2, other weights"
    assert third[str(weight.resolve())] != first[str(weight.resolve())]


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_change():
    x = images(6)
    same, moved = FID("legacy_pytorch", untrained=True), FID("legacy_pytorch", untrained=True)
    same.update(x, x, center_mask(6), torch.arange(6))
    moved.update(torch.flip(x, dims=[1]) * 0.5, x, center_mask(6), torch.arange(6))
    assert abs(same.compute().item()) < 1e-6 * moved.compute().item()
    assert moved.compute().item() > 0
    assert same.label == "legacy_pytorch/UNTRAINED-FEATURES"


def _fake_weight(monkeypatch, key, state):
    """Save a random state dict of the real architecture where the registry looks, hash check relaxed."""
    w = dataclasses.replace(weights.get(key), sha256_prefix=None)
    monkeypatch.setitem(weights.WEIGHTS, key, w)
    w.path().parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, w.path())
    return w.path()


def _write_folder(folder, x):
    folder.mkdir()
    for i, a in enumerate(to_u8(x)):
        Image.fromarray(a).save(folder / f"{i:03d}.png")


def test_fid_and_kid_equal_clean_fid_on_two_folders(tmp_path, monkeypatch):
    from cleanfid import fid as cleanfid_fid

    from inpaint_bench.metrics.inception import untrained_state

    # random weights of the real architecture (BatchNorm calibrated so the features are O(1), not ~0)
    _fake_weight(monkeypatch, "inception_legacy_pytorch", untrained_state())
    from inpaint_bench.metrics.distribution import feature_extractor

    feature_extractor.cache_clear()
    pred, ref = images(10, 48, seed=1), images(10, 48, seed=2)
    _write_folder(tmp_path / "pred", pred)
    _write_folder(tmp_path / "ref", ref)
    ours_fid, ours_kid = FID("legacy_pytorch"), KID("legacy_pytorch")
    for m in (ours_fid, ours_kid):
        m.update(pred, ref, center_mask(10, 48), torch.arange(10))
    kw = dict(mode="legacy_pytorch", num_workers=0, device=torch.device("cpu"), verbose=False, use_dataparallel=False)
    theirs_fid = cleanfid_fid.compute_fid(str(tmp_path / "pred"), str(tmp_path / "ref"), **kw)
    np.random.seed(0)
    theirs_kid = cleanfid_fid.compute_kid(str(tmp_path / "pred"), str(tmp_path / "ref"), **kw)
    feature_extractor.cache_clear()
    assert theirs_fid > 1 and abs(theirs_kid) > 1e-3  # a comparison of real magnitudes, not of zeros
    assert ours_fid.compute().item() == pytest.approx(theirs_fid, rel=1e-4)
    assert ours_kid.compute().item() == pytest.approx(theirs_kid, rel=1e-4)


def test_inception_score_oracle():
    m = InceptionScore(untrained=True, splits=1)
    one_hot = torch.full((4, 1008), -1e4)
    one_hot[torch.arange(4), torch.arange(4)] = 0  # four confident, distinct classes → IS = 4
    m.add_rows(one_hot, torch.arange(4))
    assert m.compute().item() == pytest.approx(4.0, rel=1e-6)
    m.reset()
    m.add_rows(torch.zeros(4, 1008), torch.arange(4))  # identical predictions → IS = 1
    assert m.compute().item() == pytest.approx(1.0, rel=1e-9)


def test_inception_score_uses_the_original_split_boundaries_and_logits_without_the_fc_bias():
    from inpaint_bench.metrics.distribution import inception_score, split_bounds
    from inpaint_bench.metrics.inception import InceptionLogits

    assert split_bounds(25, 10)[:4] == [(0, 2), (2, 5), (5, 7), (7, 10)]  # i·n // splits, as the original code
    # confident predictions of classes 0, 1 | 1, 2, 3: the original splits [0, 2) and [2, 5) give IS 2 and 3
    # (k distinct classes → k); splitting [0, 3) | [3, 5) would give 3^(1/3)·1.5^(2/3) and 2
    probs = torch.eye(1008)[[0, 1, 1, 2, 3]]
    assert inception_score(probs, 2).item() == pytest.approx(2.5, rel=1e-6)
    logits = InceptionLogits(untrained=True)
    assert logits.fc.bias is None  # no bias: a constant per-class offset would change p(y|x)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(logits(x), logits.features(x) @ logits.fc.weight.T)


def test_missing_weight_error_names_file_place_source_and_hash():
    with pytest.raises(weights.WeightsMissing) as err:
        weights.get("resnet50").require()
    msg = str(err.value)
    for part in ("resnet50-0676ba61.pth", "hub/checkpoints", "https://download.pytorch.org", "0676ba61"):
        assert part in msg


def test_corrupt_weight_file_is_refused():
    w = weights.get("alexnet")
    w.path().parent.mkdir(parents=True, exist_ok=True)
    torch.save({"x": torch.zeros(1)}, w.path())
    with pytest.raises(weights.WeightsCorrupt, match="7be5be79"):
        w.require()


def test_lpips_loads_package_heads_and_cached_backbone(monkeypatch):
    import lpips
    import torchvision

    from inpaint_bench.metrics.perceptual import LPIPS, build_lpips

    with torch.random.fork_rng():
        torch.manual_seed(4)
        state = torchvision.models.alexnet(weights=None).state_dict()
    _fake_weight(monkeypatch, "alexnet", state)
    model = build_lpips("alex")
    assert torch.equal(model.net.slice2.state_dict()["3.weight"], state["features.3.weight"])
    heads = torch.load(lpips.__path__[0] + "/weights/v0.1/alex.pth", map_location="cpu", weights_only=True)
    assert torch.equal(model.lin0.model[1].weight, heads["lin0.model.1.weight"])
    metric = LPIPS("alex")
    x = images(2)
    metric.update(x, x, center_mask(2), torch.arange(2))
    assert metric.compute().item() == pytest.approx(0.0, abs=1e-7)
    metric.reset()
    metric.update(x, images(2, seed=9), center_mask(2), torch.arange(2))
    assert metric.compute().item() > 0.01


def test_classifier_accuracy_with_cached_resnet50(monkeypatch):
    import torchvision

    from inpaint_bench.metrics.classifier import ClassifierAccuracy

    with torch.random.fork_rng():
        torch.manual_seed(5)
        _fake_weight(monkeypatch, "resnet50", torchvision.models.resnet50(weights=None).state_dict())
    x = images(3, 64)
    probe = ClassifierAccuracy()
    net = probe._model[0]
    import torch.nn.functional as F

    from inpaint_bench.metrics.classifier import MEAN, STD

    z = F.interpolate(quantise(x).float(), size=(224, 224), mode="bicubic", align_corners=False)
    z = (z - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    predicted = net(z).argmax(1)
    probe.update(x, x, center_mask(3, 64), torch.arange(3), label=predicted)
    assert probe.compute().item() == 1.0
    probe.reset()
    probe.update(x, x, center_mask(3, 64), torch.arange(3), label=(predicted + 1) % 1000)
    assert probe.compute().item() == 0.0


def test_suite_labels_untrained_features():
    suite = MetricSuite(["psnr", "lpips"], untrained=True)
    assert suite.display_names() == {"psnr": "psnr", "lpips": "lpips [UNTRAINED-FEATURES]"}
    assert "UNTRAINED-FEATURES" in suite.labels()["lpips"]


def test_reference_features_are_cached(monkeypatch):
    from inpaint_bench.metrics import reference

    x = images(3)
    key = {"dataset": "tiny", "split": "abc", "size": 32, "n": 3}
    first = reference.reference_features([x], key, "legacy_pytorch", untrained=True)
    assert reference.cache_path({**key, "mode": "legacy_pytorch/UNTRAINED-FEATURES"}).exists()
    second = reference.reference_features([torch.zeros(3, 3, 32, 32)], key, "legacy_pytorch", untrained=True)
    assert np.array_equal(first, second)  # served from the cache, not recomputed from the new batches


def test_score_cli_on_two_folders(tmp_path):
    from inpaint_bench.cli import main

    ref = images(4, 32, seed=1)
    pred = torch.where(center_mask(4).bool(), images(4, 32, seed=2), ref)
    _write_folder(tmp_path / "pred", pred)
    _write_folder(tmp_path / "ref", ref)
    out = tmp_path / "score.json"
    rc = main(["score", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"), "--masks", "center",
               "--metrics", "psnr,ssim,psnr_hole,lpips", "--untrained-features", "--json", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["n_images"] == 4 and result["labels"]["lpips"].endswith("UNTRAINED-FEATURES")
    assert result["metrics"]["psnr"] > result["metrics"]["psnr_hole"]  # the known region is exact
    assert main(["score", "--pred", str(tmp_path / "pred"), "--ref", str(tmp_path / "ref"),
                 "--metrics", "psnr_hole"]) == 2  # hole metrics without masks → clear error


class _ScriptedFeatures(torch.nn.Module):
    """Stands in for the TorchScript Inception file: same interface (`layers`, 2048 features), random weights."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Conv2d(3, 2048, 9, stride=8), torch.nn.ReLU(),
                                          torch.nn.AdaptiveAvgPool2d(1))

    def forward(self, x, return_features: bool = False):
        return self.layers(x)


def test_clean_mode_loads_the_torchscript_file_and_equals_clean_fid(tmp_path):
    from cleanfid import fid as cleanfid_fid
    from cleanfid.inception_torchscript import InceptionV3W

    from inpaint_bench.metrics.distribution import feature_extractor

    path = weights.get("inception_torchscript").path()
    with pytest.raises(weights.WeightsMissing, match="inception-2015-12-05.pt"):
        FID("clean")
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        torch.jit.script(_ScriptedFeatures()).save(str(path))
    feature_extractor.cache_clear()
    pred, ref = images(6, 40, seed=1), images(6, 40, seed=2)
    _write_folder(tmp_path / "pred", pred)
    _write_folder(tmp_path / "ref", ref)
    ours = FID("clean")
    ours.update(pred, ref, center_mask(6, 40), torch.arange(6))
    theirs = cleanfid_fid.compute_fid(str(tmp_path / "pred"), str(tmp_path / "ref"), mode="clean", num_workers=0,
                                      device=torch.device("cpu"), verbose=False,
                                      custom_feat_extractor=InceptionV3W(str(path.parent), download=False))
    feature_extractor.cache_clear()
    assert theirs > 0 and ours.compute().item() == pytest.approx(theirs, rel=1e-4)


def test_hole_metrics_leave_out_images_without_a_hole_and_count_the_rest():
    from inpaint_bench.metrics import MetricSuite

    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
    pred = (target + 0.1 * torch.randn(3, 3, 32, 32, generator=g)).clamp(-1, 1)
    mask = torch.zeros(3, 1, 32, 32)
    mask[0, :, 8:24, 8:24] = 1
    mask[1, :, 0:2, 0:2] = 1  # a hole, but no SSIM window centre inside it
    suite = MetricSuite(["psnr_hole", "ssim_hole"])
    suite.update(pred, target, mask, torch.arange(3))  # image 2 has no hole at all
    from inpaint_bench.metrics.pixel import psnr, quantise, ssim

    q_pred, q_target = quantise(pred), quantise(target)
    values = suite.compute()
    assert values["psnr_hole"] == pytest.approx(psnr(q_pred[:2], q_target[:2], mask[:2].double()).mean().item())
    assert values["ssim_hole"] == pytest.approx(ssim(q_pred[:1], q_target[:1], mask[:1].double()).item())
    assert suite.hole_counts() == {"psnr_hole": 2, "ssim_hole": 1}  # never 100 dB / 0.0 for the others
    empty = MetricSuite(["psnr_hole"])
    empty.update(pred, target, torch.zeros_like(mask), torch.arange(3))
    with pytest.raises(ValueError, match="no image could be scored"):
        empty.compute()


def test_kid_with_fewer_than_two_images_is_an_error_like_fid():
    m = KID("clean", untrained=True, reference=np.random.default_rng(0).normal(size=(5, 2048)))
    m.add_rows(torch.randn(1, 2048, dtype=torch.float64), torch.arange(1))
    with pytest.raises(ValueError, match="at least 2 images"):
        m.compute()


def test_score_reads_lamas_layout_and_equals_the_two_folder_layout(tmp_path):
    from inpaint_bench.cli import main
    from inpaint_bench.data.images import to_uint8

    ref = images(3, 32, seed=3)
    masks = torch.zeros(3, 1, 32, 32)
    for i in range(3):
        masks[i, :, 4 + i : 20, 6:26 - i] = 1
    pred = torch.where(masks.bool(), images(3, 32, seed=4), ref)
    lama_ref, lama_pred = tmp_path / "lama_ref", tmp_path / "lama_pred"
    lama_ref.mkdir()
    lama_pred.mkdir()
    for i, (r, p, m) in enumerate(zip(to_uint8(ref), to_uint8(pred), masks, strict=True)):
        Image.fromarray(r).save(lama_ref / f"img{i}.png")
        Image.fromarray((m[0].numpy() * 255).astype(np.uint8)).save(lama_ref / f"img{i}_mask000.png")
        Image.fromarray(p).save(lama_pred / f"img{i}_mask000.png")
    out = tmp_path / "lama.json"
    assert main(["score", "--layout", "lama", "--pred", str(lama_pred), "--ref", str(lama_ref), "--metrics",
                 "psnr,psnr_hole,ssim_hole", "--json", str(out)]) == 0
    lama = json.loads(out.read_text())["metrics"]
    from inpaint_bench.metrics import MetricSuite
    from inpaint_bench.metrics.pixel import quantise

    suite = MetricSuite(["psnr", "psnr_hole", "ssim_hole"])
    suite.update(quantise(pred) * 2 - 1, quantise(ref) * 2 - 1, masks, torch.arange(3))
    assert lama == pytest.approx(suite.compute(), rel=1e-9)


def test_fid_reference_from_stats_or_a_folder_equals_the_same_images_as_test_images(tmp_path):
    """`stats:PATH` (clean-fid's .npz, built by `stats build`) and `folder:PATH` give the FID that the same images
    give as the built-in reference; KID refuses statistics."""
    from inpaint_bench.bench.config import ConfigError, Protocol, validate_protocol
    from inpaint_bench.cli.stats import build_stats
    from inpaint_bench.metrics.distribution import feature_extractor
    from inpaint_bench.metrics.reference import folder_batches, load_stats

    ref = images(6, 32, seed=7)
    _write_folder(tmp_path / "ref", ref)
    out = tmp_path / "stats.npz"
    build_stats(tmp_path / "ref", out, size=32, mode="clean", untrained=True, quiet=True)
    with np.load(out, allow_pickle=False) as f:
        assert set(f.keys()) == {"mu", "sigma"} and f["sigma"].shape == (2048, 2048)  # clean-fid's format
    stats = load_stats(out)
    feats = np.concatenate([feature_extractor("clean", True)(b).double().numpy()
                            for b in folder_batches(tmp_path / "ref", 32)])
    pred = images(5, 32, seed=8)
    fid_stats, fid_feats = FID("clean", True, stats), FID("clean", True, feats)
    for m in (fid_stats, fid_feats):
        m.update(pred, pred, center_mask(5), torch.arange(5))
    assert fid_stats.compute().item() == pytest.approx(fid_feats.compute().item(), rel=1e-9)
    with pytest.raises(ConfigError, match="KID cannot use"):
        validate_protocol(Protocol(metrics=("fid", "kid"), reference=f"stats:{out}"))
    with pytest.raises(FileNotFoundError, match="stats build"):
        load_stats(tmp_path / "missing.npz")


def test_seam_metrics_see_a_pasted_patch_offset_by_a_known_amount():
    """A smooth ramp image; one output fills the hole exactly (no seam), one pastes the truth shifted by +20 levels
    (a colour seam: 20 levels), one pastes it moved 4 pixels (a position seam). psnr_seam drops and seam_jump rises for both
    seams; the exact fill scores the cap and a jump of 0."""
    from inpaint_bench.metrics.seam import SeamJump, SeamPSNR, seam_band

    x = torch.linspace(-1, 1, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32).clone()
    x = x + 0.3 * torch.linspace(-1, 1, 32).view(1, 1, 32, 1)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    exact = x.clone()
    brighter = torch.where(mask.bool(), x + 40 / 255, x)
    moved = torch.where(mask.bool(), torch.roll(x, 4, dims=-1), x)
    band = seam_band(mask, 3)
    assert band.sum() == (22 * 22 - 10 * 10)  # 3 px inside and 3 px outside the 16 × 16 hole
    p, j = SeamPSNR(), SeamJump()
    seam_psnr = [p.per_image(o, x, mask).item() for o in (exact, brighter, moved)]
    jump = [j.per_image(o, x, mask).item() for o in (exact, brighter, moved)]
    assert seam_psnr[0] >= 99 and seam_psnr[1] < 40 and seam_psnr[2] < seam_psnr[0]
    assert jump[0] == 0 and jump[1] > 10 and jump[2] > 1
    assert math.isnan(j.per_image(x, x, torch.zeros_like(mask)).item())  # no edge: no value


def test_seam_jump_counts_an_edge_smoothed_away_too():
    from inpaint_bench.metrics.seam import SeamJump

    x = torch.full((1, 3, 16, 16), -0.5)
    x[..., :, 8:] = 0.5  # a sharp vertical edge in the scene, exactly on the hole's left border
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., :, 8:] = 1
    blurred = torch.where(mask.bool(), torch.full_like(x, -0.4), x)  # the fill continues the known side: no edge
    assert SeamJump().per_image(blurred, x, mask).item() > 100  # the scene's 127-level step is missing
