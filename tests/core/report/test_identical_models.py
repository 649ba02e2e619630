"""Configurations with bit-identical models on a branch share one row in the detail tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xecgbench.report.table_builders.identical_models import (
    duplicates_note,
    identical_configurations,
    without_duplicates,
)

ORDER = {"none": 0, "p_wave_detection": 1, "rr_variability": 2}


def _scores(shift_rr_on_morphology: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    base = {b: rng.random(8) for b in ("morphology", "rhythm")}
    for pretraining in ORDER:
        for branch in ("morphology", "rhythm", "majority"):
            values = base.get(branch, np.full(8, 0.5)).copy()
            pretrains = {"p_wave_detection": "morphology", "rr_variability": "rhythm"}
            if pretrains.get(pretraining) == branch:
                values = values + 0.1  # a branch the strategy pre-trains: another model
            if pretraining == "rr_variability" and branch == "morphology":
                values = values + shift_rr_on_morphology
            values[3] = np.nan  # an undefined score on the same window in every cell
            rows += [{"pretraining": pretraining, "freezing": "none", "attribution": "dtd",
                      "branch": branch, "metric": "m", "region": "p_wave", "seed": 0,
                      "sample": i, "value": v} for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_a_strategy_that_does_not_pretrain_a_branch_is_that_branchs_baseline() -> None:
    duplicates = identical_configurations(_scores(), ORDER)
    assert duplicates == {("morphology", "rr_variability"): "none",
                          ("rhythm", "p_wave_detection"): "none"}
    kept = without_duplicates(_scores(), duplicates)
    morphology = kept[kept["branch"] == "morphology"]
    assert set(morphology["pretraining"]) == {"none", "p_wave_detection"}
    assert set(kept[kept["branch"] == "majority"]["pretraining"]) == set(ORDER)
    note = duplicates_note(duplicates)
    assert note is not None and "`rr_variability` ≡ `none` on the morphology branch" in note


def test_a_model_that_differs_by_one_value_keeps_its_row() -> None:
    scores = _scores()
    scores.loc[(scores["pretraining"] == "rr_variability")
               & (scores["branch"] == "morphology") & (scores["sample"] == 0), "value"] += 1e-9
    duplicates = identical_configurations(scores, ORDER)
    assert ("morphology", "rr_variability") not in duplicates
    assert duplicates_note({}) is None
