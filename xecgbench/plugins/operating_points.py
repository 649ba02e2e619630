"""Operating points chosen on validation records, never on the test split.

A threshold tuned on the windows it is then scored on flatters every thresholded metric. The
evaluate stage therefore predicts the fine-tuning stage's own validation records (the held-out
training records early stopping used) and picks thresholds there, with the two rules below;
accuracy metrics that declare ``requires={"validation"}`` receive those predictions, and the
report recomputes the same thresholds from the stored validation probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The specificity the "sensitivity at fixed specificity" operating point holds on validation.
TARGET_SPECIFICITY = 0.95


@dataclass(frozen=True)
class ValidationScores:
    """Labels (1 = AF) and AF probabilities of the validation windows of one model branch."""

    labels: np.ndarray
    scores: np.ndarray


def _between(low: float, values: np.ndarray) -> float:
    """Midway from ``low`` to the next larger value in ``values`` (just above ``low`` if none):
    every threshold in that gap calls the same windows, the midpoint is the widest margin."""
    above = values[values > low]
    return float((low + above.min()) / 2) if above.size else float(np.nextafter(low, np.inf))


def f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold (AF when p ≥ t) maximising the F1 of AF on these windows; NaN without AF.

    Among equally good thresholds the highest wins (the fewest AF calls).
    """
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not labels.any():
        return float("nan")
    candidates = np.unique(scores)[::-1]  # descending: AF called for p >= candidate
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    called = np.searchsorted(-sorted_scores, -candidates, side="right")  # windows with p >= c
    true_pos = np.concatenate([[0], np.cumsum(sorted_labels)])[called]
    f1 = 2 * true_pos / (called + labels.sum())
    best = candidates[int(np.argmax(f1))]
    below = scores[scores < best]
    return float((best + below.max()) / 2) if below.size else float(best)


def specificity_threshold(labels: np.ndarray, scores: np.ndarray,
                          specificity: float = TARGET_SPECIFICITY) -> float:
    """A threshold at which at least ``specificity`` of non-AF windows score below it.

    Midway between the non-AF score that reaches the target and the next higher one (the
    lowest threshold that holds the target, plus the widest margin); NaN without non-AF windows.
    """
    labels = np.asarray(labels).reshape(-1).astype(bool)
    negatives = np.sort(np.asarray(scores, dtype=np.float64).reshape(-1)[~labels])
    if negatives.size == 0:
        return float("nan")
    needed = int(np.ceil(specificity * negatives.size - 1e-9))
    if needed == 0:
        return float(negatives[0])
    return _between(float(negatives[needed - 1]), negatives)
