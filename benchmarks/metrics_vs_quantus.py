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

The second table times the batched explanation-quality metrics (pixel flipping, faithfulness
correlation, max/avg sensitivity, MPRT, random logit) against their Quantus backend on one
model and explainer: the quick suite's xECGArch branch (``--fs`` Hz, ``--width``) explained by
DTD, ``--quality-n`` windows of ``--t`` samples. Both paths run interleaved as above; times
are per explained window, with the max abs score difference (identical draws, see
:mod:`xecgbench_builtin.metrics.quality_batched`) and the time of one plain re-explanation of the
batch, the floor the re-explaining metrics share with Quantus.

Run: ``.venv/bin/python benchmarks/metrics_vs_quantus.py [--n 256] [--t 2500] [--repeats 7]
[--quality-n 32] [--quality-t 1000] [--quantus-n 4] [--only quality|localisation]``.
``--quantus-n 4`` times Quantus on the first 4 windows per call, as the quick suite called it
before every window was scored (``n_costly`` = 4); the max |diff| then compares both paths on
those 4 windows (the random draws follow the batch shape).
"""

from __future__ import annotations

import argparse
import dataclasses
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


def _quality_inputs(n: int, length: int, fs: float, width: int) -> ExplanationBatch:
    """A trained-shape xECGArch rhythm branch, DTD relevance of synthetic ECG-like windows."""
    import torch

    from xecgbench.plugins.attribution_checks import eval_mode
    from xecgbench_builtin.attribution.zennit_methods import DTD
    from xecgbench_builtin.models.xecgarch import build_xecgarch

    torch.manual_seed(0)
    module = build_xecgarch(fs=fs, n_samples=length, width=width).explainable("rhythm").eval()
    method = DTD(module)
    rng = np.random.default_rng(0)
    t = np.arange(length) / fs
    beats = np.sin(2 * np.pi * 1.2 * t) ** 15  # spiky, roughly R-peak-like
    x = (beats[None, None] + 0.1 * rng.standard_normal((n, 1, length))).astype(np.float32)
    target = np.arange(n, dtype=np.int64) % 2

    def explain(inputs: object, labels: object) -> object:
        with eval_mode(module):
            return method(torch.as_tensor(inputs), torch.as_tensor(labels))

    relevance = explain(x, target).detach().numpy()  # type: ignore[attr-defined]
    return ExplanationBatch(
        x=x, y=target, target=target, attributions=relevance, fs=fs, seed=0, model=module,
        explain=explain,
    )  # fmt: skip


def quality_table(args: argparse.Namespace) -> None:
    """Batched quality metrics against their Quantus backend, per explained window."""
    import torch

    from xecgbench.run.executors import STAGE_THREADS
    from xecgbench_builtin.metrics.quality_batched import BATCHED_QUALITY_METRICS

    torch.set_num_threads(STAGE_THREADS)  # as the runner runs every stage
    batch = _quality_inputs(args.quality_n, args.quality_t, args.fs, args.width)
    n = args.quality_n
    k = args.quantus_n or n  # Quantus on the first k windows (the former n_costly: 4)
    first = dataclasses.replace(
        batch, x=batch.x[:k], y=batch.y[:k], target=batch.target[:k],
        attributions=batch.attributions[:k],
    )  # fmt: skip
    reexplain = interleaved({"explain": lambda: batch.explain(batch.x, batch.target)}, 3)  # type: ignore[misc]
    floor = median(reexplain.wall["explain"]) / n
    print(
        f"\nquality: N={n} (Quantus on {k}) T={args.quality_t} fs={args.fs:g} "
        f"width={args.width}, DTD; "
        f"ms per window, median of {args.repeats} interleaved rounds, {STAGE_THREADS} thread; "
        f"one re-explanation {floor * 1e3:.3f} ms/window"
    )
    print(f"{'metric':26} {'batched':>9} {'quantus':>9} {'x':>7} {'max|diff|':>10}")
    for metric_class in BATCHED_QUALITY_METRICS:
        ours, reference = metric_class(), metric_class(backend="quantus")
        scores: dict[str, object] = {}
        timings = interleaved(
            {
                "ours": _keeping(scores, "ours", lambda m=ours: m.evaluate_batch(batch)),
                "quantus": _keeping(
                    scores, "quantus", lambda m=reference: m.evaluate_batch(first)
                ),
            },
            args.repeats,
        )
        t_ours, t_quantus = median(timings.wall["ours"]) / n, median(timings.wall["quantus"]) / k
        # the draws follow the batch shape, so compare on the windows Quantus scored
        same = scores["ours"] if k == n else ours.evaluate_batch(first)
        diff = np.nanmax(np.abs(np.asarray(same) - np.asarray(scores["quantus"])))
        print(
            f"{metric_class.info.name:26} {t_ours * 1e3:9.3f} {t_quantus * 1e3:9.2f} "
            f"{t_quantus / t_ours:7.1f} {diff:10.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--t", type=int, default=2500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quality-n", type=int, default=32, help="explained windows")
    parser.add_argument("--quality-t", type=int, default=1000, help="window length (samples)")
    parser.add_argument("--fs", type=float, default=100.0, help="quality model's rate (Hz)")
    parser.add_argument("--width", type=int, default=8, help="quality model's width")
    parser.add_argument("--only", choices=("localisation", "quality"), default=None)
    parser.add_argument(
        "--quantus-n", type=int, default=None,
        help="time Quantus on the first K windows only (per-window cost at the former n_costly)",
    )  # fmt: skip
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.only == "quality":
        load_before = load_average()
        quality_table(args)
        print(f"load average {load_before} -> {load_average()}")
        return
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
    if args.only is None:
        quality_table(args)
    print(f"load average {load_before} -> {load_average()}")


if __name__ == "__main__":
    main()
