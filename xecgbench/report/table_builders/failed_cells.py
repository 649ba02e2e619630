"""The leaderboard's *failed cells* table: a method that failed is listed, never silently absent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: Cell labels in the order a failed cell is described.
_LABEL_ORDER = ("dataset", "seed", "pretraining", "freezing", "attribution", "metric")
REASON_CHARS = 160


def one_line(error: str, limit: int = REASON_CHARS) -> str:
    """The error's first non-empty line (``Type: message``), shortened to ``limit`` characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_cell(labels: Mapping[str, Any]) -> str:
    """``seed=0 pretraining=none …`` from a failed stage's labels (unset labels left out)."""
    keys = [k for k in _LABEL_ORDER if k in labels] + sorted(set(labels) - set(_LABEL_ORDER))
    return " ".join(f"{k}={labels[k]}" for k in keys if labels[k] is not None)


def failed_rows(failures: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per failed stage: stage, method (with its plugin), cell, one-line reason."""
    rows = [
        {
            "stage": str(f.get("stage", "")),
            "method": f"{f.get('component', '?')} (plugin {f.get('plugin', '?')})",
            "cell": describe_cell(f.get("labels") or {}),
            "reason": one_line(str(f.get("error", ""))),
        }
        for f in failures
    ]
    return pd.DataFrame(rows, columns=["stage", "method", "cell", "reason"])


def failed_table(failures: Sequence[Mapping[str, Any]]) -> Any:
    """The *failed* :class:`~xecgbench.report.tables.Table`, or ``None`` when nothing failed."""
    from xecgbench.report.board import Column, Table

    if not failures:
        return None
    rows = failed_rows(failures)
    return Table(
        name="failed",
        title="Failed cells",
        caption=(
            "Stages that failed: their cells (and every stage built on them) have no scores "
            "above. `xecgbench status --store … --traceback` prints the stored tracebacks."
        ),
        row_keys=("stage", "method", "cell"),
        rows=rows,
        columns=(Column("reason", "", "reason", kind="text"),),
        values=pd.DataFrame(columns=["stage", "method", "cell", "metric", "region", "mean",
                                     "ci95", "n_seeds"]),
    )
