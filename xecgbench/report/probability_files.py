"""Per-window AF probabilities in and out of a results directory (``probabilities.csv.gz``).

One row per evaluated window and branch (the test windows and the validation records the
fine-tuning stage held out), so every operating point can be recomputed after the run: columns
:data:`RAW_PROBABILITY_COLUMNS`. Optional: a board exported before probabilities were stored
has none, and its tables say "not stored". Kept apart from the scores file so either format
can change alone.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

from xecgbench.report.external_scores import ResultsFileError
from xecgbench.report.safe_write import UnsafePathError, write_inside
from xecgbench.run.store import PROBABILITY_COLUMNS, ResultsStore

PROBABILITIES_FILE = "probabilities.csv.gz"
RAW_PROBABILITY_COLUMNS = tuple(c for c in PROBABILITY_COLUMNS if c != "stage_key")
SPLITS = ("test", "validation")


def store_probabilities(store_path: Path, run_id: str) -> pd.DataFrame:
    """The run's stored probabilities in the raw-file columns (empty if none were stored)."""
    with ResultsStore(store_path) as store:
        frame = store.probabilities_frame(run_id)
    return frame[list(RAW_PROBABILITY_COLUMNS)]


def write_probabilities(frame: pd.DataFrame, out: Path) -> Path | None:
    """Write ``frame`` as ``out/probabilities.csv.gz`` (gzip without a timestamp); with no
    rows, remove any older file instead so a directory never pairs scores with stale
    probabilities."""
    if frame.empty:
        target = Path(out) / PROBABILITIES_FILE
        if target.is_file() and not target.is_symlink():
            target.unlink()
        return None
    buffer = io.StringIO()
    frame.reindex(columns=list(RAW_PROBABILITY_COLUMNS)).to_csv(
        buffer, index=False, lineterminator="\n", float_format="%.9g")
    try:
        return Path(write_inside(out, PROBABILITIES_FILE,
                                 gzip.compress(buffer.getvalue().encode(), mtime=0)))
    except UnsafePathError as exc:
        raise ResultsFileError(str(exc)) from None


def read_probabilities(directory: Path) -> pd.DataFrame | None:
    """``directory``'s probabilities, checked; None when the board has none."""
    path = Path(directory) / PROBABILITIES_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, dtype={"record_id": "string"}, keep_default_na=False,
                            na_values={"probability": [""], "label": [""]})
    except (OSError, ValueError, EOFError) as exc:
        raise ResultsFileError(f"{path}: cannot read probabilities: {exc}") from None
    missing = [c for c in RAW_PROBABILITY_COLUMNS if c not in frame.columns]
    if missing:
        raise ResultsFileError(f"{path}: missing columns {', '.join(missing)}")
    if not pd.api.types.is_numeric_dtype(frame["probability"]):
        raise ResultsFileError(f"{path}: column 'probability' must be numeric")
    stray = sorted(set(frame["split"]) - set(SPLITS))
    if stray:
        raise ResultsFileError(f"{path}: unknown split {stray[0]!r} (expected test or "
                               "validation)")
    return frame[list(RAW_PROBABILITY_COLUMNS)]
