"""Batched quality metrics equal Quantus on the same draws; where Quantus is wrong, ours is not."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from quality_fixtures import N, T
from quality_fixtures import conv_net as _conv_net
from quality_fixtures import saliency as _saliency
from torch import nn

from xecgbench.plugins.components import ExplanationBatch
from xecgbench_builtin.metrics.quality_batched import (
    BATCHED_QUALITY_METRICS,
    BatchedAvgSensitivity,
    BatchedFaithfulnessCorrelation,
    BatchedMaxSensitivity,
    BatchedMPRT,
    BatchedPixelFlipping,
    BatchedRandomLogit,
    row_spearman,
)


def _batch(model: nn.Module, n: int = N, seed: int = 3) -> ExplanationBatch:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 4 * np.pi, T)
    x = (0.5 + 0.3 * np.sin(t)[None, None] + 0.1 * rng.standard_normal((n, 1, T))).astype(
        np.float32
    )
    target = np.arange(n) % 2
    explain = _saliency(model)
    a = explain(torch.as_tensor(x), torch.as_tensor(target)).detach().numpy()
    return ExplanationBatch(
        x=x, y=target, target=target, attributions=a, fs=60.0, seed=seed, model=model,
        explain=explain,
    )  # fmt: skip


@pytest.fixture(scope="module")
def batch() -> ExplanationBatch:
    return _batch(_conv_net())


def _with(batch: ExplanationBatch, **changes) -> ExplanationBatch:
    return dataclasses.replace(batch, **changes)


METRICS = [
    BatchedPixelFlipping(steps=24),
    BatchedPixelFlipping(steps=7, perturb_baseline="black"),  # 240 / 8: steps need not divide
    BatchedFaithfulnessCorrelation(nr_runs=12),
    BatchedFaithfulnessCorrelation(nr_runs=5, subset_fraction=0.2, perturb_baseline=0.0),
    BatchedMaxSensitivity(nr_samples=4),
    BatchedAvgSensitivity(nr_samples=4, noise=0.2),
    BatchedMPRT(),
    BatchedMPRT(layer_order="bottom_up"),
    BatchedRandomLogit(),
]


#: Absolute agreement with Quantus. Faithfulness correlation correlates float32 output drops of
#: a batched forward with Quantus' per-sample ones; torch's AVX512 convolution kernels sum a
#: batch in another order than a single sample (AVX2 ones did not), which moves the
#: correlation by up to 5e-6 (measured on this project's machines), so it gets 2e-5.
ATOL = {"faithfulness_correlation": 2e-5}


def _atol(metric) -> float:
    return ATOL.get(metric.info.name, 1e-6)


def _reference(metric):
    """The same metric on the Quantus backend."""
    clone = copy.copy(metric)
    clone.backend = "quantus"
    return clone


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: f"{m.info.name}-{m.__dict__}")
def test_batched_equals_quantus(metric, batch) -> None:
    ours = metric.evaluate_batch(batch)
    reference = _reference(metric).evaluate_batch(batch)
    assert ours.shape == (N,) and np.isfinite(ours).all()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=_atol(metric))


@pytest.mark.parametrize("metric", METRICS[::2], ids=lambda m: m.info.name)
def test_equal_on_one_sample_and_with_undefined_rows(metric, batch) -> None:
    """A single sample (Quantus' per-sample fallback size) and NaN / all-zero rows."""
    one = _with(batch, x=batch.x[2:3], y=batch.y[2:3], target=batch.target[2:3],
                attributions=batch.attributions[2:3])  # fmt: skip
    np.testing.assert_allclose(
        metric.evaluate_batch(one), _reference(metric).evaluate_batch(one), rtol=0,
        atol=_atol(metric),
    )
    a = batch.attributions.copy()
    a[0] = 0.0
    a[4, 0, 5] = np.nan
    broken = _with(batch, attributions=a)
    ours = metric.evaluate_batch(broken)
    np.testing.assert_array_equal(np.isnan(ours), [1, 0, 0, 0, 1, 0])
    np.testing.assert_allclose(ours, _reference(metric).evaluate_batch(broken),
                               atol=_atol(metric))


def test_ties_in_attributions_follow_quantus_order(batch) -> None:
    a = np.round(batch.attributions / np.abs(batch.attributions).max() * 3)  # a few levels
    tied = _with(batch, attributions=a.astype(np.float32))
    for metric in (BatchedPixelFlipping(steps=24), BatchedFaithfulnessCorrelation(nr_runs=8)):
        np.testing.assert_allclose(
            metric.evaluate_batch(tied), _reference(metric).evaluate_batch(tied),
            atol=_atol(metric)
        )


def test_mprt_mean_leaves_out_the_unrandomised_model(batch) -> None:
    """Quantus averages the original model's self-similarity into ``return_average_correlation``
    (it skips a key ``"orig"``, but the key is ``"original"``); ours averages the randomised
    layers only, so Quantus' mean is (ours * L + original) / (L + 1)."""
    metric = BatchedMPRT(reduction="mean")
    ours = metric.evaluate_batch(batch)
    layers = len(list(metric.randomised_states(batch.model, batch.seed)))
    assert layers == 3
    reference = _reference(metric).evaluate_batch(batch)
    original_self_similarity = 1.0  # a deterministic explainer re-explains identically
    np.testing.assert_allclose(
        reference, (ours * layers + original_self_similarity) / (layers + 1), atol=1e-6
    )


def test_all_negative_attribution_is_scored_where_quantus_refuses(batch) -> None:
    """Quantus asserts 'attributions should not all be less than zero' (an image-saliency
    check): a sample alone then scores NaN. Negative evidence is still an explanation."""
    one = _with(batch, x=batch.x[:1], y=batch.y[:1], target=batch.target[:1],
                attributions=-np.abs(batch.attributions[:1]) - 1e-3)  # fmt: skip
    for metric in (BatchedPixelFlipping(steps=24), BatchedFaithfulnessCorrelation(nr_runs=8)):
        assert np.isnan(_reference(metric).evaluate_batch(one)).all()
        assert np.isfinite(metric.evaluate_batch(one)).all()


def test_vanished_re_explanation_scores_one_where_quantus_refuses(batch) -> None:
    """An explainer that returns zeros for noisy inputs: Quantus refuses the draw (NaN alone);
    the relative change ||a - 0|| / ||a|| is 1."""
    first = batch.attributions[:1]

    def fragile(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        same = torch.equal(x, torch.as_tensor(batch.x[:1]))
        return torch.as_tensor(first) if same else torch.zeros_like(x)

    one = _with(batch, x=batch.x[:1], y=batch.y[:1], target=batch.target[:1],
                attributions=first, explain=fragile)  # fmt: skip
    metric = BatchedMaxSensitivity(nr_samples=3)
    assert np.isnan(_reference(metric).evaluate_batch(one)).all()
    np.testing.assert_allclose(metric.evaluate_batch(one), [1.0])


def test_scores_are_deterministic_and_leave_the_model_unchanged(batch) -> None:
    before = {k: v.clone() for k, v in batch.model.state_dict().items()}
    for metric in METRICS:
        np.testing.assert_array_equal(metric.evaluate_batch(batch), metric.evaluate_batch(batch))
    for key, value in batch.model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_chunking_does_not_change_scores(batch) -> None:
    for metric_class in (BatchedPixelFlipping, BatchedMaxSensitivity):
        whole = metric_class().evaluate_batch(batch)
        np.testing.assert_allclose(metric_class(chunk=5).evaluate_batch(batch), whole, atol=1e-6)


def test_noise_draws_change_with_the_seed(batch) -> None:
    metric = BatchedAvgSensitivity(nr_samples=3)
    assert not np.array_equal(
        metric.evaluate_batch(batch), metric.evaluate_batch(_with(batch, seed=4))
    )


@pytest.mark.filterwarnings("ignore:An input array is constant")
def test_row_spearman_equals_scipy_with_ties_and_constant_rows() -> None:
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = np.round(rng.standard_normal((4, 50)), 1)
    b = rng.standard_normal((4, 50))
    b[3] = 2.0
    ours = row_spearman(a, b)
    expected = [spearmanr(a[i], b[i])[0] for i in range(4)]
    np.testing.assert_allclose(ours[:3], expected[:3], atol=1e-12)
    assert np.isnan(ours[3])


def test_bad_options_are_clear_errors(batch) -> None:
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        BatchedPixelFlipping(backend="gpu")
    with pytest.raises(ValueError, match="perturb_baseline 'uniform' not supported"):
        BatchedPixelFlipping(perturb_baseline="uniform").evaluate_batch(batch)
    with pytest.raises(ValueError, match=r"'max_sensitivity' needs batch\.explain"):
        BatchedMaxSensitivity().evaluate_batch(_with(batch, explain=None))


def test_registered_under_the_quantus_names() -> None:
    from xecgbench_builtin.metrics.hooks import ALL_METRICS

    for metric_class in BATCHED_QUALITY_METRICS:
        assert metric_class in ALL_METRICS
        assert metric_class.costly
