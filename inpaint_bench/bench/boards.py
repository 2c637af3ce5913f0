"""The leaderboard model: what a leaderboard of one dataset contains, before any format renders it.

Rows are methods, column groups are masks. Cells whose protocols differ (split, resolution, image count, FID mode,
feature weights) are never ranked in one board: each protocol gets its own board and protocol card. The papers'
reported numbers (assets/reported.yaml) are rows labelled "reported", never marked best. With several seeds a
value is mean ± 95 % confidence half-width (Student t). Renderers (`render/`) and W&B (`wandb_log.py`) read boards.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import yaml

from ..files import paths
from ..metrics import SHAPES, UNTRAINED, metric_label

TINY_MARK = "†"
TIED_MARK = "≈"
TINY_NOTE = (f"{TINY_MARK} the shipped tiny checkpoints: small networks trained on shapes on a CPU budget "
             "(docs/tiny_checkpoints.md), not the papers' weights")
PAIRS_NOTE = ("paired comparisons: per-image metrics matched by (seed, image); mean difference with a 95 % paired "
              "bootstrap interval (2,000 resamples, seed 0), Wilcoxon signed-rank p, Holm-corrected across the pairs "
              "of each table; * = significant at α 0.05 (every pair: pairs.csv)")
CI_NOTE = ("±: half the width of a 95 % bootstrap interval over images (percentile; 1,000 resamples of a per-image "
           "mean, 100 of FID/KID, each recomputed from the resampled output features with the reference fixed). A "
           "resample repeats images and FID's bias grows as distinct images get fewer: its interval is spread, "
           "not bias. With several seeds, ± is across seeds instead.")
LOWER_IS_BETTER = {"fid", "kid", "lpips", "nfe", "s/img", "drift", "seam_jump"}


COST = ("nfe", "s/img")


DIGITS = {"fid": 2, "kid": 4, "lpips": 3, "psnr": 2, "ssim": 3, "psnr_hole": 2, "ssim_hole": 3, "is": 2, "ca": 1,
          "nfe": 0, "s/img": 3, "drift": 4, "psnr_seam": 2, "seam_jump": 2}


@dataclass
class Board:
    protocol: dict
    masks: list[str]
    columns: list[str]  # metric names, then cost columns
    rows: dict[str, dict[tuple[str, str], list[float]]] = field(default_factory=dict)  # row → (mask, col) → seeds
    reported: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)
    mask_checksums: dict[str, str] = field(default_factory=dict)
    seeds: set = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # why some reported numbers are not shown
    hardware: set = field(default_factory=set)  # what s/img was measured on
    key: tuple = ()  # protocol_key of its cells
    results: list = field(default_factory=list)  # its ok cells (with their row labels)
    grids: list = field(default_factory=list)  # sample grid PNGs of this protocol (publisher)
    plots: list = field(default_factory=list)  # plot PNGs of this protocol (publisher)
    bins: list = field(default_factory=list)  # hole-ratio bin tables of this protocol (bins.py)
    tiny_rows: set = field(default_factory=set)  # rows whose networks are the shipped tiny checkpoints
    pairs: list = field(default_factory=list)  # paired comparisons of its rows (paired.py), per mask and metric
    galleries: list = field(default_factory=list)  # failure galleries of its rows (gallery.py)
    nfe_tables: list = field(default_factory=list)  # quality at matched NFE budgets (nfe_view.py)
    image_ci: dict = field(default_factory=dict)  # (row, mask, col) → [low, high], bootstrap over images (1 seed)

    def digest(self) -> str:
        """8 hex digits naming this protocol in file names (when a results folder holds several)."""
        import hashlib

        return hashlib.sha256(repr(self.key).encode()).hexdigest()[:8]

    def label(self, col: str) -> str:
        return metric_label(col, self.protocol["feature_weights"])

    def heading(self, col: str) -> str:
        """A column's heading on a page: its label and its unit."""
        return self.label(col) + (" (dB)" if col in ("psnr", "psnr_hole", "psnr_seam") else "")

    def cell(self, row: str, mask: str, col: str) -> str:
        """A measured cell as shown: mean ± 95 % half-width — across seeds when it has several (Student t),
        otherwise half the width of its bootstrap interval over images (where the metric has one)."""
        values = self.rows[row].get((mask, col))
        return fmt(col, values, self.image_half_width(row, mask, col))

    def image_half_width(self, row: str, mask: str, col: str) -> float | None:
        values = self.rows[row].get((mask, col)) or []
        interval = self.image_ci.get((row, mask, col))
        if len(values) != 1 or interval is None:
            return None
        return (interval[1] - interval[0]) / 2 * (100 if col == "ca" else 1)

    def row_label(self, row: str) -> str:
        """A row's name on a page: † when its networks are the shipped tiny checkpoints (see the card)."""
        return f"{row} {TINY_MARK}" if row in self.tiny_rows else row


def mean_ci(values: list[float]) -> tuple[float, float | None]:
    if len(values) < 2:
        return values[0], None
    from scipy import stats

    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return m, float(stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values)))


def fmt(col: str, values, half_width: float | None = None) -> str:
    """mean ± the 95 % half-width across seeds; with one seed, ± `half_width` when given (bootstrap over images)."""
    if values is None or values == []:
        return "—"
    if not isinstance(values, list):
        values = [values]
    scale = 100 if col == "ca" else 1
    m, ci = mean_ci([v * scale for v in values])
    ci = half_width if ci is None else ci
    d = DIGITS.get(col, 3)
    return f"{m:.{d}f}" + (f" ± {ci:.{d}f}" if ci is not None else "")


def protocol_key(result: dict) -> tuple:
    p = result["protocol"]
    return (p["dataset"], p["split"], p["split_checksum"], p["size"], p["n_images"], p["fid_mode"],
            p["feature_weights"], p["lpips_net"], p.get("reference", "test-images"))


def separate_collisions(results: list[dict], warn=None) -> list[dict]:
    """Two different cells (other method configs) under one row label in one table would average into one row:
    each then gets its cell id appended to the label, with a warning, instead of merging silently."""
    owners: dict[tuple, set] = defaultdict(set)
    for r in results:
        if r.get("status") == "ok":
            owners[(protocol_key(r), r["row"], r["protocol"]["mask"], r["protocol"]["seed"])].add(r["cell_id"])
    clashing = {(k[0], k[1]) for k, ids in owners.items() if len(ids) > 1}
    out = []
    for r in results:
        if r.get("status") == "ok" and (protocol_key(r), r["row"]) in clashing:
            if warn:
                warn(f"label {r['row']!r} names several method configs; shown as {r['row']} [{r['cell_id'][:8]}]")
            r = {**r, "row": f"{r['row']} [{r['cell_id'][:8]}]"}
        out.append(r)
    return out


def build_boards(results: list[dict], dataset: str, mask_order=None, reported: dict | None = None,
                 row_order=None, warn=None, reported_protocol: dict | None = None) -> list[Board]:
    results = separate_collisions(results, warn)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    rank = {row: i for i, row in enumerate(row_order or [])}
    results = sorted(results, key=lambda r: (rank.get(r.get("row"), len(rank)), r.get("row", "")))
    for r in results:
        if r.get("status") == "ok":
            groups[protocol_key(r)].append(r)
    boards = []
    for _key, members in groups.items():
        p = members[0]["protocol"]
        masks = [m for m in (mask_order or []) if any(r["protocol"]["mask"] == m for r in members)]
        masks += sorted({r["protocol"]["mask"] for r in members} - set(masks))
        metric_cols = list(dict.fromkeys(k for r in members for k in r["config"]["protocol"]["metrics"]))
        board = Board(protocol={**{k: p[k] for k in ("dataset", "split", "split_checksum", "size", "n_images",
                                                     "fid_mode", "feature_weights", "lpips_net")},
                                "reference": p.get("reference", "test-images")},
                      masks=masks, columns=metric_cols + list(COST), key=_key, results=members)
        for r in members:
            mask = r["protocol"]["mask"]
            used = r["protocol"].get("masks_sha256", r["protocol"]["mask_checksum"])  # the exact masks of the cell
            if board.mask_checksums.get(mask, used) != used:
                raise ValueError(f"cells of mask column {mask!r} used different masks ({used[:12]}… vs "
                                 f"{board.mask_checksums[mask][:12]}…): rerun them with one mask set")
            board.mask_checksums[mask] = used
            hw = r.get("hardware")
            if hw:
                extras = "".join(f", {x}" for x in (hw.get("channels_last") and "channels-last",
                                                     hw.get("compile") and f"compile {hw['compile']}") if x)
                board.hardware.add(f"{hw['gpu'] or hw['cpu']}, torch {hw['torch']}, {hw['precision']}{extras}, "
                                   f"batch {hw['batch_size']}, {hw['threads']} threads")
            board.seeds.add(r["protocol"]["seed"])
            if any(str(w).endswith("_tiny.safetensors") and "shapes_features" not in str(w) for w in r.get("weights", {})):
                board.tiny_rows.add(r["row"])
            row = board.rows.setdefault(r["row"], defaultdict(list))
            for k, v in r["metrics"].items():
                row[(mask, k)].append(v)
            for k, interval in r.get("metrics_ci95", {}).items():
                board.image_ci[(r["row"], mask, k)] = interval
            row[(mask, "nfe")].append(r["nfe"])
            row[(mask, "s/img")].append(r["seconds_per_image"])
        mismatch = protocol_mismatch(board.protocol, reported_protocol or {})
        if mismatch and reported:
            board.notes.append("the papers' reported numbers are not shown: they were measured with "
                               + ", ".join(mismatch))
        for name, per_mask in ({} if mismatch else reported or {}).items():
            vals = {}
            for key, d in per_mask.items():
                for m in masks_for_reported(key, masks, board.notes, name):
                    vals.update({(m, k): v for k, v in d.items() if k in board.columns})
            if vals:
                board.reported[name] = vals
        boards.append(board)
    return boards


PUBLISHED_MASKS = {"nvidia": "NVIDIA irregular masks", "palette": "Palette's published mask file"}


def masks_for_reported(key: str, masks: list[str], notes: list[str], row: str) -> list[str]:
    """The mask columns a reported number belongs in. `nvidia:ratio_LO_HI` / `palette:freeform_LO_HI` (a paper's
    number on a published mask file) go only under `nvidia:PATH:…` / `palette:PATH:…` columns of that bucket;
    under the suite's generated `ratio_*` / `freeform_*` masks they are refused, with a note: those are other
    masks of the same hole ratio."""
    kind, _, bucket = key.partition(":")
    if kind not in PUBLISHED_MASKS or not bucket:
        return [m for m in masks if m == key]
    if bucket in masks:
        notes.append(f"{row}: its {bucket} numbers were measured on {PUBLISHED_MASKS[kind]} and are not shown "
                     f"beside the generated {bucket} masks; use {kind}:PATH:{bucket} to compare")
    return [m for m in masks if m.startswith(f"{kind}:") and m.endswith(f":{bucket}")]


def untrained_column(board: Board, col: str) -> bool:
    return board.label(col) != col


def best(board: Board) -> set[tuple[str, str, str]]:
    """(row, mask, col) marked best: see `verdicts`."""
    return verdicts(board)[0]


def tied(board: Board) -> set[tuple[str, str, str]]:
    """(row, mask, col) tied with the best mean: see `verdicts`."""
    return verdicts(board)[1]


def verdicts(board: Board) -> tuple[set, set]:
    """(best, tied) cells of each column (reported rows excluded; never in a column of untrained-feature numbers,
    which rank nothing). Where the board has paired comparisons of the column (`board.pairs`, per-image metrics),
    the best mean is "best" only when the paired test finds it better than the runner-up; otherwise it and every
    row not significantly different from it are "tied". Other columns (FID, KID, cost) mark the best mean."""
    best_cells, tied_cells = set(), set()
    for mask in board.masks:
        for col in board.columns:
            if untrained_column(board, col):
                continue
            scored = [(mean_ci(v[(mask, col)])[0], row) for row, v in board.rows.items() if v.get((mask, col))]
            if len(scored) < 2:
                continue
            scored.sort(key=lambda x: x[0], reverse=col not in LOWER_IS_BETTER)
            table = next((t for t in board.pairs if t.mask == mask and t.metric == col), None)
            if table is None:
                best_cells.update((row, mask, col) for value, row in scored if value == scored[0][0])
                continue
            top = scored[0][1]
            if _significant(table, top, scored[1][1]):
                best_cells.add((top, mask, col))
            else:
                tied_cells.update((row, mask, col) for _, row in scored if row == top or not _significant(table, top, row))
    return best_cells, tied_cells


def _significant(table, a: str, b: str) -> bool:
    pair = next((p for p in table.pairs if {p.a, p.b} == {a, b}), None)
    return pair is not None and table.significant(pair)


def protocol_card(board: Board, sweep_seeds) -> list[str]:
    p = board.protocol
    lines = [f"dataset: {p['dataset']} / split {p['split']} (file-list sha256 {p['split_checksum'][:12]})",
             f"resolution: {p['size']}×{p['size']}, images: {p['n_images']}, seeds: {sorted(board.seeds or sweep_seeds)}",
             f"FID/KID: clean-fid mode {p['fid_mode']}, feature weights: {p['feature_weights']}, reference: "
             f"{p.get('reference', 'test-images')}; LPIPS: {p['lpips_net']}",
             "masks: " + ", ".join(f"{m} ({board.mask_checksums.get(m, '?')[:12]})" for m in board.masks)]
    if board.hardware:
        lines.append("timings (s/img) on: " + "; ".join(sorted(board.hardware)))
    lines += board.notes
    if board.tiny_rows:
        lines.append(TINY_NOTE)
    lines.append(CI_NOTE if len(board.seeds) < 2 else f"±: 95 % half-width across the {len(board.seeds)} seeds "
                 "(Student t)")
    if board.pairs:
        lines += [PAIRS_NOTE, f"bold: the best mean, better than the runner-up by the paired test; {TIED_MARK}: tied "
                  "with the best mean (no significant paired difference); FID/KID and cost columns: the best mean"]
    if p["feature_weights"] == UNTRAINED:
        lines.append(f"{UNTRAINED}: FID/KID/IS/LPIPS/CA come from fixed-seed random networks — they test the "
                     "pipeline and are not comparable with any published number.")
    if p["feature_weights"] == SHAPES:
        lines.append(f"{SHAPES}: FID/KID and the distance in the lpips column come from the `shapes` feature "
                     "network (trained on the shapes train split to read each scene's parameters; "
                     "metrics/shapes_features.py), not from Inception/AlexNet: comparable between rows of this "
                     "benchmark, not with any published number.")
    return lines


def table_rows(board: Board) -> tuple[list[str], list[list[str]], list[bool]]:
    header = ["method"] + [f"{m} / {board.label(c)}" for m in board.masks for c in board.columns]
    rows, is_reported = [], []
    for row in board.rows:
        rows.append([row] + [board.cell(row, m, c) for m in board.masks for c in board.columns])
        is_reported.append(False)
    for row, values in board.reported.items():
        rows.append([row] + [fmt(c, values.get((m, c))) for m in board.masks for c in board.columns])
        is_reported.append(True)
    return header, rows, is_reported


def reported_numbers(dataset: str) -> dict:
    data = yaml.safe_load((paths.ASSETS_DIR / "reported.yaml").read_text())
    return (data.get(dataset) or {}).get("rows", {})


def reported_protocol(dataset: str) -> dict:
    """The protocol the papers' numbers for `dataset` were measured under, where the papers state it: `fid_mode`
    and the `reference` kind (`stats`, `folder`, `test-images`). Reported rows only join tables with that protocol."""
    data = yaml.safe_load((paths.ASSETS_DIR / "reported.yaml").read_text())
    return (data.get(dataset) or {}).get("protocol", {})


def protocol_mismatch(board_protocol: dict, wanted: dict) -> list[str]:
    have = {"fid_mode": board_protocol.get("fid_mode"),
            "reference": str(board_protocol.get("reference", "test-images")).split(":")[0]}
    return [f"{k} {wanted[k]} (this table: {have[k]})" for k in wanted if have.get(k) != wanted[k]]
