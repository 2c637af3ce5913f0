"""The leaderboard as LaTeX (`leaderboard.tex`): one booktabs tabular per board, its protocol card as a comment."""

from __future__ import annotations

from ..boards import TIED_MARK, fmt, protocol_card, verdicts

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "±": r"$\pm$", "≈": r"$\approx$", "†": r"\textdagger{}", "×": r"$\times$", "<": r"\textless{}", ">": r"\textgreater{}", "\n": " "}


def tex_escape(text) -> str:
    """Text for LaTeX: every special character escaped, so a label can neither break the table nor run a
    command (`\\input{…}` stays text)."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def render_latex(boards, seeds) -> str:
    """`leaderboard.tex`: one tabular per board (best values bold, reported rows italic)."""
    esc = tex_escape
    out = []
    for b in boards:
        marks, ties = verdicts(b)
        out.append("% " + " | ".join(protocol_card(b, seeds)).replace("\n", " ").replace("\r", " "))
        out.append(r"\begin{tabular}{l" + "c" * (len(b.masks) * len(b.columns)) + "}")
        out.append(r"\toprule")
        out.append(" & " + " & ".join(rf"\multicolumn{{{len(b.columns)}}}{{c}}{{{esc(m)}}}" for m in b.masks) + r" \\")
        out.append("method & " + " & ".join(esc(b.heading(c)) for _ in b.masks for c in b.columns) + r" \\")
        out.append(r"\midrule")
        for row in b.rows:
            cells = [(rf"\textbf{{{esc(b.cell(row, m, c))}}}" if (row, m, c) in marks
                      else esc(f"{b.cell(row, m, c)} {TIED_MARK}") if (row, m, c) in ties
                      else esc(b.cell(row, m, c))) for m in b.masks for c in b.columns]
            out.append(esc(b.row_label(row)) + " & " + " & ".join(cells) + r" \\")
        if b.reported:
            out.append(r"\midrule")
            for row, values in b.reported.items():
                out.append(r"\textit{" + esc(row) + "} & " + " & ".join(esc(fmt(c, values.get((m, c))))
                                                                       for m in b.masks for c in b.columns) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out) + "\n"
