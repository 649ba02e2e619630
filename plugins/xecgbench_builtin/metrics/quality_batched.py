"""Batched explanation-quality metrics for 1-D signals, equal to Quantus on the same draws.

Quantus evaluates faithfulness, robustness and randomisation step by step: one forward pass
per pixel-flipping step or faithfulness subset, one re-explanation per noise draw, each wrapped
in per-sample input checks and warnings. Here every perturbed copy of a batch is built in numpy
first and the model sees them in a few large forward passes (``chunk`` rows each, by default
as many as fit :data:`CHUNK_SAMPLES` signal samples); the noise draws of the sensitivity
metrics are stacked and re-explained together.

The random draws are Quantus' own: the perturbation indices and noise come from a
``numpy.random.RandomState(batch.seed)`` consumed in exactly the order Quantus consumes the
global generator that :func:`~xecgbench_builtin.metrics.quantus_backend.seeded` seeds, so the two
backends give the same scores (within 1e-6, tested per metric) for deterministic explainers.
Stochastic explainers (``random``, SmoothGrad-like methods) are re-run in other batch shapes,
so their draws, and hence their scores, differ between the backends.

Where Quantus' handling is wrong for signed single-lead attributions, this backend departs
from it on purpose (each case is tested):

- Quantus refuses a batch whose attributions are all negative, constant or all one (asserts
  meant for image saliency); a sample alone is then scored NaN, in company it is scored. An
  ECG explanation may be all negative evidence; we always score defined attributions.
- The same checks run on *re-explanations* (noise draws, randomised model, other class): if
  every re-explanation in a draw is zero Quantus refuses the batch, and the sample alone gets
  NaN while in company it gets a score. We score the formula (sensitivity 1 for a vanished
  explanation, NaN correlation for a constant one).
- MPRT with ``return_average_correlation`` averages over every key of its score dict but skips
  a key named ``"orig"``; the key is ``"original"``, so the similarity of the *unrandomised*
  model with itself is averaged in. ``MPRT(reduction="mean")`` here averages over the
  randomised layers only.

Everything else follows Quantus 0.6 to the letter, including its quirks that are a matter of
definition: pixel flipping's ``"mean"`` baseline is the mean of the window *as perturbed so far*
(recomputed at each step), and attributions are divided by the batch's largest magnitude
before use (ranks and correlations do not change).

Each class takes ``backend="vectorised"`` (default, batched here) or ``backend="quantus"`` (the
reference path of :mod:`xecgbench_builtin.metrics.quality`).

Long because the five metrics share one perturbation engine and one draw order, and splitting
them would spread the Quantus-equality argument over several files.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from xecgbench.api import ExplanationBatch, ExplanationMetric, MetricInfo, model_device
from xecgbench_builtin.metrics.quality import (
    _BATCH_FIELD,
    BACKENDS,
    MPRT,
    AvgSensitivity,
    FaithfulnessCorrelation,
    MaxSensitivity,
    PixelFlipping,
    RandomLogit,
    _defined_rows,
    nearest_divisor,
)

#: Signal samples (rows × T) per forward pass or re-explanation call when ``chunk`` is not
#: given: enough rows to amortise per-call overhead, few enough that the activations stay in
#: cache (at T = 2500 on 2 CPU cores, 256-row passes were 1.7× slower than 32-row ones).
CHUNK_SAMPLES = 2**17
#: The same for re-explanation calls, smaller: explainers such as integrated gradients
#: multiply the rows internally (interpolation steps), and peak memory must stay bounded.
EXPLAIN_SAMPLES = 2**16


def _rows(chunk: int | None, length: int, budget: int = CHUNK_SAMPLES) -> int:
    """Rows per call: ``chunk`` if given, else ``budget`` // T."""
    return chunk if chunk is not None else max(1, budget // length)


# --- shared helpers -----------------------------------------------------------------------


def class_output(
    model: Any, x: np.ndarray, target: np.ndarray, softmax: bool, chunk: int | None = None
) -> np.ndarray:
    """Output for ``target`` of each row of ``x`` ``(M, 1, T)``, float32 ``(M,)``.

    What Quantus' ``model.predict(x)[arange, y]`` computes (softmax probability or, with
    ``softmax=False``, the raw output, per each metric's Quantus default), in forward passes
    of ``chunk`` rows on the model's device.
    """
    import torch

    device = model_device(model)
    chunk = _rows(chunk, x.shape[-1])
    out = np.empty(len(x), dtype=np.float32)
    rows = torch.as_tensor(np.asarray(target, dtype=np.int64))
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            part = torch.as_tensor(x[start : start + chunk], dtype=torch.float32).to(device)
            output = model(part)
            output = (torch.softmax(output, dim=-1) if softmax else output).cpu()
            out[start : start + chunk] = output[
                torch.arange(len(part)), rows[start : start + chunk]
            ].numpy()
    return out


def re_explain(
    batch: ExplanationBatch, x: np.ndarray, target: np.ndarray, chunk: int | None = None
) -> np.ndarray:
    """``batch.explain`` on ``x`` ``(M, 1, T)`` in calls of ``chunk`` rows, float32 ``(M, T)``."""
    import torch

    assert batch.explain is not None  # checked by the caller's ``requires``
    device = model_device(batch.model)
    chunk = _rows(chunk, x.shape[-1], EXPLAIN_SAMPLES)
    parts = []
    for start in range(0, len(x), chunk):
        inputs = torch.as_tensor(x[start : start + chunk], dtype=torch.float32).to(device)
        labels = torch.as_tensor(np.asarray(target[start : start + chunk], dtype=np.int64))
        relevance = batch.explain(inputs, labels.to(device))
        if hasattr(relevance, "detach"):
            relevance = relevance.detach().cpu().numpy()
        parts.append(np.asarray(relevance, dtype=np.float32).reshape(len(inputs), -1))
    return np.concatenate(parts)


def normalise_by_batch_max(a: np.ndarray) -> np.ndarray:
    """Quantus' default ``normalise_by_max``: divide by the largest magnitude in the batch."""
    if np.all(a == 0.0):
        return a
    return np.divide(a, np.max(np.abs(a)))


def row_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` with the same row of ``b``.

    Quantus calls ``scipy.stats.spearmanr(a, b, axis=1)``, which correlates all ``2N`` rows with
    each other (O(N²T)) and keeps the diagonal of the cross block; this ranks each row
    (average ranks for ties, as scipy does) and correlates the pairs only. A constant row
    gives NaN, as in scipy.
    """
    from scipy.stats import rankdata

    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(1) / np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))


def _baseline(arr: np.ndarray, perturb_baseline: Any) -> np.ndarray:
    """Quantus' per-sample baseline value ``(N, 1)`` for ``"mean"``, ``"black"``, ``"white"``
    or a number (``"uniform"`` draws from the generator and is only on the Quantus path)."""
    if isinstance(perturb_baseline, int | float):
        return np.full((len(arr), 1), perturb_baseline, dtype=arr.dtype)
    reducers: dict[str, Callable[..., np.ndarray]] = {
        "mean": np.mean,
        "black": np.min,
        "white": np.max,
    }
    if perturb_baseline not in reducers:
        raise ValueError(
            f"batched backend: perturb_baseline {perturb_baseline!r} not supported "
            f"(use one of {sorted(reducers)} or a number, or backend='quantus')"
        )
    return reducers[perturb_baseline](arr, axis=1)[:, None]


@contextmanager
def _weights_of(module: Any, state: dict[str, Any]) -> Iterator[None]:
    """``module`` carries ``state`` inside the block, its own weights again afterwards (the
    explainer is bound to ``module``, so this is how another model gets explained)."""
    saved = {k: v.detach().clone() for k, v in module.state_dict().items()}
    module.load_state_dict(state)
    try:
        yield
    finally:
        module.load_state_dict(saved)


def _v2(info: MetricInfo) -> MetricInfo:
    """Version 2: the batched backend (version 1 was the Quantus path alone); its scores
    differ from version 1 only where Quantus refused a sample or averaged in the original
    model (see the module docstring), but cached scores are recomputed all the same."""
    return dataclasses.replace(info, version="2")


class BatchedQualityMetric:
    """Backend selection, the ``requires`` check and the undefined-attribution rows.

    Mixed in front of a :class:`~xecgbench_builtin.metrics.quality.QuantusQualityMetric`
    subclass, whose ``evaluate_batch`` is the ``"quantus"`` backend.
    """

    backend: str = "vectorised"
    chunk: int | None = None

    def _set_backend(self, backend: str, chunk: int | None) -> None:
        info = self.info  # type: ignore[attr-defined]
        if backend not in BACKENDS:
            raise ValueError(
                f"metric {info.name!r}: unknown backend {backend!r}; valid: {BACKENDS}"
            )
        if chunk is not None and chunk < 1:
            raise ValueError(f"metric {info.name!r}: chunk must be >= 1, got {chunk}")
        self.backend = backend
        self.chunk = chunk

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        """Scores ``(n,)`` of a batch whose attributions are all defined."""
        raise NotImplementedError

    def evaluate_batch(self, batch: ExplanationBatch) -> np.ndarray:
        """Per-sample scores ``(N,)``; NaN for non-finite or all-zero attributions."""
        if self.backend == "quantus":
            return super().evaluate_batch(batch)  # type: ignore[misc]
        from xecgbench_builtin.metrics.quantus_backend import seeded

        info = self.info  # type: ignore[attr-defined]
        missing = sorted(
            _BATCH_FIELD[need]
            for need in info.requires
            if getattr(batch, _BATCH_FIELD[need]) is None
        )
        if missing:
            raise ValueError(f"metric {info.name!r} needs batch.{', batch.'.join(missing)}")
        scores = np.full(len(batch.x), np.nan)
        defined = np.flatnonzero(_defined_rows(batch.attributions))
        if defined.size == 0:
            return scores
        n = defined.size
        subset = dataclasses.replace(
            batch,
            x=np.asarray(batch.x, dtype=np.float32)[defined].reshape(n, 1, -1),
            y=np.asarray(batch.y)[defined],
            target=np.asarray(batch.target, dtype=np.int64)[defined].reshape(-1),
            attributions=np.asarray(batch.attributions, dtype=np.float32)[defined].reshape(n, -1),
        )
        with seeded(batch.seed):  # torch draws of stochastic explainers, as on the Quantus path
            scores[defined] = self.batched_scores(subset)
        return scores


# --- faithfulness -------------------------------------------------------------------------


class BatchedPixelFlipping(BatchedQualityMetric, PixelFlipping):
    """Pixel flipping with every step of the whole batch in one set of forward passes."""

    info = _v2(PixelFlipping.info)

    def __init__(
        self,
        steps: int = 50,
        perturb_baseline: str = "mean",
        backend: str = "vectorised",
        chunk: int | None = None,
    ) -> None:
        super().__init__(steps=steps, perturb_baseline=perturb_baseline)
        self._set_backend(backend, chunk)

    def curves(self, batch: ExplanationBatch) -> np.ndarray:
        """Class probability after each step ``(n, n_steps)``, as Quantus returns it."""
        x = batch.x.reshape(len(batch.x), -1)
        n, length = x.shape
        order = np.argsort(-normalise_by_batch_max(batch.attributions), axis=1)
        per_step = nearest_divisor(length, self.steps)
        n_steps = math.ceil(length / per_step)
        rows = np.arange(n)[:, None]
        perturbed = x.copy()
        stack = np.empty((n_steps, n, length), dtype=x.dtype)
        for step in range(n_steps):  # sequential: the "mean" baseline follows the perturbation
            index = order[:, step * per_step : (step + 1) * per_step]
            perturbed[rows, index] = _baseline(perturbed, self.perturb_baseline)
            stack[step] = perturbed
        probability = class_output(
            batch.model,
            stack.reshape(-1, 1, length),
            np.tile(batch.target, n_steps),
            softmax=True,  # Quantus' PixelFlipping default
            chunk=self.chunk,
        )
        return probability.reshape(n_steps, n).T

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        return np.array([self.reduce(curve) for curve in self.curves(batch)])


class BatchedFaithfulnessCorrelation(BatchedQualityMetric, FaithfulnessCorrelation):
    """Faithfulness correlation with all ``nr_runs`` subsets of the batch in one pass set."""

    info = _v2(FaithfulnessCorrelation.info)

    def __init__(
        self,
        nr_runs: int = 50,
        subset_fraction: float = 0.05,
        perturb_baseline: str = "mean",
        backend: str = "vectorised",
        chunk: int | None = None,
    ) -> None:
        super().__init__(
            nr_runs=nr_runs, subset_fraction=subset_fraction, perturb_baseline=perturb_baseline
        )
        self._set_backend(backend, chunk)

    def subsets(self, n: int, length: int, seed: int) -> np.ndarray:
        """Perturbed indices ``(nr_runs, n, subset_size)``: Quantus' draws for this seed.

        Quantus draws ``np.random.choice(T, k, replace=False)`` per sample and run, and its
        helper for named baselines (``"mean"`` …) also draws ``n`` uniform numbers per run (for
        ``"uniform"``, computed whatever the name); both are replayed so the subsets match.
        """
        size = int(self.quantus_params(length, seed)["subset_size"])
        generator = np.random.RandomState(seed)
        runs = []
        for _ in range(self.nr_runs):
            # legacy ``choice(T, k, replace=False)`` is ``permutation(T)[:k]``: same draws,
            # without choice's argument checks (a third of the time at T = 2500)
            runs.append([generator.permutation(length)[:size] for _ in range(n)])
            if isinstance(self.perturb_baseline, str):  # only named baselines go through it
                generator.uniform(0.0, 1.0, size=n)
        return np.asarray(runs, dtype=np.int64).reshape(self.nr_runs, n, size)

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        from scipy.stats import pearsonr

        x = batch.x.reshape(len(batch.x), -1)
        n, length = x.shape
        a = normalise_by_batch_max(batch.attributions)
        index = self.subsets(n, length, batch.seed)
        perturbed = np.broadcast_to(x, (self.nr_runs, n, length)).copy()
        baseline = np.broadcast_to(_baseline(x, self.perturb_baseline)[None], index.shape)
        np.put_along_axis(perturbed, index, baseline, axis=2)
        output = class_output(
            batch.model,
            np.concatenate([x, perturbed.reshape(-1, length)]).reshape(-1, 1, length),
            np.tile(batch.target, self.nr_runs + 1),
            softmax=False,  # Quantus' FaithfulnessCorrelation default: the class logit
            chunk=self.chunk,
        ).reshape(self.nr_runs + 1, n)
        deltas = (output[0][None] - output[1:]).T  # (n, runs)
        sums = np.take_along_axis(np.broadcast_to(a[None], (self.nr_runs, n, length)), index, 2)
        att_sums = sums.sum(-1).T
        with warnings.catch_warnings():  # a constant row gives NaN, as on the Quantus path
            warnings.simplefilter("ignore")
            return np.asarray(pearsonr(att_sums, deltas, axis=1)[0], dtype=np.float64)


# --- robustness ---------------------------------------------------------------------------


class _BatchedSensitivity(BatchedQualityMetric):
    """All noise draws of the batch stacked and re-explained together (Yeh et al. 2019)."""

    nr_samples: int
    noise: float

    def __init__(
        self,
        nr_samples: int = 10,
        noise: float = 0.05,
        backend: str = "vectorised",
        chunk: int | None = None,
    ) -> None:
        super().__init__(nr_samples=nr_samples, noise=noise)  # type: ignore[call-arg]
        self._set_backend(backend, chunk)

    def sensitivities(self, batch: ExplanationBatch) -> np.ndarray:
        """``||a - a(x + noise)|| / ||a||`` per sample and draw, ``(n, nr_samples)``.

        The noise is Quantus' ``uniform(-noise, noise)`` stream for this seed, one ``(n, T)``
        draw after another; noisy inputs are rounded to float32 as Quantus stores them.
        """
        x = batch.x.reshape(len(batch.x), -1)
        n, length = x.shape
        draws = np.random.RandomState(batch.seed).uniform(
            -self.noise, self.noise, size=(self.nr_samples, n, length)
        )
        noisy = (x[None] + draws).astype(np.float32)
        relevance = re_explain(
            batch,
            noisy.reshape(-1, 1, length),
            np.tile(batch.target, self.nr_samples),
            self.chunk,
        ).reshape(self.nr_samples, n, length)
        numerator = np.linalg.norm(batch.attributions[None] - relevance, axis=-1)
        return (numerator / np.linalg.norm(batch.attributions, axis=-1)[None]).T


class BatchedMaxSensitivity(_BatchedSensitivity, MaxSensitivity):
    """Max sensitivity over stacked noise draws."""

    info = _v2(MaxSensitivity.info)

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        return np.nanmax(self.sensitivities(batch).astype(np.float64), axis=1)


class BatchedAvgSensitivity(_BatchedSensitivity, AvgSensitivity):
    """Average sensitivity over stacked noise draws."""

    info = _v2(AvgSensitivity.info)

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        return np.nanmean(self.sensitivities(batch).astype(np.float64), axis=1)


# --- randomisation ------------------------------------------------------------------------


class BatchedMPRT(BatchedQualityMetric, MPRT):
    """MPRT re-explaining only what the score needs (Quantus also explains the original model
    when it skips the intermediate layers), the whole batch per randomised model."""

    info = _v2(MPRT.info)

    def __init__(
        self,
        reduction: str = "last",
        layer_order: str = "top_down",
        backend: str = "vectorised",
        chunk: int | None = None,
    ) -> None:
        super().__init__(reduction=reduction, layer_order=layer_order)
        if layer_order not in ("top_down", "bottom_up", "independent"):
            raise ValueError(f"mprt: unknown layer_order {layer_order!r}")
        self._set_backend(backend, chunk)

    def randomised_states(self, model: Any, seed: int) -> Iterator[dict[str, Any]]:
        """The state dict after each layer is re-initialised, as Quantus'
        ``get_random_layer_generator``: layers with ``reset_parameters`` in module order
        (reversed for ``top_down``), each reset right after ``torch.manual_seed(seed + 1)``."""
        import torch

        randomised = copy.deepcopy(model)
        original = copy.deepcopy(model.state_dict())
        modules = [m for _, m in randomised.named_modules() if hasattr(m, "reset_parameters")]
        if self.layer_order == "top_down":
            modules = modules[::-1]
        for module in modules:
            if self.layer_order == "independent":
                randomised.load_state_dict(original)
            torch.manual_seed(seed + 1)
            module.reset_parameters()
            yield {k: v.detach().clone() for k, v in randomised.state_dict().items()}

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        a = np.abs(normalise_by_batch_max(batch.attributions))
        states = list(self.randomised_states(batch.model, batch.seed))
        if self.reduction == "last":
            states = states[-1:]
        similarities = []
        for state in states:
            with _weights_of(batch.model, state):
                relevance = re_explain(batch, batch.x, batch.target, self.chunk)
            similarities.append(row_spearman(a, np.abs(normalise_by_batch_max(relevance))))
        return np.mean(similarities, axis=0)


class BatchedRandomLogit(BatchedQualityMetric, RandomLogit):
    """Random logit with the other-class re-explanations in one call per chunk."""

    info = _v2(RandomLogit.info)

    num_classes = 2

    def __init__(self, backend: str = "vectorised", chunk: int | None = None) -> None:
        self._set_backend(backend, chunk)

    def off_class(self, target: np.ndarray, seed: int) -> np.ndarray:
        """Quantus' random other class: ``randint(0, C - 1)`` into the classes but the target."""
        classes = np.arange(self.num_classes)
        draw = np.random.RandomState(seed).randint(0, self.num_classes - 1, len(target))
        others = np.stack([classes[classes != t] for t in target])
        return others[np.arange(len(target)), draw]

    def batched_scores(self, batch: ExplanationBatch) -> np.ndarray:
        off = self.off_class(batch.target, batch.seed)
        relevance = re_explain(batch, batch.x, off, self.chunk)
        return row_spearman(
            normalise_by_batch_max(batch.attributions), normalise_by_batch_max(relevance)
        )


BATCHED_QUALITY_METRICS: tuple[type[ExplanationMetric], ...] = (
    BatchedPixelFlipping,
    BatchedFaithfulnessCorrelation,
    BatchedMaxSensitivity,
    BatchedAvgSensitivity,
    BatchedMPRT,
    BatchedRandomLogit,
)
