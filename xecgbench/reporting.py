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
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xecgbench.leaderboard import RunResults, build_leaderboard, to_csv, to_latex, to_markdown
from xecgbench.plugin_manager import PluginSystem
from xecgbench.store import SCORE_COLUMNS, ResultsStore

RUN_FILE = "run.json"
SCORES_FILE = "scores.csv.gz"
EXAMPLES_FILE = "examples.npz"
RAW_SCORE_COLUMNS = tuple(c for c in SCORE_COLUMNS if c != "stage_key")
#: Generated table files of a committed leaderboard and the renderer of each.
TABLE_FILES = {"leaderboard.md": to_markdown, "leaderboard.csv": to_csv,
               "leaderboard.tex": to_latex}


class ResultsFileError(Exception):
    """A results directory or file that cannot be used; the message names the file."""


class MetricRecord(BaseModel):
    """How to read one metric's numbers: its registered name, category and direction."""

    model_config = ConfigDict(extra="forbid")
    name: str
    category: str
    higher_is_better: bool


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


class RunRecord(BaseModel):
    """The schema of ``run.json`` (``leaderboards/schema.json`` is generated from it)."""

    model_config = ConfigDict(extra="forbid")
    format: Literal[1] = Field(1, description="raw-results format version")
    run: RunInfo
    metrics: dict[str, MetricRecord] = Field(
        description="display label -> metric name, category and direction"
    )
    pretraining: list[dict[str, Any]] = Field(
        default_factory=list,
        description="one row per pretraining stage: pretraining, seed and report numbers",
    )
    failures: list[dict[str, Any]] = Field(default_factory=list)


def schema() -> dict[str, Any]:
    """The JSON Schema of ``run.json``."""
    return RunRecord.model_json_schema()


def _metric_catalogue(config: Mapping[str, Any], system: PluginSystem) -> dict[str, Any]:
    from xecgbench.config import ComponentSpec

    registry = system.registry["metrics"]
    catalogue = {}
    for raw in config["metrics"]:
        spec = ComponentSpec.model_validate(raw)
        if spec.name in registry:
            info = registry.get(spec.name).info
            catalogue[spec.display] = {"name": spec.name, "category": info.category,
                                       "higher_is_better": bool(info.higher_is_better)}
    return catalogue


def _pretraining_rows(store: ResultsStore, run_id: str) -> list[dict[str, Any]]:
    rows = [
        {"pretraining": r["labels"]["pretraining"], "seed": r["labels"]["seed"],
         **{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in r["report"].items()}}
        for r in store.stage_reports(run_id, stage="pretrain")
        if r["report"]
    ]
    return sorted(rows, key=lambda r: (str(r["pretraining"]), r["seed"]))


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
    with ResultsStore(store_path) as store:
        run = _run_of(store, run_id, Path(store_path))
        scores = store.scores_frame(run["run_id"])
        record = RunRecord(
            run=RunInfo(**run),
            metrics=_metric_catalogue(run["config"], system),
            pretraining=_pretraining_rows(store, run["run_id"]),
            failures=store.failures(run["run_id"]),
        )
    return record, scores[list(RAW_SCORE_COLUMNS)]


def results_of(record: RunRecord, scores: pd.DataFrame) -> RunResults:
    """The leaderboard's input from a validated record and its scores."""
    return RunResults(
        scores=scores,
        run=record.run.model_dump(),
        metrics={k: v.model_dump() for k, v in record.metrics.items()},
        pretraining=record.pretraining,
        failures=record.failures,
    )


def load_store(store_path: Path, system: PluginSystem, run_id: str | None = None) -> RunResults:
    """A store's run, ready for :func:`xecgbench.leaderboard.build_leaderboard`."""
    return results_of(*record_from_store(store_path, system, run_id))


def _read_scores(path: Path) -> pd.DataFrame:
    try:
        scores = pd.read_csv(path, dtype={"record_id": "string", "region": "string"},
                             keep_default_na=False, na_values={"value": [""], "attribution": [""],
                                                                "record_id": [""]})
    except (OSError, ValueError, EOFError) as exc:
        raise ResultsFileError(f"{path}: cannot read scores: {exc}") from None
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
    scores = _read_scores(directory / SCORES_FILE)
    unknown = sorted(set(scores["metric"]) - set(record.metrics))
    if unknown:
        raise ResultsFileError(
            f"{directory / SCORES_FILE}: metrics {', '.join(unknown)} are not described in "
            f"{RUN_FILE}'s 'metrics'"
        )
    seeds = set(record.run.config.get("seeds", ()))
    stray = sorted(set(scores["seed"]) - seeds)
    if stray:
        raise ResultsFileError(f"{directory / SCORES_FILE}: seeds {stray} not in the config")
    return results_of(record, scores)


def write_raw_results(record: RunRecord, scores: pd.DataFrame, out: Path) -> Path:
    """Write ``run.json`` and ``scores.csv.gz`` (gzip without a timestamp) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_FILE).write_text(
        json.dumps(record.model_dump(mode="json"), indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    buffer = io.StringIO()
    scores[list(RAW_SCORE_COLUMNS)].to_csv(buffer, index=False, lineterminator="\n",
                                           float_format="%.9g")
    (out / SCORES_FILE).write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    return out


def export_results(store_path: Path, system: PluginSystem, out: Path,
                   run_id: str | None = None, n_examples: int = 2) -> Path:
    """Write a run's raw results, heatmap examples and generated tables into ``out``."""
    record, scores = record_from_store(store_path, system, run_id)
    write_raw_results(record, scores, out)
    if n_examples > 0:
        from xecgbench.html_report import collect_examples, save_examples

        examples = collect_examples(store_path, system, record.run.run_id, n_examples)
        if examples is not None:
            save_examples(examples, out / EXAMPLES_FILE)
    write_tables(validate_directory(out), out)
    return out


def write_tables(results: RunResults, directory: Path) -> list[Path]:
    """Write every generated table file of ``results`` into ``directory``."""
    board = build_leaderboard(results)
    paths = []
    for name, render in TABLE_FILES.items():
        path = Path(directory) / name
        path.write_text(render(board), encoding="utf-8")
        paths.append(path)
    return paths


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
    out.write_text(to_markdown(board), encoding="utf-8")
    return out


def attribution_artifacts(store_path: Path, run_id: str) -> list[dict[str, Any]]:
    """Labels, artifact path and checksum of every attribute stage of ``run_id``."""
    uri = f"file:{Path(store_path).resolve()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        rows = db.execute(
            "SELECT s.labels_json, s.artifact, s.checksum FROM stages s JOIN run_stages r "
            "ON r.key = s.key WHERE r.run_id = ? AND s.stage = 'attribute' "
            "AND s.status = 'done' ORDER BY s.key",
            (run_id,),
        ).fetchall()
    return [{"labels": json.loads(lab), "artifact": art, "checksum": chk}
            for lab, art, chk in rows if art]
