"""Operating points from the stored per-window AF probabilities, with intervals over seeds and
windows.

Per pretraining × freezing × branch: AUROC, AUPRC beside the AF prevalence (AUPRC's chance
level), and F1 of AF, balanced accuracy, sensitivity and specificity at the threshold chosen on
the validation records (F1 of AF maximised there), sensitivity at the threshold holding 95 %
specificity on the validation records, and F1 / balanced accuracy at 0.5 for comparison. No
threshold is ever tuned on the test windows.

**Per record** (CinC 2017 is scored per record): where an evaluation record contributes several
windows, :func:`record_probabilities` averages its windows' AF probabilities into one record
probability and the same statistics are computed over records, thresholds again chosen on the
validation records (one window each, as at window level).

Each number is the mean over seeds of the per-seed value on all test windows. Its 95 % interval
is the two-way bootstrap of :mod:`~xecgbench.report.stats.inference`: each draw weights seeds and
test windows by multinomial counts and recomputes every statistic from the weighted confusion
counts (weighted ranks for AUROC and AUPRC), so window sampling counts as well as seeds. Where a
proportion rests on fewer than :data:`SMALL_COUNT` windows (e.g. sensitivity on 12 AF windows)
the bootstrap's percentiles are too coarse: its interval is widened to contain the Jeffreys
interval Beta(k + ½, n − k + ½) of the seed-mean count k out of n, and k/n is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xecgbench.plugins.components import record_of
from xecgbench.plugins.operating_points import f1_threshold, specificity_threshold
from xecgbench.report.board import Column, Table, arrow, sorted_rows
from xecgbench.report.stats.inference import MIN_SEEDS, TwoWayBootstrap

#: Proportions over fewer windows than this get a Jeffreys interval beside the bootstrap.
SMALL_COUNT = 30
KEYS = ("pretraining", "freezing", "branch")
#: Statistic -> (label in the tables, higher is better); the order of the table's columns.
STATISTICS: dict[str, tuple[str, bool | None]] = {
    "roc_area": ("AUROC", True),
    "pr_area": ("AUPRC", True),
    "threshold_val": ("threshold (val)", None),
    "f1_val": ("F1 of AF @ val", True),
    "balanced_val": ("balanced accuracy @ val", True),
    "sensitivity_val": ("sensitivity @ val", True),
    "specificity_val": ("specificity @ val", True),
    "sensitivity_spec95": ("sensitivity @ 95 % spec (val)", True),
    "f1_050": ("F1 of AF @ 0.5", True),
    "balanced_050": ("balanced accuracy @ 0.5", True),
}
#: Proportions: statistic -> (class of the windows counted, which windows count as hits).
PROPORTIONS = {"sensitivity_val": 1, "specificity_val": 0, "sensitivity_spec95": 1}


def jeffreys_interval(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval of a binomial proportion k/n: Beta(k + ½, n − k + ½) quantiles.

    The lower end is 0 at k = 0 and the upper 1 at k = n (as Brown, Cai & DasGupta 2001).
    """
    if n <= 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    low = 0.0 if k <= 0 else float(stats.beta.ppf(tail, k + 0.5, n - k + 0.5))
    high = 1.0 if k >= n else float(stats.beta.ppf(1 - tail, k + 0.5, n - k + 0.5))
    return low, high


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.nan)


def ranked_areas(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted AUROC and average precision (AUPRC, scikit-learn's step rule), one per row of
    ``weights`` (draws × windows); ties count half for AUROC, as one threshold for AUPRC.

    Pairwise comparison matrices (AF × non-AF windows) turn each into matrix products over
    all draws at once.
    """
    af = labels.astype(bool)
    pos, neg = scores[af], scores[~af]
    w_pos, w_neg = weights[:, af], weights[:, ~af]
    total_pos = w_pos.sum(axis=1, dtype=np.float64)
    total_neg = w_neg.sum(axis=1, dtype=np.float64)
    kind = weights.dtype  # float32 counts are exact here and halve the cost
    # Weight of non-AF windows scoring at least as high as each AF window (and strictly higher:
    # the same unless scores tie across classes). AUROC counts pairs an AF window wins, ties
    # half; AUPRC needs the precision at each AF window's score.
    at_least = w_neg @ (neg[:, None] >= pos[None, :]).astype(kind)
    tied = np.intersect1d(pos, neg).size > 0
    above = w_neg @ (neg[:, None] > pos[None, :]).astype(kind) if tied else at_least
    wins = total_neg[:, None] - 0.5 * (at_least + above)
    auroc = _ratio((w_pos * wins).sum(axis=1, dtype=np.float64), total_pos * total_neg)
    true_pos = w_pos @ (pos[:, None] >= pos[None, :]).astype(kind)
    precision = _ratio(true_pos.astype(np.float64), (true_pos + at_least).astype(np.float64))
    auprc = _ratio((w_pos * np.nan_to_num(precision)).sum(axis=1), total_pos)
    return auroc, auprc


def _at_thresholds(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                   thresholds: Sequence[float]) -> list[dict[str, np.ndarray]]:
    """Weighted sensitivity, specificity, balanced accuracy and F1 at each threshold (NaN at
    an undefined one), from one product of the weights with every confusion indicator."""
    af = labels.astype(bool)
    columns = []
    for threshold in thresholds:
        called = scores >= threshold  # all False at NaN: masked out below
        columns += [af & called, af & ~called, ~af & called, ~af & ~called]
    counts = weights @ np.stack(columns, axis=1).astype(weights.dtype)
    out = []
    for index, threshold in enumerate(thresholds):
        tp, fn, fp, tn = counts[:, 4 * index: 4 * index + 4].T.astype(np.float64)
        sensitivity, specificity = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
        stats_ = {"sens": sensitivity, "spec": specificity,
                  "balanced": (sensitivity + specificity) / 2,
                  "f1": _ratio(2 * tp, 2 * tp + fp + fn)}
        if not np.isfinite(threshold):
            stats_ = {k: np.full(len(weights), np.nan) for k in stats_}
        out.append(stats_)
    return out


def seed_statistics(test: np.ndarray, labels: np.ndarray, val_scores: np.ndarray,
                    val_labels: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every statistic of one seed's model under each row of window ``weights``."""
    roc, pr = ranked_areas(test, labels, weights)
    threshold = f1_threshold(val_labels, val_scores)
    at_val, at_half, spec95 = _at_thresholds(
        test, labels, weights,
        (threshold, 0.5, specificity_threshold(val_labels, val_scores)))
    return {"roc_area": roc, "pr_area": pr, "threshold_val": np.full(len(weights), threshold),
            "f1_val": at_val["f1"], "balanced_val": at_val["balanced"],
            "sensitivity_val": at_val["sens"], "specificity_val": at_val["spec"],
            "sensitivity_spec95": spec95["sens"], "f1_050": at_half["f1"],
            "balanced_050": at_half["balanced"]}


@dataclass(frozen=True)
class CellData:
    """One cell's test probabilities ``[seed, window]`` and each seed's validation windows."""

    test: np.ndarray
    validation: Mapping[int, tuple[np.ndarray, np.ndarray]]  # seed position -> (scores, labels)


def _cells(probabilities: pd.DataFrame) -> tuple[dict[tuple, CellData], list, np.ndarray]:
    test = probabilities[probabilities["split"] == "test"]
    seeds = sorted(test["seed"].unique())
    windows = sorted(test["sample"].unique())
    labels = test.drop_duplicates("sample").set_index("sample")["label"].reindex(windows)
    seed_pos = {s: i for i, s in enumerate(seeds)}
    window_pos = {w: i for i, w in enumerate(windows)}
    validation = probabilities[probabilities["split"] == "validation"]
    val_groups = dict(tuple(validation.groupby([*KEYS, "seed"], sort=False)))
    out = {}
    for key, group in test.groupby(list(KEYS), sort=False):
        grid = np.full((len(seeds), len(windows)), np.nan)
        grid[group["seed"].map(seed_pos), group["sample"].map(window_pos)] = group["probability"]
        val = {}
        for seed in group["seed"].unique():
            rows = val_groups.get((*key, seed))
            if rows is not None:
                val[seed_pos[seed]] = (rows["probability"].to_numpy(float),
                                       rows["label"].to_numpy(int))
        out[key] = CellData(grid, val)
    return out, seeds, labels.to_numpy(int)


def _combine(per_seed: list[np.ndarray], seed_weights: np.ndarray) -> np.ndarray:
    """Seed-weighted mean of per-seed statistics, one per draw (NaN seeds left out)."""
    values = np.stack(per_seed, axis=1)  # draws × seeds
    defined = np.isfinite(values)
    weights = np.where(defined, seed_weights, 0.0)
    return _ratio((np.where(defined, values, 0.0) * weights).sum(axis=1), weights.sum(axis=1))


def operating_points(probabilities: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows (pretraining, freezing, branch, metric, region, mean, ci_low, ci_high,
    n_seeds, n_records, count) of every statistic of :data:`STATISTICS`."""
    cells, seeds, labels = _cells(probabilities)
    if not cells:
        return pd.DataFrame()
    n_windows = len(labels)
    bootstrap = TwoWayBootstrap.draw(len(seeds), n_windows)
    unit = np.ones((1, n_windows), dtype=np.float32)
    window_weights = bootstrap.record_weights.astype(np.float32)
    rows = []
    for key, cell in cells.items():
        present = [i for i in range(len(seeds)) if np.isfinite(cell.test[i]).all()
                   and i in cell.validation]
        point: dict[str, list[float]] = {name: [] for name in STATISTICS}
        draws: dict[str, list[np.ndarray]] = {name: [] for name in STATISTICS}
        interval = len(present) >= MIN_SEEDS  # below MIN_SEEDS no interval: no draws needed
        for i in present:
            scored = (cell.test[i], labels, *cell.validation[i])
            for name, value in seed_statistics(*scored, unit).items():
                point[name].append(float(value[0]))
            if interval:
                for name, value in seed_statistics(*scored, window_weights).items():
                    draws[name].append(value)
        rows += _rows(key, point, draws, bootstrap.seed_weights[:, present], labels, len(present))
    return pd.DataFrame(rows)


def record_probabilities(probabilities: pd.DataFrame) -> pd.DataFrame | None:
    """The test windows averaged per record (mean AF probability; validation rows as they
    are), numbered by record in one order for every cell; None when no record has more than
    one window (the window-level table is then the record-level one)."""
    test = probabilities[probabilities["split"] == "test"]
    if test.empty:
        return None
    test = test.assign(record=test["record_id"].astype(str).map(record_of))
    groups = [*KEYS, "seed", "record"]
    if test.groupby(groups, sort=False).size().max() <= 1:
        return None
    records = test.groupby(groups, sort=False).agg(
        probability=("probability", "mean"), label=("label", "max")).reset_index()
    number = {r: i for i, r in enumerate(sorted(records["record"].unique()))}
    records = records.assign(split="test", sample=records["record"].map(number),
                             record_id=records["record"]).drop(columns="record")
    validation = probabilities[probabilities["split"] == "validation"]
    return pd.concat([records, validation[records.columns]], ignore_index=True)


def _small_sample_interval(draws: np.ndarray, n_seeds: int,
                           alpha: float = 0.05) -> tuple[float, float]:
    """The bootstrap's percentile interval widened for few seeds, inside [0, 1].

    A percentile bootstrap over 5 seeds covers about 84 %, not 95 % (docs/concepts.md): its
    spread misses the factor n/(n - 1) and its quantiles are normal, not t. As
    :func:`~xecgbench.report.stats.inference.corrected_interval` does for score grids, the interval
    keeps its shape and is rescaled by t(n - 1)/z * sqrt(n/(n - 1)) about the draws' mean.
    """
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    centre = float(finite.mean())
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    scale = (stats.t.ppf(1 - alpha / 2, n_seeds - 1) / stats.norm.ppf(1 - alpha / 2)
             * np.sqrt(n_seeds / (n_seeds - 1)))
    return (float(max(centre - (centre - low) * scale, 0.0)),
            float(min(centre + (high - centre) * scale, 1.0)))


def _rows(key: tuple, point: dict[str, list[float]], draws: dict[str, list[np.ndarray]],
          seed_weights: np.ndarray, labels: np.ndarray, n_seeds: int) -> list[dict]:
    cell = dict(zip(KEYS, key, strict=True))
    out = [{**cell, "metric": "prevalence", "region": "", "mean": float(labels.mean()),
            "count": f"{int(labels.sum())}/{len(labels)}", "n_records": len(labels)}]
    for name in STATISTICS:
        values = np.array(point[name], dtype=float)
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        low = high = float("nan")
        if n_seeds >= MIN_SEEDS and name != "threshold_val":
            low, high = _small_sample_interval(_combine(draws[name], seed_weights), n_seeds)
        row = {**cell, "metric": name, "region": "", "mean": mean, "n_seeds": n_seeds,
               "n_records": len(labels)}
        if name in PROPORTIONS and np.isfinite(mean):
            n = int((labels == PROPORTIONS[name]).sum())
            k = mean * n
            row["count"] = f"{k:.0f}/{n}" if abs(k - round(k)) < 1e-9 else f"{k:.1f}/{n}"
            if n < SMALL_COUNT:
                j_low, j_high = jeffreys_interval(k, n)
                low = j_low if not np.isfinite(low) else min(low, j_low)
                high = j_high if not np.isfinite(high) else max(high, j_high)
        out.append({**row, "ci_low": low, "ci_high": high})
    return out


def _count_text(values: pd.DataFrame, metric: str) -> pd.Series:
    mine = values[values["metric"] == metric].set_index(list(KEYS))
    if metric == "prevalence":
        return mine.apply(lambda r: f"{r['mean']:.3f} ({r['count']})", axis=1)
    return mine["count"].fillna("—") if "count" in mine else pd.Series(dtype=object)


#: Text columns of counts: column name -> the proportion it counts.
COUNT_COLUMNS = {"AF prevalence (test)": "prevalence",
                 "AF called @ val": "sensitivity_val",
                 "AF called @ 95 % spec": "sensitivity_spec95"}


def operating_point_table(values: pd.DataFrame | None, order: Mapping[str, Mapping[str, int]],
                          per_record: bool = False) -> Table | None:
    """The table of :func:`operating_points` ``values`` (None when the run stored no
    probabilities), over windows or (``per_record``) over :func:`record_probabilities`."""
    if values is None or values.empty:
        return None
    unit = "record" if per_record else "window"
    rows = sorted_rows(values[list(KEYS)].drop_duplicates(), KEYS, order)
    for column, metric in COUNT_COLUMNS.items():
        counts = _count_text(values, metric)
        rows[column] = [counts.get(tuple(r), "—") for r in rows[list(KEYS)].itertuples(
            index=False)]
    stat = {name: Column(name, "", label + arrow(up), up)
            for name, (label, up) in STATISTICS.items()}
    text = {c: Column(c, "", c, None, "text") for c in COUNT_COLUMNS}
    columns = (text["AF prevalence (test)"], stat["roc_area"], stat["pr_area"],
               stat["threshold_val"], stat["f1_val"], stat["balanced_val"],
               stat["sensitivity_val"], text["AF called @ val"],
               stat["specificity_val"], stat["sensitivity_spec95"],
               text["AF called @ 95 % spec"], stat["f1_050"], stat["balanced_050"])
    source = (
        "From the mean stored AF probability of each test record's windows (every 10-s "
        "window of the record; val: threshold chosen on validation records, one window "
        "each)" if per_record else
        "From the stored AF probability of every test window (val: threshold chosen on "
        "validation records)")
    return Table(
        name="operating-points-records" if per_record else "operating-points",
        title=(f"Operating points per {unit} (thresholds chosen on validation records)"
               if per_record else "Operating points (thresholds chosen on validation records)"),
        caption=(
            f"{source}. AUPRC's chance level is the "
            "AF prevalence beside it (not 0.5). Thresholds are chosen per model on the records "
            "fine-tuning held out for early stopping, never on the test windows: the one "
            "maximising F1 of AF there, and the one holding 95 % specificity there (its "
            "test sensitivity is shown); 0.5 for comparison. Mean over seeds [95 % interval: "
            f"two-way bootstrap over seeds and test {unit}s]; a proportion over fewer than "
            f"{SMALL_COUNT} {unit}s has its interval widened to contain the Jeffreys interval "
            "of its seed-mean count k/n (shown beside it)."
        ),
        row_keys=KEYS,
        rows=rows,
        columns=columns,
        values=values.drop(columns=[c for c in ("count",) if c in values]),
    )
