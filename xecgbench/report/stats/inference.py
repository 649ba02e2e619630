"""Inference with the right unit: seeds are replicates, records a random effect.

Every explained record is scored once per seed, and the *same* records repeat in every seed, so
treating seed × record scores as independent observations inflates the evidence (a Wilcoxon
test over them gave p = 1e-31 where the seed-level p was 0.2). Two tools replace it:

- **Two-way bootstrap** (seeds and records resampled independently, crossed): for a grid
  ``V[seed, record]`` each draw weights seeds and records by multinomial counts and takes the
  weighted mean over the defined cells. A percentile interval over 5 seeds covers about 84 %,
  not 95 %, so its width is rescaled to the t-interval of the two-way random-effects
  standard error (:func:`corrected_interval`), keeping the bootstrap's shape and the data's
  range. It reflects both the variation between trained models and the finiteness of the
  test set. Draws are shared by every cell of a run with the same seeds and records (common
  random numbers), so a difference of two cells is paired.
- **Seed-level test** for an effect: per seed, the log ratio (or difference) of the two cells'
  means over the same records; a one-sample t-test over seeds (df = seeds − 1). With three
  seeds this is weak on purpose: three models are three observations.

Below :data:`MIN_SEEDS` seeds no interval and no p-value is given. A ratio's interval is the
t-interval over seeds of the per-seed log ratios, on the same unit as its p-value
(:func:`seed_t_test`, windows held fixed in both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from xecgbench.errors import XecgbenchError

MIN_SEEDS = 3
N_BOOT = 2000
#: The bootstrap's weights may take at most this many bytes (draws × (seeds + records) × 8):
#: 400,000 distinct windows of one method made ``validate`` allocate 5.96 GiB here. 512 MiB
#: is 33,000 records at 2,000 draws; the committed paper board has 1,560 windows.
MAX_BOOTSTRAP_BYTES = 512 << 20


class StatisticsBudgetError(XecgbenchError):
    """A table's statistics would need more memory than :data:`MAX_BOOTSTRAP_BYTES`."""
BOOTSTRAP_SEED = 20261130


@dataclass(frozen=True)
class Grid:
    """Scores of one cell laid out as ``values[seed, record]`` (NaN where undefined).

    ``scored`` marks the cells the run scored at all (a row, defined or not); a costly method
    or metric scores only a declared subset of the windows, and its coverage is the share of
    *those* with a defined score, not of windows it was never asked about.
    """

    values: np.ndarray
    scored: np.ndarray | None = None

    @property
    def defined(self) -> np.ndarray:
        """Where a score exists."""
        return np.isfinite(self.values)

    @property
    def n_seeds(self) -> int:
        """Seeds with at least one defined score."""
        return int(self.defined.any(axis=1).sum())

    @property
    def n_records(self) -> int:
        """Records with at least one defined score."""
        return int(self.defined.any(axis=0).sum())

    @property
    def coverage(self) -> float:
        """Share of the scored seed × record cells with a defined score."""
        scored = np.ones_like(self.defined) if self.scored is None else self.scored
        return float(self.defined.sum() / scored.sum()) if scored.any() else float("nan")

    def mean(self) -> float:
        """Mean over the defined cells (equal weight per seed × record)."""
        return float(np.nanmean(self.values)) if self.defined.any() else float("nan")

    def seed_means(self) -> np.ndarray:
        """Each seed's mean over its defined records (NaN for a seed with none)."""
        with np.errstate(invalid="ignore"):
            total = np.where(self.defined, self.values, 0).sum(axis=1)
            return total / self.defined.sum(axis=1)


def grids(frame: pd.DataFrame, keys: Sequence[str]) -> tuple[dict[tuple, Grid], list, list]:
    """Per ``keys`` group, the seed × record grid of ``value`` over the run's seeds and records.

    Records are identified by ``sample`` (the explained window's index), so every cell of a run
    shares one record axis and one seed axis.
    """
    seeds = sorted(frame["seed"].unique())
    records = sorted(frame["sample"].unique())
    seed_index = {s: i for i, s in enumerate(seeds)}
    record_index = {r: i for i, r in enumerate(records)}
    out: dict[tuple, Grid] = {}
    for key, group in frame.groupby(list(keys), sort=False, dropna=False):
        values = np.full((len(seeds), len(records)), np.nan)
        scored = np.zeros(values.shape, dtype=bool)
        rows = group["seed"].map(seed_index).to_numpy()
        cols = group["sample"].map(record_index).to_numpy()
        values[rows, cols] = group["value"].to_numpy(dtype=np.float64)
        scored[rows, cols] = True
        out[key if isinstance(key, tuple) else (key,)] = Grid(values, scored)
    return out, seeds, records


@dataclass(frozen=True)
class TwoWayBootstrap:
    """Multinomial weights for seeds and records, drawn once and shared by every cell."""

    seed_weights: np.ndarray  # (B, n_seeds)
    record_weights: np.ndarray  # (B, n_records)

    @classmethod
    def draw(cls, n_seeds: int, n_records: int, n_boot: int = N_BOOT,
             seed: int = BOOTSTRAP_SEED) -> TwoWayBootstrap:
        """Deterministic draws (the same run gives the same intervals on every machine),
        refused before anything is allocated when their weights would pass the budget."""
        needed = n_boot * (n_seeds + n_records) * 8
        if needed > MAX_BOOTSTRAP_BYTES:
            raise StatisticsBudgetError(
                f"the two-way bootstrap over {n_seeds:,} seeds and {n_records:,} records or "
                f"windows ({n_boot:,} draws) would take {needed / 2**20:,.0f} MiB, over the "
                f"{MAX_BOOTSTRAP_BYTES >> 20} MiB budget of a board's statistics")
        rng = np.random.default_rng(seed)
        return cls(
            rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(float),
            rng.multinomial(n_records, np.full(n_records, 1 / n_records), size=n_boot)
            .astype(float),
        )

    def means(self, grid: Grid) -> np.ndarray:
        """The weighted mean over defined cells, one per draw (NaN where a draw has none)."""
        defined = grid.defined.astype(float)
        values = np.where(grid.defined, grid.values, 0.0)
        total = np.einsum("bs,sr,br->b", self.seed_weights, values, self.record_weights)
        count = np.einsum("bs,sr,br->b", self.seed_weights, defined, self.record_weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count


@dataclass(frozen=True)
class Estimate:
    """A cell's mean with its interval and the units behind it."""

    mean: float
    low: float
    high: float
    n_seeds: int
    n_records: int
    coverage: float


def two_way_standard_error(grid: Grid) -> tuple[float, float]:
    """Standard error of the grid's mean with seeds and windows as crossed random effects, and
    its Satterthwaite degrees of freedom (at least seeds − 1).

    Variance = v_seed + v_window − v_residual, each from the spread of the means over the other
    axis (two-way ANOVA; unbiased on a full grid, approximate where cells are undefined).
    """
    values = grid.values[grid.defined.any(axis=1)][:, grid.defined.any(axis=0)]
    n_s, n_w = values.shape
    mean = grid.mean()
    seed_means, window_means = np.nanmean(values, axis=1), np.nanmean(values, axis=0)
    v_seed = float(np.var(seed_means, ddof=1)) / n_s
    v_window = v_residual = 0.0
    if n_w > 1:
        v_window = float(np.var(window_means, ddof=1)) / n_w
        residual = values - seed_means[:, None] - window_means[None, :] + mean
        v_residual = float(np.nansum(residual**2)) / ((n_s - 1) * (n_w - 1)) / (n_s * n_w)
    variance = max(v_seed + v_window - v_residual, v_seed, v_window)
    terms = v_seed**2 / (n_s - 1) + (v_window**2 / (n_w - 1) if n_w > 1 else 0.0)
    df = (v_seed + v_window) ** 2 / terms if terms > 0 else float(n_s - 1)
    return float(np.sqrt(variance)), max(df, float(n_s - 1))


def corrected_interval(grid: Grid, draws: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """The two-way bootstrap's percentile interval rescaled to the t-interval's width.

    With 3–10 seeds a percentile bootstrap is too narrow (it covers ≈ 84 % at 5 seeds): its
    variance misses the factor n/(n − 1) and its quantiles are normal, not t. The bootstrap
    keeps the interval's shape (skew of rare 0/1 scores); the t quantile at the Satterthwaite
    df times the two-way standard error sets its width. Clipped to the range of the data.
    """
    finite = draws[np.isfinite(draws)]
    mean = grid.mean()
    se, df = two_way_standard_error(grid)
    if len(finite) == 0 or not np.isfinite(se):
        return float("nan"), float("nan")
    spread = float(finite.std())
    if se == 0 or spread == 0:
        return mean, mean
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    scale = stats.t.ppf(1 - alpha / 2, df) * se / (stats.norm.ppf(1 - alpha / 2) * spread)
    bottom, top = np.nanmin(grid.values), np.nanmax(grid.values)
    return (float(max(mean - (mean - low) * scale, bottom)),
            float(min(mean + (high - mean) * scale, top)))


def estimate(grid: Grid, bootstrap: TwoWayBootstrap) -> Estimate:
    """Mean over seed × record with a small-sample-corrected two-way bootstrap interval
    (:func:`corrected_interval`; none below MIN_SEEDS)."""
    low = high = float("nan")
    if grid.n_seeds >= MIN_SEEDS:
        low, high = corrected_interval(grid, bootstrap.means(grid))
    return Estimate(grid.mean(), low, high, grid.n_seeds, grid.n_records, grid.coverage)


@dataclass(frozen=True)
class Effect:
    """A candidate cell against a reference cell over the same seeds and records."""

    value: float
    low: float
    high: float
    p_value: float
    n_seeds: int
    n_records: int
    seeds_agree: bool
    per_seed: tuple[float, ...]


def paired_cells(candidate: Grid, reference: Grid) -> tuple[Grid, Grid]:
    """Both grids restricted to the seed × window cells both define."""
    both = candidate.defined & reference.defined
    return (Grid(np.where(both, candidate.values, np.nan)),
            Grid(np.where(both, reference.values, np.nan)))


def _seed_test(per_seed: np.ndarray, null: float) -> tuple[float, bool]:
    """Two-sided one-sample t-test over seeds, and whether every seed is on one side."""
    finite = per_seed[np.isfinite(per_seed)]
    agree = len(finite) > 0 and bool(np.all(finite > null) or np.all(finite < null))
    if len(finite) < MIN_SEEDS or np.ptp(finite) == 0:  # no spread: no test
        return float("nan"), agree
    return float(stats.ttest_1samp(finite, null).pvalue), agree


@dataclass(frozen=True)
class SeedTest:
    """A one-sample t-test over seeds with its t-interval: one unit (seeds, windows fixed)."""

    estimate: float
    low: float
    high: float
    p_value: float
    n_seeds: int
    #: Between-seed standard deviation of the per-seed values (NaN below 2 seeds).
    sd: float = float("nan")


def seed_t_test(per_seed: np.ndarray, alpha: float = 0.05, null: float = 0.0) -> SeedTest:
    """Mean of the per-seed values, its (1 − alpha) t-interval and two-sided p (df = n − 1).

    Exact when the per-seed values are normal; below :data:`MIN_SEEDS` finite values only the
    mean, and without spread no p-value (a t statistic needs a variance).
    """
    finite = np.asarray(per_seed, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    n = len(finite)
    mean = float(finite.mean()) if n else float("nan")
    sd = float(finite.std(ddof=1)) if n > 1 else float("nan")
    if n < MIN_SEEDS:
        return SeedTest(mean, float("nan"), float("nan"), float("nan"), n, sd)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n))
    p = float(stats.ttest_1samp(finite, null).pvalue) if np.ptp(finite) > 0 else float("nan")
    return SeedTest(mean, mean - half, mean + half, p, n, sd)


def seed_log_ratios(candidate: Grid, reference: Grid) -> np.ndarray:
    """Per seed, ``log(mean(candidate) / mean(reference))`` over the windows both define
    (NaN for a seed where either mean is not positive)."""
    candidate, reference = paired_cells(candidate, reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_seed = candidate.seed_means() / reference.seed_means()
        return np.log(np.where(per_seed > 0, per_seed, np.nan))


def ratio(candidate: Grid, reference: Grid, alpha: float = 0.05) -> Effect:
    """The geometric mean over seeds of the per-seed ratios of means, with its t-interval and
    t-test over seeds: interval and p-value on one unit (seeds; windows held fixed)."""
    logs = seed_log_ratios(candidate, reference)
    test = seed_t_test(logs, alpha)
    paired = candidate.defined & reference.defined
    finite = logs[np.isfinite(logs)]
    agree = len(finite) > 0 and bool(np.all(finite > 0) or np.all(finite < 0))
    return Effect(float(np.exp(test.estimate)), float(np.exp(test.low)),
                  float(np.exp(test.high)), test.p_value, test.n_seeds,
                  int(paired.any(axis=0).sum()), agree, tuple(float(v) for v in np.exp(logs)))


def difference(candidate: Grid, reference: Grid, bootstrap: TwoWayBootstrap) -> Effect:
    """``mean(candidate) − mean(reference)`` over the pairs both define: the two-way bootstrap
    with the same draws for both cells (paired), corrected for few seeds; p-value: the
    seed-level t-test of the per-seed differences."""
    candidate, reference = paired_cells(candidate, reference)
    value = candidate.mean() - reference.mean()
    per_seed = candidate.seed_means() - reference.seed_means()
    low = high = float("nan")
    if candidate.n_seeds >= MIN_SEEDS:
        paired = Grid(candidate.values - reference.values)  # NaN wherever either is undefined
        low, high = corrected_interval(
            paired, bootstrap.means(candidate) - bootstrap.means(reference))
    p, agree = _seed_test(per_seed, 0.0)
    return Effect(float(value), low, high, p, candidate.n_seeds, candidate.n_records, agree,
                  tuple(float(v) for v in per_seed))


SUMMARY_COLUMNS = ("mean", "ci_low", "ci_high", "n_seeds", "n_records", "coverage")


def summarise(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per ``keys`` group: mean, two-way bootstrap interval, seeds, records and coverage.

    ``frame`` holds ``seed``, ``sample`` and ``value`` rows; one bootstrap is drawn per run
    (shared by every group) so intervals are reproducible and paired across groups.
    """
    columns = [*keys, *SUMMARY_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    cells, seeds, records = grids(frame, keys)
    bootstrap = TwoWayBootstrap.draw(len(seeds), len(records))
    rows = []
    for key, grid in cells.items():
        result = estimate(grid, bootstrap)
        rows.append({**dict(zip(keys, key, strict=True)), "mean": result.mean,
                     "ci_low": result.low, "ci_high": result.high, "n_seeds": result.n_seeds,
                     "n_records": result.n_records, "coverage": result.coverage})
    return pd.DataFrame(rows, columns=columns)
