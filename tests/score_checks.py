"""Shared by the runner tests: a store's scores, checked for duplicates, in a stable order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xecgbench.run.store import load_scores

SCORE_KEY = ["stage_key", "branch", "metric", "region", "sample"]


def sorted_scores(path: Path, run_id: str | None = None) -> pd.DataFrame:
    """Per-sample scores of ``run_id`` (default: latest); fails on duplicate score rows."""
    frame = load_scores(path, run_id)
    assert not frame.duplicated(SCORE_KEY).any(), "duplicate score rows"
    return frame.sort_values(SCORE_KEY).reset_index(drop=True)


def count_score_rows(path: Path) -> int:
    """Every score row in the store file, whatever run linked it (catches duplicates)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
