"""Aggregation statistics: means with t-based 95 % CIs over seeds, paired tests over samples."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95 % t interval (NaN below two values)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    mean = float(finite.mean())
    if len(finite) < 2:
        return mean, float("nan")
    half = stats.t.ppf(0.975, len(finite) - 1) * finite.std(ddof=1) / np.sqrt(len(finite))
    return mean, float(half)


def paired_wilcoxon(candidate: np.ndarray, baseline: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (NaN if undefined)."""
    candidate, baseline = np.asarray(candidate, float), np.asarray(baseline, float)
    keep = np.isfinite(candidate) & np.isfinite(baseline)
    difference = candidate[keep] - baseline[keep]
    if len(difference) < 2 or np.allclose(difference, 0):
        return float("nan")
    return float(stats.wilcoxon(difference).pvalue)
