"""Which evaluation windows are explained: the declared rule of ``explain.sample``.

``alternating`` (the rule every board before issue 28 used) takes the first windows by index,
one class after the other: not a random sample, and half AF whatever the prevalence.
``stratified`` draws a seeded random sample with a quota per rhythm class, at most one window
per record, ordered so that every prefix (the ``n_costly`` windows costly metrics score) is
itself stratified in proportion to the quotas.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from xecgbench.errors import XecgbenchError
from xecgbench.plugins.components import record_of

if TYPE_CHECKING:
    from xecgbench.plugins.components import ECGSet

#: A quota of every record of the class (e.g. all 80 LUDB test records).
ALL: Final = "all"
Quota = int | Literal["all"]


class SampleError(XecgbenchError):
    """A quota the evaluation windows cannot fill; the line names the dataset and class."""


class SampleRule(BaseModel):
    """How the explained windows are chosen (stored in ``run.json`` with the suite).

    ``per_class`` maps a rhythm class (:attr:`~xecgbench.plugins.components.ECGSet.rhythm_class`:
    ``N``, ``O``, ``AF``, or ``non-AF`` where a dataset knows only the label) to a number of
    records or ``all``; ``seed`` fixes the draw, the same for every training seed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["alternating", "stratified"] = "alternating"
    seed: int = Field(0, ge=0, lt=2**32)
    per_class: dict[str, Quota] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _quotas_fit_the_rule(self) -> SampleRule:
        if self.rule == "alternating":
            if self.per_class or self.seed:
                raise ValueError("seed and per_class belong to rule: stratified "
                                 "(alternating takes the first windows by index)")
            return self
        if not self.per_class:
            raise ValueError("rule: stratified needs per_class, e.g. {N: 200, O: 100, AF: 100}")
        small = [c for c, q in self.per_class.items() if q != ALL and q < 1]
        if small:
            raise ValueError(f"per_class {small[0]!r}: a quota is at least 1 (or 'all')")
        return self

    @property
    def counted(self) -> int:
        """Windows the numeric quotas ask for (``all`` quotas add what the data holds)."""
        return sum(q for q in self.per_class.values() if q != ALL)


def _stream(seed: int, rhythm: str) -> np.random.Generator:
    """One generator per class, so adding a class leaves the others' draws unchanged."""
    return np.random.default_rng([seed, zlib.crc32(rhythm.encode())])


def _records_by_class(test: ECGSet) -> dict[str, dict[str, list[int]]]:
    """rhythm class -> record -> its windows of that class (indices in order)."""
    grouped: dict[str, dict[str, list[int]]] = {}
    for i, (rid, rhythm) in enumerate(zip(test.record_ids, test.rhythm_class, strict=True)):
        grouped.setdefault(str(rhythm), {}).setdefault(record_of(rid), []).append(i)
    return grouped


def _draw_class(rule: SampleRule, rhythm: str, records: Mapping[str, list[int]],
                used: set[str], where: str) -> list[int]:
    """One random window from each of ``quota`` random records of ``rhythm`` not yet used."""
    rng = _stream(rule.seed, rhythm)
    names = sorted(records)
    order = [names[i] for i in rng.permutation(len(names))]
    free = [r for r in order if r not in used]
    quota = rule.per_class[rhythm]
    wanted = len(free) if quota == ALL else quota
    if wanted > len(free):
        raise SampleError(f"explain.sample: {where} has {len(free)} records of rhythm class "
                          f"{rhythm!r}, the quota asks {quota} (one window per record)")
    chosen = free[:wanted]
    used.update(chosen)
    return [records[r][int(rng.integers(len(records[r])))] for r in chosen]


def _interleaved(drawn: Mapping[str, list[int]]) -> np.ndarray:
    """Windows ordered by ``(rank + ½) / class size``: each prefix holds every class within
    one window of its share (16 N, 8 O, 8 AF in the first 32 of 200 / 100 / 100)."""
    keyed = [((rank + 0.5) / len(windows), rhythm, window)
             for rhythm, windows in drawn.items() for rank, window in enumerate(windows)]
    return np.array([window for *_, window in sorted(keyed)], dtype=np.int64)


def stratified_indices(test: ECGSet, rule: SampleRule, limit: int, where: str) -> np.ndarray:
    """The windows ``rule`` draws from ``test`` (``where`` names the dataset and split in
    errors); at most ``limit`` (``explain.n_samples``) in all."""
    grouped = _records_by_class(test)
    present = ", ".join(f"{c} {len(r)}" for c, r in sorted(grouped.items())) or "no windows"
    used: set[str] = set()
    drawn = {}
    for rhythm in sorted(rule.per_class):  # sorted: the draw ignores the order of the YAML
        if rhythm not in grouped:
            raise SampleError(f"explain.sample: {where} has no windows of rhythm class "
                              f"{rhythm!r} (its classes and records: {present})")
        drawn[rhythm] = _draw_class(rule, rhythm, grouped[rhythm], used, where)
    total = sum(len(w) for w in drawn.values())
    if total > limit:
        raise SampleError(f"explain.sample: {where} gives {total} windows, over explain."
                          f"n_samples {limit}; raise n_samples or lower the quotas")
    return _interleaved({c: w for c, w in drawn.items() if w})
