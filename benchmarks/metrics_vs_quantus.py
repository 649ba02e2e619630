"""Throughput of the vectorised localisation and complexity metrics against Quantus.

Same inputs for every path: N synthetic beat-like masks and signed attributions of length T.
Three timings per metric:

- ``vectorised``: our ``evaluate_batch`` over the whole batch;
- ``quantus/sample``: the reference backend (Quantus called one sample at a time, which is
  what per-sample normalisation needs), with the max abs difference to ours;
- ``quantus/batch``: one Quantus call on the whole batch (its default batch-max
  normalisation, so scores may differ; shown for speed only).

The three run interleaved (A, B, C, A, B, C, … after one untimed warm-up round, see
``measure.interleaved``) and each time is the median of ``--repeats`` rounds, so load that
comes and goes hits all three alike and the speed-ups are same-run ratios.

Run: ``.venv/bin/python benchmarks/metrics_vs_quantus.py [--n 256] [--t 2500] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np
from measure import interleaved, load_average, median

from xecgbench.plugins.components import ExplanationBatch
from xecgbench_builtin.metrics.localisation import LOCALISATION_METRICS, positive_relevance
from xecgbench_builtin.metrics.quality import Complexity, Sparseness
from xecgbench_builtin.metrics.quantus_backend import QUIET


def _inputs(n: int, length: int, seed: int = 0) -> ExplanationBatch:
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, 1, length), dtype=bool)
    beat = max(length // 12, 20)
    for i in range(n):
        for start in range(int(rng.integers(0, beat)), length - beat // 5, beat):
            mask[i, 0, start : start + beat // 5] = True
    attributions = rng.standard_normal((n, 1, length)).astype(np.float32) + mask
    return ExplanationBatch(
        x=rng.random((n, 1, length)).astype(np.float32),
        y=np.zeros(n, dtype=np.int64),
        target=np.zeros(n, dtype=np.int64),
        attributions=attributions,
        fs=250.0,
        seed=seed,
        mask=mask,
        mask_name="p_wave",
    )


def _keeping(
    results: dict[str, object], name: str, run: Callable[[], object]
) -> Callable[[], None]:
    """``run``, storing its latest result as ``results[name]`` (the scores to compare)."""

    def call() -> None:
        results[name] = run()

    return call


def _quantus_batch_call(metric: object, batch: ExplanationBatch) -> Callable[[], object]:
    import quantus

    name = metric.quantus_class  # type: ignore[attr-defined]
    is_localisation = hasattr(metric, "quantus_params") and batch.mask is not None
    length = batch.x.shape[-1]
    if name in ("Sparseness", "Complexity"):
        params: dict[str, object] = {"abs": True}
        a = np.abs(batch.attributions).astype(np.float64)
        s = None
    else:
        params = {"abs": False, **metric.quantus_params(length)}  # type: ignore[attr-defined]
        a = positive_relevance(batch.attributions).reshape(batch.x.shape)
        s = batch.mask if is_localisation else None
    instance = getattr(quantus, name)(**QUIET, **params)
    return lambda: instance(
        model=None, x_batch=batch.x, y_batch=batch.y, a_batch=a, s_batch=s, channel_first=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--t", type=int, default=2500)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    batch = _inputs(args.n, args.t)
    print(f"N={args.n} T={args.t}; times in ms, median of {args.repeats} interleaved rounds")
    header = f"{'metric':26} {'vectorised':>10} {'q/sample':>10} {'q/batch':>10}"
    print(f"{header} {'x sample':>9} {'x batch':>8} {'max|diff|':>10}")
    load_before = load_average()
    for metric_class in (*LOCALISATION_METRICS, Sparseness, Complexity):
        ours, reference = metric_class(), metric_class(backend="quantus")
        scores: dict[str, object] = {}
        timings = interleaved(
            {
                "ours": _keeping(scores, "ours", lambda m=ours: m.evaluate_batch(batch)),
                "sample": _keeping(
                    scores, "sample", lambda m=reference: m.evaluate_batch(batch)
                ),
                "batch": _quantus_batch_call(ours, batch),
            },
            args.repeats,
        )
        t_ours, t_sample, t_batch = (median(timings.wall[k]) for k in ("ours", "sample", "batch"))
        diff = np.nanmax(np.abs(np.asarray(scores["ours"]) - np.asarray(scores["sample"])))
        print(
            f"{metric_class.info.name:26} {t_ours * 1e3:10.2f} {t_sample * 1e3:10.1f} "
            f"{t_batch * 1e3:10.1f} {t_sample / t_ours:9.0f} {t_batch / t_ours:8.1f} {diff:10.1e}"
        )
    print(f"load average {load_before} -> {load_average()}")


if __name__ == "__main__":
    main()
