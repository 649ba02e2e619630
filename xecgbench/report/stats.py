"""Multiple-comparison correction shared by every table that reports p-values."""

from __future__ import annotations

import numpy as np


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error), NaN entries left out and kept NaN.

    A leaderboard tests many cells against the baseline at once; unadjusted p-values would
    flag about one in twenty cells by chance.
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if len(finite) == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    scaled = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted
