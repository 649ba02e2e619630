"""The leaderboard site: one mkdocs page per board, built-in methods and submissions ranked
together (``xecgbench leaderboard site``).

Every page and figure is generated from the committed raw results (the board's and its
submissions'), never edited by hand; ``tests/core/report/test_site.py`` fails when a committed
page differs from a fresh build. Tables are plain HTML inside the Markdown page, with each
number's sort key in ``data-sort``, so ``docs/javascripts/sortable.js`` sorts them on a header
click; figures are SVG with text kept as text, written beside the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xecgbench.report.board import BRANCH_ORDER, RunResults
from xecgbench.report.pages.site_output import write_generated
from xecgbench.report.pages.site_ranking import (
    BUILT_IN,
    Entry,
    board_entries,
    branch_ranking,
    merge,
)
from xecgbench.report.rendering.text_formats import format_p, format_stat, markdown_escape
from xecgbench.report.results_files import committed_directories
from xecgbench.report.table_builders import ranking_gates

INDEX = "index.md"
COMMAND = "xecgbench leaderboard site"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _sort_key(value: Any) -> str:
    return "NaN" if value is None or not math.isfinite(float(value)) else f"{float(value):.6g}"


def _stat_cell(record: Mapping[str, Any] | None, p: bool = False) -> str:
    """Mean on one line, its interval (and p) below it, sorted by the mean."""
    if record is None:
        return '<td data-sort="NaN">—</td>'
    mean, _, interval = format_stat(record).partition(" ")
    below = [interval, format_p(record.get("p_value")).strip(" ()") if p else ""]
    extra = "".join(f"<br><small>{_e(b)}</small>" for b in below if b)
    return f'<td data-sort="{_sort_key(record["mean"])}">{_e(mean)}{extra}</td>'


def _source_cell(entry: Entry) -> str:
    if not entry.submitted:
        return f"<td>{BUILT_IN}</td>"
    status = f"{LOCAL} submission" if entry.local else "submission"
    return f"<td>{_e(entry.source)}<br><small>{status} {_e(entry.name)}</small></td>"


def _columns(ranking: pd.DataFrame, results: RunResults) -> list[tuple[str, str]]:
    """(column, header) pairs present in this ranking, in reading order."""
    primary = results.suite.primary_metric
    up = "↑" if results.direction(primary) is not False else "↓"
    columns = [("alignment", f"alignment [{ranking['region'].iloc[0]}] {up}")]
    gates = [c for c in ranking.columns if c.startswith(ranking_gates.column(""))]
    columns += [(c, f"{c} {up}") for c in gates]
    if "vs top" in ranking:
        columns.append(("vs top", "Δ vs top"))
    faithful = [m for m, meta in results.metrics.items()
                if meta.get("category") == "faithfulness" and m in ranking]
    columns += [(m, f"{m} {'↑' if results.direction(m) else '↓'}") for m in faithful]
    return columns


def ranking_table(ranking: pd.DataFrame, results: RunResults, owner: Mapping[str, Entry]) -> str:
    """One branch's ranking as a sortable HTML table."""
    columns = _columns(ranking, results)
    uneven = ranking[["n_windows", "n_seeds"]].drop_duplicates().shape[0] > 1
    head = ["rank", "method", "source", "ranking gates", *(h for _, h in columns), "s / window",
            *(["windows × seeds"] if uneven else [])]
    lines = ['<div class="xb-scroll"><table class="sortable"><thead><tr>'
             + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in ranking.to_dict("records"):
        rank = row["rank"] or row["role"] or "unranked"  # a gate failed, or shown apart
        cells = [f'<td data-sort="{row["rank"] or 1000}">{_e(rank)}</td>',
                 f"<td><code>{_e(row['attribution'])}</code></td>",
                 _source_cell(owner[row["attribution"]]),
                 f"<td>{_e(row['gates'] or '—')}</td>"]
        for column, _ in columns:
            value = row.get(column)
            cells.append(_stat_cell(value if isinstance(value, dict) else None,
                                    p=column == "vs top"))
        cost = row.get("cost")
        cells.append(f'<td data-sort="{_sort_key(cost)}">{_e(_seconds(cost))}</td>')
        if uneven:
            cells.append(f'<td data-sort="{row["n_windows"] * row["n_seeds"]}">'
                         f'{row["n_windows"]} × {row["n_seeds"]}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def _seconds(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _figure(ranking: pd.DataFrame, results: RunResults, owner: Mapping[str, Entry]) -> str:
    from xecgbench.report.rendering.figures import ranking_figure, to_svg

    primary = results.suite.primary_metric
    labels = [f"{a} ({owner[a].source})" if owner[a].submitted else str(a)
              for a in ranking["attribution"]]
    labels = [f"{label} [{r or 'unranked'}]" if r or not rank else label
              for label, r, rank in zip(labels, ranking["role"], ranking["rank"], strict=True)]
    stats = [r if isinstance(r, dict) else {"mean": math.nan} for r in ranking["alignment"]]
    return to_svg(ranking_figure(labels, stats, [owner[a].submitted
                                                 for a in ranking["attribution"]],
                                 primary, None))


CAPTION = (
    "Per branch, methods ranked by their *alignment*: `{primary}` on the branch's target "
    "region, averaged over "
    "every pretraining × freezing configuration of the board, mean and 95 % interval (a "
    "two-way bootstrap over seeds and explained windows; below 3 seeds the mean alone). "
    "*Above chance*: minus the score of relevance spread uniformly over the same windows; "
    "*above untrained*: minus the same method on the untrained model of the same seed; "
    "*above* a control (attribution family `control`, e.g. random relevance or the signal "
    "above its median): minus that control's score. "
    "*Ranking gates*: a method is ranked only if it is above its untrained model, every "
    "control and chance (interval of the difference above 0, seed-level p < 0.05; "
    "below, for a lower-is-better metric); the others are listed unranked with the gates they "
    "fail (a gate whose reference the board lacks is not applied, and the column says so). "
    "*Δ vs top*: a ranked method's paired difference to the first row on the same seeds and "
    "windows, p from a t-test over seeds, Holm-adjusted over the branch. Faithfulness columns "
    "are averaged the "
    "same way (on the windows those metrics score). *s / window*: wall time of the attribute "
    "stage (loading included) per explained window and branch, on the machine that ran it "
    "(— where the run did not record it). Controls (`random`, `amplitude`) and mask-informed "
    "methods (they build relevance from the masks they are scored on) are listed last, "
    "unranked. Click a header to sort."
)


def render_board(directory: Path) -> tuple[str, dict[str, str]]:
    """A board's page (Markdown) and its figures (file name -> SVG text)."""
    entries = board_entries(directory)
    results, owner = merge(entries)
    name = Path(directory).name
    primary = results.suite.primary_metric
    suite = markdown_escape(results.suite.name).replace("`", "")
    lines = [
        f"# Leaderboard: {name}", "",
        f"Generated by `{COMMAND}` from `leaderboards/{name}/` and its "
        f"{_counted(entries[1:])} under `leaderboards/{name}/submissions/`; "
        "never edited by hand. Suite "
        f"`{suite}`, seeds {', '.join(str(s) for s in results.suite.seeds)}. "
        f"Full tables of the board's own run: `leaderboards/{name}/leaderboard.md`.", "",
        *_submissions(entries[1:]),
        CAPTION.format(primary=primary), "",
    ]
    figures: dict[str, str] = {}
    for branch in BRANCH_ORDER:
        ranking = branch_ranking(results, branch)
        if ranking is None:
            continue
        svg = f"{name}-{branch}.svg"
        figures[svg] = _figure(ranking, results, owner)
        first = ranking.iloc[0]
        lines += [f"## {branch.capitalize()} branch", "",
                  f"Ranked by the score, among the methods that pass every ranking gate "
                  f"({int((ranking['rank'] > 0).sum())} of "
                  f"{int((ranking['role'] == '').sum())}). {first['n_windows']} explained "
                  "windows × "
                  f"{first['n_seeds']} seeds per configuration"
                  + (" (rows differ: see the last column)." if len(
                      ranking[["n_windows", "n_seeds"]].drop_duplicates()) > 1 else "."), "",
                  f"![{branch} branch: each method's {primary} with its 95 % interval]({svg})",
                  "", ranking_table(ranking, results, owner), ""]
    return "\n".join(lines).rstrip() + "\n", figures


#: How a submission made from code only its author has (editable install, local path) is
#: labelled: it is ranked, but nobody else can rerun it from its record.
LOCAL = "local (not reproducible elsewhere)"


def _counted(submissions: Sequence[Entry]) -> str:
    local = sum(1 for e in submissions if e.local)
    text = f"{len(submissions) - local} accepted submission(s)"
    return text + (f" and {local} {LOCAL}" if local else "")


def _submissions(entries: Sequence[Entry]) -> list[str]:
    if not entries:
        return ["No submissions yet: [Publishing](../publishing.md) shows how to add one.", ""]
    lines = ["| submission | methods | plugins | status |", "|---|---|---|---|"]
    for entry in entries:
        methods = sorted(set(entry.results.scores["attribution"].dropna()))
        status = f"{LOCAL}: {'; '.join(entry.local)}" if entry.local else "accepted"
        lines.append(f"| `{entry.name}` | {markdown_escape(', '.join(methods))} | "
                     f"{markdown_escape(entry.source)} | {markdown_escape(status)} |")
    return [*lines, ""]


def _index(pages: Sequence[str]) -> str:
    links = "\n".join(f"- [{p}]({p}.md)" for p in pages)
    return (
        "# Leaderboards\n\nOne page per committed board, ranking the board's built-in "
        "methods and every accepted submission together. Generated by "
        f"`{COMMAND}`; [Publishing](../publishing.md) shows how a method joins a board.\n\n"
        f"{links}\n"
    )


def site_files(root: Path, match: str = "*") -> dict[str, str]:
    """Every file of the site (relative name -> text) for the boards under ``root``."""
    files: dict[str, str] = {}
    boards = committed_directories(root)
    for directory in boards:
        if not directory.match(match):
            continue
        page, figures = render_board(directory)
        files[f"{directory.name}.md"] = page
        files.update(figures)
    files[INDEX] = _index([d.name for d in boards])  # every board, whichever were rebuilt
    return files


def write_site(root: Path, out: Path, match: str = "*") -> list[Path]:
    """Write the site's pages and figures into ``out`` (every page built first: a refused
    board leaves nothing behind, not even ``out``), never over a file edited since the site
    wrote it (:mod:`~xecgbench.report.pages.site_output`)."""
    return write_generated(out, site_files(root, match))


def stale_site(root: Path, out: Path) -> list[str]:
    """Committed site files in ``out`` that differ from a fresh build (only the boards whose
    pages are committed), and generated files that are missing.

    Pages are compared byte for byte; a figure only for being there: its numbers are the
    page's, and its SVG bytes change with the matplotlib version that drew it.
    """
    committed = {p.stem for p in out.glob("*.md") if p.name != INDEX}
    fresh: dict[str, str] = {}
    for name in sorted(committed):
        fresh.update(site_files(root, name))
    fresh[INDEX] = _index(sorted(committed))
    return [str(out / name) for name, text in fresh.items()
            if not (out / name).is_file() or (not name.endswith(".svg") and (
                out / name).read_text(encoding="utf-8") != text)]
