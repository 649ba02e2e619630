"""Configurations that produced bit-identical models on a branch, shown once in detail tables.

Branches train separately, so a pretraining strategy that does not pre-train a branch gives
that branch exactly the baseline's model (``rr_variability`` on the morphology branch is
``none`` there). Ranking both as separate rows counted one model twice and made a reader
compare a configuration with itself. Detail tables keep the first configuration in suite
order (the baseline when it is one of them) and a note names the others; the answer section
collapses such cells itself (:func:`xecgbench.report.answer_text.headline.collapse_identical`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from xecgbench.plugins.components import TRIVIAL_BRANCH

#: Columns that, with the pretraining label, identify a score row.
_KEYS = ("freezing", "attribution", "metric", "region", "seed", "sample")


def _signature(frame: pd.DataFrame) -> str:
    """A digest of one configuration's rows on one branch, independent of row order: the rows
    sorted by their keys, each key row hashed (vectorised), then the values' bytes."""
    keyed = frame.assign(**{k: frame[k].astype(str) for k in _KEYS})
    ordered = keyed.sort_values(list(_KEYS), kind="stable")
    rows = pd.util.hash_pandas_object(ordered[list(_KEYS)], index=False).to_numpy()
    digest = hashlib.sha256(np.ascontiguousarray(rows).tobytes())
    digest.update(np.ascontiguousarray(ordered["value"].to_numpy(np.float64)).tobytes())
    return digest.hexdigest()


def identical_configurations(scores: pd.DataFrame,
                             order: Mapping[str, int]) -> dict[tuple[str, str], str]:
    """``(branch, pretraining)`` -> the earlier pretraining whose rows on that branch are
    identical (same keys, same values, NaN equal to NaN); the majority predictor is skipped."""
    duplicates: dict[tuple[str, str], str] = {}
    for branch, frame in scores.groupby("branch", sort=False):
        if branch == TRIVIAL_BRANCH:
            continue
        seen: dict[str, str] = {}
        labels = sorted(frame["pretraining"].dropna().unique(),
                        key=lambda p: (order.get(p, len(order)), p))
        for label in labels:
            signature = _signature(frame[frame["pretraining"] == label])
            if signature in seen:
                duplicates[(str(branch), str(label))] = seen[signature]
            else:
                seen[signature] = str(label)
    return duplicates


def without_duplicates(scores: pd.DataFrame,
                       duplicates: Mapping[tuple[str, str], str]) -> pd.DataFrame:
    """``scores`` without the rows of the configurations :func:`identical_configurations`
    found to repeat an earlier one."""
    if not duplicates:
        return scores
    pairs = pd.MultiIndex.from_arrays([scores["branch"].astype(str),
                                       scores["pretraining"].astype(str)])
    return scores[~pairs.isin(list(duplicates))]


def duplicates_note(duplicates: Mapping[tuple[str, str], str]) -> str | None:
    """The table notes' sentence naming every configuration shown under another's row."""
    if not duplicates:
        return None
    named = "; ".join(f"`{label}` ≡ `{kept}` on the {branch} branch"
                      for (branch, label), kept in sorted(duplicates.items()))
    return ("Identical models share one row in the detail tables (the strategy does not "
            f"pre-train that branch, so it fine-tunes the same model): {named}.")
