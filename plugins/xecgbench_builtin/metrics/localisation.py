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
sample at a time (see :mod:`xecgbench_builtin.metrics.quantus_backend`); tests hold the two equal.

Long because the six metrics share the vectorised kernels (partial selection, bit-counted
masks, the in-place Mann-Whitney U) that make them Quantus-equal and fast.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from xecgbench.api import ExplanationBatch, MetricInfo

BACKENDS: tuple[str, ...] = ("vectorised", "quantus")
#: Quantus' guard in ``AttributionLocalisation`` against a zero denominator.
_ATTRIBUTION_LOCALISATION_EPS = 1e-9


def positive_relevance(attributions: np.ndarray) -> np.ndarray:
    """``(N, T)`` relevance with negatives clipped to 0 (NaN stays NaN).

    float32 and float64 are kept as they are, so both backends see the same numbers; other
    dtypes become float64.
    """
    a = np.asarray(attributions)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return np.maximum(a.reshape(len(a), -1), 0)


def _flat_mask(mask: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(mask, dtype=bool).reshape(n, -1)


def _row_counts(flags: np.ndarray) -> np.ndarray:
    """``True`` entries per row (int32), as a popcount of the bits packed eight to a byte.

    About 4x faster than ``flags.sum(-1)``, whose bool-to-int64 reduction is one of the larger
    costs of these metrics; the packing pads each row with zero bits, which count nothing.
    """
    return np.bitwise_count(np.packbits(flags, axis=-1)).sum(-1, dtype=np.int32)


def _top_set_hits(
    relevance: np.ndarray,
    mask: np.ndarray,
    kth_largest: np.ndarray,
    below_cut: np.ndarray,
    k: np.ndarray,
) -> np.ndarray:
    """Mask hits among each row's ``k >= 1`` largest values, in Quantus' ``argsort`` order.

    The top-``k`` set is ``relevance >= kth_largest`` unless ties straddle the cut, i.e. the
    largest value below the cut (``below_cut``, taken where ``k`` < the row length) equals the
    ``k``-th largest. Only those rows are sorted fully, so ties are broken exactly as
    ``np.argsort(-relevance)`` breaks them.
    """
    in_top = np.greater_equal(relevance, kth_largest[:, None])
    in_top &= mask
    hits = _row_counts(in_top)
    straddling = np.flatnonzero((k < mask.shape[-1]) & (below_cut == kth_largest))
    if straddling.size:
        order = np.argsort(-relevance[straddling], axis=-1)
        ranked = np.take_along_axis(mask[straddling], order, axis=-1)
        hits[straddling] = (ranked & (np.arange(mask.shape[-1]) < k[straddling, None])).sum(-1)
    return hits


#: Why a sample's score is undefined, by reason code (0 = defined).
REASONS: dict[int, str] = {
    1: "attribution has NaN or infinite values",
    2: "attribution has no positive relevance",
    3: "mask is empty",
    4: "mask covers the whole window",
}


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
    #: Whether a mask covering the whole window leaves the score undefined.
    needs_outside: ClassVar[bool] = False

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
        """Vectorised Quantus formula on normalised ``(N, T)`` relevance and ``(N, T)`` mask.

        ``relevance`` is scratch: a score may overwrite it (saves a copy on the hot path).
        """
        raise NotImplementedError

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        """Per-sample scores ``(N,)``; NaN where :meth:`undefined_reasons` gives a reason."""
        relevance, mask = self._prepared(batch)
        peak = relevance.max(-1)
        undefined = self._reason_codes(mask, peak) > 0
        if undefined.any():
            relevance[undefined] = 0
            peak[undefined] = 1
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.backend == "quantus":
                from xecgbench_builtin.metrics.quantus_backend import localisation_scores

                params = self.quantus_params(relevance.shape[-1])
                scores = localisation_scores(
                    self.quantus_class, params, batch.x, relevance, mask, ~undefined
                )
            else:  # Quantus' normalise_by_max, per sample (relevance is clipped, so max = max |.|)
                relevance /= peak[:, None]  # in place: relevance is this call's own copy
                scores = self.score(relevance, mask)
        scores = np.array(scores, dtype=np.float64)
        scores[undefined] = np.nan
        return scores

    def chance(self, batch: ExplanationBatch) -> np.ndarray:
        """Expected score of relevance placed at random on each window: the mask's share.

        (Uniform relevance gives exactly this for relevance mass; a random ranking or a random
        peak gives it in expectation for the rank, top-k, pointing-game and ratio metrics.)
        NaN where the mask is empty, as the score itself is.
        """
        assert batch.mask is not None  # info.requires "mask"
        mask = _flat_mask(batch.mask, len(batch.attributions))
        share = _row_counts(mask) / mask.shape[-1]
        return np.where(share > 0, share, np.nan)

    def undefined_reasons(self, batch: ExplanationBatch) -> list[str | None]:
        """Why each sample's score is NaN (``None`` where it is defined)."""
        relevance, mask = self._prepared(batch)
        codes = self._reason_codes(mask, relevance.max(-1))
        return [REASONS.get(int(code)) for code in codes]

    def _reason_codes(self, mask: np.ndarray, peak: np.ndarray) -> np.ndarray:
        """Per-sample code from :data:`REASONS` (the first that applies), 0 if defined.

        ``peak`` is the row maximum of the clipped relevance, whose only non-finite values are
        NaN and +inf (``-inf`` clips to 0): the maximum propagates NaN and is +inf if any value
        is, so it tells finiteness without another pass over the row.
        """
        finite = np.isfinite(peak)
        mask_size = _row_counts(mask)
        codes = np.zeros(len(peak), dtype=np.int8)
        if self.needs_outside:
            codes[mask_size == mask.shape[-1]] = 4
        codes[mask_size == 0] = 3
        codes[~(peak > 0)] = 2
        codes[~finite] = 1
        return codes

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
        mask_size = _row_counts(mask)  # 0 only on undefined rows, whose score is dropped
        ascending = np.sort(relevance, axis=-1)
        rows = np.arange(len(mask))
        cut = np.clip(mask.shape[-1] - mask_size, 0, mask.shape[-1] - 1)
        kth_largest, below_cut = ascending[rows, cut], ascending[rows, cut - 1]
        del ascending  # one N x T buffer less alive during the comparisons
        hits = _top_set_hits(relevance, mask, kth_largest, below_cut, mask_size)
        return hits / mask_size


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
        length = mask.shape[-1]
        k = self.resolved_k(length)
        partitioned = np.partition(relevance, length - k, axis=-1)
        kth_largest = partitioned[:, length - k]
        below_cut = partitioned[:, : length - k].max(-1)
        del partitioned
        return _top_set_hits(relevance, mask, kth_largest, below_cut, np.full(len(mask), k)) / k


class AUC(LocalisationMetric):
    """ROC AUC of relevance as a detector of mask samples (Fawcett 2006), ties counted half.

    Computed as the Mann-Whitney U statistic over (inside, outside) pairs, which equals the
    trapezoidal ``auc(roc_curve(mask, relevance))`` of scikit-learn that Quantus uses.
    """

    info = _info("auc")
    quantus_class = "AUC"
    needs_outside = True

    def score(self, relevance: np.ndarray, mask: np.ndarray) -> np.ndarray:
        n_in = _row_counts(mask).astype(np.float64)
        return _mann_whitney_u(relevance, mask) / (n_in * (mask.shape[-1] - n_in))

    def chance(self, batch: ExplanationBatch) -> np.ndarray:
        """A random detector's AUC: 0.5 wherever the mask has samples inside and outside."""
        share = super().chance(batch)
        return np.where((share > 0) & (share < 1), 0.5, np.nan)


def _mann_whitney_u(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row: pairs (inside, outside) with the inside value larger, ties counting half.

    Values (non-negative floats) become integer sort keys with the mask flag in the lowest bit.
    With outside samples sorted before equal inside ones, an inside sample's sorted position
    minus the inside samples before it counts outside values ``<=`` its own; with the flag
    inverted it counts ``<``. U is the mean of the two sums, which needs two plain sorts
    instead of an argsort and mid-ranks. Every step runs in place on two buffers, ``values``
    itself (scratch, overwritten) and one copy, since every extra ``N x T`` temporary costs
    fresh pages on this hot path: after the second sort the flag marks outside samples, so the
    inside positions sum to all positions minus the flagged ones.
    """
    unsigned: type[np.unsignedinteger[Any]] = np.uint32 if values.dtype == np.float32 else np.uint64
    one = unsigned(1)
    keys = values.view(unsigned)
    keys &= unsigned(np.iinfo(unsigned).max >> 1)  # -0.0 -> 0
    keys <<= one
    tagged = np.bitwise_or(keys, mask.view(np.uint8), dtype=unsigned)
    np.bitwise_xor(tagged, one, out=keys)  # the same keys with the mask flag inverted
    position = np.arange(mask.shape[-1], dtype=unsigned)
    for buffer in (tagged, keys):
        buffer.sort(axis=-1)
        buffer &= one
        buffer *= position
    n_in = _row_counts(mask)
    inside_positions = tagged.sum(-1) + (position.sum() - keys.sum(-1))
    return (inside_positions - n_in * (n_in - 1.0)) / 2


LOCALISATION_METRICS: tuple[type[LocalisationMetric], ...] = (
    RelevanceMassAccuracy,
    RelevanceRankAccuracy,
    AttributionLocalisation,
    PointingGame,
    TopKIntersection,
    AUC,
)
