"""The board's statistics for per-window scores that did not come from a run (the Python API).

The same tools the leaderboard uses (:mod:`xecgbench.report.stats.inference`): models trained from
different seeds are the replicates, windows a random effect. Three tables:

- ``summary``: per attribution × branch × metric × region, the mean with its two-way
  bootstrap interval, seeds, windows and coverage, beside the mean chance level;
- ``by_class``: the same on AF and on non-AF windows separately, each beside its own chance
  (the board's "· AF / · non-AF" columns: there is no P wave to find on AF windows);
- ``vs_chance``: score over chance, paired on the same seeds × windows, with the seed-level
  t-test of the per-seed log ratios (the question "does it beat relevance spread uniformly?").

Below :data:`~xecgbench.report.stats.inference.MIN_SEEDS` models no interval and no p-value is
given.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xecgbench.report.stats.inference import (
    SUMMARY_COLUMNS,
    grids,
    ratio,
    summarise,
)

GROUP = ("attribution", "branch", "metric", "region")
CLASS_NAMES = {1: "AF", 0: "non-AF"}
VS_CHANCE_COLUMNS = (*GROUP, "ratio", "ci_low", "ci_high", "p_value", "seeds_agree", "n_seeds",
                     "n_records")


def _with_chance(scores: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """:func:`summarise` of the scores, with the mean chance of each group as ``chance``."""
    summary = summarise(scores, keys)
    defined = scores[scores["chance"].notna()]
    if defined.empty:
        return summary.assign(chance=float("nan"))
    chance = defined.groupby(list(keys), dropna=False)["chance"].mean().rename("chance")
    return summary.merge(chance.reset_index(), on=list(keys), how="left")


def _vs_chance(scores: pd.DataFrame) -> pd.DataFrame:
    """Score / chance per group, over the seeds × windows where both are defined."""
    rows = scores[scores["chance"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=VS_CHANCE_COLUMNS)
    values, _, _ = grids(rows, GROUP)
    chances, _, _ = grids(rows.assign(value=rows["chance"]), GROUP)
    out = []
    for key, grid in values.items():
        effect = ratio(grid, chances[key])
        out.append({**dict(zip(GROUP, key, strict=True)), "ratio": effect.value,
                    "ci_low": effect.low, "ci_high": effect.high, "p_value": effect.p_value,
                    "seeds_agree": effect.seeds_agree, "n_seeds": effect.n_seeds,
                    "n_records": effect.n_records})
    return pd.DataFrame(out, columns=VS_CHANCE_COLUMNS)


def _by_class(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`_with_chance` on each class's windows separately (each its own window axis)."""
    frames = [_with_chance(scores[scores["label"] == label], GROUP).assign(label=name)
              for label, name in CLASS_NAMES.items() if (scores["label"] == label).any()]
    if not frames:
        return pd.DataFrame(columns=[*GROUP, "label", *SUMMARY_COLUMNS, "chance"])
    return pd.concat(frames, ignore_index=True)


def score_statistics(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``summary``, ``by_class`` and ``vs_chance`` of per-window score rows (see module doc).

    Accuracy rows (``sample == -1``, one per model) are summarised on their own, over seeds.
    """
    scores = scores.assign(value=scores["value"].astype(float),
                           chance=scores["chance"].astype(float))
    windows = scores[scores["sample"] >= 0]
    parts = [_with_chance(part, GROUP) for part in (windows, scores[scores["sample"] < 0])
             if not part.empty]
    return {
        "summary": pd.concat(parts, ignore_index=True) if parts else _with_chance(scores, GROUP),
        "by_class": _by_class(windows[windows["label"].notna()]),
        "vs_chance": _vs_chance(windows),
    }
