"""Aggregation statistics: means with t-based 95 % CIs over seeds, paired tests over samples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
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


def seed_summary(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean over samples per seed, then mean ± 95 % t half-width over seeds, per ``keys``.

    Seeds are the unit of replication (each trains its own model); samples only sharpen each
    seed's estimate. NaN scores (undefined for a sample) are left out of the per-seed mean; a
    seed whose every score is NaN does not count in ``n_seeds``. Returns ``keys`` plus
    ``mean``, ``ci95`` (NaN below two seeds) and ``n_seeds``.
    """
    keys = list(keys)
    columns = [*keys, "mean", "ci95", "n_seeds"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    per_seed = frame.groupby([*keys, "seed"], dropna=False, sort=False)["value"].mean()
    per_seed = per_seed.dropna().reset_index()
    if per_seed.empty:
        return pd.DataFrame(columns=columns)
    grouped = per_seed.groupby(keys, dropna=False, sort=False)["value"]
    out = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), n_seeds="count").reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["n_seeds"] - 1, 1))
    half = t * out["std"] / np.sqrt(out["n_seeds"])
    out["ci95"] = np.where(out["n_seeds"] >= 2, half, np.nan)
    return out[columns]


def paired_wilcoxon(candidate: np.ndarray, baseline: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (NaN if undefined)."""
    candidate, baseline = np.asarray(candidate, float), np.asarray(baseline, float)
    keep = np.isfinite(candidate) & np.isfinite(baseline)
    difference = candidate[keep] - baseline[keep]
    if len(difference) < 2 or np.allclose(difference, 0):
        return float("nan")
    return float(stats.wilcoxon(difference).pvalue)


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
