"""Per-window AF probabilities in and out of a results directory (``probabilities.parquet``,
then ``probabilities-2.parquet`` … past :data:`ROWS_PER_PART` rows, as for the scores).

One row per evaluated window and branch (the test windows and the validation records the
fine-tuning stage held out), so every operating point can be recomputed after the run: columns
:data:`RAW_PROBABILITY_COLUMNS`. Optional: a board exported before probabilities were stored
has none, and its tables say "not stored". Kept apart from the scores file so either table can
change alone; read through the same guarded loader and checksums as the scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xecgbench.report.board_format.confined_write import UnsafePathError, write_inside
from xecgbench.report.board_format.reader import (
    PROBABILITIES_FILE,
    PROBABILITY_PARTS,
    ResultsFileError,
    checksums,
    part_names,
    read_checked,
)
from xecgbench.report.board_format.score_parts import (
    Layout,
    read_parquet_parts,
    row_parts,
    table_bytes,
)
from xecgbench.report.board_format.score_values import check_labels
from xecgbench.run.store import PROBABILITY_COLUMNS, ResultsStore

RAW_PROBABILITY_COLUMNS = tuple(c for c in PROBABILITY_COLUMNS if c != "stage_key")
LAYOUT = Layout(RAW_PROBABILITY_COLUMNS, (), ("seed", "sample"), ("label", "probability"))
SPLITS = ("test", "validation")
KEY = ("seed", "pretraining", "freezing", "branch", "split", "sample")
#: Rows per written part (about 3.8 MB: a probability compresses worse than a score).
ROWS_PER_PART = 500_000


def store_probabilities(store_path: Path, run_id: str) -> pd.DataFrame:
    """The run's stored probabilities in the raw-file columns (empty if none were stored)."""
    with ResultsStore(store_path, read_only=True) as store:
        frame = store.probabilities_frame(run_id)
    return frame[list(RAW_PROBABILITY_COLUMNS)]


def write_probabilities(frame: pd.DataFrame, out: Path) -> Path | None:
    """Write ``frame`` as ``out/probabilities.parquet`` (and its further parts); with no rows,
    remove any older files instead so a directory never pairs scores with stale
    probabilities. Returns the first part written."""
    parts = [] if frame.empty else row_parts(frame, ROWS_PER_PART)
    if len(parts) > len(PROBABILITY_PARTS):
        raise ResultsFileError(f"{out}: {len(frame):,} probability rows need {len(parts)} "
                               f"parts, more than the {len(PROBABILITY_PARTS)} a board may hold")
    try:
        written = [Path(write_inside(out, name, table_bytes(part, LAYOUT)))
                   for name, part in zip(PROBABILITY_PARTS, parts, strict=False)]
    except UnsafePathError as exc:
        raise ResultsFileError(str(exc)) from None
    for stale in PROBABILITY_PARTS[len(parts):]:
        target = Path(out) / stale
        if target.is_file() and not target.is_symlink():
            target.unlink()
    return written[0] if written else None


def read_probabilities(directory: Path) -> pd.DataFrame | None:
    """``directory``'s probabilities, checked; None when the board has none."""
    directory = Path(directory)
    names = part_names(directory, PROBABILITY_PARTS)
    if not names:
        return None
    manifest = checksums(directory)
    parts = []
    for name in names:
        data = read_checked(directory, name, manifest)
        assert data is not None
        parts.append((data, directory / name))
    path = directory / PROBABILITIES_FILE if len(names) == 1 else directory
    frame = read_parquet_parts(parts, LAYOUT)
    stray = sorted(set(frame["split"]) - set(SPLITS))
    if stray:
        raise ResultsFileError(f"{path}: field 'split': unknown value {str(stray[0])[:40]!r} "
                               "(expected test or validation)")
    values = frame["probability"].to_numpy(dtype=float)
    if ((values < 0) | (values > 1)).any():
        raise ResultsFileError(f"{path}: field 'probability': a value outside [0, 1]")
    check_labels(path, frame["label"].to_numpy(dtype=float))
    if frame.duplicated(list(KEY)).any():
        raise ResultsFileError(f"{path}: duplicate probability rows (same {', '.join(KEY)})")
    frame["record_id"] = frame["record_id"].astype("string")
    frame["label"] = frame["label"].astype(np.float64)
    return frame[list(RAW_PROBABILITY_COLUMNS)]
