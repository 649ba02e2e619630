"""Operating points: thresholds come from validation records, intervals from seeds × windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from xecgbench.plugins.operating_points import (
    ValidationScores,
    f1_threshold,
    specificity_threshold,
)
from xecgbench.report.table_builders.operating_points import (
    jeffreys_interval,
    operating_point_table,
    operating_points,
    ranked_areas,
    record_probabilities,
)
from xecgbench_builtin.metrics.accuracy import (
    AUPRC,
    BalancedAccuracyValidation,
    F1AFValidation,
    SensitivityAt95Specificity,
)


def _f1(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    return skm.f1_score(labels, (scores >= threshold).astype(int), zero_division=0.0)


# Validation: AF scores 0.7-0.9, non-AF up to 0.6 -> the best threshold lies in (0.6, 0.7).
VAL_LABELS = np.array([1, 1, 1, 0, 0, 0, 0, 0])
VAL_SCORES = np.array([0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.5, 0.6])
# Test: AF scores 0.3-0.4 (a shifted model): the test-optimal threshold would be ≤ 0.4.
TEST_LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
TEST_SCORES = np.array([0.35, 0.4, 0.65, 0.3, 0.05, 0.1, 0.15, 0.2])


def test_f1_threshold_is_the_midpoint_of_the_best_gap() -> None:
    assert f1_threshold(VAL_LABELS, VAL_SCORES) == pytest.approx(0.65)
    assert np.isnan(f1_threshold(np.zeros(4), np.linspace(0, 1, 4)))


def test_threshold_is_picked_on_validation_not_on_test() -> None:
    val_t = f1_threshold(VAL_LABELS, VAL_SCORES)
    test_t = f1_threshold(TEST_LABELS, TEST_SCORES)
    assert test_t < 0.3 < val_t  # the two splits disagree
    validation = ValidationScores(VAL_LABELS, VAL_SCORES)
    f1 = F1AFValidation().evaluate(TEST_LABELS, TEST_SCORES, validation=validation)
    assert f1 == pytest.approx(_f1(TEST_LABELS, TEST_SCORES, val_t))  # 1 of 4 AF called: 0.4
    assert f1 == pytest.approx(0.4)
    assert f1 < _f1(TEST_LABELS, TEST_SCORES, test_t) == 1.0
    balanced = BalancedAccuracyValidation().evaluate(TEST_LABELS, TEST_SCORES,
                                                     validation=validation)
    assert balanced == pytest.approx((0.25 + 1.0) / 2)
    assert np.isnan(F1AFValidation().evaluate(TEST_LABELS, TEST_SCORES))  # none given


def test_specificity_threshold_holds_the_target_and_no_lower_one_does() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(300) < 0.2).astype(int)
    scores = np.round(rng.random(300), 2)  # ties on purpose
    t = specificity_threshold(labels, scores)
    negatives = scores[labels == 0]
    assert np.mean(negatives < t) >= 0.95
    below = negatives[negatives < t].max()
    assert np.mean(negatives < below) < 0.95
    sens = SensitivityAt95Specificity().evaluate(
        TEST_LABELS, TEST_SCORES, validation=ValidationScores(labels, scores))
    assert sens == pytest.approx(np.mean(TEST_SCORES[TEST_LABELS == 1] >= t))


def test_jeffreys_interval_for_10_of_12() -> None:
    low, high = jeffreys_interval(10, 12)
    assert round(low, 2) == 0.56 and round(high, 2) == 0.96  # issue 22
    assert jeffreys_interval(0, 12)[0] == 0.0 and jeffreys_interval(12, 12)[1] == 1.0


def test_ranked_areas_equal_scikit_learn_with_ties_and_weights() -> None:
    rng = np.random.default_rng(5)
    labels = (rng.random(120) < 0.15).astype(int)
    scores = np.round(np.clip(0.3 * labels + rng.random(120) * 0.8, 0, 1), 1)
    weights = np.vstack([np.ones(120), rng.multinomial(120, np.full(120, 1 / 120))])
    auroc, auprc = ranked_areas(scores, labels, weights)
    for row, w in enumerate(weights):
        assert auroc[row] == pytest.approx(skm.roc_auc_score(labels, scores, sample_weight=w))
        assert auprc[row] == pytest.approx(
            skm.average_precision_score(labels, scores, sample_weight=w))
    assert AUPRC().evaluate(labels, scores) == pytest.approx(auprc[0])


def _frame(n_seeds: int = 3, n_af: int = 12, n_other: int = 138) -> pd.DataFrame:
    """Probabilities of one cell: 10 of 12 AF windows above 0.5 in every seed."""
    rows = []
    labels = np.r_[np.ones(n_af, int), np.zeros(n_other, int)]
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        test = np.where(labels == 1, 0.9, 0.1) + rng.normal(0, 0.01, labels.size)
        test[:2] = 0.2  # two missed AF windows
        val = np.r_[np.full(5, 0.8), np.full(20, 0.2)] + rng.normal(0, 0.01, 25)
        val_labels = np.r_[np.ones(5, int), np.zeros(20, int)]
        cell = {"dataset": "d", "seed": seed, "pretraining": "none", "freezing": "none",
                "branch": "ensemble"}
        rows += [{**cell, "split": "test", "sample": i, "record_id": f"r{i}#0",
                  "label": int(y), "probability": float(p)}
                 for i, (y, p) in enumerate(zip(labels, test, strict=True))]
        rows += [{**cell, "split": "validation", "sample": 1000 + i, "record_id": f"v{i}#0",
                  "label": int(y), "probability": float(p)}
                 for i, (y, p) in enumerate(zip(val_labels, val, strict=True))]
    return pd.DataFrame(rows)


def test_small_counts_get_a_jeffreys_interval_and_their_count() -> None:
    values = operating_points(_frame()).set_index("metric")
    sensitivity = values.loc["sensitivity_val"]
    assert sensitivity["mean"] == pytest.approx(10 / 12)
    assert sensitivity["count"] == "10/12"
    # Identical in every seed: a seed-only interval would be [0.833, 0.833].
    assert sensitivity["ci_low"] <= 0.564 and sensitivity["ci_high"] >= 0.96
    assert values.loc["prevalence", "mean"] == pytest.approx(12 / 150)


def test_table_shows_auprc_beside_the_prevalence() -> None:
    table = operating_point_table(operating_points(_frame()), {})
    headers = [c.header for c in table.columns]
    assert headers.index("AF prevalence (test)") < headers.index("AUPRC ↑")
    assert table.rows.loc[0, "AF prevalence (test)"] == "0.080 (12/150)"
    assert operating_point_table(None, {}) is None


def test_interval_resamples_windows_as_well_as_seeds() -> None:
    """Three identical seeds: any interval width comes from resampling windows."""
    frame = _frame()
    first = frame[frame["seed"] == 0]
    same = pd.concat([first.assign(seed=s) for s in range(3)], ignore_index=True)
    auroc = operating_points(same).set_index("metric").loc["roc_area"]
    assert auroc["ci_low"] < auroc["mean"] or auroc["mean"] == 1.0
    balanced = operating_points(same).set_index("metric").loc["balanced_050"]
    assert balanced["ci_high"] - balanced["ci_low"] > 0.01


def test_records_are_scored_from_the_mean_of_their_windows() -> None:
    """Three windows per test record: a record whose windows disagree is called by their mean,
    and the table counts records, not windows; one window per record needs no second table."""
    frame = _frame()
    assert record_probabilities(frame) is None
    test = frame[frame["split"] == "test"]
    copies = []
    for part, shift in enumerate((0.0, 0.05, -0.05)):
        copy = test.assign(record_id=test["record_id"].str.replace("#0", f"#{part}"),
                           sample=test["sample"] * 3 + part,
                           probability=(test["probability"] + shift).clip(0, 1))
        copies.append(copy)
    windows = pd.concat([*copies, frame[frame["split"] == "validation"]], ignore_index=True)
    records = record_probabilities(windows)
    mine = records[(records["split"] == "test") & (records["seed"] == 0)]
    assert len(mine) == 150
    first = test[test["seed"] == 0].set_index("record_id")["probability"]
    # the mean of p, p + 0.05 and p - 0.05 is p
    assert mine.set_index("record_id").loc["r20", "probability"] == pytest.approx(
        first["r20#0"], abs=1e-9)
    values = operating_points(records).set_index("metric")
    assert values.loc["prevalence", "count"] == "12/150"
    table = operating_point_table(operating_points(records), {}, per_record=True)
    assert table.name == "operating-points-records"
    assert "each test record's windows" in table.caption
    assert operating_points(windows).set_index("metric").loc["prevalence", "count"] == "36/450"
