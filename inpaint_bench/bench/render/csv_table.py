"""The leaderboard as CSV (`leaderboard.csv`): one line per (protocol, row, mask, metric)."""

from __future__ import annotations

import csv
import io

from ..boards import mean_ci


def csv_text(text) -> str:
    """A text field for CSV: a leading = + - @ would run as a formula in spreadsheet programs; quote it."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_pairs_csv(boards) -> str:
    """`pairs.csv`: every paired comparison of every board (protocol), mask and per-image metric."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["protocol", "mask", "metric", "a", "b", "n_images", "mean_a_minus_b", "ci95_low", "ci95_high",
                "p_wilcoxon", "p_holm", "significant"])
    for i, board in enumerate(boards):
        for table in board.pairs:
            for p in table.pairs:
                w.writerow([i, csv_text(table.mask), table.metric, csv_text(p.a), csv_text(p.b), p.n, p.mean_diff,
                            p.ci[0], p.ci[1], p.p, p.p_holm, int(table.significant(p))])
    return buf.getvalue()


def render_csv(boards) -> str:
    """`leaderboard.csv`: measured and reported values, one line per (protocol, row, mask, metric)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["protocol", "dataset", "size", "n_images", "fid_mode", "feature_weights", "kind", "method", "mask",
                "metric", "mean", "ci95", "ci95_over", "n_seeds"])
    for i, b in enumerate(boards):
        p = b.protocol
        lead = [i, csv_text(p["dataset"]), p["size"], p["n_images"], p["fid_mode"], p["feature_weights"]]
        for row, values in b.rows.items():
            for (mask, col), v in values.items():
                m, ci = mean_ci(v)
                over = "seeds" if ci is not None else "images"
                ci = ci if ci is not None else b.image_half_width(row, mask, col)
                w.writerow(lead + ["measured", csv_text(row), csv_text(mask), b.label(col), m,
                                   "" if ci is None else ci, "" if ci is None else over, len(v)])
        for row, values in b.reported.items():
            for (mask, col), v in values.items():
                w.writerow(lead + ["reported", csv_text(row), csv_text(mask), col, v, "", "", ""])
    return buf.getvalue()
