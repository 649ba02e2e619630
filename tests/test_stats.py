"""Tests of the aggregation statistics against scipy and against their definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xecgbench.report.stats import holm, mean_ci95, paired_wilcoxon, seed_summary


def test_mean_ci95_matches_scipy_t_interval() -> None:
    values = np.random.default_rng(0).normal(0.5, 0.1, size=5)
    mean, half = mean_ci95(values)
    low, high = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert half == pytest.approx((high - low) / 2)


def test_mean_ci95_ignores_nan_and_needs_two_values() -> None:
    assert np.isnan(mean_ci95(np.array([0.3]))[1])
    mean, half = mean_ci95(np.array([0.2, np.nan, 0.4]))
    assert mean == pytest.approx(0.3) and np.isfinite(half)
    assert all(np.isnan(mean_ci95(np.array([np.nan]))))


def test_seed_summary_averages_samples_within_a_seed_first() -> None:
    # seed 0 has 3 samples, seed 1 only 1: a pooled mean would weight seed 0 three times.
    frame = pd.DataFrame({
        "cell": ["a"] * 4, "seed": [0, 0, 0, 1], "value": [0.0, 0.0, 0.0, 1.0],
    })
    row = seed_summary(frame, ["cell"]).iloc[0]
    assert row["mean"] == pytest.approx(0.5)
    assert row["n_seeds"] == 2
    assert row["ci95"] == pytest.approx(mean_ci95(np.array([0.0, 1.0]))[1])


def test_seed_summary_equals_mean_ci95_per_group_and_skips_all_nan_seeds() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "cell": np.repeat(["a", "b"], 30), "seed": np.tile(np.repeat([0, 1, 2], 10), 2),
        "value": rng.random(60),
    })
    frame.loc[(frame["cell"] == "b") & (frame["seed"] == 2), "value"] = np.nan
    summary = seed_summary(frame, ["cell"]).set_index("cell")
    for cell, group in frame.groupby("cell"):
        per_seed = group.groupby("seed")["value"].mean().dropna().to_numpy()
        mean, half = mean_ci95(per_seed)
        assert summary.loc[cell, "mean"] == pytest.approx(mean)
        assert summary.loc[cell, "ci95"] == pytest.approx(half)
    assert summary.loc["b", "n_seeds"] == 2


def test_paired_wilcoxon_detects_a_shift_and_is_nan_without_one() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(40)
    assert paired_wilcoxon(base + 0.2, base) < 1e-6
    assert np.isnan(paired_wilcoxon(base, base))
    assert np.isnan(paired_wilcoxon(np.array([1.0]), np.array([0.0])))


def test_holm_matches_its_definition() -> None:
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    adjusted = holm(p)
    # sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> running max 0.09, 0.5
    assert adjusted[0] == pytest.approx(0.04)
    assert adjusted[3] == pytest.approx(0.09)
    assert adjusted[1] == pytest.approx(0.09)
    assert adjusted[4] == pytest.approx(0.5)
    assert np.isnan(adjusted[2])
    assert np.all(adjusted[np.isfinite(p)] >= p[np.isfinite(p)])
