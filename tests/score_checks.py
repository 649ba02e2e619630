"""Shared by the runner tests: a store's scores, checked for duplicates, in a stable order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xecgbench.store import load_scores

SCORE_KEY = ["stage_key", "branch", "metric", "region", "sample"]


def sorted_scores(path: Path, run_id: str | None = None) -> pd.DataFrame:
    """Per-sample scores of ``run_id`` (default: latest); fails on duplicate score rows."""
    frame = load_scores(path, run_id)
    assert not frame.duplicated(SCORE_KEY).any(), "duplicate score rows"
    return frame.sort_values(SCORE_KEY).reset_index(drop=True)
