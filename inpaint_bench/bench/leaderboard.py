"""Leaderboards per dataset: `results/<dataset>/leaderboard.{md,csv,tex,html}`.

Rows are methods, column groups are masks. Cells whose protocols differ (split, resolution, image count, FID mode,
feature weights) are never ranked in one table: each protocol gets its own table under its protocol card. The
papers' reported numbers (assets/reported.yaml) appear as rows labelled "reported", never marked best.
With several seeds a cell shows mean ± 95 % confidence half-width (Student t).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import paths
from ..masks.frozen import atomic_write
from ..metrics import FEATURE_METRICS, UNTRAINED

LOWER_IS_BETTER = {"fid", "kid", "lpips", "nfe", "s/img", "drift"}
COST = ("nfe", "s/img")
DIGITS = {"fid": 2, "kid": 4, "lpips": 3, "psnr": 2, "ssim": 3, "psnr_hole": 2, "ssim_hole": 3, "is": 2, "ca": 1,
          "nfe": 0, "s/img": 3, "drift": 4}


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

    def label(self, col: str) -> str:
        untrained = self.protocol["feature_weights"] == UNTRAINED
        return f"{col} [{UNTRAINED}]" if untrained and col in FEATURE_METRICS else col


MARKDOWN_SPECIAL = "\\`*|"  # (intraword _ and [] do not format in GitHub Markdown; kept readable)


def md_escape(text) -> str:
    """Text for a Markdown table cell: `|` cannot end the cell, `<script>` is not HTML, `*_` do not format."""
    text = str(text).replace("&", "&amp;").replace("\n", " ")
    out = "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in text)
    return out.replace("<", "&lt;").replace(">", "&gt;")


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "±": r"$\pm$", "×": r"$\times$", "<": r"\textless{}", ">": r"\textgreater{}", "\n": " "}


def tex_escape(text) -> str:
    """Text for LaTeX: every special character escaped, so a label can neither break the table nor run a
    command (`\\input{…}` stays text)."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def csv_text(text) -> str:
    """A text field for CSV: a leading = + - @ would run as a formula in spreadsheet programs; quote it."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def mean_ci(values: list[float]) -> tuple[float, float | None]:
    if len(values) < 2:
        return values[0], None
    from scipy import stats

    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return m, float(stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values)))


def fmt(col: str, values) -> str:
    if values is None or values == []:
        return "—"
    if not isinstance(values, list):
        values = [values]
    scale = 100 if col == "ca" else 1
    m, ci = mean_ci([v * scale for v in values])
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
                      masks=masks, columns=metric_cols + list(COST))
        for r in members:
            mask = r["protocol"]["mask"]
            used = r["protocol"].get("masks_sha256", r["protocol"]["mask_checksum"])  # the exact masks of the cell
            if board.mask_checksums.get(mask, used) != used:
                raise ValueError(f"cells of mask column {mask!r} used different masks ({used[:12]}… vs "
                                 f"{board.mask_checksums[mask][:12]}…): rerun them with one mask set")
            board.mask_checksums[mask] = used
            hw = r.get("hardware")
            if hw:
                board.hardware.add(f"{hw['gpu'] or hw['cpu']}, torch {hw['torch']}, {hw['precision']}, "
                                   f"batch {hw['batch_size']}, {hw['threads']} threads")
            board.seeds.add(r["protocol"]["seed"])
            row = board.rows.setdefault(r["row"], defaultdict(list))
            for k, v in r["metrics"].items():
                row[(mask, k)].append(v)
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
    """(row, mask, col) of the best measured value in each column (reported rows excluded; never in a column of
    untrained-feature numbers, which rank nothing)."""
    marks = set()
    for mask in board.masks:
        for col in board.columns:
            if untrained_column(board, col):
                continue
            scored = [(mean_ci(v[(mask, col)])[0], row) for row, v in board.rows.items() if v.get((mask, col))]
            if len(scored) < 2:
                continue
            pick = min(scored) if col in LOWER_IS_BETTER else max(scored)
            marks.update((row, mask, col) for value, row in scored if value == pick[0])
    return marks


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
    if p["feature_weights"] == UNTRAINED:
        lines.append(f"{UNTRAINED}: FID/KID/IS/LPIPS/CA come from fixed-seed random networks — they test the "
                     "pipeline and are not comparable with any published number.")
    return lines


def table_rows(board: Board) -> tuple[list[str], list[list[str]], list[bool]]:
    header = ["method"] + [f"{m} / {board.label(c)}" for m in board.masks for c in board.columns]
    rows, is_reported = [], []
    for row, values in board.rows.items():
        rows.append([row] + [fmt(c, values.get((m, c))) for m in board.masks for c in board.columns])
        is_reported.append(False)
    for row, values in board.reported.items():
        rows.append([row] + [fmt(c, values.get((m, c))) for m in board.masks for c in board.columns])
        is_reported.append(True)
    return header, rows, is_reported


def _markdown(boards, seeds, failed, grids) -> str:
    out = []
    for board in boards:
        marks = best(board)
        out += [f"### {md_escape(board.protocol['dataset'])} — protocol", ""]
        out += [f"- {md_escape(line)}" for line in protocol_card(board, seeds)] + [""]
        header = ["method"] + [f"{md_escape(m)}<br>{md_escape(board.label(c))}" for m in board.masks
                               for c in board.columns]
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row, values in board.rows.items():
            cells = [f"**{fmt(c, values.get((m, c)))}**" if (row, m, c) in marks else fmt(c, values.get((m, c)))
                     for m in board.masks for c in board.columns]
            out.append(f"| {md_escape(row)} | " + " | ".join(cells) + " |")
        for row, values in board.reported.items():
            out.append(f"| _{md_escape(row)}_ | " + " | ".join(fmt(c, values.get((m, c))) for m in board.masks for c in board.columns) + " |")
        out.append("")
    out += _failed_lines(failed)
    out += [f"![{md_escape(g.stem)}]({g.name})" for g in grids]
    return "\n".join(out) + "\n"


def _failed_lines(failed) -> list[str]:
    if not failed:
        return []
    return ["**Failed cells** (rerun the sweep to retry them):", ""] + [
        f"- {md_escape(r['row'])} · {md_escape(r['config']['mask'])} · seed {r['config']['seed']}: "
        f"{md_escape(r['error'])}" for r in failed] + [""]


def _csv(boards) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["protocol", "dataset", "size", "n_images", "fid_mode", "feature_weights", "kind", "method", "mask",
                "metric", "mean", "ci95", "n_seeds"])
    for i, b in enumerate(boards):
        p = b.protocol
        lead = [i, csv_text(p["dataset"]), p["size"], p["n_images"], p["fid_mode"], p["feature_weights"]]
        for row, values in b.rows.items():
            for (mask, col), v in values.items():
                m, ci = mean_ci(v)
                w.writerow(lead + ["measured", csv_text(row), csv_text(mask), b.label(col), m,
                                   "" if ci is None else ci, len(v)])
        for row, values in b.reported.items():
            for (mask, col), v in values.items():
                w.writerow(lead + ["reported", csv_text(row), csv_text(mask), col, v, "", ""])
    return buf.getvalue()


def _latex(boards, seeds) -> str:
    esc = tex_escape
    out = []
    for b in boards:
        marks = best(b)
        out.append("% " + " | ".join(protocol_card(b, seeds)).replace("\n", " ").replace("\r", " "))
        out.append(r"\begin{tabular}{l" + "c" * (len(b.masks) * len(b.columns)) + "}")
        out.append(r"\toprule")
        out.append(" & " + " & ".join(rf"\multicolumn{{{len(b.columns)}}}{{c}}{{{esc(m)}}}" for m in b.masks) + r" \\")
        out.append("method & " + " & ".join(esc(b.label(c)) for _ in b.masks for c in b.columns) + r" \\")
        out.append(r"\midrule")
        for row, values in b.rows.items():
            cells = [(rf"\textbf{{{esc(fmt(c, values.get((m, c))))}}}" if (row, m, c) in marks
                      else esc(fmt(c, values.get((m, c))))) for m in b.masks for c in b.columns]
            out.append(esc(row) + " & " + " & ".join(cells) + r" \\")
        if b.reported:
            out.append(r"\midrule")
            for row, values in b.reported.items():
                out.append(r"\textit{" + esc(row) + "} & " + " & ".join(esc(fmt(c, values.get((m, c))))
                                                                       for m in b.masks for c in b.columns) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out) + "\n"


SORT_JS = """
document.querySelectorAll('table.lb th').forEach(th => th.addEventListener('click', () => {
  const i = th.cellIndex;  // the column within this table (an index over all tables broke every table but the first)
  const body = th.closest('table').tBodies[0];
  const num = s => { const v = parseFloat(s); return isNaN(v) ? Infinity : v; };
  const dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
  [...body.rows].sort((a, b) => dir * (num(a.cells[i].textContent) - num(b.cells[i].textContent)) ||
      a.cells[i].textContent.localeCompare(b.cells[i].textContent)).forEach(r => body.appendChild(r));
}));
"""


def arrow(col: str) -> str:
    """↓ where lower is better, ↑ where higher is."""
    return "↓" if col in LOWER_IS_BETTER else "↑"


def _html(boards, seeds, failed, grids, title) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:sans-serif;margin:2em}table.lb{border-collapse:collapse;font-size:13px}"
             "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{cursor:pointer;background:#eee}"
             "td:first-child{text-align:left}.best{font-weight:bold;background:#e6f4e6}.reported{font-style:italic;"
             "color:#666}.card{background:#f7f7f7;padding:.5em 1em;font-size:13px}.untrained{color:#999;"
             "background:#f4f4f4}.scroll{overflow-x:auto;max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for b in boards:
        marks = best(b)
        parts.append("<div class='card'>" + "<br>".join(html.escape(x) for x in protocol_card(b, seeds)) + "</div>")
        def cls(row, m, c, b=b, marks=marks):
            return "untrained" if untrained_column(b, c) else "best" if (row, m, c) in marks else ""

        heads = "<th>method</th>" + "".join(
            f"<th class='{'untrained' if untrained_column(b, c) else ''}' title='{'lower' if arrow(c) == '↓' else 'higher'}"
            f" is better'>{html.escape(f'{m} / {b.label(c)} {arrow(c)}')}</th>" for m in b.masks for c in b.columns)
        parts.append(f"<div class='scroll'><table class='lb'><thead><tr>{heads}</tr></thead><tbody>")
        for row, values in b.rows.items():
            tds = "".join(f"<td class='{cls(row, m, c)}'>{html.escape(fmt(c, values.get((m, c))))}</td>"
                          for m in b.masks for c in b.columns)
            parts.append(f"<tr><td>{html.escape(row)}</td>{tds}</tr>")
        for row, values in b.reported.items():
            tds = "".join(f"<td>{html.escape(fmt(c, values.get((m, c))))}</td>" for m in b.masks for c in b.columns)
            parts.append(f"<tr class='reported'><td>{html.escape(row)}</td>{tds}</tr>")
        parts.append("</tbody></table></div>")
    if failed:
        parts.append("<h3>Failed cells</h3><ul>" + "".join(
            f"<li>{html.escape(r['row'])} · {html.escape(r['config']['mask'])}: {html.escape(r['error'])}</li>"
            for r in failed) + "</ul>")
    for g in grids:
        data = base64.b64encode(g.read_bytes()).decode()
        parts.append(f"<h3>{html.escape(g.stem)}</h3><img alt='{html.escape(g.stem)}' src='data:image/png;base64,{data}'>")
    parts.append(f"<script>{SORT_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


HOLE_BIN = 0.1  # LaMa-style 10 % hole-ratio bins
BIN_METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole", "lpips")


def hole_bin_tables(results: list[dict], store) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per mask whose per-image hole ratios span several 10 % bins: (mask, header, rows) with each method's mean
    per-image metrics per bin (from the cells' per-image CSVs), as LaMa reports by mask area."""
    per_mask: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    for r in results:
        if r.get("status") == "ok":
            rows = store.read_images(r["protocol"]["dataset"], r["cell_id"])
            if rows:
                per_mask[r["protocol"]["mask"]].setdefault(r["row"], []).extend(rows)
    tables = []
    for mask, by_row in per_mask.items():
        bins = sorted({min(int(x["hole_ratio"] / HOLE_BIN), 9) for rows in by_row.values() for x in rows})
        if len(bins) < 2:
            continue
        cols = [c for c in BIN_METRICS if any(c in x for rows in by_row.values() for x in rows)]
        binned = {row: {b: [x for x in rows if min(int(x["hole_ratio"] / HOLE_BIN), 9) == b] for b in bins}
                  for row, rows in by_row.items()}
        counts = {b: max(len(per_bin[b]) for per_bin in binned.values()) for b in bins}
        header = ["method"] + [f"{b * 10}–{b * 10 + 10} % (n={counts[b]}) / {c}" for b in bins for c in cols]
        body = []
        for row, per_bin in binned.items():
            cells = [row]
            for b in bins:
                for c in cols:
                    vals = [x[c] for x in per_bin[b] if c in x and not math.isnan(x[c])]
                    cells.append(fmt(c, sum(vals) / len(vals)) if vals else "—")
            body.append(cells)
        tables.append((mask, header, body))
    return tables


def _bins_markdown(tables) -> list[str]:
    out = []
    for mask, header, body in tables:
        out += [f"#### {md_escape(mask)} by hole ratio (per-image means, 10 % bins)", "",
                "| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in body] + [""]
    return out


def _bins_html(tables) -> str:
    parts = []
    for mask, header, body in tables:
        parts.append(f"<h3>{html.escape(mask)} by hole ratio (per-image means, 10 % bins)</h3><table class='lb'>"
                     "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body]
        parts.append("</tbody></table>")
    return "\n".join(parts)


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


def write_leaderboards(store, dataset: str, sweep=None, wandb: bool = False) -> list[Path]:
    """Write the four leaderboard files (and sample grids) of `dataset`; returns their paths."""
    from .grids import write_grids

    results = store.read_all(dataset)
    if sweep is not None:  # labels are not part of a cell's id: the sweep's current labels win on re-render
        labels = {c.cell_id(): c.method.row() for c in sweep.cells()}
        results = [{**r, "row": labels.get(r.get("cell_id"), r["row"])} for r in results]
    failed = [r for r in results if r.get("status") != "ok"]
    mask_order = list(sweep.masks) if sweep else None
    row_order = [m.row() for m in sweep.methods] if sweep else None
    boards = build_boards(results, dataset, mask_order, reported_numbers(dataset), row_order, store.warn,
                          reported_protocol(dataset))
    seeds = list(sweep.seeds) if sweep else [0]
    folder = store.root / dataset
    grids = write_grids(store, dataset, results, sweep) if results else []
    from .plots import write_plots

    plots = write_plots(store, dataset, results)
    title = f"inpaint-bench leaderboard — {dataset}"
    bins = hole_bin_tables(results, store)
    html_text = _html(boards, seeds, failed, grids + plots, title)
    if bins:
        html_text = html_text.replace("<script>", _bins_html(bins) + "\n<script>", 1)
    files = {"md": f"# {title}\n\n" + _markdown(boards, seeds, failed, grids) + "\n".join(_bins_markdown(bins))
             + "".join(f"\n![{md_escape(p.stem)}](plots/{p.name})" for p in plots),
             "csv": _csv(boards), "tex": _latex(boards, seeds), "html": html_text}
    written = []
    for ext, text in files.items():
        path = folder / f"leaderboard.{ext}"
        atomic_write(path, text.encode())
        written.append(path)
    if wandb and boards:
        from .wandb_log import log_leaderboard

        header, rows, _ = table_rows(boards[0])
        log_leaderboard(dataset, boards, grids, plots, sweep.name if sweep else "leaderboard", store.root)
    return written
