"""The leaderboard as Markdown (`leaderboard.md`): a protocol card and a table per board, failed cells, bins."""

from __future__ import annotations

from ..boards import TIED_MARK, fmt, protocol_card, verdicts

MARKDOWN_SPECIAL = "\\`*|"  # (intraword _ and [] do not format in GitHub Markdown; kept readable)


def md_escape(text) -> str:
    """Text for a Markdown table cell: `|` cannot end the cell, `<script>` is not HTML, `*_` do not format."""
    text = str(text).replace("&", "&amp;").replace("\n", " ")
    out = "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in text)
    return out.replace("<", "&lt;").replace(">", "&gt;")


def _board(board, seeds) -> list[str]:
    """One protocol: its card, its table, and the bin tables, grids and plots of its own cells."""
    marks, ties = verdicts(board)
    out = [f"### {md_escape(board.protocol['dataset'])} — protocol", ""]
    out += [f"- {md_escape(line)}" for line in protocol_card(board, seeds)] + [""]
    header = ["method"] + [f"{md_escape(m)}<br>{md_escape(board.heading(c))}" for m in board.masks for c in board.columns]
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in board.rows:
        cells = [f"**{board.cell(row, m, c)}**" if (row, m, c) in marks else
                 f"{board.cell(row, m, c)} {TIED_MARK}" if (row, m, c) in ties else board.cell(row, m, c)
                 for m in board.masks for c in board.columns]
        out.append(f"| {md_escape(board.row_label(row))} | " + " | ".join(cells) + " |")
    for row, values in board.reported.items():
        out.append(f"| _{md_escape(row)}_ | " + " | ".join(fmt(c, values.get((m, c))) for m in board.masks
                                                             for c in board.columns) + " |")
    out.append("")
    out += _bins(board.bins)
    out += _pairs(board)
    out += _nfe(board)
    out += _galleries(board)
    out += [f"![{md_escape(g.stem)}]({g.name})" for g in board.grids]
    out += [f"![{md_escape(p.stem)}](plots/{p.name})" for p in board.plots]
    return out + ([""] if board.grids or board.plots else [])


def _failed_lines(failed) -> list[str]:
    if not failed:
        return []
    return ["**Failed cells** (rerun the sweep to retry them):", ""] + [
        f"- {md_escape(r['row'])} · {md_escape(r['config']['mask'])} · seed {r['config']['seed']}: "
        f"{md_escape(r['error'])}" for r in failed] + [""]


def _pairs(board) -> list[str]:
    """The headline metric's paired comparisons per mask as a matrix (row − column, * significant)."""
    from ..paired import headline_tables, matrix

    out = []
    for table in headline_tables(board):
        rows = [r for r in board.rows if any(r in (p.a, p.b) for p in table.pairs)]
        out += [f"#### {md_escape(table.mask)}: paired {md_escape(table.metric)} differences (row − column)", "",
                "| " + " | ".join(["row − column"] + [md_escape(r) for r in rows]) + " |",
                "|" + "---|" * (len(rows) + 1)]
        for r, line in zip(rows, matrix(table, rows), strict=True):
            star = "\\*"  # a significant difference (escaped: a bare * would format)
            cells = ["" if c is None else f"{c.mean_diff:+.3f}{star if table.significant(c) else ''}" for c in line]
            out.append("| " + " | ".join([md_escape(r)] + cells) + " |")
        out.append("")
    return out


def _nfe(board) -> list[str]:
    """Quality at matched NFE budgets (nfe_view.py)."""
    from ..nfe_view import table_cells

    out = []
    for table in board.nfe_tables:
        header, body = table_cells(table)
        out += [f"#### {md_escape(table.mask)}: best {md_escape(table.metric)} within each NFE budget", "",
                "| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in body] + [""]
    return out


def _galleries(board) -> list[str]:
    """Each row's worst images per mask (gallery/), with the best row's output beside them."""
    if not board.galleries:
        return []
    out = []
    for mask in dict.fromkeys(g.mask for g in board.galleries):
        shown = [g for g in board.galleries if g.mask == mask]
        out += [f"#### {md_escape(mask)}: failure gallery ({len(shown[0].images)} worst images per row by "
                f"{md_escape(shown[0].metric)}; best row: {md_escape(shown[0].best_row)})", ""]
        out += [f"![{md_escape(g.row)}](gallery/{g.path.name})" for g in shown] + [""]
    return out


def _bins(tables) -> list[str]:
    out = []
    for mask, header, body in tables:
        out += [f"#### {md_escape(mask)} by hole ratio (per-image means, 10 % bins)", "",
                "| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in body] + [""]
    return out


def render_markdown(boards, seeds, failed, title: str) -> str:
    """`leaderboard.md`: per protocol its card, table, bin tables, sample grids (beside the file) and plots (in
    plots/); then the failed cells."""
    out = [f"# {title}", ""]
    for board in boards:
        out += _board(board, seeds)
    out += _failed_lines(failed)
    return "\n".join(out) + "\n"
