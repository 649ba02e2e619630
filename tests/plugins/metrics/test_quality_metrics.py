"""Explanation quality on tiny 1D models: Quantus runs, sanity cases, complexity equality."""

from __future__ import annotations

import numpy as np
import pytest
import quantus
import torch
from quality_fixtures import N, T
from quality_fixtures import conv_net as _conv_net
from quality_fixtures import saliency as _saliency
from torch import nn

from xecgbench.plugins.components import ExplanationBatch
from xecgbench_builtin.metrics.quality import (
    MPRT,
    QUALITY_METRICS,
    AvgSensitivity,
    Complexity,
    ComplexityMetric,
    FaithfulnessCorrelation,
    MaxSensitivity,
    PixelFlipping,
    RandomLogit,
    Sparseness,
    nearest_divisor,
)


def _signals(n: int = N) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 4 * np.pi, T)
    return (0.5 + 0.3 * np.sin(t)[None, None] + 0.1 * rng.standard_normal((n, 1, T))).astype(
        np.float32
    )


def _batch(model: nn.Module, explain, x: np.ndarray, seed: int = 0) -> ExplanationBatch:
    target = np.arange(len(x)) % 2
    a = explain(torch.as_tensor(x), torch.as_tensor(target)).detach().numpy()
    return ExplanationBatch(
        x=x, y=target, target=target, attributions=a, fs=60.0, seed=seed, model=model,
        explain=explain,
    )  # fmt: skip


@pytest.fixture(scope="module")
def conv_batch() -> ExplanationBatch:
    model = _conv_net()
    return _batch(model, _saliency(model), _signals())


def test_declared_contract() -> None:
    for metric in QUALITY_METRICS:
        assert metric.info.category in {"faithfulness", "robustness", "randomisation", "complexity"}
        assert metric.info.requires <= {"model", "explainer"}
        assert metric.costly == (metric.info.category != "complexity")


@pytest.mark.parametrize(
    "metric",
    [PixelFlipping(), FaithfulnessCorrelation(nr_runs=10), MaxSensitivity(nr_samples=3),
     AvgSensitivity(nr_samples=3), MPRT(), MPRT(reduction="mean"), RandomLogit()],
    ids=lambda m: f"{m.info.name}-{getattr(m, 'reduction', '')}",
)  # fmt: skip
def test_quantus_metrics_run_on_1d_and_are_deterministic(metric, conv_batch) -> None:
    first = metric.evaluate_batch(conv_batch)
    assert first.shape == (N,) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, metric.evaluate_batch(conv_batch))


def test_re_explaining_leaves_the_model_unchanged(conv_batch) -> None:
    before = {k: v.clone() for k, v in conv_batch.model.state_dict().items()}
    MPRT(reduction="mean").evaluate_batch(conv_batch)
    for key, value in conv_batch.model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_mprt_randomised_model_breaks_gradient_explanations(conv_batch) -> None:
    """Saliency depends on the weights, so randomising them must decorrelate it; an
    'explanation' that ignores the model (the input itself) must survive randomisation."""
    saliency_similarity = MPRT().evaluate_batch(conv_batch)
    assert np.mean(saliency_similarity) < 0.5

    def model_blind(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return x.clone() - x.mean()

    blind = _batch(conv_batch.model, model_blind, conv_batch.x)
    assert np.mean(MPRT().evaluate_batch(blind)) > 0.99


def test_faithfulness_orders_a_linear_model_explanation() -> None:
    """For a linear model the exact contribution w * (x - baseline) is the most faithful
    explanation: its pixel-flipping curve falls faster than that of its negation."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(T, 2)).eval()
    x = _signals()
    w = (model[1].weight[1] - model[1].weight[0]).detach().numpy()
    sign = np.where(np.arange(N) % 2 == 1, 1.0, -1.0)[:, None, None]
    exact = (sign * w * (x - x.mean(axis=-1, keepdims=True))).astype(np.float32)
    target = np.arange(N) % 2
    faithful = ExplanationBatch(
        x=x, y=target, target=target, attributions=exact, fs=60.0, seed=0, model=model
    )
    reversed_ = ExplanationBatch(**{**faithful.__dict__, "attributions": -exact})
    flipping = PixelFlipping(steps=24)
    assert (flipping.evaluate_batch(faithful) < flipping.evaluate_batch(reversed_)).all()
    correlation = FaithfulnessCorrelation(nr_runs=20).evaluate_batch(faithful)
    assert np.mean(correlation) > 0.5


def test_undefined_attributions_score_nan(conv_batch) -> None:
    a = conv_batch.attributions.copy()
    a[0] = 0.0
    a[1, 0, 3] = np.nan
    broken = ExplanationBatch(**{**conv_batch.__dict__, "attributions": a})
    for metric in (PixelFlipping(), MaxSensitivity(nr_samples=2), Sparseness(), Complexity()):
        scores = metric.evaluate_batch(broken)
        assert np.isnan(scores[:2]).all() and np.isfinite(scores[2:]).all(), metric.info.name


def test_missing_model_is_a_clear_error(conv_batch) -> None:
    no_model = ExplanationBatch(**{**conv_batch.__dict__, "model": None})
    with pytest.raises(ValueError, match=r"'pixel_flipping' needs batch\.model"):
        PixelFlipping().evaluate_batch(no_model)


def test_pixel_flipping_step_divides_the_window() -> None:
    assert nearest_divisor(2500, 50) == 50
    assert nearest_divisor(5000, 50) == 100
    assert 1000 % nearest_divisor(1000, 30) == 0


@pytest.fixture(scope="module")
def complexity_inputs() -> ExplanationBatch:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((10, 1, T)).astype(np.float32)
    a[0] = 0.0  # all zero: NaN
    a[1] = 0.3  # constant: Quantus refuses, formula still defined
    a[2] = np.round(a[2])  # ties
    a[3] *= 1e-8  # tiny scale: batch-global normalisation would change it
    a[4] = -np.abs(a[4])
    a[5, 0, 7] = np.inf
    return ExplanationBatch(
        x=np.zeros_like(a), y=np.zeros(10), target=np.zeros(10), attributions=a, fs=60.0, seed=0
    )


@pytest.mark.parametrize("metric_class", [Sparseness, Complexity], ids=lambda c: c.info.name)
def test_complexity_vectorised_equals_quantus(
    metric_class: type[ComplexityMetric], complexity_inputs
) -> None:
    ours = metric_class().evaluate_batch(complexity_inputs)
    reference = metric_class(backend="quantus").evaluate_batch(complexity_inputs)
    np.testing.assert_array_equal(np.isnan(ours), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    assert np.nanmax(np.abs(ours - reference)) <= 1e-6
    one = {**complexity_inputs.__dict__, "attributions": complexity_inputs.attributions[3:4]}
    alone = metric_class().evaluate_batch(ExplanationBatch(**one))
    assert alone[0] == ours[3]


@pytest.mark.parametrize("metric_class", [Sparseness, Complexity], ids=lambda c: c.info.name)
def test_any_non_finite_value_makes_the_score_nan(metric_class: type[ComplexityMetric]) -> None:
    """Sparseness finds the row maximum after sorting: NaN and inf anywhere must still count."""
    a = np.random.default_rng(4).standard_normal((4, 1, T))
    a[0, 0, 0] = np.nan  # NaN first, where an unsorted maximum would not see it last
    a[1, 0, T // 2] = -np.inf
    a[2, 0, 3] = np.nan
    a[2, 0, 4] = np.inf
    batch = ExplanationBatch(
        x=np.zeros_like(a), y=np.zeros(4), target=np.zeros(4), attributions=a, fs=1.0, seed=0
    )
    scores = metric_class().evaluate_batch(batch)
    np.testing.assert_array_equal(np.isnan(scores), [True, True, True, False])


def test_sparseness_depends_on_batch_mates_in_quantus_default(complexity_inputs) -> None:
    """Quantus' batch-max normalisation plus its +1e-7 couples samples; ours does not."""
    a = np.abs(complexity_inputs.attributions[2:4]).astype(np.float64)
    batch_call = quantus.Sparseness(disable_warnings=True)(
        model=None, x_batch=np.zeros_like(a), y_batch=np.zeros(2), a_batch=a
    )
    ours = Sparseness().evaluate_batch(complexity_inputs)
    assert abs(batch_call[1] - ours[3]) > 0.1


def test_complexity_sanity() -> None:
    peaked = np.zeros((2, 1, T))
    peaked[0, 0, 10] = 1.0
    peaked[1] = 1.0
    batch = ExplanationBatch(
        x=np.zeros_like(peaked), y=np.zeros(2), target=np.zeros(2), attributions=peaked, fs=1.0,
        seed=0,
    )  # fmt: skip
    sparseness = Sparseness().evaluate_batch(batch)
    complexity = Complexity().evaluate_batch(batch)
    assert sparseness[0] > 0.99 and abs(sparseness[1]) < 1e-6
    assert complexity[0] < 1e-6 and complexity[1] == pytest.approx(np.log(T))
