"""Results in and out of files: a store's run as :class:`RunResults`, committed raw results, tables.

A committed leaderboard is a directory (see ``leaderboards/README.md``)::

    run.json        run record: config, provenance, metric directions, pretraining reports
    scores.csv.gz   per-sample scores (the store's scores table, without stage keys)
    examples.npz    optional: a few ECGs, masks and relevances for the HTML report's heatmaps
    leaderboard.md / leaderboard.csv / leaderboard.tex   generated, never edited by hand

``run.json`` is validated by :class:`RunRecord` (its JSON Schema is ``leaderboards/schema.json``);
nothing in a submitted results directory is ever executed.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board import RunResults
from xecgbench.report.external_scores import (
    POINTER_FILE,
    SCORES_FILE,
    ResultsFileError,
    scores_file,
)
from xecgbench.report.render import to_csv, to_latex, to_markdown
from xecgbench.report.safe_write import UnsafePathError, write_inside
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.store import SCORE_COLUMNS, ResultsStore

RUN_FILE = "run.json"
EXAMPLES_FILE = "examples.npz"
RAW_SCORE_COLUMNS = tuple(c for c in SCORE_COLUMNS if c != "stage_key")
#: Raw-score columns that results exported before they existed may lack (read as missing).
OPTIONAL_SCORE_COLUMNS = ("label", "chance")
#: Generated table files of a committed leaderboard and the renderer of each.
TABLE_FILES = {"leaderboard.md": to_markdown, "leaderboard.csv": to_csv,
               "leaderboard.tex": to_latex}


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
    started: float
    finished: float | None = None
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


def _catalogue(run: Mapping[str, Any], system: PluginSystem) -> dict[str, Any]:
    """The catalogue frozen into the run when it started; stores written before 0.2 lack it,
    and are read with the installed plugins' metadata instead."""
    from xecgbench.run.config import Suite
    from xecgbench.run.provenance import component_catalogue

    frozen = run["provenance"].get("catalogue")
    return frozen if frozen else component_catalogue(system, Suite.model_validate(run["config"]))


def _pretraining_rows(store: ResultsStore, run_id: str) -> list[dict[str, Any]]:
    rows = [
        {"pretraining": r["labels"]["pretraining"], "seed": r["labels"]["seed"],
         **{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in r["report"].items()}}
        for r in store.stage_reports(run_id, stage="pretrain")
        if r["report"]
    ]
    return sorted(rows, key=lambda r: (str(r["pretraining"]), r["seed"]))


def _flags(store: ResultsStore, run_id: str) -> list[dict[str, Any]]:
    """Dead branches: constant AF probability (evaluate), all-zero relevance (attribute)."""
    flags = []
    for stage in ("evaluate", "attribute"):
        for record in store.stage_reports(run_id, stage=stage):
            labels, report = record["labels"], record["report"]
            cell = {k: labels[k] for k in ("pretraining", "freezing", "seed")}
            for branch in report.get("constant_output", ()):
                flags.append({**cell, "branch": branch, "attribution": None,
                              "flag": "constant output"})
            for branch, share in report.get("zero_relevance", {}).items():
                if share >= 1.0:
                    flags.append({**cell, "branch": branch, "attribution": labels["attribution"],
                                  "flag": "all-zero relevance"})
    return sorted(flags, key=lambda f: tuple(str(v) for v in f.values()))


def _run_of(store: ResultsStore, run_id: str | None, where: Path) -> dict[str, Any]:
    runs = store.runs()
    if not runs:
        raise ResultsFileError(f"{where} holds no runs")
    run_id = run_id or store.latest_run_id()
    run = next((r for r in runs if r["run_id"] == run_id), None)
    if run is None:
        raise ResultsFileError(
            f"no run {run_id!r} in {where}; runs: {', '.join(r['run_id'] for r in runs)}"
        )
    return run


def record_from_store(store_path: Path, system: PluginSystem,
                      run_id: str | None = None) -> tuple[RunRecord, pd.DataFrame]:
    """The run record and per-sample scores of ``run_id`` (default: latest) in a store."""
    if not Path(store_path).is_file():
        raise ResultsFileError(f"no results store at {store_path}")
    with ResultsStore(store_path, read_only=True) as store:
        run = _run_of(store, run_id, Path(store_path))
        scores = store.scores_frame(run["run_id"])
        catalogue = _catalogue(run, system)
        provenance = {k: v for k, v in run["provenance"].items() if k != "catalogue"}
        record = RunRecord(
            run=RunInfo(**{**run, "provenance": provenance}),
            metrics=catalogue["metrics"],
            strategies=catalogue["strategies"],
            pretraining=_pretraining_rows(store, run["run_id"]),
            failures=store.failures(run["run_id"]),
            flags=_flags(store, run["run_id"]),
        )
    return record, scores[list(RAW_SCORE_COLUMNS)]


def results_of(record: RunRecord, scores: pd.DataFrame) -> RunResults:
    """The leaderboard's input from a validated record and its scores."""
    return RunResults(
        scores=scores,
        run=record.run.model_dump(),
        metrics={k: v.model_dump() for k, v in record.metrics.items()},
        strategies={k: v.model_dump() for k, v in record.strategies.items()},
        flags=[f.model_dump() for f in record.flags],
        pretraining=record.pretraining,
        failures=record.failures,
    )


def load_store(store_path: Path, system: PluginSystem, run_id: str | None = None) -> RunResults:
    """A store's run, ready for :func:`xecgbench.report.tables.build_leaderboard`."""
    return results_of(*record_from_store(store_path, system, run_id))


def _read_scores(path: Path) -> pd.DataFrame:
    try:
        scores = pd.read_csv(path, dtype={"record_id": "string", "region": "string"},
                             keep_default_na=False,
                             na_values={"value": [""], "attribution": [""], "record_id": [""],
                                        "label": [""], "chance": [""]})
    except (OSError, ValueError, EOFError) as exc:
        raise ResultsFileError(f"{path}: cannot read scores: {exc}") from None
    for column in OPTIONAL_SCORE_COLUMNS:
        if column not in scores.columns:
            scores[column] = np.nan
    missing = [c for c in RAW_SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ResultsFileError(f"{path}: missing columns {', '.join(missing)}")
    if not pd.api.types.is_numeric_dtype(scores["value"]):
        raise ResultsFileError(f"{path}: column 'value' must be numeric")
    scores["attribution"] = scores["attribution"].astype(object).where(
        scores["attribution"].notna(), None)
    return scores[list(RAW_SCORE_COLUMNS)]


def read_record(directory: Path) -> RunRecord:
    """Validate ``directory/run.json`` against :class:`RunRecord`."""
    path = Path(directory) / RUN_FILE
    if not path.is_file():
        raise ResultsFileError(f"{path} does not exist (export one with "
                               "`xecgbench leaderboard export`)")
    try:
        return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ResultsFileError(f"{path}: field {where!r}: {first['msg']}") from None


def validate_directory(directory: Path) -> RunResults:
    """Check a results directory (schema, columns, labels) and return its :class:`RunResults`."""
    directory = Path(directory)
    record = read_record(directory)
    scores = _read_scores(path := scores_file(directory))
    unknown = sorted(set(scores["metric"]) - set(record.metrics))
    if unknown:
        raise ResultsFileError(
            f"{path}: metrics {', '.join(unknown)} are not described in "
            f"{RUN_FILE}'s 'metrics'"
        )
    seeds = set(record.run.config.get("seeds", ()))
    stray = sorted(set(scores["seed"]) - seeds)
    if stray:
        raise ResultsFileError(f"{path}: seeds {stray} not in the config")
    return results_of(record, scores)


def write_raw_results(record: RunRecord, scores: pd.DataFrame, out: Path) -> Path:
    """Write ``run.json`` and ``scores.csv.gz`` (gzip without a timestamp) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _safe(write_inside, out, RUN_FILE,
          json.dumps(record.model_dump(mode="json"), indent=1, sort_keys=True) + "\n")
    buffer = io.StringIO()
    scores.reindex(columns=list(RAW_SCORE_COLUMNS)).to_csv(buffer, index=False, lineterminator="\n",
                                           float_format="%.9g")
    _safe(write_inside, out, SCORES_FILE, gzip.compress(buffer.getvalue().encode(), mtime=0))
    (out / POINTER_FILE).unlink(missing_ok=True)  # the fresh scores replace any external ones
    return out


def _safe(write: Any, *args: Any) -> Path:
    """A leaderboard write; a symlink or an escape becomes a one-line ResultsFileError."""
    try:
        return Path(write(*args))
    except UnsafePathError as exc:
        raise ResultsFileError(str(exc)) from None


def export_results(store_path: Path, system: PluginSystem, out: Path,
                   run_id: str | None = None, n_examples: int = 2) -> Path:
    """Write a run's raw results, heatmap examples and generated tables into ``out``."""
    record, scores = record_from_store(store_path, system, run_id)
    write_raw_results(record, scores, out)
    if n_examples > 0:
        from xecgbench.report.examples import collect_examples, save_examples

        examples = collect_examples(store_path, system, record.run.run_id, n_examples)
        if examples is not None:
            buffer = io.BytesIO()
            save_examples(examples, buffer)
            _safe(write_inside, out, EXAMPLES_FILE, buffer.getvalue())
    write_tables(validate_directory(out), out)
    return out


def write_tables(results: RunResults, directory: Path,
                 root: Path | None = None) -> list[Path]:
    """Write every generated table file of ``results`` into ``directory`` (inside ``root``).

    A submitted directory is untrusted: a table file that is a symlink, or a directory that
    leads outside ``root``, is refused rather than written through.
    """
    board = build_leaderboard(results)
    return [_safe(write_inside, directory, name, render(board), root)
            for name, render in TABLE_FILES.items()]


def committed_directories(root: Path) -> list[Path]:
    """Every committed leaderboard under ``root`` (directories holding a ``run.json``)."""
    return sorted(p.parent for p in Path(root).glob(f"*/{RUN_FILE}"))


def stale_tables(directory: Path) -> list[str]:
    """Generated files of ``directory`` that differ from a rebuild from its raw files."""
    board = build_leaderboard(validate_directory(directory))
    stale = []
    for name, render in TABLE_FILES.items():
        path = Path(directory) / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(board):
            stale.append(str(path))
    return stale


def write_leaderboard(
    store_path: Path, system: PluginSystem, out: Path, run_id: str | None = None
) -> Path:
    """Build the Markdown leaderboard of ``run_id`` (default: latest) into ``out``."""
    board = build_leaderboard(load_store(store_path, system, run_id))
    out.parent.mkdir(parents=True, exist_ok=True)
    return _safe(write_inside, out.parent, out.name, to_markdown(board))
