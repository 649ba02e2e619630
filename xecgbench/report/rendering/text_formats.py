"""Rendering a :class:`~xecgbench.report.board.Leaderboard`: Markdown, tidy CSV and LaTeX.

Every string a plugin or a suite chose is escaped for its target format; numbers are formatted
in one place so the three renderings agree.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pandas as pd

from xecgbench.report.board import TIDY_COLUMNS, Leaderboard, Table


def format_number(value: Any) -> str:
    """Three decimals, one for magnitudes of 100 and more; an em dash for missing values."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def _finite(record: Mapping[str, Any], key: str) -> bool:
    value = record.get(key)
    return value is not None and not pd.isna(value)


def format_stat(record: Mapping[str, Any] | None) -> str:
    """``mean [low, high]`` (the mean alone where no interval is given: fewer than 3 seeds)."""
    if record is None or not _finite(record, "mean"):
        return "—"
    mean = format_number(record["mean"])
    if not (_finite(record, "ci_low") and _finite(record, "ci_high")):
        return mean
    return f"{mean} [{format_number(record['ci_low'])}, {format_number(record['ci_high'])}]"


def format_p(p: Any) -> str:
    """``p=0.012``; below 0.001 as ``p<0.001`` (more digits would claim more than seeds give)."""
    return "" if p is None or pd.isna(p) else (" (p<0.001)" if p < 0.001 else f" (p={p:.2g})")


def _estimate(record: Mapping[str, Any] | None, number: str, unit: str = "") -> str:
    """The mean in ``number`` format, its interval when finite, then the p-value."""
    if record is None or not _finite(record, "mean"):
        return "—"
    text = f"{record['mean']:{number}}{unit}"
    if _finite(record, "ci_low") and _finite(record, "ci_high"):
        text += f" [{record['ci_low']:{number}}, {record['ci_high']:{number}}]"
    return text + format_p(record.get("p_value"))


def format_ratio(record: Mapping[str, Any] | None) -> str:
    """``1.52× [1.10, 2.05] (p=0.03)`` for an effect relative to a reference."""
    return _estimate(record, ".2f", "×")


def format_difference(record: Mapping[str, Any] | None) -> str:
    """``+0.123 [+0.050, +0.190] (p=0.03)`` for a difference from a reference."""
    return _estimate(record, "+.3f")


def _rank(value: Any) -> str:
    return "—" if pd.isna(value) else str(int(value))


def cell_texts(table: Table) -> list[list[str]]:
    """Every row of ``table`` as display strings (keys, rank, then columns), unescaped."""
    lookup = table.lookup()
    out = []
    for row in table.rows.to_dict("records"):
        keys = tuple(row[k] for k in table.row_keys)
        texts = [_rank(row["rank"])] if "rank" in row else []
        texts += [str(k) for k in keys]
        for column in table.columns:
            record = lookup.get((*keys, column.metric, column.region))
            if column.kind == "text":
                texts.append(str(row.get(column.metric, "—")))
            elif column.kind in ("ratio", "effect"):
                texts.append(format_ratio(record))
            elif column.kind == "difference":
                texts.append(format_difference(record))
            else:
                texts.append(format_stat(record))
        out.append(texts)
    return out


def headers(table: Table) -> list[str]:
    """Column headers of ``table`` (unescaped)."""
    return (["rank"] if "rank" in table.rows else []) + list(table.row_keys) + [
        c.header for c in table.columns
    ]


def markdown_escape(text: str) -> str:
    """Escape a plugin-provided string for a Markdown table cell (no raw HTML, no pipes)."""
    return (
        text.replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;")
        .replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    )


def table_rows(table: Table) -> list[str]:
    """The Markdown lines of one table (header, rule, rows), every cell escaped."""
    head = headers(table)
    lines = ["| " + " | ".join(markdown_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(markdown_escape(t) for t in row) + " |"
                    for row in cell_texts(table)]


def to_markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: one section per table, then the provenance footer."""
    lines = [f"# {markdown_escape(board.title)}", ""]
    if board.answer:  # the answer in words comes before any table
        lines += [markdown_escape(board.answer), ""]
    for note in board.notes:
        lines += [note, ""]
    for table in board.tables:
        lines += [f"## {markdown_escape(table.title)}", "", markdown_escape(table.caption), "",
                  *table_rows(table), ""]
    lines += ["## Provenance", ""]
    lines += [f"- {key}: {markdown_escape(value)}" for key, value in board.footer.items()]
    return "\n".join(lines) + "\n"


def tidy(board: Leaderboard) -> pd.DataFrame:
    """One row per table cell × metric: the numbers behind every table."""
    frames = []
    for table in board.tables:
        if table.values.empty:
            continue  # text-only tables (failed cells, flagged models) hold no numbers
        values = table.values.copy()
        for key, value in table.fixed.items():
            values[key] = value
        if "rank" in table.rows:
            ranks = table.rows[[*table.row_keys, "rank"]]
            values = values.merge(ranks, on=list(table.row_keys), how="left")
        values["table"] = table.name
        frames.append(values)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = frame.reindex(columns=list(TIDY_COLUMNS))
    frame["rank"] = frame["rank"].astype("Int64")
    frame["n_seeds"] = frame["n_seeds"].astype("Int64")
    return frame


def to_csv(board: Leaderboard) -> str:
    """The tidy numbers as CSV (full precision, ``\\n`` line ends)."""
    buffer = io.StringIO()
    tidy(board).to_csv(buffer, index=False, lineterminator="\n", float_format="%.10g")
    return buffer.getvalue()


LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "±": r"$\pm$", "↑": r"$\uparrow$",
    "↓": r"$\downarrow$", "—": "---", "×": r"$\times$", "≥": r"$\geq$", "²": r"$^2$",
    "`": "", "|": r"\textbar{}",
}


def latex_escape(text: str) -> str:
    """Escape ``text`` for LaTeX (every special character, and the symbols our tables use)."""
    return "".join(LATEX_SPECIALS.get(char, char) for char in str(text))


def _comment(text: object) -> str:
    """``text`` on one line: a newline would end the ``%`` comment and make the rest live
    LaTeX (a run id of ``\\n\\immediate\\write18{…}`` ran in ``leaderboard.tex``)."""
    return " ".join(str(text).splitlines())


def to_latex(board: Leaderboard) -> str:
    """The tables as booktabs LaTeX (needs ``\\usepackage{booktabs}``), provenance as comments."""
    lines = [f"% {latex_escape(board.title)}: generated by xecgbench, do not edit"]
    lines += [f"% {_comment(key)}: {_comment(value)}" for key, value in board.footer.items()]
    for table in board.tables:
        head = headers(table)
        align = "l" * (len(head) - len(table.columns)) + "r" * len(table.columns)
        lines += [
            "",
            r"\begin{table}[htbp]",
            r"\centering",
            r"\small",
            rf"\caption{{{latex_escape(table.title)}. {latex_escape(table.caption)}}}",
            rf"\label{{tab:{table.name}}}",
            rf"\begin{{tabular}}{{{align}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in head) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(latex_escape(t) for t in row) + r" \\" for row in cell_texts(table)]
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
