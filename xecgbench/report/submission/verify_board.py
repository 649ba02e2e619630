"""``xecgbench leaderboard verify``: rerun randomly drawn cells of a committed leaderboard.

A committed leaderboard holds its suite config in ``run.json``; a cell (seed × pretraining ×
freezing) reruns as a one-cell suite with the same config, whose stage keys equal the committed
run's (no key depends on which other cells a suite lists). The rerun's per-sample scores are
compared with the committed scores at the precision the CSV format wrote them with
(``%.9g``): exactly when the machine fingerprint (CPU vendor and model, kernel set, threads)
and the versions match the committed provenance, within a tolerance derived from float32
rounding otherwise. Differing rows are listed, so a reviewer sees which numbers moved.
"""

from __future__ import annotations

import platform
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.plugins.data_root import data_root
from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board_format.config_paths import confine_declared
from xecgbench.report.results_files import (
    RAW_SCORE_COLUMNS,
    ResultsFileError,
    RunRecord,
    read_board,
    record_from_store,
)
from xecgbench.report.submission.verify_limits import check_budget, stage_limit
from xecgbench.report.table_builders.nulls import with_model_state
from xecgbench.run.config import Suite
from xecgbench.run.distributions import require_installed, used_plugins
from xecgbench.run.interrupts import interrupt_on_sigterm
from xecgbench.run.plan import Cell, cells
from xecgbench.run.provenance import PACKAGES, _package_version, cpu_fingerprint

#: Numbers a score row carries (its value, and where stored its class label and chance level);
#: every other column identifies the row.
VALUE_COLUMNS = tuple(c for c in ("value", "label", "chance") if c in RAW_SCORE_COLUMNS)
KEY_COLUMNS = tuple(c for c in RAW_SCORE_COLUMNS if c not in VALUE_COLUMNS)
#: Precision of committed scores (``write_raw_results``' float format): "bit-identical" means
#: identical at this precision, the most a committed CSV can show.
VALUE_FORMAT = "%.9g"
#: Float32 units in the last place a rerun may differ by on another machine. Scores are float32
#: reductions over a window; another CPU's kernels sum in another order. Measured: 3.6 ulps
#: (AVX2 AMD EPYC against the AVX512 machine that made ``smoke-verify``), 0.6 ulps (AVX512 AMD
#: EPYC); 64 leaves a margin of 18x while a real change (a score moved by 1e-4) is 13x above it.
FLOAT32_ULPS = 64
#: Tolerance when the machine fingerprint or a version differs from the committed run:
#: ``|committed - rerun| <= CROSS_PLATFORM_ATOL * max(1, |committed|, |rerun|)`` (64 float32
#: ulps of 1 for scores in [-1, 1], relative beyond).
CROSS_PLATFORM_ATOL = FLOAT32_ULPS * float(np.finfo(np.float32).eps)
#: Fingerprint fields that must match for the bit-identity promise.
FINGERPRINT = ("vendor", "model", "family", "model_number", "kernels", "threads")


@dataclass
class CellCheck:
    """One rerun cell: how many rows matched and the rows that did not."""

    seed: int
    pretraining: str
    freezing: str
    n_rows: int = 0
    differing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every committed row of the cell was reproduced (and no extra row appeared)."""
        return not self.differing

    @property
    def label(self) -> str:
        """``seed=S pretraining=P freezing=F``."""
        return f"seed={self.seed} pretraining={self.pretraining} freezing={self.freezing}"


@dataclass
class VerifyReport:
    """The outcome of a verify: environment comparison, tolerance and per-cell checks."""

    same_environment: bool
    environment_diff: dict[str, tuple[Any, Any]]
    atol: float
    cells: list[CellCheck]

    @property
    def ok(self) -> bool:
        """Every drawn cell was reproduced."""
        return all(c.ok for c in self.cells)


def environment(system: PluginSystem, plugins: set[str] | None = None) -> dict[str, Any]:
    """What must match for bit-identity: machine, Python, numeric packages, and the versions of
    ``plugins`` (default: all; an installed plugin the run does not use changes no score)."""
    cpu = cpu_fingerprint()
    return {
        "machine": platform.machine(),
        **{f"cpu.{key}": cpu.get(key) for key in FINGERPRINT},
        "python": platform.python_version(),
        **{f"packages.{name}": _package_version(name) for name in PACKAGES},
        **{f"plugins.{row['name']}": row["version"] for row in system.describe()
           if plugins is None or row["name"] in plugins},
    }


def committed_environment(provenance: dict[str, Any],
                          plugins: set[str] | None = None) -> dict[str, Any]:
    """The same fields from a committed run's provenance (machine parsed from ``platform``).

    A run recorded before the CPU fingerprint has only ``cpu_kernels``: its other fingerprint
    fields are unknown (None), so it is compared within the float32 tolerance everywhere.
    """
    plat = str(provenance.get("platform", ""))
    machine = next((m for m in ("x86_64", "aarch64", "arm64", "AMD64") if m in plat), plat)
    cpu = provenance.get("cpu")
    cpu = cpu if isinstance(cpu, dict) else {"kernels": provenance.get("cpu_kernels")}
    return {
        "machine": machine,
        **{f"cpu.{key}": cpu.get(key) for key in FINGERPRINT},
        "python": provenance.get("python"),
        **{f"packages.{k}": v for k, v in provenance.get("packages", {}).items()},
        **{f"plugins.{k}": v for k, v in provenance.get("plugins", {}).items()
           if plugins is None or k in plugins},
    }


def environment_diff(record: RunRecord, system: PluginSystem,
                     where: Path) -> dict[str, tuple[Any, Any]]:
    """Committed vs installed fields that differ, over the plugins the run used; a component
    the run used that is not installed is an error naming the distribution to install."""
    run = record.run
    require_installed(run.provenance, system, run.config, str(where / "run.json"))
    used = used_plugins(run.provenance, system, run.config)
    now, then = environment(system, used), committed_environment(run.provenance, used)
    return {k: (then.get(k), now.get(k)) for k in sorted(set(now) | set(then))
            if then.get(k) != now.get(k)}


def draw_cells(suite: Suite, system: PluginSystem, n: int, seed: int) -> list[Cell]:
    """``n`` distinct cells of the grid drawn with ``seed`` (all of them when ``n`` is larger)."""
    grid = list(cells(suite, system))
    if n < 1:
        raise ResultsFileError(f"--cells must be at least 1, got {n}")
    return random.Random(seed).sample(grid, min(n, len(grid)))


def cell_suite(suite: Suite, cell: Cell, stage_time_limit_s: float | None = None) -> Suite:
    """The suite reduced to one cell; every other field (so every stage key) unchanged but
    the stage time limit (:func:`~.verify_limits.stage_limit`, in no key).

    The seed's untrained baseline is left out: it belongs to no cell (and shapes no key).
    """
    explain = suite.explain.model_copy(update={"untrained_baseline": False})
    return suite.model_copy(update={
        "seeds": (cell.seed,), "pretraining": (cell.pretraining,), "freezing": (cell.freezing,),
        "explain": explain,
        "stage_time_limit_s": stage_limit(suite.stage_time_limit_s, stage_time_limit_s),
    })


def _keyed(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores indexed by string keys (None/NaN as ""), each number as float and committed text."""
    frame = with_model_state(scores)
    for column in KEY_COLUMNS:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "").astype(str)
    for column in VALUE_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce") if column in frame else None
        frame[column] = values if values is not None else float("nan")
        frame[f"{column}_text"] = [VALUE_FORMAT % v for v in frame[column]]
    return frame.set_index(list(KEY_COLUMNS)).sort_index()


def check_tolerance(atol: float) -> float:
    """``atol`` if it can fail a comparison: finite and >= 0 (NaN would pass every row)."""
    if not np.isfinite(atol) or atol < 0:
        raise ResultsFileError(f"--atol must be a finite number >= 0, got {atol}")
    return float(atol)


def tolerance_for(atol: float | None, diff: dict[str, Any]) -> float:
    """The tolerance a verify applies: ``atol`` if given, else 0 (identical at the committed
    precision) when nothing in ``diff`` differs and :data:`CROSS_PLATFORM_ATOL` when it does."""
    if atol is not None:
        return check_tolerance(atol)
    return 0.0 if not diff else CROSS_PLATFORM_ATOL


def _close(a: pd.Series, b: pd.Series, atol: float) -> pd.Series:
    """Equal, both NaN, or both finite and within ``atol * max(1, |a|, |b|)``; NaN or an
    infinity on one side never is."""
    finite = np.isfinite(a) & np.isfinite(b)
    scale = np.maximum(1.0, np.maximum(a.abs(), b.abs()))
    with np.errstate(invalid="ignore", over="ignore"):
        near = finite & ((a - b).abs() <= atol * scale)
    return (a == b) | (a.isna() & b.isna()) | near


def compare_scores(
    committed: pd.DataFrame, rerun: pd.DataFrame, atol: float
) -> list[dict[str, Any]]:
    """Rows whose numbers differ (beyond ``atol`` as :data:`CROSS_PLATFORM_ATOL` defines it;
    exact text when 0) or that one side lacks."""
    atol = check_tolerance(atol)
    old, new = _keyed(committed), _keyed(rerun)
    numbers = [*VALUE_COLUMNS, *(f"{c}_text" for c in VALUE_COLUMNS)]
    joined = old[numbers].join(new[numbers], how="outer", lsuffix="_committed",
                               rsuffix="_rerun")
    missing = joined["value_text_committed"].isna() | joined["value_text_rerun"].isna()
    differs = missing.copy()
    for column in VALUE_COLUMNS:
        a, b = joined[f"{column}_committed"], joined[f"{column}_rerun"]
        if atol == 0:
            bad = joined[f"{column}_text_committed"] != joined[f"{column}_text_rerun"]
        else:
            bad = ~_close(a, b, atol)
        differs |= bad & ~missing
    rows = joined[differs]
    return [
        {**dict(zip(KEY_COLUMNS, index, strict=True)),
         "committed": row["value_committed"], "rerun": row["value_rerun"]}
        for index, row in rows.iterrows()
    ]


def verify_leaderboard(
    directory: Path,
    system: PluginSystem,
    *,
    n_cells: int = 1,
    seed: int = 0,
    atol: float | None = None,
    work_dir: Path | None = None,
    workers: int = 1,
    stage_time_limit_s: float | None = None,
) -> VerifyReport:
    """Rerun ``n_cells`` drawn cells of the leaderboard in ``directory`` and compare scores.

    ``atol``: None picks 0 (identical at the committed precision) when the environment
    (fingerprint included) matches the committed provenance and :data:`CROSS_PLATFORM_ATOL`
    otherwise (:func:`tolerance_for`). A config over :mod:`~.verify_limits` is refused before
    any work; no stage runs past ``stage_time_limit_s`` (default
    :data:`~.verify_limits.STAGE_TIME_LIMIT_S`), and a stage that fails stops the verify.
    """
    from xecgbench.run.runner import run_suite

    directory = Path(directory)
    record, committed = read_board(directory)
    check_budget(record.run.config, directory / "run.json")
    try:
        suite = Suite.model_validate(record.run.config)
    except Exception as exc:  # pydantic's message names the field
        raise ResultsFileError(
            f"{directory}/run.json: config is not a valid suite: {exc}"
        ) from None
    confine_declared(record.run.config, directory / "run.json", data_root(), system, suite)
    diff = environment_diff(record, system, directory)
    tolerance = tolerance_for(atol, diff)
    checks = []
    with (interrupt_on_sigterm(),
          tempfile.TemporaryDirectory(prefix="xecgbench-verify-") as scratch):
        root = Path(work_dir) if work_dir is not None else Path(scratch)
        for index, cell in enumerate(draw_cells(suite, system, n_cells, seed)):
            out = root / f"cell-{index}"
            summary = run_suite(cell_suite(suite, cell, stage_time_limit_s), system, out,
                                workers=workers, quiet=True)
            check = CellCheck(cell.seed, cell.pretraining.display, cell.freezing.display)
            if summary.failed:
                failure = summary.failed[0]
                raise ResultsFileError(
                    f"{directory}: rerunning {check.label}: {failure.component} (plugin "
                    f"{failure.plugin}) failed: {(failure.error.splitlines() or [''])[0]}")
            _, rerun = record_from_store(summary.store_path, system, summary.run_id)
            mine = committed[(committed["seed"] == cell.seed)
                             & (committed["pretraining"] == check.pretraining)
                             & (committed["freezing"] == check.freezing)]
            check.n_rows = len(mine)
            check.differing = compare_scores(mine, rerun, tolerance)
            checks.append(check)
    return VerifyReport(not diff, diff, tolerance, checks)
