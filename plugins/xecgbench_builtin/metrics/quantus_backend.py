"""The Quantus reference path: the installed Quantus 0.6 metrics called on our inputs.

Everything here calls real Quantus code. Localisation and complexity metrics are called one
sample at a time, so Quantus' normalisation by the batch maximum becomes per-sample
normalisation and the scores equal the vectorised ones. Quantus refuses constant attributions
(an ``AssertionError`` in its input checks); for those samples we call the same metric's
``evaluate_batch`` (its formula) on the attribution normalised by Quantus' own
``normalise_by_max``. The explanation-quality metrics wrap :attr:`ExplanationBatch.explain`
as Quantus' ``explain_func`` and run seeded, so their scores are reproducible.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from xecgbench.api import ExplanationBatch

#: Options every Quantus metric gets: no console output, no per-call warnings.
QUIET: dict[str, bool] = {"disable_warnings": True, "display_progressbar": False}


def _quantus_metric(class_name: str, **params: Any) -> Any:
    import quantus

    return getattr(quantus, class_name)(**QUIET, **params)


def _per_sample(
    metric: Any, x: np.ndarray, a: np.ndarray, s: np.ndarray | None, defined: np.ndarray
) -> np.ndarray:
    """Call ``metric`` on each defined sample alone; NaN elsewhere."""
    from quantus.functions.normalise_func import normalise_by_max

    scores = np.full(len(a), np.nan)
    for i in np.flatnonzero(defined):
        inputs = {
            "x_batch": x[i : i + 1],
            "a_batch": a[i : i + 1],
            "s_batch": None if s is None else s[i : i + 1],
        }
        with warnings.catch_warnings():  # Quantus warns even with disable_warnings=True
            warnings.simplefilter("ignore")
            try:
                result = metric(
                    model=None, y_batch=np.zeros(1, dtype=np.int64), channel_first=True, **inputs
                )
            except AssertionError:  # Quantus refuses constant attributions: apply its formula
                normalised = normalise_by_max(a[i : i + 1].copy())
                inputs["a_batch"] = np.abs(normalised) if metric.abs else normalised
                result = metric.evaluate_batch(**inputs)
        scores[i] = float(np.asarray(result, dtype=np.float64)[0])
    return scores


def localisation_scores(
    class_name: str,
    params: dict[str, Any],
    x: np.ndarray,
    relevance: np.ndarray,
    mask: np.ndarray,
    defined: np.ndarray,
) -> np.ndarray:
    """Quantus ``class_name`` (with ``params``) on positive, un-normalised ``(N, T)`` relevance."""
    n, length = relevance.shape
    quantus_metric = _quantus_metric(class_name, **{"abs": False, "normalise": True, **params})
    return _per_sample(
        quantus_metric,
        np.asarray(x, dtype=np.float64).reshape(n, 1, length),
        relevance.reshape(n, 1, length),
        mask.reshape(n, 1, length),
        defined,
    )


def complexity_scores(
    class_name: str, x: np.ndarray, attributions: np.ndarray, defined: np.ndarray
) -> np.ndarray:
    """Quantus ``Sparseness`` or ``Complexity`` (``abs=True``, per-sample normalised)."""
    n = len(attributions)
    a = np.asarray(attributions).reshape(n, 1, -1)
    metric = _quantus_metric(class_name, abs=True, normalise=True)
    return _per_sample(metric, np.asarray(x, dtype=np.float64).reshape(a.shape), a, None, defined)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and torch's global generators (which Quantus draws from), then restore."""
    import torch

    numpy_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        torch.random.set_rng_state(torch_state)


def explain_func(batch: ExplanationBatch) -> Callable[..., np.ndarray]:
    """Quantus' ``explain_func(model=, inputs=, targets=)`` built on ``batch.explain``.

    ``batch.explain`` is bound to ``batch.model``. When Quantus passes another model (MPRT's
    randomised copy), its weights are loaded into ``batch.model`` for that call and the
    original weights restored afterwards, so any attribution method can be re-run on it.
    """
    import torch

    if batch.explain is None or batch.model is None:
        raise ValueError("this metric needs batch.model and batch.explain, got None")
    original, batch_explain = batch.model, batch.explain  # batch is frozen

    def explain(model: Any, inputs: np.ndarray, targets: np.ndarray, **_: Any) -> np.ndarray:
        x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
        target = torch.as_tensor(np.asarray(targets), dtype=torch.long).reshape(-1)
        if model is original:
            return _numpy(batch_explain(x, target))
        saved = {k: v.detach().clone() for k, v in original.state_dict().items()}
        original.load_state_dict(model.state_dict())
        try:
            return _numpy(batch_explain(x, target))
        finally:
            original.load_state_dict(saved)

    return explain


def _numpy(relevance: Any) -> np.ndarray:
    if hasattr(relevance, "detach"):
        relevance = relevance.detach().cpu().numpy()
    return np.asarray(relevance, dtype=np.float32)


def quality_scores(class_name: str, params: dict[str, Any], batch: ExplanationBatch) -> list[Any]:
    """Per-sample results of a model-based Quantus metric on ``batch``, seeded by ``batch.seed``.

    The whole batch goes in one call; if Quantus refuses it (e.g. one sample's re-explanation
    is all zero), the samples are retried one at a time and refused ones give ``None``.
    Each result is what Quantus returns for a sample (a float, or a curve for PixelFlipping).
    """
    from xecgbench.api import model_device

    metric = _quantus_metric(class_name, **params)
    n = len(batch.x)
    x = np.asarray(batch.x, dtype=np.float32).reshape(n, 1, -1)
    a = np.asarray(batch.attributions, dtype=np.float32).reshape(x.shape)
    y = np.asarray(batch.target, dtype=np.int64).reshape(-1)
    call = {"model": batch.model, "channel_first": True, "device": str(model_device(batch.model))}
    if batch.explain is not None:
        call["explain_func"] = explain_func(batch)
    with seeded(batch.seed), contextlib.suppress(AssertionError):
        return list(metric(x_batch=x, y_batch=y, a_batch=a, batch_size=n, **call))
    results: list[Any] = []
    for i in range(n):
        one = {"x_batch": x[i : i + 1], "y_batch": y[i : i + 1], "a_batch": a[i : i + 1]}
        with seeded(batch.seed):
            try:
                results.append(metric(**one, **call)[0])
            except AssertionError:
                results.append(None)
    return results
