"""Clinical alignment: how much of an explanation's positive relevance lands on a fiducial mask.

The six localisation metrics of Quantus 0.6, vectorised over the batch in numpy. Each formula
is Quantus' own (``quantus/metrics/localisation/*.py``), applied to inputs prepared one way
for both backends:

1. **Sign convention**: only positive relevance counts as evidence *for* the explained class,
   so negative relevance is clipped to 0 before anything else.
2. **Per-sample normalisation**: each sample is divided by its own maximum (Quantus'
   ``normalise_by_max`` applied to that sample alone). Quantus' default divides by the maximum
   of the whole batch, which makes a sample's score depend on its batch-mates.
3. **Undefined scores are NaN**, with a reason from :meth:`LocalisationMetric.undefined_reasons`:
   non-finite attributions, no positive relevance (all-zero or all-negative attributions,
   which Quantus refuses outright), an empty mask, and for ``AUC`` a mask covering the whole
   window. Quantus also refuses *constant* attributions; we score them with the same formula
   (a uniform attribution gets the mask fraction on ``RelevanceMassAccuracy``).

``backend="quantus"`` computes the same scores by calling the installed Quantus metrics one
sample at a time (see :mod:`xecgbench_builtin.quantus_backend`); tests hold the two equal.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.stats import rankdata

from xecgbench.components import ExplanationBatch, MetricInfo

BACKENDS: tuple[str, ...] = ("vectorised", "quantus")
#: Quantus' guard in ``AttributionLocalisation`` against a zero denominator.
_ATTRIBUTION_LOCALISATION_EPS = 1e-9


def positive_relevance(attributions: np.ndarray) -> np.ndarray:
    """``(N, T)`` float64 relevance with negatives clipped to 0 (NaN stays NaN)."""
    flat = np.asarray(attributions, dtype=np.float64).reshape(len(attributions), -1)
    return np.where(flat < 0, 0.0, flat)


def normalise_per_sample(relevance: np.ndarray) -> np.ndarray:
    """Divide each row by its maximum absolute value, as Quantus' ``normalise_by_max`` would
    for that sample alone; all-zero rows stay zero."""
    peak = np.abs(relevance).max(axis=-1, keepdims=True)
    return np.divide(relevance, peak, out=relevance.copy(), where=peak > 0)


def _flat_mask(mask: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(mask).astype(bool).reshape(n, -1)


class LocalisationMetric:
    """Shared preparation, validation and NaN handling of the mask-alignment metrics.

    Parameters
    ----------
    backend : ``"vectorised"`` (default, numpy over the batch) or ``"quantus"`` (the reference:
        the installed Quantus metric called one sample at a time).
    """

    info: ClassVar[MetricInfo]
    costly: ClassVar[bool] = False
    #: The Quantus class this metric reproduces.
    quantus_class: ClassVar[str]

    def __init__(self, backend: str = "vectorised") -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"metric {self.info.name!r}: unknown backend {backend!r}; "
                f"valid: {', '.join(BACKENDS)}"
            )
        self.backend = backend

    def quantus_params(self, n_samples: int) -> dict[str, Any]:
        """Constructor kwargs of the Quantus metric equal to this configuration."""
        return {}

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Vectorised Quantus formula on normalised ``(N, T)`` relevance and ``(N, T)`` mask."""
        raise NotImplementedError

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        """Per-sample scores ``(N,)``; NaN where :meth:`undefined_reasons` gives a reason."""
        relevance, mask = self._prepared(batch)
        undefined = np.array([reason is not None for reason in self._reasons(relevance, mask)])
        relevance = np.where(undefined[:, None], 0.0, relevance)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.backend == "quantus":
                from xecgbench_builtin.quantus_backend import localisation_scores

                scores = localisation_scores(self, batch.x, relevance, mask, ~undefined)
            else:
                scores = self.score(normalise_per_sample(relevance), mask)
        scores = np.array(scores, dtype=np.float64)
        scores[undefined] = np.nan
        return scores

    def undefined_reasons(self, batch: ExplanationBatch) -> list[str | None]:
        """Why each sample's score is NaN (``None`` where it is defined)."""
        return self._reasons(*self._prepared(batch))

    def _reasons(self, relevance: np.ndarray, mask: np.ndarray) -> list[str | None]:
        finite = np.isfinite(relevance).all(axis=-1)
        has_relevance = np.where(np.isfinite(relevance), relevance, 0).max(axis=-1) > 0
        mask_size = mask.sum(axis=-1)
        reasons: list[str | None] = []
        for i in range(len(relevance)):
            if not finite[i]:
                reasons.append("attribution has NaN or infinite values")
            elif not has_relevance[i]:
                reasons.append("attribution has no positive relevance")
            elif mask_size[i] == 0:
                reasons.append("mask is empty")
            else:
                reasons.append(self._metric_reason(int(mask_size[i]), mask.shape[-1]))
        return reasons

    def _metric_reason(self, mask_size: int, length: int) -> str | None:
        return None

    def _prepared(self, batch: ExplanationBatch) -> tuple[np.ndarray, np.ndarray]:
        if batch.mask is None:
            raise ValueError(f"metric {self.info.name!r} needs batch.mask, got None")
        n = len(batch.attributions)
        if np.shape(batch.mask) != np.shape(batch.attributions):
            raise ValueError(
                f"metric {self.info.name!r}: mask {batch.mask_name!r} has shape "
                f"{np.shape(batch.mask)}, attributions {np.shape(batch.attributions)}"
            )
        return positive_relevance(batch.attributions), _flat_mask(batch.mask, n)


def _info(name: str) -> MetricInfo:
    return MetricInfo(
        name, "1", "localisation", higher_is_better=True, requires=frozenset({"mask"})
    )


class RelevanceMassAccuracy(LocalisationMetric):
    """Share of positive relevance inside the mask (Arras et al. 2022)."""

    info = _info("relevance_mass_accuracy")
    quantus_class = "RelevanceMassAccuracy"

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return (relevance * mask).sum(-1) / relevance.sum(-1)


class RelevanceRankAccuracy(LocalisationMetric):
    """Share of the mask-sized top-ranked samples that fall inside the mask (Arras et al. 2022).

    Ties are ordered by ``np.argsort`` of the negated relevance, exactly as Quantus orders them.
    """

    info = _info("relevance_rank_accuracy")
    quantus_class = "RelevanceRankAccuracy"

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ranked_hits = np.take_along_axis(mask, np.argsort(-relevance, axis=-1), axis=-1)
        mask_size = mask.sum(-1, keepdims=True)
        in_top = np.arange(mask.shape[-1])[None, :] < mask_size
        return (ranked_hits & in_top).sum(-1) / mask_size[:, 0]


class AttributionLocalisation(LocalisationMetric):
    """Inside-mask share of relevance with Quantus' ``1e-9`` guard (Kohlbrenner et al. 2020)."""

    info = _info("attribution_localisation")
    quantus_class = "AttributionLocalisation"

    def quantus_params(self, n_samples: int) -> dict[str, Any]:
        return {"abs": True}  # a no-op on clipped relevance; silences Quantus' print about abs

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inside = (relevance * mask).sum(-1)
        ratio = inside / (relevance.sum(-1) + _ATTRIBUTION_LOCALISATION_EPS)
        return np.where(ratio > 1, np.nan, ratio)


class PointingGame(LocalisationMetric):
    """1 when a maximum of the relevance lies inside the mask, else 0 (Zhang et al. 2018)."""

    info = _info("pointing_game")
    quantus_class = "PointingGame"

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        at_max = relevance == relevance.max(-1, keepdims=True)
        return (at_max & mask).any(-1).astype(np.float64)


class TopKIntersection(LocalisationMetric):
    """Share of the ``k`` most relevant samples inside the mask (Theiner et al. 2021).

    Parameters
    ----------
    k_fraction : ``k`` as a fraction of the window length (default 0.05: the top 5 % of
        samples, 0.5 s of a 10 s window); Quantus' default ``k=1000`` is meant for images.
    k : an absolute ``k`` instead of ``k_fraction``.
    backend : see :class:`LocalisationMetric`.
    """

    info = _info("top_k_intersection")
    quantus_class = "TopKIntersection"

    def __init__(
        self, k_fraction: float = 0.05, k: int | None = None, backend: str = "vectorised"
    ) -> None:
        super().__init__(backend=backend)
        if k is None and not 0 < k_fraction < 1:
            raise ValueError(f"top_k_intersection: k_fraction must be in (0, 1), got {k_fraction}")
        if k is not None and k < 1:
            raise ValueError(f"top_k_intersection: k must be >= 1, got {k}")
        self.k_fraction = k_fraction
        self.k = k

    def resolved_k(self, length: int) -> int:
        """``k`` for windows of ``length`` samples (Quantus requires ``k < length``)."""
        k = self.k if self.k is not None else round(self.k_fraction * length)
        if not 1 <= k < length:
            raise ValueError(f"top_k_intersection: k={k} must be in [1, {length})")
        return k

    def quantus_params(self, n_samples: int) -> dict[str, Any]:
        return {"k": self.resolved_k(n_samples)}

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        k = self.resolved_k(mask.shape[-1])
        top_k = np.argsort(-relevance, axis=-1)[:, :k]
        return np.take_along_axis(mask, top_k, axis=-1).mean(-1)


class AUC(LocalisationMetric):
    """ROC AUC of relevance as a detector of mask samples (Fawcett 2006), ties counted half.

    Computed as the Mann-Whitney statistic on mid-ranks, which equals scikit-learn's
    trapezoidal ``auc(roc_curve(mask, relevance))`` that Quantus uses.
    """

    info = _info("auc")
    quantus_class = "AUC"

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ranks = rankdata(relevance, axis=-1)
        n_in = mask.sum(-1).astype(np.float64)
        n_out = mask.shape[-1] - n_in
        u_statistic = (ranks * mask).sum(-1) - n_in * (n_in + 1) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            return u_statistic / (n_in * n_out)

    def _metric_reason(self, mask_size: int, length: int) -> str | None:
        return "mask covers the whole window" if mask_size == length else None


LOCALISATION_METRICS: tuple[type[LocalisationMetric], ...] = (
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    AttributionLocalisation,
    PointingGame,
    TopKIntersection,
    AUC,
)
