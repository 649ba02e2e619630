"""Results in and out of files: a store's run as :class:`RunResults`, committed raw results, tables.

A committed leaderboard is a directory (see ``leaderboards/README.md``)::

    run.json        run record: config, provenance, metric directions, pretraining reports
    scores.parquet  per-sample scores (the store's scores table, without stage keys);
                    boards exported before Parquet hold ``scores.csv.gz`` instead
    probabilities.parquet  optional: per-window AF probabilities (test and validation windows)
    examples.npz    optional: a few ECGs, masks and relevances for the HTML report's heatmaps
    checksums.json  SHA-256 of each raw file above, checked on every read
    leaderboard.md / leaderboard.csv / leaderboard.tex   generated, never edited by hand

``run.json`` is validated by :class:`RunRecord` (its JSON Schema is ``leaderboards/schema.json``);
every file is read through the guarded loader (:mod:`~.board_reader`); nothing in a submitted
results directory is ever executed.

Long because the run record's schema (the pydantic models that generate
``leaderboards/schema.json``) lives beside the one reader and writer of that file.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board import Leaderboard, RunResults
from xecgbench.report.board_format import probability_parts as probs
from xecgbench.report.board_format.config_paths import refuse_escapes
from xecgbench.report.board_format.confined_write import (
    UnsafePathError,
    write_all_inside,
    write_inside,
)
from xecgbench.report.board_format.published_files import check_published
from xecgbench.report.board_format.reader import (
    CHECKSUMS_FILE,
    EXAMPLES_FILE,
    LEGACY_SCORES_FILE,
    RUN_FILE,
    SCORE_PARTS,
    SCORES_FILE,
    ResultsFileError,
    checksums,
    json_object,
    present,
    read_checked,
    read_raw,
    refuse_links,
    scores_names,
    sha256,
)
from xecgbench.report.board_format.score_parts import (
    RAW_SCORE_COLUMNS,
    parse_score_parts,
    score_parts_bytes,
)
from xecgbench.report.board_format.score_values import check_score_values
from xecgbench.report.board_format.submission_record import SubmissionRecord
from xecgbench.report.built_boards import built_tables
from xecgbench.report.rendering.text_formats import to_csv, to_latex, to_markdown
from xecgbench.report.table_builders.nulls import (
    AttributionRecord,
    split_af_regions,
    with_model_state,
)
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import Suite
from xecgbench.run.stage_types import UNTRAINED
from xecgbench.run.store import ResultsStore

__all__ = ["CHECKSUMS_FILE", "EXAMPLES_FILE", "RAW_SCORE_COLUMNS", "RUN_FILE", "SCORES_FILE",
           "ResultsFileError"]
#: Latest plausible run time (2100-01-01): a larger ``started`` cannot be shown as a date.
MAX_TIMESTAMP = 4_102_444_800.0
#: Identifiers a board prints into Markdown, HTML and LaTeX (run ids, config hashes).
SAFE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$"
#: A distribution name (PEP 508) or a version (PEP 440, local part included).
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,127}"
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
    #: The one mask a metric that chooses its own region scores (``MetricInfo.region``).
    region: str | None = None
    #: Where its scores lie (``MetricInfo.value_range``; default: its category's range).
    value_range: tuple[float, float] | None = None

    @field_validator("value_range")
    @classmethod
    def _a_finite_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (math.isfinite(value[0]) and math.isfinite(value[1])
                                      and value[0] < value[1]):
            raise ValueError("value_range must be two finite numbers, low < high")
        return value


class StrategyRecord(BaseModel):
    """How to read one pretraining strategy: what it pre-trains and what its report means."""

    model_config = ConfigDict(extra="forbid")
    name: str
    branches: list[str]
    report_directions: dict[str, bool | None] = Field(default_factory=dict)
    report_description: str = ""


class ScheduleRecord(BaseModel):
    """A freezing schedule's place on the ordered depth scale (None: not one fixed depth)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    depth: int | None = None


class RunInfo(BaseModel):
    """The run as the store recorded it."""

    model_config = ConfigDict(extra="forbid")
    run_id: str = Field(pattern=SAFE_ID)
    suite: str
    config_hash: str = Field(pattern=SAFE_ID)
    config: dict[str, Any]
    provenance: dict[str, Any]
    started: float = Field(ge=0, le=MAX_TIMESTAMP, allow_inf_nan=False)
    finished: float | None = Field(None, ge=0, le=MAX_TIMESTAMP, allow_inf_nan=False)
    status: str

    @field_validator("provenance")
    @classmethod
    def _plugin_names_are_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        """What the site and the tables print of a run's plugins must be names, not markup:
        each ``plugin_distributions`` entry a mapping (or None) whose distribution and version match
        :data:`SAFE_NAME`, each ``component_plugins`` kind a mapping of names."""
        named = value.get("plugin_distributions") or {}
        if not isinstance(named, Mapping):
            raise ValueError("provenance.plugin_distributions must be a mapping")
        for plugin, entry in named.items():
            if entry is None:  # registered from code, not installed: no distribution
                continue
            if not isinstance(entry, Mapping):
                raise ValueError(f"provenance.plugin_distributions.{plugin} must be a mapping")
            for key in ("distribution", "version"):
                if entry.get(key) is not None and not re.fullmatch(SAFE_NAME, str(entry[key])):
                    raise ValueError(f"provenance.plugin_distributions.{plugin}.{key} "
                                     f"{str(entry[key])[:60]!r} is not a package name or version")
        used = value.get("component_plugins") or {}
        if not isinstance(used, Mapping) or not all(isinstance(v, Mapping) for v in used.values()):
            raise ValueError("provenance.component_plugins must map kinds to mappings")
        return value


class FlagRecord(BaseModel):
    """A trained model (or its explanation) that must not be averaged in silently."""

    model_config = ConfigDict(extra="forbid")
    pretraining: str
    freezing: str
    seed: int
    branch: str
    attribution: str | None = None
    flag: str = Field(description="'constant output' or 'all-zero relevance'")


class CostRecord(BaseModel):
    """Wall time of one attribute stage (loading the model and data included): the cost
    column of the leaderboard site, per explained window."""

    model_config = ConfigDict(extra="forbid")
    pretraining: str
    freezing: str
    seed: int
    attribution: str
    seconds: float


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
    schedules: dict[str, ScheduleRecord] = Field(
        default_factory=dict,
        description="freezing display label -> name and depth (absent before depths existed)",
    )
    attributions: dict[str, AttributionRecord] = Field(
        default_factory=dict, description="method display label -> name, family, mask_informed")
    pretraining: list[dict[str, Any]] = Field(
        default_factory=list,
        description="one row per pretraining stage: pretraining, seed and report numbers",
    )
    failures: list[dict[str, Any]] = Field(default_factory=list)
    flags: list[FlagRecord] = Field(
        default_factory=list,
        description="models that learnt nothing: constant output or all-zero relevance",
    )
    costs: list[CostRecord] = Field(
        default_factory=list, description="seconds of each attribute stage the run used")
    submission: SubmissionRecord | None = None  # a submission's board and what it scored
    planned_seeds: list[int] | None = Field(
        None, description="the seeds the bundled suite of this name declares, when the run "
        "covers only some of them (a grid run in parts): its pre-registered tests are then an "
        "interim look, confirmatory only at all of them; frozen at export")


def schema() -> dict[str, Any]:
    """The JSON Schema of ``run.json``."""
    return RunRecord.model_json_schema()


def _catalogue(run: Mapping[str, Any], system: PluginSystem) -> dict[str, Any]:
    """The catalogue frozen into the run (stores before 0.2: the installed plugins' metadata)."""
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
            if labels.get("model_state") == UNTRAINED:
                continue  # the null baseline is no trained model; nothing there to flag
            cell = {k: labels[k] for k in ("pretraining", "freezing", "seed")}
            for branch in report.get("constant_output", ()):
                flags.append({**cell, "branch": branch, "attribution": None,
                              "flag": "constant output"})
            for branch, share in report.get("zero_relevance", {}).items():
                if share >= 1.0:
                    flags.append({**cell, "branch": branch, "attribution": labels["attribution"],
                                  "flag": "all-zero relevance"})
    return sorted(flags, key=lambda f: tuple(str(v) for v in f.values()))


def _costs(store: ResultsStore, run_id: str) -> list[dict[str, Any]]:
    """Attribute-stage seconds on the trained models (the untrained null's are left out)."""
    rows = [{**{k: r["labels"][k] for k in ("pretraining", "freezing", "seed", "attribution")},
             "seconds": float(r["seconds"])}
            for r in store.stage_reports(run_id, stage="attribute")
            if r["seconds"] is not None and r["labels"].get("pretraining") is not None]
    return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))


def _run_of(store: ResultsStore, run_id: str | None, where: Path) -> dict[str, Any]:
    runs = store.runs()
    if not runs:
        raise ResultsFileError(f"{where} holds no runs")
    run_id = run_id or store.latest_run_id()
    run = next((r for r in runs if r["run_id"] == run_id), None)
    if run is None:
        names = ", ".join(r["run_id"] for r in runs)
        raise ResultsFileError(f"no run {run_id!r} in {where}; runs: {names}")
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
            schedules=catalogue.get("schedules", {}),
            attributions=catalogue.get("attributions", {}),
            pretraining=_pretraining_rows(store, run["run_id"]),
            failures=store.failures(run["run_id"]),
            flags=_flags(store, run["run_id"]),
            costs=_costs(store, run["run_id"]),
            planned_seeds=_planned_seeds(run),
        )
    return record, with_model_state(scores[list(RAW_SCORE_COLUMNS)])


def _planned_seeds(run: Mapping[str, Any]) -> list[int] | None:
    """The bundled suite's seeds when the run (``--set seeds=…``) covers only some of them."""
    from xecgbench.run.config import builtin_suites, load_suite

    if run["suite"] not in builtin_suites():
        return None
    declared = list(load_suite(run["suite"]).seeds)
    ran = set(run["config"].get("seeds", ()))
    return declared if ran < set(declared) else None


def suite_of(record: RunRecord, where: Path) -> Suite:
    """The run's config validated as a suite (a config written before a field existed reads
    as that field's default); one line naming the field if it is none."""
    try:
        return Suite.model_validate(record.run.config)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in ("run", "config", *first["loc"]))
        raise ResultsFileError(f"{where}: field {field!r}: {first['msg']}") from None


def results_of(record: RunRecord, scores: pd.DataFrame, where: Path,
               probabilities: Any = None) -> RunResults:
    """The leaderboard's input from a validated record (read from ``where``), its scores and
    probabilities if any: the config as a :class:`Suite`, trained models' rows in ``scores``,
    the untrained null's in ``untrained``, AF regions renamed (see
    :mod:`~xecgbench.report.table_builders.nulls`)."""
    suite = suite_of(record, where)
    scores = split_af_regions(with_model_state(scores), suite.explain.af_regions)
    untrained = scores["model_state"] == UNTRAINED
    return RunResults(
        probabilities=None if probabilities is None or probabilities.empty else probabilities,
        scores=_renumbered(scores[~untrained]),
        untrained=_renumbered(scores[untrained]),
        attributions={k: v.model_dump() for k, v in record.attributions.items()},
        run=record.run,
        suite=suite,
        planned_seeds=None if record.planned_seeds is None else tuple(record.planned_seeds),
        metrics={k: v.model_dump() for k, v in record.metrics.items()},
        strategies={k: v.model_dump() for k, v in record.strategies.items()},
        schedules={k: v.model_dump() for k, v in record.schedules.items()},
        flags=[f.model_dump() for f in record.flags],
        pretraining=record.pretraining,
        failures=record.failures,
        costs=[c.model_dump() for c in record.costs],
    )


def _renumbered(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (a fresh selection) indexed 0..n-1 in place: ``reset_index`` would copy and
    consolidate a board's millions of text cells once more."""
    rows.index = pd.RangeIndex(len(rows))
    return rows


def load_store(store_path: Path, system: PluginSystem, run_id: str | None = None) -> RunResults:
    """A store's run, ready for :func:`xecgbench.report.tables.build_leaderboard`."""
    record, scores = record_from_store(store_path, system, run_id)
    return results_of(record, scores, Path(store_path),
                      probs.store_probabilities(store_path, record.run.run_id))


def _record(directory: Path, data: bytes) -> RunRecord:
    path = directory / RUN_FILE
    try:
        record = RunRecord.model_validate(json_object(data, path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ResultsFileError(f"{path}: field {where!r}: {first['msg']}") from None
    seeds = record.run.config.get("seeds", [])
    if not (isinstance(seeds, list) and all(type(s) is int for s in seeds)):
        raise ResultsFileError(f"{path}: field 'run.config.seeds': must be a list of integers")
    refuse_escapes(record.run.config, path)
    return record


def read_record(directory: Path) -> RunRecord:
    """Validate ``directory/run.json`` (checksum, then :class:`RunRecord`)."""
    directory = Path(directory)
    if not (directory / RUN_FILE).exists() and not (directory / RUN_FILE).is_symlink():
        raise ResultsFileError(f"{directory / RUN_FILE} does not exist (export one with "
                               "`xecgbench leaderboard export`)")
    data = read_checked(directory, RUN_FILE, checksums(directory))
    assert data is not None
    refuse_links(directory)
    return _record(directory, data)


def read_board(directory: Path, metrics: Collection[str] | None = None
               ) -> tuple[RunRecord, pd.DataFrame]:
    """A board's run record and scores (only ``metrics``' rows when given), every file checked
    (the one loader every reader uses)."""
    directory = Path(directory)
    record = read_record(directory)
    manifest = checksums(directory)
    parts = []
    for name in scores_names(directory):
        data = read_checked(directory, name, manifest)
        assert data is not None
        parts.append((data, directory / name))
    return record, parse_score_parts(parts, metrics)


def read_examples(directory: Path) -> Any:
    """The board's heatmap examples (checked, see :func:`~.examples.load_npz`), or None."""
    from xecgbench.report.examples import load_npz

    directory = Path(directory)
    data = read_checked(directory, EXAMPLES_FILE, checksums(directory), required=False)
    return None if data is None else load_npz(data, directory / EXAMPLES_FILE)


def validate_directory(directory: Path, metrics: Collection[str] | None = None) -> RunResults:
    """Check a results directory (schema, columns, labels) and return its :class:`RunResults`
    (with only ``metrics``' score rows when given: every file is still checked whole)."""
    directory = Path(directory)
    record, scores = read_board(directory, metrics)
    names = scores_names(directory)
    path = directory / names[0] if len(names) == 1 else directory
    unknown = sorted(set(scores["metric"]) - set(record.metrics))
    if unknown:
        raise ResultsFileError(
            f"{path}: metrics {', '.join(unknown)[:200]} are not described in "
            f"{RUN_FILE}'s 'metrics'"
        )
    stray = sorted(set(scores["seed"]) - set(record.run.config.get("seeds", ())))
    if stray:
        raise ResultsFileError(f"{path}: seeds {stray[:10]} not in the config")
    check_score_values(path, scores, record.metrics)
    probabilities = probs.read_probabilities(directory)
    check_published(directory)
    return results_of(record, scores, directory / RUN_FILE, probabilities)


def write_checksums(directory: Path) -> Path:
    """Write ``checksums.json`` for the raw files in ``directory`` (read through the guards)."""
    directory = Path(directory)
    digests = {}
    for name in present(directory):
        data = read_raw(directory, name)
        assert data is not None
        digests[name] = sha256(data)
    text = json.dumps({"sha256": digests}, indent=1, sort_keys=True) + "\n"
    return _safe(write_inside, directory, CHECKSUMS_FILE, text)


def write_raw_results(record: RunRecord, scores: pd.DataFrame, out: Path) -> Path:
    """Write ``run.json``, ``scores.parquet`` (and its further parts) and their checksums into
    ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    parts = score_parts_bytes(scores)
    if len(parts) > len(SCORE_PARTS):
        raise ResultsFileError(f"{out}: {len(scores):,} score rows need {len(parts)} parts, "
                               f"more than the {len(SCORE_PARTS)} a board may hold")
    record_text = json.dumps(record.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"
    # the record and every score part together: a full disk leaves the old ones, not a mix
    _safe(write_all_inside, out, {RUN_FILE: record_text,
                                  **dict(zip(SCORE_PARTS, parts, strict=False))})
    for stale in (*SCORE_PARTS[len(parts):], LEGACY_SCORES_FILE):  # fresh scores replace older
        (out / stale).unlink(missing_ok=True)
    write_checksums(out)
    return out


def _safe(write: Any, *args: Any) -> Any:
    """A leaderboard write; a symlink or an escape becomes a one-line ResultsFileError."""
    try:
        return write(*args)
    except UnsafePathError as exc:
        raise ResultsFileError(str(exc)) from None


def export_results(store_path: Path, system: PluginSystem, out: Path,
                   run_id: str | None = None, n_examples: int = 2) -> Path:
    """Write a run's raw results, heatmap examples and generated tables into ``out``."""
    record, scores = record_from_store(store_path, system, run_id)
    refuse_escapes(record.run.config, Path(store_path))  # a board must read back
    write_raw_results(record, scores, out)
    probs.write_probabilities(probs.store_probabilities(store_path, record.run.run_id), out)
    if n_examples > 0:
        from xecgbench.report.examples import collect_examples, save_examples

        examples = collect_examples(store_path, system, record.run.run_id, n_examples)
        if examples is not None:
            buffer = io.BytesIO()
            save_examples(examples, buffer)
            _safe(write_inside, out, EXAMPLES_FILE, buffer.getvalue())
    write_checksums(out)
    write_tables(validate_directory(out), out)
    return out


def write_tables(results: RunResults, directory: Path, root: Path | None = None) -> list[Path]:
    """Write every generated table file of ``results`` into ``directory`` (inside ``root``).

    A submitted directory is untrusted: a table file that is a symlink, or a directory that
    leads outside ``root``, is refused rather than written through.
    """
    leaderboard = build_leaderboard(results)
    tables = {name: render(leaderboard) for name, render in TABLE_FILES.items()}
    return _safe(write_all_inside, directory, tables, root)  # all three tables or none


def committed_directories(root: Path) -> list[Path]:
    """Every leaderboard under ``root`` (directories holding a ``run.json``); ``root`` itself
    when it is one board. No board at all is an error, never an empty success."""
    root = Path(root)
    if (root / RUN_FILE).exists() or (root / RUN_FILE).is_symlink():
        return [root]
    found = sorted(p.parent for p in root.glob(f"*/{RUN_FILE}"))
    if not found:
        raise ResultsFileError(f"{root}: holds no leaderboard (no */{RUN_FILE})")
    return found


def load_built(directory: Path) -> tuple[RunResults, Leaderboard]:
    """A board's results and tables, the tables built once per content (:mod:`~.built_boards`):
    the manifest is read before and after validation, and a board that changed meanwhile is
    built afresh."""
    before = checksums(Path(directory))
    results = validate_directory(directory)
    same = checksums(Path(directory)) == before
    return results, built_tables(results, before if same else None)


#: How far a number of the tidy CSV (``%.10g``) may move between machines and still be the same
#: table: closed-form statistics round differently on another CPU (measured: one unit in the
#: 10th digit on an AMD EPYC with AVX2 against the boards' Intel machine).
CSV_RTOL, CSV_ATOL = 1e-8, 1e-12
#: Tables whose numbers come from an iterative fit, and how far they may move: the interval
#: ANOVA's MixedLM optimiser takes another path under another CPU's rounding (measured: 288
#: numbers of ``cinc2017-paper-ludb`` moved, by at most 8.2e-4 relative, means and p-values of
#: a few cells). A hand edit that moves a number by 1 % or more is still caught.
FITTED_TABLES_RTOL = {"interval-anova": 1e-2}


def same_tidy_csv(committed: bytes, rebuilt: bytes) -> bool:
    """The same tidy CSV: every text cell equal, every number within :data:`CSV_RTOL` (within
    :data:`FITTED_TABLES_RTOL` in a fitted table)."""
    old = pd.read_csv(io.BytesIO(committed), dtype=str, keep_default_na=False)
    new = pd.read_csv(io.BytesIO(rebuilt), dtype=str, keep_default_na=False)
    if list(old.columns) != list(new.columns) or old.shape != new.shape:
        return False
    differ = old.to_numpy() != new.to_numpy()
    tables = old["table"].to_numpy() if "table" in old else np.full(len(old), "")
    for row, column in zip(*np.nonzero(differ), strict=True):
        try:
            a, b = float(old.iat[row, column]), float(new.iat[row, column])
        except ValueError:
            return False
        rtol = FITTED_TABLES_RTOL.get(str(tables[row]), CSV_RTOL)
        if not (np.isfinite(a) and np.isfinite(b)
                and abs(a - b) <= rtol * max(abs(a), abs(b)) + CSV_ATOL):
            return False
    return True


def stale_tables(directory: Path, leaderboard: Leaderboard | None = None) -> list[str]:
    """Generated files of ``directory`` that differ from a rebuild from its raw files (the CSV's
    numbers compared within :data:`CSV_RTOL`, every other byte exactly); ``leaderboard`` is
    that rebuild where the caller already holds it (from :func:`load_built` of ``directory``)."""
    if leaderboard is None:
        _, leaderboard = load_built(directory)
    stale = []
    for name, render in TABLE_FILES.items():
        path = Path(directory) / name
        expected = render(leaderboard).encode()
        if path.is_symlink() or not path.is_file():
            stale.append(str(path))
            continue
        found = path.read_bytes()
        if found != expected and not (name.endswith(".csv") and same_tidy_csv(found, expected)):
            stale.append(str(path))
    return stale


def write_board(store_path: Path, system: PluginSystem, out: Path,
                run_id: str | None = None) -> tuple[Path, Leaderboard]:
    """Build the Markdown leaderboard of ``run_id`` (default: latest) into ``out``; the path
    and the tables (whose answer the terminal prints)."""
    leaderboard = build_leaderboard(load_store(store_path, system, run_id))
    out.parent.mkdir(parents=True, exist_ok=True)
    return _safe(write_inside, out.parent, out.name, to_markdown(leaderboard)), leaderboard


def write_leaderboard(store_path: Path, system: PluginSystem, out: Path,
                      run_id: str | None = None) -> Path:
    """Build the Markdown leaderboard of ``run_id`` (default: latest) into ``out``."""
    return write_board(store_path, system, out, run_id)[0]
