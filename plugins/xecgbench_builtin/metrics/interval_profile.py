"""Relevance per beat interval, after the xECGArch group's beat-interval analysis.

Each window is cut into six interval types from its ``p_wave``, ``qrs`` and ``t_wave`` masks:

- ``P``, ``QRS``, ``T``: the mask samples themselves (where masks overlap, QRS wins over P
  and P over T);
- ``PR``: samples after a P wave and before the next QRS complex;
- ``ST``: samples after a QRS complex and before the next T wave;
- ``TP``: samples after a T wave and before the next P wave.

Other gaps (e.g. T wave followed directly by a QRS, or the stretches before the first and after
the last wave of the window) belong to no interval. With ``r⁺`` the relevance clipped at zero,
the score of interval ``I`` is its **relevance density share**

    share_I = mean_{t in I} r⁺(t) / sum_J mean_{t in J} r⁺(t)

pooled over all beats of the window, the sum running over the interval types present in it.
Dividing by interval length keeps long intervals (TP) from winning by size alone; the shares of
a window sum to 1. An interval type absent from a window scores NaN there; so do all six when
the attribution is non-finite or has no positive relevance inside any interval.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from xecgbench.api import ExplanationBatch, MetricInfo
from xecgbench_builtin.metrics.localisation import positive_relevance

INTERVALS: tuple[str, ...] = ("P", "PR", "QRS", "ST", "T", "TP")
_P, _QRS, _T = 1, 2, 3
#: Gaps between waves, keyed by (previous wave, next wave).
_GAPS: dict[tuple[int, int], str] = {(_P, _QRS): "PR", (_QRS, _T): "ST", (_T, _P): "TP"}
_WAVES: dict[str, int] = {"P": _P, "QRS": _QRS, "T": _T}
_REQUIRED_MASKS: tuple[str, ...] = ("p_wave", "qrs", "t_wave")


def wave_codes(p_wave: np.ndarray, qrs: np.ndarray, t_wave: np.ndarray) -> np.ndarray:
    """``(N, T)`` int8: 1 = P, 2 = QRS, 3 = T, 0 = no wave."""
    n = len(qrs)
    codes = np.zeros(np.asarray(qrs).reshape(n, -1).shape, dtype=np.int8)
    for code, mask in ((_T, t_wave), (_P, p_wave), (_QRS, qrs)):  # later ones win overlaps
        codes[np.asarray(mask).reshape(n, -1).astype(bool)] = code
    return codes


def _filled(codes: np.ndarray) -> np.ndarray:
    """Each sample's code of the most recent wave at or before it (0 before the first)."""
    positions = np.where(codes > 0, np.arange(codes.shape[-1]), -1)
    last = np.maximum.accumulate(positions, axis=-1)
    return np.where(last >= 0, np.take_along_axis(codes, np.maximum(last, 0), -1), 0)


def interval_labels(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean ``(N, T)`` membership of each interval type, from :func:`wave_codes`."""
    previous = _filled(codes)
    following = _filled(codes[:, ::-1])[:, ::-1]
    gap = codes == 0
    labels = {name: codes == code for name, code in _WAVES.items()}
    for (before, after), name in _GAPS.items():
        labels[name] = gap & (previous == before) & (following == after)
    return {name: labels[name] for name in INTERVALS}


def interval_shares(relevance: np.ndarray, labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Relevance density share per interval (see module docstring) of ``(N, T)`` relevance."""
    density = {}
    for name in INTERVALS:
        length = labels[name].sum(-1)
        total = (relevance * labels[name]).sum(-1)
        density[name] = np.divide(total, length, out=np.full(len(total), np.nan), where=length > 0)
    stacked = np.stack([density[name] for name in INTERVALS])
    denominator = np.nansum(stacked, axis=0)
    denominator = np.where(denominator > 0, denominator, np.nan)
    return {name: density[name] / denominator for name in INTERVALS}


def masked_relevance(batch: ExplanationBatch, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Positive relevance ``(N, T)`` with non-finite rows zeroed, and which rows were finite.

    Checks first that ``batch.masks`` holds the P, QRS and T masks in the attributions' shape,
    naming ``metric`` in the error.
    """
    missing = [name for name in _REQUIRED_MASKS if name not in batch.masks]
    if missing:
        raise ValueError(
            f"metric {metric!r} needs batch.masks {list(_REQUIRED_MASKS)}; missing {missing}"
        )
    shape = np.shape(batch.attributions)
    for name in _REQUIRED_MASKS:
        if np.shape(batch.masks[name]) != shape:
            raise ValueError(
                f"metric {metric!r}: mask {name!r} has shape "
                f"{np.shape(batch.masks[name])}, attributions {shape}"
            )
    relevance = positive_relevance(batch.attributions)
    finite = np.isfinite(relevance).reshape(len(relevance), -1).all(-1)
    relevance[~finite] = 0.0
    return relevance, finite


class IntervalProfile:
    """Share of positive relevance per P, PR, QRS, ST, T and TP interval, per sample.

    Returns a mapping interval -> ``(N,)``; reads ``batch.masks`` (``p_wave``, ``qrs``,
    ``t_wave``) rather than the branch's paired ``batch.mask``. ``higher_is_better`` refers to
    the branch's own domain interval (P for morphology, QRS for rhythm); the profile as a whole
    is descriptive.
    """

    info: ClassVar[MetricInfo] = MetricInfo(
        "interval_profile", "1", "interval_profile", higher_is_better=True
    )
    costly: ClassVar[bool] = False

    def evaluate_batch(self, batch: ExplanationBatch) -> dict[str, np.ndarray]:
        relevance, finite = masked_relevance(batch, self.info.name)
        codes = wave_codes(*(batch.masks[name] for name in _REQUIRED_MASKS))
        shares = interval_shares(relevance, interval_labels(codes))
        for values in shares.values():
            values[~finite] = np.nan
        return shares
