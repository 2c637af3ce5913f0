"""Uncertainty on every number, failure galleries and the equal-NFE view (issue 27, items 2, 3 and 5)."""

import csv

import numpy as np
import pytest
import torch

from inpaint_bench.bench.config import ConfigError, load_sweep
from inpaint_bench.metrics.base import MeanPerImage
from inpaint_bench.metrics.distribution import FID, KID


class _Values(MeanPerImage):
    """A per-image metric whose value is the prediction's first pixel (an oracle: we choose every value)."""

    def per_image(self, pred, target, mask):
        return pred[:, 0, 0, 0].double()


def _per_image_metric(values):
    m = _Values()
    x = torch.tensor(values, dtype=torch.float64).view(-1, 1, 1, 1).expand(-1, 3, 2, 2)
    m.update(x, x, None, torch.arange(len(values)))
    return m


def test_the_per_image_interval_covers_the_mean_shrinks_with_n_and_is_seeded():
    rng = np.random.default_rng(0)
    small, large = rng.normal(20, 3, 16), rng.normal(20, 3, 1024)
    lo, hi = _per_image_metric(small).bootstrap(1000, seed=0)
    assert lo < small.mean() < hi
    # the half-width is about 1.96 σ/√n (the bootstrap of a mean): 1.47 at n = 16, 0.18 at n = 1024
    assert (hi - lo) / 2 == pytest.approx(1.96 * small.std(ddof=1) / 4, rel=0.25)
    lo_l, hi_l = _per_image_metric(large).bootstrap(1000, seed=0)
    assert hi_l - lo_l < (hi - lo) / 4
    assert _per_image_metric(small).bootstrap(1000, seed=0) == (lo, hi)  # seeded: the same interval twice
    assert _per_image_metric(small).bootstrap(1000, seed=1) != (lo, hi)


def test_a_per_image_interval_leaves_unscored_images_out():
    values = [10.0, float("nan"), 12.0, 14.0, float("nan")]
    lo, hi = _per_image_metric(values).bootstrap(500, seed=0)
    assert 10.0 <= lo <= 12.0 <= hi <= 14.0


def test_fid_and_kid_intervals_resample_output_features():
    from inpaint_bench.metrics.shapes_features import SHAPES

    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, (200, 8))

    def metric(cls, rows):
        m = cls(mode=SHAPES, reference=reference)  # feature rows given directly: no network runs
        m.add_rows(torch.from_numpy(rows), torch.arange(len(rows)))
        return m

    for cls in (FID, KID):
        shifted = metric(cls, rng.normal(0.5, 1, (100, 8)))
        lo, hi = shifted.bootstrap(50, seed=0)
        assert lo < hi and shifted.bootstrap(50, seed=0) == (lo, hi)  # seeded: the same interval twice
        assert shifted.bootstrap(50, seed=1) != (lo, hi)
        same = metric(cls, reference[:100])
        assert lo > same.bootstrap(50, seed=0)[1]  # a set shifted by 0.5 σ in every dimension: clearly worse
    # FID of the shifted set is about ‖Δμ‖² = 8 × 0.25 = 2 (plus sampling terms); the interval brackets that
    lo, hi = metric(FID, rng.normal(0.5, 1, (400, 8))).bootstrap(50, seed=0)
    assert lo < 2.0 + 0.5 and hi > 2.0 - 0.5


def test_sweep_lists_expand_into_one_row_per_setting(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("datasets: [shapes]\nmasks: [center]\nmethods:\n"
                    "  - {name: ddnm, config: {clip_x0: true}, sweep: {steps: [5, 10]}}\n"
                    "  - {name: i2sb, label: I2SB, sweep: {nfe: [1, 2]}}\n")
    sweep = load_sweep(path)
    assert [m.row() for m in sweep.methods] == ["ddnm(clip_x0=True,steps=5)", "ddnm(clip_x0=True,steps=10)",
                                                 "I2SB (nfe 1)", "I2SB (nfe 2)"]
    assert sweep.methods[1].config == {"clip_x0": True, "steps": 10}
    path.write_text("datasets: [shapes]\nmasks: [center]\nmethods:\n"
                    "  - {name: ddnm, config: {steps: 5}, sweep: {steps: [5, 10]}}\n")
    with pytest.raises(ConfigError, match="both in config and in sweep"):
        load_sweep(path)
    path.write_text("datasets: [shapes]\nmasks: [center]\nmethods:\n  - {name: ddnm, sweep: {steps: 5}}\n")
    with pytest.raises(ConfigError, match="non-empty lists"):
        load_sweep(path)


def test_best_within_a_budget_picks_the_best_setting_that_fits():
    from inpaint_bench.bench.nfe_view import best_within

    points = [(5.0, 12.0, "a5"), (10.0, 14.0, "a10"), (20.0, 13.0, "a20")]
    assert best_within(points, 4, "psnr_hole") is None
    assert best_within(points, 5, "psnr_hole") == (12.0, "a5", 5.0)
    assert best_within(points, 25, "psnr_hole") == (14.0, "a10", 10.0)  # more NFE is not always better
    assert best_within(points, 25, "lpips") == (12.0, "a5", 5.0)  # lower is better


@pytest.fixture(scope="module")
def nfe_results(tmp_path_factory):
    """A small sweep with a gallery and NFE lists: DDNM at 2 and 4 steps, I²SB at NFE 1 and 2, Telea."""
    from inpaint_bench.bench.runner import TrainerOptions, run_sweep
    from inpaint_bench.bench.store import ResultStore

    root = tmp_path_factory.mktemp("nfe")
    path = root / "s.yaml"
    path.write_text("datasets: [shapes]\nmasks: [center]\nmethods:\n  - telea\n"
                    "  - {name: ddnm, sweep: {steps: [2, 4]}}\n  - {name: i2sb, sweep: {nfe: [1, 2]}}\n"
                    "metrics: [psnr_hole, psnr]\nlimit: 6\ngrid_images: 0\ngallery: 3\n")
    sweep = load_sweep(path)
    run_sweep(sweep, ResultStore(root / "r"), TrainerOptions(accelerator="cpu", progress=False), wandb=False,
              echo=lambda *a: None)
    return root / "r" / "shapes", sweep


def test_a_sweep_with_nfe_lists_writes_the_matched_budget_table(nfe_results):
    folder, _ = nfe_results
    md = (folder / "leaderboard.md").read_text()
    assert "center: best psnr_hole within each NFE budget" in md
    line = next(x for x in md.splitlines() if x.startswith("| method | NFE ≤"))
    assert [c.strip() for c in line.strip("|").split("|")][1:] == ["NFE ≤ 1", "NFE ≤ 2", "NFE ≤ 4"]
    ddnm = next(x for x in md.splitlines() if x.startswith("| ddnm |"))
    assert ddnm.split("|")[2].strip() == "—"  # no DDNM setting costs ≤ 1 NFE
    html = (folder / "leaderboard.html").read_text()
    assert "table class='lb nfe'" in html


def test_every_measured_number_carries_its_interval(nfe_results):
    folder, _ = nfe_results
    rows = list(csv.DictReader((folder / "leaderboard.csv").open()))
    measured = [r for r in rows if r["kind"] == "measured" and r["metric"] in ("psnr", "psnr_hole")]
    assert measured and all(r["ci95"] and r["ci95_over"] == "images" for r in measured)
    md = (folder / "leaderboard.md").read_text()
    assert "bootstrap interval over images" in md
    telea = next(x for x in md.splitlines() if x.startswith("| telea"))
    assert " ± " in telea.split("|")[2]


def test_the_gallery_shows_each_rows_worst_images_beside_the_best_row(nfe_results):
    from PIL import Image

    from inpaint_bench.bench.store import ResultStore

    folder, _ = nfe_results
    pictures = sorted((folder / "gallery").glob("*.png"))
    assert len(pictures) == 5  # one per row on the one mask
    store = ResultStore(folder.parent)
    telea = next(r for r in store.read_all("shapes") if r["row"] == "telea")
    values = {int(x["index"]): x["psnr_hole"] for x in store.read_images("shapes", telea["cell_id"])}
    worst = sorted(values, key=lambda i: (values[i], i))[:3]
    md = (folder / "leaderboard.md").read_text()
    assert "center: failure gallery (3 worst images per row by psnr_hole" in md
    image = Image.open(folder / "gallery" / "center__telea.png")
    assert image.width == 4 * (96 + 2) and image.height > 3 * 96  # input | truth | row | best, 3 lines
    # the outputs it reads were saved for every image, and the worst three are the lowest per-image values
    saved = sorted(p.name for p in (folder / "outputs" / telea["cell_id"]).iterdir())
    assert saved == [f"{i:06d}.png" for i in range(6)]
    from inpaint_bench.bench.gallery import worst_images

    assert [i for _, i in worst_images({(0, i): v for i, v in values.items()}, 3, "psnr_hole")] == worst
