"""Relevance per beat interval by class, the per-sample input of the class × interval analysis.

After xFuseMap (the xECGArch group's fusion-map analysis): each window is cut into beat
intervals from its ``p_wave``, ``qrs`` and ``t_wave`` masks (see
:mod:`xecgbench_builtin.metrics.interval_profile`), and each interval's score is its **relevance
density share**, the mean positive relevance per sample of the interval divided by the sum of
these means over the intervals present, so interval lengths are normalised and a window's
shares sum to 1.

Intervals differ by class, because the atrial activity does:

- non-AF windows: ``P``, ``PQ`` (P offset to QRS onset), ``QRS``, ``ST``, ``T``, ``TP``;
- AF windows: ``F`` (the f-wave interval: the masks' ``p_wave`` of an AF window marks the
  expected atrial window before each QRS, not a P wave), ``QRS``, ``ST``, ``T``, ``TP``.
  ``P`` and ``PQ`` are **undefined** there (NaN, not zero), and the gap between the atrial
  window and the QRS is left out of the shares.

The metric returns one sub-score per class and interval, ``"<class>/<interval>"`` with class
``AF`` or ``non-AF``, NaN for windows of the other class; the class × interval statistics
(:mod:`xecgbench.report.stats.intervals`) and the leaderboard's ``interval-anova`` table read them.
Masks of the explained windows only: Q, R and S are not delineated separately, so the QRS
complex is one interval.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from xecgbench.api import ExplanationBatch, MetricInfo
from xecgbench_builtin.metrics.interval_profile import (
    interval_labels,
    interval_shares,
    masked_relevance,
    wave_codes,
)

#: Interval names per class, in beat order.
CLASS_INTERVALS: dict[str, tuple[str, ...]] = {
    "non-AF": ("P", "PQ", "QRS", "ST", "T", "TP"),
    "AF": ("F", "QRS", "ST", "T", "TP"),
}
#: Our interval name -> interval_profile's label it is read from.
_SOURCE = {"P": "P", "F": "P", "PQ": "PR", "QRS": "QRS", "ST": "ST", "T": "T", "TP": "TP"}
_REQUIRED_MASKS: tuple[str, ...] = ("p_wave", "qrs", "t_wave")


def class_interval_shares(
    relevance: np.ndarray, masks: dict[str, np.ndarray], is_af: np.ndarray
) -> dict[str, np.ndarray]:
    """``"<class>/<interval>"`` -> ``(N,)`` density share; NaN for the other class's windows."""
    n = len(relevance)
    relevance = np.asarray(relevance, dtype=np.float64).reshape(n, -1)
    labels = interval_labels(wave_codes(*(masks[m] for m in _REQUIRED_MASKS)))
    labels["PR"] = labels["PR"] & ~is_af[:, None]  # no PQ interval without P waves
    shares = interval_shares(relevance, labels)
    out = {}
    for cls, intervals in CLASS_INTERVALS.items():
        member = is_af if cls == "AF" else ~is_af
        for interval in intervals:
            out[f"{cls}/{interval}"] = np.where(member, shares[_SOURCE[interval]], np.nan)
    return out


class IntervalAnova:
    """Relevance density share per beat interval and class, per sample (see module docstring).

    Descriptive per sample; the statistics (class × interval mixed model, post-hoc tests) are
    computed over seeds and records when the leaderboard is built.
    """

    info: ClassVar[MetricInfo] = MetricInfo(
        "interval_anova", "1", "interval_anova", higher_is_better=True
    )
    costly: ClassVar[bool] = False

    def evaluate_batch(self, batch: ExplanationBatch) -> dict[str, np.ndarray]:
        relevance, finite = masked_relevance(batch, self.info.name)
        is_af = np.asarray(batch.y).reshape(-1).astype(int) == 1
        shares = class_interval_shares(relevance, dict(batch.masks), is_af)
        for values in shares.values():
            values[~finite] = np.nan
        return shares
