"""Accuracy metrics agree with scikit-learn and give NaN, not errors, where undefined."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from xecgbench_builtin.metrics.accuracy import (
    ACCURACY_METRICS,
    AUROC,
    F1AF,
    THRESHOLD,
    Accuracy,
    BalancedAccuracy,
    Sensitivity,
    Specificity,
)


@pytest.fixture
def labelled() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y_true = (rng.random(200) < 0.3).astype(np.int64)
    y_score = np.clip(0.35 * y_true + rng.random(200) * 0.7, 0, 1)
    return y_true, y_score


def test_every_metric_declares_accuracy_category() -> None:
    names = [m.info.name for m in ACCURACY_METRICS]
    assert len(set(names)) == len(names) == 10
    assert all(m.info.category == "accuracy" and m.info.higher_is_better for m in ACCURACY_METRICS)


def test_metrics_equal_scikit_learn(labelled: tuple[np.ndarray, np.ndarray]) -> None:
    y_true, y_score = labelled
    y_pred = (y_score >= THRESHOLD).astype(int)
    expected = {
        Accuracy: skm.accuracy_score(y_true, y_pred),
        BalancedAccuracy: skm.balanced_accuracy_score(y_true, y_pred),
        F1AF: skm.f1_score(y_true, y_pred, pos_label=1),
        AUROC: skm.roc_auc_score(y_true, y_score),
        Sensitivity: skm.recall_score(y_true, y_pred, pos_label=1),
        Specificity: skm.recall_score(y_true, y_pred, pos_label=0),
    }
    for metric, value in expected.items():
        assert metric().evaluate(y_true, y_score) == pytest.approx(value, abs=1e-12), metric


def test_threshold_is_inclusive() -> None:
    assert Sensitivity().evaluate(np.array([1]), np.array([THRESHOLD])) == 1.0


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_gives_nan_where_undefined(label: int) -> None:
    y_true = np.full(10, label)
    y_score = np.linspace(0, 1, 10)
    assert math.isnan(AUROC().evaluate(y_true, y_score))
    undefined = Specificity if label == 1 else Sensitivity
    assert math.isnan(undefined().evaluate(y_true, y_score))
    assert math.isfinite(Accuracy().evaluate(y_true, y_score))


def test_f1_nan_without_any_af() -> None:
    assert math.isnan(F1AF().evaluate(np.zeros(5), np.zeros(5)))


@pytest.mark.parametrize(
    ("y_true", "y_score", "message"),
    [
        (np.array([0, 1]), np.array([0.1]), "2 labels"),
        (np.array([0, 2]), np.array([0.1, 0.2]), "0/1 labels"),
        (np.array([0, 1]), np.array([0.1, np.nan]), "non-finite"),
    ],
)
def test_bad_input_names_the_problem(y_true: np.ndarray, y_score: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Accuracy().evaluate(y_true, y_score)
