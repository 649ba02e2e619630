"""Explanation quality beyond alignment: faithfulness, robustness, randomisation, complexity.

The model-based metrics run the installed Quantus 0.6 metrics on 1D inputs ``(N, 1, T)``
with ``channel_first=True``, seeded with ``batch.seed`` (see
:mod:`xecgbench_builtin.quantus_backend`). Their parameters are rescaled from Quantus'
image defaults to single-lead ECG windows; each class documents its choices. Complexity
metrics are vectorised in numpy and equal Quantus' on the same inputs.

Samples whose attribution is non-finite or all zero score NaN: there is no explanation to
evaluate (and Quantus refuses all-zero attributions).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from xecgbench.components import ExplanationBatch, MetricInfo

BACKENDS: tuple[str, ...] = ("vectorised", "quantus")
_MODEL = frozenset({"model"})
_MODEL_AND_EXPLAINER = frozenset({"model", "explainer"})


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
        from xecgbench_builtin.quantus_backend import quality_scores

        missing = [r for r in self.info.requires if getattr(batch, _FIELD[r]) is None]
        if missing:
            raise ValueError(f"metric {self.info.name!r} needs batch.{_FIELD[missing[0]]}")
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


_FIELD = {"model": "model", "explainer": "explain", "mask": "mask"}


def _info(name: str, category: str, higher: bool, requires: frozenset[str]) -> MetricInfo:
    return MetricInfo(name, "1", category, higher_is_better=higher, requires=requires)


class PixelFlipping(QuantusQualityMetric):
    """Class probability while the most relevant samples are replaced, most relevant first
    (Bach et al. 2015), reduced to the area under that curve.

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
    """Pearson correlation between the relevance of random sample subsets and the drop of the
    class output when they are replaced (Bhatt et al. 2020); higher is more faithful.

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
    """Change of the explanation under uniform input noise in ``[-noise, noise]``, relative to
    its norm (Yeh et al. 2019); lower is more robust. ``nr_samples`` re-explanations per sample;
    ``noise`` is absolute, sized for signals min-max scaled to [0, 1]."""

    def __init__(self, nr_samples: int = 10, noise: float = 0.05) -> None:
        self.nr_samples = nr_samples
        self.noise = noise

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        return {"nr_samples": self.nr_samples, "lower_bound": self.noise}


class MaxSensitivity(_Sensitivity):
    __doc__ = "Maximum over noise draws. " + (_Sensitivity.__doc__ or "")
    info = _info("max_sensitivity", "robustness", False, _MODEL_AND_EXPLAINER)
    quantus_class = "MaxSensitivity"


class AvgSensitivity(_Sensitivity):
    __doc__ = "Mean over noise draws. " + (_Sensitivity.__doc__ or "")
    info = _info("avg_sensitivity", "robustness", False, _MODEL_AND_EXPLAINER)
    quantus_class = "AvgSensitivity"


class MPRT(QuantusQualityMetric):
    """Model parameter randomisation test (Adebayo et al. 2018): Spearman correlation of
    ``|relevance|`` between the trained model and one whose layers are re-initialised top-down.

    ``reduction="last"`` (default) scores the fully randomised model; ``"mean"`` averages over
    the cascade (one re-explanation per layer). Lower similarity is better: an explanation that
    survives randomising the weights does not explain the model.
    """

    info = _info("mprt", "randomisation", False, _MODEL_AND_EXPLAINER)
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
    """Spearman correlation between the explanation of the target class and of the other
    class (Sixt et al. 2020); lower is better (the explanation depends on the class).
    Spearman replaces Quantus' default SSIM, whose windows are designed for images."""

    info = _info("random_logit", "randomisation", False, _MODEL_AND_EXPLAINER)
    quantus_class = "RandomLogit"

    def quantus_params(self, length: int, seed: int) -> dict[str, Any]:
        from quantus.functions.similarity_func import correlation_spearman

        return {"num_classes": 2, "similarity_func": correlation_spearman, "seed": seed}


class ComplexityMetric:
    """Vectorised complexity of ``|relevance|`` normalised per sample; ``backend="quantus"``
    calls the Quantus class one sample at a time (equal scores, tested)."""

    info: ClassVar[MetricInfo]
    costly: ClassVar[bool] = False
    quantus_class: ClassVar[str]

    def __init__(self, backend: str = "vectorised") -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"metric {self.info.name!r}: unknown backend {backend!r}; valid: {BACKENDS}"
            )
        self.backend = backend

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        """Quantus' formula on ``(N, T)`` magnitudes divided by their per-sample maximum."""
        raise NotImplementedError

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        n = len(batch.attributions)
        defined = _defined_rows(batch.attributions)
        magnitude = np.abs(np.asarray(batch.attributions, dtype=np.float64).reshape(n, -1))
        magnitude[~defined] = 1.0
        if self.backend == "quantus":
            from xecgbench_builtin.quantus_backend import complexity_scores

            scores = complexity_scores(self.quantus_class, batch.x, magnitude, defined)
        else:
            scores = self.score(magnitude / magnitude.max(-1, keepdims=True))
        scores = np.array(scores, dtype=np.float64)
        scores[~defined] = np.nan
        return scores


class Sparseness(ComplexityMetric):
    """Gini index of ``|relevance|`` (Chalasani et al. 2020), Quantus' ``+1e-7`` included;
    1 = all relevance on one sample, 0 = uniform. Higher is better (a readable explanation)."""

    info = _info("sparseness", "complexity", True, frozenset())
    quantus_class = "Sparseness"

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        ordered = np.sort(magnitude + 1e-7, axis=-1)
        n_features = ordered.shape[-1]
        weights = 2 * np.arange(1, n_features + 1) - n_features - 1
        return (weights * ordered).sum(-1) / (n_features * ordered.sum(-1))


class Complexity(ComplexityMetric):
    """Entropy of the fractional contribution ``|r_i| / sum |r|`` (Bhatt et al. 2020), in nats;
    lower is better (relevance on fewer samples)."""

    info = _info("complexity", "complexity", False, frozenset())
    quantus_class = "Complexity"

    def score(self, magnitude: np.ndarray) -> np.ndarray:
        share = magnitude / np.abs(magnitude).sum(-1, keepdims=True)
        return -(share * np.log(share + 1e-12)).sum(-1)


QUALITY_METRICS: tuple[type, ...] = (
    PixelFlipping,
    FaithfulnessCorrelation,
    MaxSensitivity,
    AvgSensitivity,
    MPRT,
    RandomLogit,
    Sparseness,
    Complexity,
)
