"""The schema of ``run.json``: a board's run record, validated by pydantic on every read.

``leaderboards/schema.json`` is :func:`schema`'s output. Kept apart from the readers and
writers (:mod:`~.results_files`) so the record's fields are in one place; every name is
re-exported there.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Latest plausible run time (2100-01-01): a larger ``started`` cannot be shown as a date.
MAX_TIMESTAMP = 4_102_444_800.0


class SanityRecord(BaseModel):
    """A metric's pass/FAIL check (see :class:`xecgbench.api.SanityCheck`)."""

    model_config = ConfigDict(extra="forbid")
    fail_above: float
    column: str
    description: str
    failure: str


class MetricRecord(BaseModel):
    """How to read one metric's numbers: its registered name, category and direction."""

    model_config = ConfigDict(extra="forbid")
    name: str
    category: str
    higher_is_better: bool
    sanity: SanityRecord | None = None


class StrategyRecord(BaseModel):
    """How to read one pretraining strategy: what it pre-trains and what its report means."""

    model_config = ConfigDict(extra="forbid")
    name: str
    branches: list[str]
    report_directions: dict[str, bool | None] = Field(default_factory=dict)
    report_description: str = ""


class RunInfo(BaseModel):
    """The run as the store recorded it."""

    model_config = ConfigDict(extra="forbid")
    run_id: str
    suite: str
    config_hash: str
    config: dict[str, Any]
    provenance: dict[str, Any]
    started: float = Field(ge=0, le=MAX_TIMESTAMP, allow_inf_nan=False)
    finished: float | None = Field(None, ge=0, le=MAX_TIMESTAMP, allow_inf_nan=False)
    status: str


class FlagRecord(BaseModel):
    """A trained model (or its explanation) that must not be averaged in silently."""

    model_config = ConfigDict(extra="forbid")
    pretraining: str
    freezing: str
    seed: int
    branch: str
    attribution: str | None = None
    flag: str = Field(description="'constant output' or 'all-zero relevance'")


class RunRecord(BaseModel):
    """The schema of ``run.json`` (``leaderboards/schema.json`` is generated from it)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal[1] = Field(1, description="raw-results format version")
    run: RunInfo
    metrics: dict[str, MetricRecord] = Field(
        description="display label -> metric name, category and direction"
    )
    strategies: dict[str, StrategyRecord] = Field(
        default_factory=dict,
        description="pretraining display label -> name, pre-trained branches, report meaning",
    )
    pretraining: list[dict[str, Any]] = Field(
        default_factory=list,
        description="one row per pretraining stage: pretraining, seed and report numbers",
    )
    failures: list[dict[str, Any]] = Field(default_factory=list)
    flags: list[FlagRecord] = Field(
        default_factory=list,
        description="models that learnt nothing: constant output or all-zero relevance",
    )


def schema() -> dict[str, Any]:
    """The JSON Schema of ``run.json``."""
    return RunRecord.model_json_schema()
