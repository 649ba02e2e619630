"""Classification metrics of the AF detector, computed from AF probabilities.

Every metric takes ``y_true`` (1 = AF, 0 = not AF) and ``y_score`` (the AF probability) and
thresholds at :data:`THRESHOLD` where it needs hard labels, except the ``*_val`` metrics and
``sensitivity_at_95_specificity``: they choose their threshold on the validation records'
predictions (``requires={"validation"}``), never on the test windows. AF is the positive class, so
sensitivity is the AF recall and specificity the non-AF recall. Metrics undefined on the
given labels (AUROC with one class present, sensitivity without AF windows, ...) return NaN
instead of raising, so one degenerate test split never crashes a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from xecgbench.api import (
    AccuracyMetric,
    MetricInfo,
    ValidationScores,
    f1_threshold,
    specificity_threshold,
)

#: A window is predicted AF when its AF probability is at least this.
THRESHOLD = 0.5


def _checked(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat ``(labels, probabilities)``; raises on shape, label or probability problems."""
    y_true = np.asarray(y_true).reshape(-1)
    y_score = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_score {y_score.size} scores")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"y_true must hold 0/1 labels, got values {np.unique(y_true)[:5]}")
    if not np.isfinite(y_score).all():
        raise ValueError("y_score holds non-finite AF probabilities")
    return y_true.astype(np.int64), y_score


def _predicted(y_score: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    return (y_score >= threshold).astype(np.int64)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


class Accuracy:
    """Fraction of windows classified correctly at the 0.5 threshold."""

    info: ClassVar[MetricInfo] = MetricInfo("accuracy", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        y_true, y_score = _checked(y_true, y_score)
        return _ratio(float((_predicted(y_score) == y_true).sum()), y_true.size)


def _sensitivity(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> float:
    if not np.isfinite(threshold):  # no operating point (e.g. no AF validation window)
        return float("nan")
    positive = y_true == 1
    return _ratio(float(_predicted(y_score, threshold)[positive].sum()), positive.sum())


def _specificity(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> float:
    if not np.isfinite(threshold):
        return float("nan")
    negative = y_true == 0
    return _ratio(float((_predicted(y_score, threshold)[negative] == 0).sum()), negative.sum())


def _balanced(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> float:
    return float(np.mean([_sensitivity(y_true, y_score, threshold),
                          _specificity(y_true, y_score, threshold)]))


def _f1(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> float:
    if not np.isfinite(threshold):
        return float("nan")
    predicted = _predicted(y_score, threshold)
    true_positives = float(((predicted == 1) & (y_true == 1)).sum())
    return _ratio(2 * true_positives, float(predicted.sum() + y_true.sum()))


def _threshold(rule: Callable[[np.ndarray, np.ndarray], float],
               validation: ValidationScores | None) -> float:
    """The rule's threshold on the validation predictions (NaN where none were given)."""
    if validation is None:
        return float("nan")
    labels, scores = _checked(validation.labels, validation.scores)
    return rule(labels, scores)


class Sensitivity:
    """AF recall: true positives / AF windows (NaN without AF windows)."""

    info: ClassVar[MetricInfo] = MetricInfo("sensitivity", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return _sensitivity(*_checked(y_true, y_score), THRESHOLD)


class Specificity:
    """Non-AF recall: true negatives / non-AF windows (NaN without non-AF windows)."""

    info: ClassVar[MetricInfo] = MetricInfo("specificity", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return _specificity(*_checked(y_true, y_score), THRESHOLD)


class BalancedAccuracy:
    """Mean of sensitivity and specificity; the class-imbalance-robust accuracy."""

    info: ClassVar[MetricInfo] = MetricInfo(
        "balanced_accuracy", "1", "accuracy", higher_is_better=True
    )

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return _balanced(*_checked(y_true, y_score), THRESHOLD)


class F1AF:
    """F1 score of the AF class (NaN when there is neither an AF window nor an AF call)."""

    info: ClassVar[MetricInfo] = MetricInfo("f1_af", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return _f1(*_checked(y_true, y_score), THRESHOLD)


class F1AFValidation:
    """F1 of AF at the threshold that maximises it on the validation records (NaN without)."""

    info: ClassVar[MetricInfo] = MetricInfo(
        "f1_af_val", "1", "accuracy", higher_is_better=True, requires=frozenset({"validation"})
    )

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray,
                 validation: ValidationScores | None = None) -> float:
        return _f1(*_checked(y_true, y_score), _threshold(f1_threshold, validation))


class BalancedAccuracyValidation:
    """Balanced accuracy at the validation records' F1-maximising threshold (as ``f1_af_val``)."""

    info: ClassVar[MetricInfo] = MetricInfo(
        "balanced_accuracy_val", "1", "accuracy", higher_is_better=True,
        requires=frozenset({"validation"}),
    )

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray,
                 validation: ValidationScores | None = None) -> float:
        return _balanced(*_checked(y_true, y_score), _threshold(f1_threshold, validation))


class SensitivityAt95Specificity:
    """Test sensitivity at the threshold giving 95 % specificity on the validation records."""

    info: ClassVar[MetricInfo] = MetricInfo(
        "sensitivity_at_95_specificity", "1", "accuracy", higher_is_better=True,
        requires=frozenset({"validation"}),
    )

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray,
                 validation: ValidationScores | None = None) -> float:
        return _sensitivity(*_checked(y_true, y_score),
                            _threshold(specificity_threshold, validation))


class AUPRC:
    """Area under the precision-recall curve of AF (average precision; NaN without AF).

    Its chance level is the AF prevalence of the scored windows, not 0.5: read it beside it.
    """

    info: ClassVar[MetricInfo] = MetricInfo("auprc", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        from sklearn.metrics import average_precision_score

        y_true, y_score = _checked(y_true, y_score)
        if not y_true.any():
            return float("nan")
        return float(average_precision_score(y_true, y_score))


class AUROC:
    """Area under the ROC curve of the AF probability (NaN when one class is absent)."""

    info: ClassVar[MetricInfo] = MetricInfo("auroc", "1", "accuracy", higher_is_better=True)

    def evaluate(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        from sklearn.metrics import roc_auc_score

        y_true, y_score = _checked(y_true, y_score)
        if np.unique(y_true).size < 2:
            return float("nan")
        return float(roc_auc_score(y_true, y_score))


ACCURACY_METRICS: tuple[type[AccuracyMetric], ...] = (
    Accuracy,
    BalancedAccuracy,
    F1AF,
    AUROC,
    Sensitivity,
    Specificity,
    AUPRC,
    F1AFValidation,
    BalancedAccuracyValidation,
    SensitivityAt95Specificity,
)
