"""Two-way class × interval analysis of relevance per beat interval, replicates = seeds.

The per-window scores of the ``interval_anova`` metric are not independent replicates: every
window is explained once per seed (one trained model per seed), windows come from records, and
the interval shares of one window sum to 1. Two models respect this:

- ``"mixed"`` (default): a linear mixed model on the window-level values (statsmodels
  ``MixedLM``): the class × interval cell means and a seed block as fixed effects; per record a
  random intercept and random record × interval effects (the record's own profile), shared by
  all its windows and seeds. Seeds are replicate training runs: what is left after the
  record's profile is the seed-to-seed variation the tests are scaled by; with the usual 3–5
  seeds a seed variance is not estimable, so the seed enters as a block. Records are sampled,
  so their variance widens the class contrasts (the split-plot error structure: class between
  records, interval within). Wald χ² and z tests. About 0.2–0.5 s per 1,000 values.
- ``"seed_anova"``: average the windows of each seed × class × interval cell first, then fit
  ``value ~ seed + cell`` by OLS on those seed means, seeds as the replicates (F and t tests
  with the seed-level residual degrees of freedom; one seed gives no test). Fast, but the same
  records are averaged in every seed, so it treats them as fixed: its class contrasts hold for
  these records, not for new ones, and are anti-conservative for that question.

Both use a cell-means parameterisation, so every hypothesis is a contrast of cell means. The
intervals differ by class (P and PQ are undefined on AF windows, F only exists there); the
**interaction** test (does the class difference depend on the interval?), the **class** test
(average class difference) and the **interval** test (average over classes) use the intervals
both classes have. Post-hoc comparisons, each family Holm-adjusted: AF vs non-AF within every
shared interval, and every pair of intervals within each class.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xecgbench.plugins.components import record_of
from xecgbench.report.stats.corrections import holm

MODELS: tuple[str, ...] = ("mixed", "seed_anova")
#: Distinct fits below which a process pool costs more than it saves (~1 s to start a worker;
#: a MixedLM fit takes 0.1-0.5 s and a paper board has a couple of hundred).
POOL_MIN_FITS = 24
MAX_WORKERS = 4
POSTHOC_COLUMNS = ("family", "comparison", "estimate", "p_value", "p_holm")


@dataclass(frozen=True)
class ClassIntervalTest:
    """Result of :func:`class_interval_test`.

    ``p_*`` are NaN when the data cannot support the test (one seed, one class, one shared
    interval). ``posthoc`` has :data:`POSTHOC_COLUMNS`; ``estimate`` is the first minus the
    second cell mean of ``comparison`` (``"AF − non-AF @ QRS"``, ``"non-AF: P − QRS"``).
    """

    model: str
    p_interaction: float
    p_class: float
    p_interval: float
    shared: tuple[str, ...]
    cell_means: pd.Series
    posthoc: pd.DataFrame
    n_seeds: int
    n_records: int


def _ordered(values: Sequence[str], order: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    return [v for v in order if v in present] + sorted(v for v in present if v not in order)


def _fit(frame: pd.DataFrame, cells: list[str], model: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Cell-mean estimates, their covariance and the test's degrees of freedom (inf: normal)."""
    import statsmodels.api as sm
    from statsmodels.regression.mixed_linear_model import VCSpec

    k = len(cells)
    if model == "seed_anova":
        seed_means = frame.groupby(["seed", "cell"], observed=True)["value"].mean().reset_index()
        design = pd.get_dummies(pd.Categorical(seed_means["cell"], categories=cells)).astype(float)
        seeds = pd.get_dummies(seed_means["seed"].astype(str), drop_first=True).astype(float)
        exog = np.column_stack([design.to_numpy(), seeds.to_numpy()])
        fit = sm.OLS(seed_means["value"].to_numpy(dtype=float), exog).fit()
        if fit.df_resid <= 0:
            return fit.params[:k], np.full((k, k), np.nan), float("nan")
        return fit.params[:k], np.asarray(fit.cov_params())[:k, :k], float(fit.df_resid)
    if model != "mixed":
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    design = pd.get_dummies(pd.Categorical(frame["cell"], categories=cells)).astype(float)
    seeds = pd.get_dummies(frame["seed"].astype(str), drop_first=True).astype(float)
    exog = np.column_stack([design.to_numpy(), seeds.to_numpy()])
    records = frame["record"].astype(str).to_numpy()
    by_interval = pd.get_dummies(frame["interval"].astype(str)).astype(float).to_numpy()
    # record × interval effects: each record's own profile, shared by its windows and seeds;
    # VCSpec wants one matrix per group, groups in sorted order (statsmodels' group labels)
    groups = sorted(set(records))
    profile = VCSpec(
        ["record_interval"],
        [[[str(j) for j in range(by_interval.shape[1])] for _ in groups]],
        [[by_interval[records == record] for record in groups]],
    )
    model_ = sm.MixedLM(frame["value"].to_numpy(dtype=float), exog, records, exog_vc=profile)
    failure: Exception | None = None
    for optimiser in ("bfgs", "cg", "powell"):  # a zero-variance boundary can stall one
        try:
            with warnings.catch_warnings():  # boundary fits are expected and valid
                warnings.simplefilter("ignore")
                mixed = model_.fit(reml=True, method=optimiser)
            break
        except (np.linalg.LinAlgError, ValueError) as exc:
            failure = exc
    else:
        raise np.linalg.LinAlgError(f"MixedLM did not fit with any optimiser: {failure}")
    return (
        np.asarray(mixed.fe_params)[:k],
        np.asarray(mixed.cov_params())[:k, :k],
        float("inf"),
    )


def _wald(beta: np.ndarray, cov: np.ndarray, contrasts: np.ndarray, df: float) -> float:
    """p of H0: ``contrasts @ beta = 0`` (F with ``df`` residual df, χ² when ``df`` is inf)."""
    if len(contrasts) == 0 or not np.isfinite(cov).all() or not df > 0:
        return float("nan")
    estimate = contrasts @ beta
    middle = contrasts @ cov @ contrasts.T
    if len(contrasts) == 1:  # one contrast: no decomposition (most post-hoc tests)
        if not middle[0, 0] > 0:
            return float("nan")
        statistic, q = float(estimate[0] ** 2 / middle[0, 0]), 1
    else:
        statistic = float(estimate @ np.linalg.pinv(middle) @ estimate)
        q = int(np.linalg.matrix_rank(middle))
        if q == 0:
            return float("nan")
    if np.isinf(df):
        return float(stats.chi2.sf(statistic, q))
    return float(stats.f.sf(statistic / q, q, df))


def class_interval_test(
    frame: pd.DataFrame,
    *,
    model: str = "mixed",
    classes: Sequence[str] = ("non-AF", "AF"),
    intervals: Sequence[str] = ("P", "PQ", "F", "QRS", "ST", "T", "TP"),
) -> ClassIntervalTest:
    """Class × interval test of ``frame`` (columns ``seed``, ``record``, ``cls``, ``interval``,
    ``value``; NaN values dropped). ``classes``/``intervals`` fix the order of the output."""
    frame = frame.dropna(subset=["value"]).copy()
    frame["cell"] = frame["cls"].astype(str) + "/" + frame["interval"].astype(str)
    class_order = _ordered(frame["cls"], classes)
    by_class = {
        c: _ordered(frame.loc[frame["cls"] == c, "interval"], intervals) for c in class_order
    }
    cells = [f"{c}/{i}" for c in class_order for i in by_class[c]]
    shared = (
        tuple(i for i in by_class[class_order[0]] if all(i in by_class[c] for c in class_order))
        if len(class_order) == 2
        else ()
    )
    beta, cov, df = _fit(frame, cells, model)
    index = {cell: j for j, cell in enumerate(cells)}

    def row(weights: dict[str, float]) -> np.ndarray:
        out = np.zeros(len(cells))
        for cell, weight in weights.items():
            out[index[cell]] += weight
        return out

    interaction, interval_main, class_main = [], [], []
    if len(class_order) == 2 and shared:
        a, b = class_order[1], class_order[0]  # AF − non-AF
        for i in shared[1:]:
            interaction.append(row({f"{a}/{i}": 1, f"{b}/{i}": -1, f"{a}/{shared[0]}": -1,
                                    f"{b}/{shared[0]}": 1}))
            interval_main.append(row({f"{a}/{i}": 0.5, f"{b}/{i}": 0.5,
                                      f"{a}/{shared[0]}": -0.5, f"{b}/{shared[0]}": -0.5}))
        class_main.append(
            sum((row({f"{a}/{i}": 1, f"{b}/{i}": -1}) for i in shared), np.zeros(len(cells)))
            / len(shared)
        )
    posthoc = _posthoc(beta, cov, df, row, class_order, by_class, shared)
    return ClassIntervalTest(
        model=model,
        p_interaction=_wald(beta, cov, np.array(interaction).reshape(-1, len(cells)), df),
        p_class=_wald(beta, cov, np.array(class_main).reshape(-1, len(cells)), df),
        p_interval=_wald(beta, cov, np.array(interval_main).reshape(-1, len(cells)), df),
        shared=shared,
        cell_means=pd.Series(beta, index=cells),
        posthoc=posthoc,
        n_seeds=int(frame["seed"].nunique()),
        n_records=int(frame["record"].nunique()),
    )


def class_interval_tests(frames: Sequence[pd.DataFrame], *, model: str = "mixed"
                         ) -> list[ClassIntervalTest | ValueError | np.linalg.LinAlgError]:
    """:func:`class_interval_test` of every frame, or the error its fit raised.

    Identical frames (a control map that ignores the model, bit-identical models) are fitted
    once; with at least :data:`POOL_MIN_FITS` distinct frames the fits are spread over the
    CPUs by forked workers (fork, not spawn: a spawned worker re-imports the caller's main
    script, which a notebook or an unguarded script cannot survive; the workers run only
    NumPy/statsmodels). Each fit is the same computation wherever it runs, so the results do
    not depend on the pool.
    """
    keys = [_content(frame) for frame in frames]
    distinct = dict(zip(keys, frames, strict=True))
    workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS, len(distinct))
    if (len(distinct) >= POOL_MIN_FITS and workers > 1
            and "fork" in multiprocessing.get_all_start_methods()):
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            fitted = list(pool.map(_fitted_or_error, distinct.values(),
                                   itertools.repeat(model), chunksize=4))
    else:
        fitted = [_fitted_or_error(frame, model) for frame in distinct.values()]
    by_key = dict(zip(distinct, fitted, strict=True))
    return [by_key[key] for key in keys]


def _content(frame: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + ",".join(frame.columns).encode()).hexdigest()


def _fitted_or_error(frame: pd.DataFrame, model: str
                     ) -> ClassIntervalTest | ValueError | np.linalg.LinAlgError:
    try:
        return class_interval_test(frame, model=model)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return exc


def _posthoc(beta, cov, df, row, class_order, by_class, shared) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Class contrasts per shared interval and interval pairs per class, Holm per family."""
    records = []
    families: list[tuple[str, list[tuple[str, dict[str, float]]]]] = []
    if len(class_order) == 2:
        a, b = class_order[1], class_order[0]
        families.append(
            (
                "class within interval",
                [(f"{a} − {b} @ {i}", {f"{a}/{i}": 1, f"{b}/{i}": -1}) for i in shared],
            )
        )
    for c in class_order:
        families.append(
            (
                f"intervals within {c}",
                [
                    (f"{c}: {i} − {j}", {f"{c}/{i}": 1, f"{c}/{j}": -1})
                    for i, j in itertools.combinations(by_class[c], 2)
                ],
            )
        )
    for family, comparisons in families:
        p_values = []
        rows = []
        for label, weights in comparisons:
            contrast = row(weights)
            estimate = float(contrast @ beta)
            p_values.append(_wald(beta, cov, contrast[None, :], df))
            rows.append({"family": family, "comparison": label, "estimate": estimate})
        adjusted = holm(np.array(p_values, dtype=float)) if p_values else np.array([])
        for record, p, p_adj in zip(rows, p_values, adjusted, strict=True):
            records.append(record | {"p_value": p, "p_holm": float(p_adj)})
    return pd.DataFrame(records, columns=list(POSTHOC_COLUMNS))


def long_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """The ``interval_anova`` scores (region ``"<class>/<interval>"``) as analysis input.

    ``record`` is the window's record (its ``record_id`` up to ``#``), so windows of one record
    share its random intercept.
    """
    split = scores["region"].astype(str).str.split("/", n=1, expand=True)
    record = scores["record_id"].astype(str).map(record_of)
    return pd.DataFrame(
        {
            "seed": scores["seed"].to_numpy(),
            "record": record.to_numpy(),
            "cls": split[0].to_numpy(),
            "interval": split[1].to_numpy(),
            "value": pd.to_numeric(scores["value"], errors="coerce").to_numpy(),
        }
    )
