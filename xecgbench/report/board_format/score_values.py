"""What a board's numbers may be (issue 32, item 7): the reader refuses the absurd rather than
publish it.

A score lies within its metric's declared range (``MetricInfo.value_range``, recorded in
``run.json``; else its category's, :data:`~xecgbench.plugins.components.METRIC_RANGES`) and,
whatever the metric, within :data:`MAX_MAGNITUDE` (a mean of 1e308s was published as ``inf``);
a label is 0, 1 or missing; a chance level is not negative and lies in its metric's range.
NaN stays allowed where the format allows it (an undefined score, a row with no label).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.plugins.components import METRIC_RANGES
from xecgbench.report.board_format.reader import ResultsFileError

#: The largest magnitude any score may have: means and sums of millions of them stay finite.
MAX_MAGNITUDE = 1e12


def metric_range(record: Any) -> tuple[float, float] | None:
    """A metric record's declared range, else its category's (None: no range)."""
    declared = getattr(record, "value_range", None)
    if declared is not None:
        return float(declared[0]), float(declared[1])
    return METRIC_RANGES.get(str(getattr(record, "category", "")))


def _first_bad(scores: pd.DataFrame, bad: np.ndarray, column: str) -> str:
    row = scores[bad].iloc[0]
    return (f"{float(row[column]):g} (metric {str(row['metric'])[:60]!r}, seed {row['seed']}, "
            f"sample {row['sample']})")


def check_labels(path: Path, labels: np.ndarray, field: str = "label") -> None:
    """Every label 0, 1 or NaN."""
    bad = ~(np.isnan(labels) | (labels == 0) | (labels == 1))
    if bad.any():
        raise ResultsFileError(f"{path}: field {field!r}: {float(labels[bad][0]):g} is not a "
                               "label (0, 1 or empty)")


def check_score_values(path: Path, scores: pd.DataFrame, metrics: Mapping[str, Any]) -> None:
    """Refuse a score, label or chance level no metric can produce (see the module doc)."""
    values = scores["value"].to_numpy(dtype=float)
    if (np.abs(values) > MAX_MAGNITUDE).any():
        bad = np.abs(values) > MAX_MAGNITUDE
        raise ResultsFileError(f"{path}: field 'value': {_first_bad(scores, bad, 'value')} "
                               f"is beyond ±{MAX_MAGNITUDE:g}, no metric's score")
    check_labels(path, scores["label"].to_numpy(dtype=float))
    chance = scores["chance"].to_numpy(dtype=float)
    if (chance < 0).any():
        raise ResultsFileError(f"{path}: field 'chance': "
                               f"{_first_bad(scores, chance < 0, 'chance')} is negative")
    ranges = {label: metric_range(record) for label, record in metrics.items()}
    ranged = {label: bounds for label, bounds in ranges.items() if bounds is not None}
    if not ranged:
        return
    metric = scores["metric"].astype(object)
    low = metric.map({k: v[0] for k, v in ranged.items()}).to_numpy(dtype=float)
    high = metric.map({k: v[1] for k, v in ranged.items()}).to_numpy(dtype=float)
    for column, numbers in (("value", values), ("chance", chance)):
        bad = (numbers < low) | (numbers > high)  # NaN (no range, no number) compares False
        if bad.any():
            row = scores[bad].iloc[0]
            bounds = ranged[str(row["metric"])]
            raise ResultsFileError(
                f"{path}: field {column!r}: {_first_bad(scores, bad, column)} is outside "
                f"the metric's range [{bounds[0]:g}, {bounds[1]:g}]")
