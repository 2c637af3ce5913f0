"""The leaderboard as one self-contained HTML page (`leaderboard.html`): sortable tables, cards, images inline."""

from __future__ import annotations

import base64
import html

from ..boards import LOWER_IS_BETTER, TIED_MARK, fmt, protocol_card, untrained_column, verdicts

SORT_JS = """
document.querySelectorAll('table.lb th').forEach(th => th.addEventListener('click', () => {
  const i = th.cellIndex;  // the column within this table (an index over all tables broke every table but the first)
  const table = th.closest('table'), body = table.tBodies[0];
  const dir = th.dataset.dir === 'asc' ? -1 : 1;  // first click ascending, then descending, then ascending …
  table.querySelectorAll('th').forEach(h => { delete h.dataset.dir; });  // one sort indicator per table
  th.dataset.dir = dir === 1 ? 'asc' : 'desc';
  const text = r => r.cells[i].textContent.trim();
  const num = s => { const v = parseFloat(s); return i === 0 || isNaN(v) ? null : v; };  // column 0: names
  [...body.rows].sort((a, b) => {
    const x = num(text(a)), y = num(text(b));
    if (x !== null && y !== null) return dir * (x - y) || text(a).localeCompare(text(b));
    if (x === null && y === null) return dir * text(a).localeCompare(text(b));
    return x === null ? 1 : -1;  // a missing value (—) stays last either way
  }).forEach(r => body.appendChild(r));
}));
"""

STYLE = ("body{font-family:sans-serif;margin:2em;max-width:100%}td{white-space:nowrap}"
         "table.lb{border-collapse:separate;border-spacing:0;font-size:13px}"
         "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;background:#fff}"
         "th{cursor:pointer;background:#eee}th[data-dir=asc]::after{content:' \\25B2';color:#36c}"
         "th[data-dir=desc]::after{content:' \\25BC';color:#36c}"
         "th:first-child,td:first-child{position:sticky;left:0;z-index:1;text-align:left}"
         "th:first-child{background:#eee}"
         ".best{font-weight:bold;background:#e6f4e6}.tied{background:#f1f8ec}.reported td{font-style:italic;color:#666}"
         ".card{background:#f7f7f7;padding:.5em 1em;font-size:13px;overflow-wrap:anywhere}.untrained{color:#999;background:#f4f4f4}"
         ".scroll{overflow-x:auto;max-width:100%}img{max-width:100%;height:auto}"
         "figure.gallery{display:inline-block;margin:.5em;vertical-align:top}details.gallery{margin:1em 0}")


def arrow(col: str) -> str:
    """↓ where lower is better, ↑ where higher is."""
    return "↓" if col in LOWER_IS_BETTER else "↑"


def render_html(boards, seeds, failed, title: str) -> str:
    """`leaderboard.html`: per protocol its card, a sortable table, its hole-ratio bin tables and its grids and
    plots inline as data URLs; then the failed cells and the sorting script."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for b in boards:
        marks, ties = verdicts(b)
        parts.append("<div class='card'>" + "<br>".join(html.escape(x) for x in protocol_card(b, seeds)) + "</div>")

        def cls(row, m, c, b=b, marks=marks, ties=ties):
            return ("untrained" if untrained_column(b, c) else "best" if (row, m, c) in marks else
                    "tied" if (row, m, c) in ties else "")

        heads = "<th>method</th>" + "".join(
            f"<th class='{'untrained' if untrained_column(b, c) else ''}' title='{'lower' if arrow(c) == '↓' else 'higher'}"
            f" is better'>{html.escape(f'{m} / {b.heading(c)} {arrow(c)}')}</th>" for m in b.masks for c in b.columns)
        parts.append(f"<div class='scroll'><table class='lb'><thead><tr>{heads}</tr></thead><tbody>")
        for row in b.rows:
            tds = "".join(f"<td class='{cls(row, m, c)}'>{html.escape(b.cell(row, m, c))}"
                          f"{f' {TIED_MARK}' if (row, m, c) in ties else ''}</td>" for m in b.masks for c in b.columns)
            parts.append(f"<tr><td>{html.escape(b.row_label(row))}</td>{tds}</tr>")
        for row, values in b.reported.items():
            tds = "".join(f"<td>{html.escape(fmt(c, values.get((m, c))))}</td>" for m in b.masks for c in b.columns)
            parts.append(f"<tr class='reported'><td>{html.escape(row)}</td>{tds}</tr>")
        parts.append("</tbody></table></div>")
        if b.bins:
            parts.append(_bins(b.bins))
        parts += _pairs(b)
        parts += _nfe(b)
        parts += _galleries(b)
        parts += [_image(g) for g in [*b.grids, *b.plots]]
    if failed:
        parts.append("<h3>Failed cells</h3><ul>" + "".join(
            f"<li>{html.escape(r['row'])} · {html.escape(r['config']['mask'])}: {html.escape(r['error'])}</li>"
            for r in failed) + "</ul>")
    parts.append(f"<script>{SORT_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def _pairs(board) -> list[str]:
    """The headline metric's paired comparisons per mask as a sortable matrix (row − column, * significant)."""
    from ..paired import headline_tables, matrix

    parts = []
    for table in headline_tables(board):
        rows = [r for r in board.rows if any(r in (p.a, p.b) for p in table.pairs)]
        heads = "<th>row − column</th>" + "".join(f"<th>{html.escape(r)}</th>" for r in rows)
        body = []
        for r, line in zip(rows, matrix(table, rows), strict=True):
            tds = "".join("<td>—</td>" if c is None else
                          f"<td class='{'best' if table.significant(c) and c.mean_diff > 0 else ''}'>"
                          f"{c.mean_diff:+.3f}{'*' if table.significant(c) else ''}</td>" for c in line)
            body.append(f"<tr><td>{html.escape(r)}</td>{tds}</tr>")
        parts.append(f"<h3>{html.escape(table.mask)}: paired {html.escape(table.metric)} differences (row − column,"
                     f" * significant)</h3><div class='scroll'><table class='lb'><thead><tr>{heads}</tr></thead>"
                     f"<tbody>{''.join(body)}</tbody></table></div>")
    return parts


def _nfe(board) -> list[str]:
    """Quality at matched NFE budgets, one sortable table per mask (nfe_view.py)."""
    from ..nfe_view import table_cells

    parts = []
    for table in board.nfe_tables:
        header, body = table_cells(table)
        parts.append(f"<h3>{html.escape(table.mask)}: best {html.escape(table.metric)} within each NFE budget</h3>"
                     "<div class='scroll'><table class='lb nfe'><thead><tr>"
                     + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"
                     + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
                     + "</tbody></table></div>")
    return parts


def _galleries(board) -> list[str]:
    """Per mask, a collapsible failure gallery: each row's worst images beside the ground truth and the best row."""
    parts = []
    for mask in dict.fromkeys(g.mask for g in board.galleries):
        shown = [g for g in board.galleries if g.mask == mask]
        figures = "".join(f"<figure class='gallery'><figcaption>{html.escape(g.row)}</figcaption>"
                          f"<img alt='{html.escape(g.row)}: worst images' src='data:image/png;base64,"
                          f"{base64.b64encode(g.path.read_bytes()).decode()}'></figure>" for g in shown)
        parts.append(f"<details class='gallery'><summary>{html.escape(mask)}: failure gallery — "
                     f"{len(shown[0].images)} worst images per row by {html.escape(shown[0].metric)} "
                     f"(best row: {html.escape(shown[0].best_row)})</summary>{figures}</details>")
    return parts


def _image(path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<h3>{html.escape(path.stem)}</h3><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"


def _bins(tables) -> str:
    parts = []
    for mask, header, body in tables:
        parts.append(f"<h3>{html.escape(mask)} by hole ratio (per-image means, 10 % bins)</h3>"
                     "<div class='scroll'><table class='lb'>"
                     "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body]
        parts.append("</tbody></table></div>")
    return "\n".join(parts)
