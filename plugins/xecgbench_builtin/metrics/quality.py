"""Explanation quality beyond alignment: faithfulness, robustness, randomisation, complexity.

The model-based metrics run the installed Quantus 0.6 metrics on 1D inputs ``(N, 1, T)``
with ``channel_first=True``, seeded with ``batch.seed`` (see
:mod:`xecgbench_builtin.metrics.quantus_backend`). Their parameters are rescaled from Quantus'
image defaults to single-lead ECG windows; each class documents its choices. Complexity
metrics are vectorised in numpy and equal Quantus' on the same inputs.

Samples whose attribution is non-finite or all zero score NaN: there is no explanation to
evaluate (and Quantus refuses all-zero attributions).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from xecgbench.api import (
    ExplanationBatch,
    ExplanationMetric,
    MetricInfo,
    SanityCheck,
)

BACKENDS: tuple[str, ...] = ("vectorised", "quantus")
_MODEL = frozenset({"model"})
_MODEL_AND_EXPLAINER = frozenset({"model", "explainer"})
#: The ExplanationBatch field behind each ``requires`` entry.
_BATCH_FIELD = {"model": "model", "explainer": "explain", "mask": "mask"}


def _defined_rows(attributions: np.ndarray) -> np.ndarray:
    """Samples with a finite, not-all-zero attribution."""
    flat = np.asarray(attributions, dtype=np.float64).reshape(len(attributions), -1)
    return np.isfinite(flat).all(-1) & (np.abs(np.nan_to_num(flat)).max(-1) > 0)


def nearest_divisor(length: int, steps: int) -> int:
    """The divisor of ``length`` closest to ``length / steps`` (PixelFlipping's step size must
    divide the window length)."""
    target = length / steps
    divisors = [d for d in range(1, length + 1) if length % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), d))


class QuantusQualityMetric:
    """Runs one Quantus class on the defined samples of a batch and reduces each result."""

    info: ClassVar[MetricInfo]
    costly: ClassVar[bool] = True
    quantus_class: ClassVar[str]

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        """Constructor kwargs of the Quantus metric for windows of ``length`` samples."""
        raise NotImplementedError

    def reduce(self, result: Any) -> float:
        """One sample's Quantus result as a scalar."""
        return float(result)

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        """Per-sample scores ``(N,)``; NaN for undefined attributions or refused samples."""
        from xecgbench_builtin.metrics.quantus_backend import quality_scores

        missing = sorted(
            _BATCH_FIELD[need]
            for need in self.info.requires
            if getattr(batch, _BATCH_FIELD[need]) is None
        )
        if missing:
            raise ValueError(f"metric {self.info.name!r} needs batch.{', batch.'.join(missing)}")
        scores = np.full(len(batch.x), np.nan)
        defined = np.flatnonzero(_defined_rows(batch.attributions))
        if defined.size == 0:
            return scores
        subset = dataclasses.replace(
            batch,
            x=batch.x[defined],
            y=batch.y[defined],
            target=batch.target[defined],
            attributions=batch.attributions[defined],
        )
        length = int(np.prod(np.shape(batch.x)[1:]))
        results = quality_scores(
            self.quantus_class, self.quantus_params(length, batch.seed), subset
        )
        scores[defined] = [np.nan if r is None else self.reduce(r) for r in results]
        return scores


def _info(name: str, category: str, higher: bool, requires: frozenset[str]) -> MetricInfo:
    return MetricInfo(name, "1", category, higher_is_better=higher, requires=requires)


class PixelFlipping(QuantusQualityMetric):
    """Area under the class-probability curve as the most relevant samples are removed.

    Quantus' PixelFlipping (Bach et al. 2015): samples are replaced most relevant first.

    The curve has ``steps`` points (``features_in_step`` = the divisor of T nearest T/steps);
    the score is its trapezoidal area over x in [0, 1], so it is a mean probability: lower is
    more faithful (the prediction collapses sooner). Removed samples become the window mean
    (``perturb_baseline="mean"``), a neutral level for a single-lead ECG.
    """

    info = _info("pixel_flipping", "faithfulness", False, _MODEL)
    quantus_class = "PixelFlipping"

    def __init__(self, steps: int = 50, perturb_baseline: str = "mean") -> None:
        self.steps = steps
        self.perturb_baseline = perturb_baseline

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        return {
            "features_in_step": nearest_divisor(length, self.steps),
            "perturb_baseline": self.perturb_baseline,
            "return_auc_per_sample": False,  # its AUC calls np.trapz, gone in numpy 2
        }

    def reduce(self, result: Any) -> float:
        curve = np.asarray(result, dtype=np.float64)
        return float(np.trapezoid(curve, dx=1.0 / max(len(curve) - 1, 1)))


class FaithfulnessCorrelation(QuantusQualityMetric):
    """Correlation of subset relevance with the output drop when the subset is removed.

    Quantus' FaithfulnessCorrelation (Bhatt et al. 2020): Pearson correlation, over random
    sample subsets, between their summed relevance and the drop of the class output when they
    are replaced. Higher is more faithful.

    ``subset_fraction`` sets Quantus' ``subset_size`` (default 5 % of the window: 125 samples
    at T = 2500, where Quantus' image default is 224 pixels); ``nr_runs`` subsets per sample.
    """

    info = _info("faithfulness_correlation", "faithfulness", True, _MODEL)
    quantus_class = "FaithfulnessCorrelation"

    def __init__(
        self, nr_runs: int = 50, subset_fraction: float = 0.05, perturb_baseline: str = "mean"
    ) -> None:
        self.nr_runs = nr_runs
        self.subset_fraction = subset_fraction
        self.perturb_baseline = perturb_baseline

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        return {
            "nr_runs": self.nr_runs,
            "subset_size": max(2, round(self.subset_fraction * length)),
            "perturb_baseline": self.perturb_baseline,
            "return_aggregate": False,
        }


class _Sensitivity(QuantusQualityMetric):
    """Relative change of the explanation under uniform input noise (Yeh et al. 2019).

    Noise is drawn in ``[-noise, noise]`` (absolute, sized for signals min-max scaled to
    [0, 1]); ``nr_samples`` re-explanations per sample. Lower is more robust.
    """

    def __init__(self, nr_samples: int = 10, noise: float = 0.05) -> None:
        self.nr_samples = nr_samples
        self.noise = noise

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        return {"nr_samples": self.nr_samples, "lower_bound": self.noise}


class MaxSensitivity(_Sensitivity):
    """Largest relative explanation change over noise draws (Yeh et al. 2019); lower is better."""

    info = _info("max_sensitivity", "robustness", False, _MODEL_AND_EXPLAINER)
    quantus_class = "MaxSensitivity"


class AvgSensitivity(_Sensitivity):
    """Mean relative explanation change over noise draws (Yeh et al. 2019); lower is better."""

    info = _info("avg_sensitivity", "robustness", False, _MODEL_AND_EXPLAINER)
    quantus_class = "AvgSensitivity"


class MPRT(QuantusQualityMetric):
    """Similarity of explanations before and after randomising the model's weights.

    Model parameter randomisation test (Adebayo et al. 2018): Spearman correlation of
    ``|relevance|`` between the trained model and one whose layers are re-initialised top-down.

    ``reduction="last"`` (default) scores the fully randomised model; ``"mean"`` averages over
    the cascade (one re-explanation per layer). Lower similarity is better: an explanation that
    survives randomising the weights does not explain the model.
    """

    info = dataclasses.replace(
        _info("mprt", "randomisation", False, _MODEL_AND_EXPLAINER),
        sanity=SanityCheck(
            fail_above=0.5,  # Adebayo et al. 2018: still similar after randomisation
            column="MPRT sanity",
            description="similarity between the explanation of the trained and of the fully "
            "randomised model",
            failure="the explanation barely depends on the weights",
        ),
    )
    quantus_class = "MPRT"

    def __init__(self, reduction: str = "last", layer_order: str = "top_down") -> None:
        if reduction not in ("last", "mean"):
            raise ValueError(f"mprt: reduction must be 'last' or 'mean', got {reduction!r}")
        self.reduction = reduction
        self.layer_order = layer_order

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        last = self.reduction == "last"
        return {
            "layer_order": self.layer_order,
            "return_last_correlation": last,
            "return_average_correlation": not last,
            "skip_layers": last,
            "seed": seed,
        }


class RandomLogit(QuantusQualityMetric):
    """Similarity of the explanations of the target class and of the other class.

    Quantus' RandomLogit (Sixt et al. 2020) with Spearman correlation instead of its default
    SSIM, whose windows are designed for images. Lower is better (the explanation depends on
    the class).
    """

    info = _info("random_logit", "randomisation", False, _MODEL_AND_EXPLAINER)
    quantus_class = "RandomLogit"

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        from quantus.functions.similarity_func import correlation_spearman

        return {"num_classes": 2, "similarity_func": correlation_spearman, "seed": seed}


class ComplexityMetric:
    """Vectorised complexity of ``|relevance|`` normalised per sample.

    ``backend="quantus"`` calls the Quantus class one sample at a time (equal scores, tested).
    """

    info: ClassVar[MetricInfo]
    costly: ClassVar[bool] = False
    quantus_class: ClassVar[str]
    #: Whether :meth:`score` wants each row sorted ascending. The vectorised path then sorts
    #: before normalising, which gives the same values (dividing and adding are monotone) and
    #: the row maximum as the last column, sparing a pass over the batch.
    sorted_rows: ClassVar[bool] = False

    def __init__(self, backend: str = "vectorised") -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"metric {self.info.name!r}: unknown backend {backend!r}; valid: {BACKENDS}"
            )
        self.backend = backend

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        """Quantus' formula on ``(N, T)`` magnitudes divided by their per-sample maximum.

        Rows come sorted ascending where :attr:`sorted_rows` is set. ``magnitude`` is scratch:
        a score may overwrite it (saves a copy on the hot path).
        """
        raise NotImplementedError

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        a = np.asarray(batch.attributions)
        magnitude = np.abs(a.reshape(len(a), -1), dtype=_float_dtype(a))
        if self.sorted_rows and self.backend == "vectorised":
            magnitude.sort(axis=-1)  # NaN sorts last, so the last column is the max or NaN
            peak = magnitude[:, -1].copy()
        else:
            peak = magnitude.max(-1)  # NaN and inf propagate
        defined = np.isfinite(peak) & (peak > 0)
        magnitude[~defined] = 1
        if self.backend == "quantus":
            from xecgbench_builtin.metrics.quantus_backend import complexity_scores

            scores = complexity_scores(self.quantus_class, batch.x, magnitude, defined)
        else:  # in place: magnitude is this call's own copy
            magnitude /= np.where(defined, peak, 1)[:, None]
            scores = self.score(magnitude)
        scores = np.array(scores, dtype=np.float64)
        scores[~defined] = np.nan
        return scores


def _float_dtype(a: np.ndarray) -> type:
    """float32 stays float32 (as Quantus would compute), everything else becomes float64."""
    return np.float32 if a.dtype == np.float32 else np.float64


class Sparseness(ComplexityMetric):
    """Gini index of the relevance magnitude: 1 = one sample, 0 = uniform.

    Quantus' Sparseness (Chalasani et al. 2020), its ``+1e-7`` included. Higher is better
    (a concentrated, readable explanation).
    """

    info = _info("sparseness", "complexity", True, frozenset())
    quantus_class = "Sparseness"
    sorted_rows = True

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        magnitude += 1e-7  # Quantus adds it before sorting; the order is the same
        n_features = magnitude.shape[-1]
        weights = np.arange(1 - n_features, n_features, 2, dtype=np.float64)  # 2i - n - 1
        # float64 products as in Quantus; einsum casts in small buffers, where matmul would
        # first copy the whole float32 batch to float64
        weighted = np.einsum("ij,j->i", magnitude, weights)
        return weighted / (n_features * magnitude.sum(-1))


class Complexity(ComplexityMetric):
    """Entropy (nats) of the fractional contribution ``|r_i| / sum |r|``.

    Quantus' Complexity (Bhatt et al. 2020). Lower is better (relevance on fewer samples).
    """

    info = _info("complexity", "complexity", False, frozenset())
    quantus_class = "Complexity"

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        share = magnitude  # non-negative, so Quantus' np.abs before the sum is a no-op
        share /= share.sum(-1, keepdims=True)
        entropy_terms = share + 1e-12
        np.log(entropy_terms, out=entropy_terms)
        entropy_terms *= share
        return -entropy_terms.sum(-1)


QUALITY_METRICS: tuple[type[ExplanationMetric], ...] = (
    PixelFlipping,
    FaithfulnessCorrelation,
    MaxSensitivity,
    AvgSensitivity,
    MPRT,
    RandomLogit,
    Sparseness,
    Complexity,
)
