"""Are the explained models worth explaining? Accuracy targets, per seed, from the raw scores.

An explanation benchmark is only as credible as its models, so the results page states, for
every committed leaderboard, how far its models are from the targets the project set
(``leaderboards/targets.yaml``, data rather than code because they name bundled metrics): the
best pretrained cell, every seed of the from-scratch baseline, each branch against the
majority-class predictor, and the dead models. Everything is computed from the committed
per-window scores; nothing is typed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from xecgbench.errors import UserError
from xecgbench.plugins.components import EXPLAINED_BRANCHES, TRIVIAL_BRANCH
from xecgbench.report.board import RunResults

#: Models below the majority predictor are named one by one up to this many, else counted.
MAX_NAMED = 6


class FromScratchTargets(BaseModel):
    """The baseline cell (no pretraining, ``freezing``) and what every seed must reach."""

    model_config = ConfigDict(extra="forbid")
    freezing: str
    every_seed: dict[str, float]


class ModelTargets(BaseModel):
    """The best pretrained cell, ranked by ``rank_by``, must reach ``best_pretrained_cell``;
    every model must beat the majority-class predictor on each of ``above_majority_by``."""

    model_config = ConfigDict(extra="forbid")
    rank_by: str
    above_majority_by: list[str]
    best_pretrained_cell: dict[str, float]
    from_scratch: FromScratchTargets


def load_targets(path: Path) -> ModelTargets:
    """The committed targets file (a clear error names the file when it is malformed)."""
    try:
        return ModelTargets.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise UserError(f"{path}: not a model-targets file: {exc}") from None


def _accuracy_rows(results: RunResults) -> pd.DataFrame:
    """One row per (pretraining, freezing, seed, branch, metric): the model-level scores."""
    scores = results.scores
    rows = scores[scores["attribution"].isna() & (scores["category"] == "accuracy")]
    return rows[["pretraining", "freezing", "seed", "branch", "metric", "value"]]


def _met(value: float, target: float) -> str:
    return f"{value:.3f} (target ≥ {target:.2f}: {'met' if value >= target else 'not met'})"


def _seed_values(values: pd.Series) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _best_cell(rows: pd.DataFrame, baseline: str | None, targets: ModelTargets) -> list[str]:
    ensemble = rows[(rows["branch"] == "ensemble") & (rows["pretraining"] != baseline)]
    means = ensemble.pivot_table(index=["pretraining", "freezing"], columns="metric",
                                 values="value", aggfunc="mean", sort=False)
    if targets.rank_by not in means:
        return []
    ranked = means[targets.rank_by]
    pretraining, freezing = ranked.idxmax()
    cell = means.loc[(pretraining, freezing)]
    parts = [f"{metric} {_met(cell[metric], target)}"
             for metric, target in targets.best_pretrained_cell.items() if metric in cell]
    return [
        f"- **Best pretrained cell** (highest mean ensemble {targets.rank_by} over seeds, of "
        f"{len(ranked)} cells: {pretraining}, freezing {freezing}): " + "; ".join(parts) + ". "
        "It is chosen on the evaluation split, so it is an optimistic figure; the median "
        f"pretrained cell has {targets.rank_by} {ranked.median():.3f}.",
    ]


def _baseline(rows: pd.DataFrame, baseline: str | None, targets: FromScratchTargets
              ) -> list[str]:
    cell = rows[(rows["pretraining"] == baseline) & (rows["freezing"] == targets.freezing)
                & (rows["branch"] == "ensemble")]
    lines = []
    for metric, target in targets.every_seed.items():
        per_seed = cell[cell["metric"] == metric].sort_values("seed")["value"]
        if per_seed.empty:
            continue
        reached = int((per_seed >= target).sum())
        lines.append(
            f"- **From scratch** ({baseline}, freezing {targets.freezing}): ensemble {metric} "
            f"per seed {_seed_values(per_seed)}; {reached} of {len(per_seed)} seeds reach the "
            f"target ≥ {target:.2f}.")
    return lines


def _above_majority(rows: pd.DataFrame, metric: str) -> list[str]:
    scored = rows[rows["metric"] == metric]
    trivial = scored[scored["branch"] == TRIVIAL_BRANCH].set_index(
        ["pretraining", "freezing", "seed"])["value"]
    if trivial.empty:
        return [f"- No majority-class {metric} in this run (recorded before it was stored)."]
    models = scored[scored["branch"].isin(EXPLAINED_BRANCHES)].set_index(
        ["pretraining", "freezing", "seed"])
    models = models.assign(beats=models["value"].to_numpy() > trivial.reindex(models.index))
    counts = models.groupby("branch")["beats"].agg(["sum", "size"])
    counts = counts.reindex([b for b in EXPLAINED_BRANCHES if b in counts.index])
    per_branch = ", ".join(f"{branch} {int(c['sum'])}/{int(c['size'])}"
                           for branch, c in counts.iterrows())
    below = models[~models["beats"]].reset_index()
    named = "" if not 0 < len(below) <= MAX_NAMED else "; not: " + ", ".join(
        f"{r.branch} ({r.pretraining}, {r.freezing}, seed {r.seed}: {r.value:.3f})"
        for r in below.itertuples())
    return [
        f"- **Against the majority-class predictor, {metric}** ({trivial.min():.3f}–"
        f"{trivial.max():.3f}): {int(counts['sum'].sum())} of {len(models)} models beat it "
        f"({per_branch}){named}.",
    ]


def _dead(results: RunResults) -> list[str]:
    flags = pd.DataFrame(list(results.flags))
    if flags.empty:
        return ["- **Dead models**: none flagged (constant output or all-zero relevance)."]
    kinds = ", ".join(f"{flag}: {n}" for flag, n in flags["flag"].value_counts().items())
    return [f"- **Dead models**: {len(flags)} flagged ({kinds}); listed in the leaderboard's "
            "*Flagged models* table and left out of every explanation aggregate."]


def _pretext(results: RunResults) -> list[str]:
    """Each pretext score's mean and seed range (a strategy reusing another's model repeats it)."""
    reports = pd.DataFrame(list(results.pretraining))
    if reports.empty:
        return []
    keys = [k for k in reports.columns if k not in ("pretraining", "seed")]
    parts = []
    for key in keys:
        per_seed = reports.dropna(subset=[key]).drop_duplicates("seed").sort_values("seed")[key]
        parts.append(f"{key} {per_seed.mean():.3g} (seeds {per_seed.min():.3g}–"
                     f"{per_seed.max():.3g}, n = {len(per_seed)})")
    return ["- **Pretext tasks** (held-out pretraining split): " + "; ".join(parts) + "."]


def model_checks(results: RunResults, targets: ModelTargets) -> list[str]:
    """Bullet lines for the results page (empty when the run scored no accuracy)."""
    rows = _accuracy_rows(results)
    if rows.empty:
        return []
    return [*_best_cell(rows, results.baseline, targets),
            *_baseline(rows, results.baseline, targets.from_scratch),
            *(line for metric in targets.above_majority_by
              for line in _above_majority(rows, metric)), *_dead(results), *_pretext(results)]
