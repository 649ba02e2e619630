"""A static single-file HTML report: the leaderboard's tables and its figures, no network.

Figures are inline PNG data URIs and the page has no scripts, so it opens anywhere (a mail
attachment, a CI artifact). Every string that a plugin or a suite chose (component labels,
metric names, record ids, provenance) is HTML-escaped. Heatmap examples come from
:mod:`xecgbench.report.examples`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.report.board import INTERVALS, Leaderboard, RunResults, Table
from xecgbench.report.examples import Examples
from xecgbench.report.rendering.text_formats import cell_texts, headers

# ---------------------------------------------------------------- figures


def _interval_figures(board: Leaderboard) -> list[tuple[str, str]]:
    """One figure per branch: (branch, data URI)."""
    from xecgbench.report.rendering.figures import interval_profile_figure, to_data_uri

    table = _maybe(board, "interval-profile")
    if table is None:
        return []
    present = list(dict.fromkeys(table.values["region"]))
    intervals = [r for r in INTERVALS if r in present] or present
    return [(branch, to_data_uri(interval_profile_figure(
                table.values, table.rows[table.rows["branch"] == branch], intervals)))
            for branch in dict.fromkeys(table.rows["branch"])]


def _scatter_points(board: Leaderboard, results: RunResults) -> tuple[pd.DataFrame, str, str]:
    primary = results.suite.primary_metric
    points = []
    accuracy_metric = None
    for table in board.tables:
        if not table.name.startswith("alignment-"):
            continue
        branch = table.fixed["branch"]
        region = next(c.region for c in table.columns if c.metric == primary)
        accuracy_metric = next((c.metric for c in table.columns
                                if results.metrics.get(c.metric, {}).get("category")
                                == "accuracy"), None)
        lookup = table.lookup()
        for row in table.rows.to_dict("records"):
            keys = tuple(row[k] for k in table.row_keys)
            x = lookup.get((*keys, primary, region))
            y = lookup.get((*keys, accuracy_metric, "")) if accuracy_metric else None
            if x is None or y is None:
                continue
            points.append({"branch": branch, "pretraining": row["pretraining"],
                           "attribution": row["attribution"], "x": x["mean"],
                           "y": y["mean"]})
    return pd.DataFrame(points), f"{primary} (paired mask)", f"{accuracy_metric} (branch)"


def _scatter_figure(board: Leaderboard, results: RunResults) -> str | None:
    from xecgbench.report.rendering.figures import accuracy_alignment_figure, to_data_uri

    points, x_label, y_label = _scatter_points(board, results)
    if points.empty:
        return None
    return to_data_uri(accuracy_alignment_figure(points, x_label, y_label))


def _heatmap_figures(examples: Examples, results: RunResults) -> list[tuple[str, str]]:
    """One figure per attribution method: (attribution, data URI)."""
    from xecgbench.report.board import suite_order
    from xecgbench.report.rendering.figures import heatmap_figure, to_data_uri

    order = suite_order(results)
    keys = sorted(
        examples.relevance,
        key=lambda k: tuple(order[a].get(v, len(order[a]))
                            for a, v in zip(("pretraining", "freezing", "attribution"), k,
                                            strict=True)),
    )
    branches = sorted({b for r in examples.relevance.values() for b in r},
                      key=lambda b: order["branch"].get(b, 9))
    classes = ["AF" if y == 1 else "non-AF" for y in examples.labels]
    titles = [f"{b} · {rid} ({c})" for b in branches
              for rid, c in zip(examples.record_ids, classes, strict=True)]
    figures = []
    for attribution in dict.fromkeys(k[2] for k in keys):
        panels = []
        for key in (k for k in keys if k[2] == attribution):
            row = f"{key[0]} / {key[1]}"
            for b_i, branch in enumerate(branches):
                for r_i in range(len(examples.record_ids)):
                    relevance = examples.relevance[key].get(branch)
                    if relevance is not None:
                        title = titles[b_i * len(examples.record_ids) + r_i]
                        panels.append((row, title, relevance[r_i].astype(np.float32)))
        figure = heatmap_figure(examples.signals, examples.masks, examples.fs, panels, titles)
        figures.append((attribution, to_data_uri(figure)))
    return figures


def _maybe(board: Leaderboard, name: str) -> Table | None:
    return next((t for t in board.tables if t.name == name), None)


# ---------------------------------------------------------------- page

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1400px;
padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:.82rem;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .55rem;text-align:right;white-space:nowrap}
th{border-bottom:2px solid #444;background:#f6f6f6}
td.key,th.key{text-align:left}
td.fail{color:#b00020;font-weight:600}
figure{margin:1rem 0 2rem}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:.88rem;max-width:70rem}
.scroll{overflow-x:auto}
.answer{font-size:1.05rem;max-width:70rem;line-height:1.5}
footer{font-size:.8rem;color:#555;border-top:1px solid #ccc;margin-top:2rem}
""".strip()


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: str) -> str:
    """Escaped caption text with Markdown code spans shown as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def table_html(table: Table) -> str:
    """One leaderboard table as an escaped HTML ``<table>``."""
    head = headers(table)
    n_keys = len(head) - len(table.columns)
    cells = ["<tr>" + "".join(
        f'<th class="key">{_e(h)}</th>' if i < n_keys else f"<th>{_e(h)}</th>"
        for i, h in enumerate(head)) + "</tr>"]
    for row in cell_texts(table):
        tds = []
        for i, text in enumerate(row):
            css = "key" if i < n_keys else ("fail" if text == "FAIL" else "")
            tds.append(f'<td class="{css}">{_e(text)}</td>' if css else f"<td>{_e(text)}</td>")
        cells.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<section id="{_e(table.name)}"><h2>{_e(table.title)}</h2>'
        f'<p class="caption">{_prose(table.caption)}</p><div class="scroll"><table>'
        f'{"".join(cells)}</table></div></section>'
    )


def _figure_html(uri: str, alt: str, caption: str) -> str:
    return (f'<figure><img src="{uri}" alt="{_e(alt)}"><figcaption>{_e(caption)}'
            "</figcaption></figure>")


def render_report(board: Leaderboard, results: RunResults,
                  examples: Examples | None = None,
                  progress: Callable[[str], None] | None = None) -> str:
    """The whole report as one HTML string; ``progress`` hears each figure as it starts."""
    say = progress or (lambda _message: None)
    parts = [f"<h1>{_e(board.title)}</h1>"]
    if board.answer:  # the answer in words, before any table
        words = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", _prose(board.answer))
        parts.append(f'<p class="answer">{words}</p>')
    parts += [f'<p class="caption">{_e(n)}</p>' for n in board.notes]
    answer = [t for t in board.tables if t.name.startswith("answer-")]
    if answer:  # the answer first, then the pictures, then the detail tables
        parts += ["<h2>The answer</h2>", *(table_html(t) for t in answer)]
    figures: list[str] = []
    say("figures: interval profile")
    for branch, interval in _interval_figures(board):
        figures.append(_figure_html(
            interval, f"interval profile bars: {branch} branch",
            f"{branch.capitalize()} branch: relevance share per ECG interval, one bar per "
            "pretraining strategy, one panel per method × freezing (error bars: the tables' "
            "95 % intervals; dashed: uniform relevance).",
        ))
    say("figure: accuracy versus alignment")
    scatter = _scatter_figure(board, results)
    if scatter:
        figures.append(_figure_html(
            scatter, "accuracy versus alignment",
            "Accuracy of each branch against the alignment of its explanations "
            "(colour: pretraining, marker: attribution; means only, intervals are in the "
            "tables).",
        ))
    if examples is not None and examples.relevance:
        say(f"figures: relevance heatmaps ({len({k[2] for k in examples.relevance})})")
        for attribution, uri in _heatmap_figures(examples, results):
            figures.append(_figure_html(
                uri, f"relevance heatmaps: {attribution}",
                f"Relevance of {attribution} over representative test ECGs (first seed), "
                "scaled to its maximum magnitude: red for the explained class, blue against. "
                "Green bars: P waves (for AF, the atrial window before each QRS); purple: QRS.",
            ))
    if figures:
        parts += ["<h2>Figures</h2>", *figures]
    parts += [table_html(t) for t in board.tables if t not in answer]
    parts.append("<footer><h2>Provenance</h2><ul>" + "".join(
        f"<li>{_e(k)}: {_e(v)}</li>" for k, v in board.footer.items()) + "</ul></footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(board.title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts) + "</body></html>\n"
    )
