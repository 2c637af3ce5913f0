"""Paired comparisons (issue 27): oracles with a known answer for the paired bootstrap, Wilcoxon and Holm."""

import numpy as np
import pytest

from inpaint_bench.bench.paired import holm, paired_difference, pairwise_table


def test_a_known_shift_is_detected_and_its_interval_covers_it():
    rng = np.random.default_rng(0)
    a = rng.normal(20, 3, 64)  # per-image PSNR of method A, widely spread across images
    b = a + 0.4 + rng.normal(0, 0.2, 64)  # B = A + 0.4 dB, small per-image noise: paired, the shift is clear
    diff, (lo, hi), p = paired_difference(b, a)
    assert lo < 0.4 < hi and abs(diff - 0.4) < 0.1 and p < 1e-6
    table = pairwise_table({"a": dict(enumerate(a)), "b": dict(enumerate(b))}, "center", "psnr_hole")
    (pair,) = table.pairs
    assert table.significant(pair) and pair.mean_diff < 0  # a − b


def test_identical_methods_tie():
    a = np.random.default_rng(1).normal(20, 3, 32)
    diff, ci, p = paired_difference(a, a.copy())
    assert diff == 0 and ci == (0.0, 0.0) and p == 1.0
    table = pairwise_table({"a": dict(enumerate(a)), "b": dict(enumerate(a))}, "center", "psnr")
    assert not table.significant(table.pairs[0])


def test_the_seeded_bootstrap_gives_the_same_interval_twice_and_another_seed_another():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 40), rng.normal(0.1, 1, 40)
    assert paired_difference(a, b, seed=3) == paired_difference(a, b, seed=3)
    assert paired_difference(a, b, seed=3)[1] != paired_difference(a, b, seed=4)[1]


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])


def test_pairs_only_use_images_both_rows_scored():
    a = {(0, i): float(i) for i in range(10)}
    b = {(0, i): float(i) + 1 for i in range(3, 10)}  # b scored 7 images (holes elsewhere empty)
    (pair,) = pairwise_table({"a": a, "b": b}, "wide", "psnr_hole").pairs
    assert pair.n == 7 and pair.mean_diff == -1.0


def test_a_sweep_writes_pairs_heatmaps_and_compare_prints_them(tmp_path, capsys):
    import csv

    from inpaint_bench.bench.config import load_sweep
    from inpaint_bench.bench.runner import TrainerOptions, run_sweep
    from inpaint_bench.bench.store import ResultStore
    from inpaint_bench.cli import main

    path = tmp_path / "s.yaml"
    path.write_text("datasets: [tiny]\nmasks: [center, wide]\nmethods: [mean_fill, telea, navier_stokes]\n"
                    "metrics: [psnr, psnr_hole]\nlimit: 8\ngrid_images: 0\n")
    run_sweep(load_sweep(path), ResultStore(tmp_path / "r"), TrainerOptions(accelerator="cpu", progress=False),
              wandb=False, echo=lambda *a: None)
    folder = tmp_path / "r" / "tiny"
    rows = list(csv.DictReader((folder / "pairs.csv").open()))
    assert len(rows) == 2 * 2 * 3  # masks × metrics × pairs of three rows
    assert {r["n_images"] for r in rows} == {"8"}
    assert (folder / "plots" / "pairs_wide_psnr_hole.png").exists()
    md = (folder / "leaderboard.md").read_text()
    assert "paired psnr_hole differences" in md and "Holm" in md
    capsys.readouterr()
    assert main(["compare", "--dataset", "tiny", "--results", str(tmp_path / "r"), "--a", "telea", "--b",
                 "mean_fill", "--mask", "wide"]) == 0
    out = capsys.readouterr().out
    assert out.count("telea") == 1 and "Holm" in out and ("significant" in out or "tie" in out)


def _board_with_pairs(shift):
    """Two rows on one mask, per-image values b = a + shift (+ small noise), their means in the board."""
    from inpaint_bench.bench.boards import build_boards

    rng = np.random.default_rng(5)
    a = rng.normal(20, 3, 40)
    b = a + shift + rng.normal(0, 0.2, 40)

    def result(row, values):
        p = {"dataset": "tiny", "split": "test", "split_checksum": "c", "size": 64, "n_images": 40,
             "mask": "center", "mask_checksum": "m", "fid_mode": "clean", "lpips_net": "alex", "seed": 0,
             "feature_weights": "pretrained"}
        return {"status": "ok", "row": row, "cell_id": row, "protocol": p, "nfe": 1, "seconds_per_image": 0.1,
                "config": {"protocol": {"metrics": ["psnr_hole"]}}, "metrics": {"psnr_hole": float(values.mean())}}

    (board,) = build_boards([result("a", a), result("b", b)], "tiny")
    board.pairs = [pairwise_table({"a": dict(enumerate(a)), "b": dict(enumerate(b))}, "center", "psnr_hole")]
    return board


def test_best_is_marked_only_when_the_paired_test_says_so_and_ties_otherwise():
    from inpaint_bench.bench.boards import verdicts

    best, tied = verdicts(_board_with_pairs(0.5))
    assert ("b", "center", "psnr_hole") in best and not any(c[2] == "psnr_hole" for c in tied)
    best, tied = verdicts(_board_with_pairs(0.0))  # the same method twice, up to noise: no winner
    assert not any(c[2] == "psnr_hole" for c in best)
    assert {("a", "center", "psnr_hole"), ("b", "center", "psnr_hole")} <= tied
    assert ("a", "center", "nfe") in best or ("b", "center", "nfe") in best  # no pairs: the best mean, as before
