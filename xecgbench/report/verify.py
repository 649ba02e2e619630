"""``xecgbench leaderboard verify``: rerun randomly drawn cells of a committed leaderboard.

A committed leaderboard holds its suite config in ``run.json``; a cell (seed × pretraining ×
freezing) reruns as a one-cell suite with the same config, whose stage keys equal the committed
run's (no key depends on which other cells a suite lists). The rerun's per-sample scores are
compared with the committed ``scores.csv.gz`` at the precision it was written with
(``%.9g``): exactly when platform and versions match the committed provenance, within a stated
absolute tolerance otherwise. Differing rows are listed, so a reviewer sees which numbers moved.
"""

from __future__ import annotations

import platform
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.external_scores import scores_file
from xecgbench.report.nulls import with_model_state
from xecgbench.report.results_files import (
    RAW_SCORE_COLUMNS,
    ResultsFileError,
    _read_scores,
    read_record,
    record_from_store,
)
from xecgbench.run.config import Suite
from xecgbench.run.plan import Cell, cells
from xecgbench.run.provenance import PACKAGES, _package_version

#: Numbers a score row carries (its value, and where stored its class label and chance level);
#: every other column identifies the row.
VALUE_COLUMNS = tuple(c for c in ("value", "label", "chance") if c in RAW_SCORE_COLUMNS)
KEY_COLUMNS = tuple(c for c in RAW_SCORE_COLUMNS if c not in VALUE_COLUMNS)
#: Precision of committed scores (``write_raw_results``' float format): "bit-identical" means
#: identical at this precision, the most a committed CSV can show.
VALUE_FORMAT = "%.9g"
#: Default absolute tolerance when the platform or a version differs from the committed run.
CROSS_PLATFORM_ATOL = 1e-4


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


def environment(system: PluginSystem) -> dict[str, Any]:
    """What must match for bit-identity: machine, Python, numeric packages, plugin versions."""
    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        **{f"packages.{name}": _package_version(name) for name in PACKAGES},
        **{f"plugins.{row['name']}": row["version"] for row in system.describe()},
    }


def committed_environment(provenance: dict[str, Any]) -> dict[str, Any]:
    """The same fields from a committed run's provenance (machine parsed from ``platform``)."""
    plat = str(provenance.get("platform", ""))
    machine = next((m for m in ("x86_64", "aarch64", "arm64", "AMD64") if m in plat), plat)
    return {
        "machine": machine,
        "python": provenance.get("python"),
        **{f"packages.{k}": v for k, v in provenance.get("packages", {}).items()},
        **{f"plugins.{k}": v for k, v in provenance.get("plugins", {}).items()},
    }


def draw_cells(suite: Suite, n: int, seed: int) -> list[Cell]:
    """``n`` distinct cells of the grid drawn with ``seed`` (all of them when ``n`` is larger)."""
    grid = list(cells(suite))
    if n < 1:
        raise ResultsFileError(f"--cells must be at least 1, got {n}")
    return random.Random(seed).sample(grid, min(n, len(grid)))


def cell_suite(suite: Suite, cell: Cell) -> Suite:
    """The suite reduced to one cell; every other field (so every stage key) unchanged.

    The seed's untrained baseline is left out: it belongs to no cell (and shapes no key).
    """
    explain = suite.explain.model_copy(update={"untrained_baseline": False})
    return suite.model_copy(update={
        "seeds": (cell.seed,), "pretraining": (cell.pretraining,), "freezing": (cell.freezing,),
        "explain": explain,
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


def compare_scores(
    committed: pd.DataFrame, rerun: pd.DataFrame, atol: float
) -> list[dict[str, Any]]:
    """Rows whose numbers differ (beyond ``atol``; exact text when 0) or that one side lacks."""
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
            bad = ((a - b).abs() > atol) | (a.isna() != b.isna())
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
) -> VerifyReport:
    """Rerun ``n_cells`` drawn cells of the leaderboard in ``directory`` and compare scores.

    ``atol``: None picks 0 (identical at the committed precision) when the environment matches
    the committed provenance and :data:`CROSS_PLATFORM_ATOL` otherwise.
    """
    from xecgbench.run.runner import run_suite

    directory = Path(directory)
    record = read_record(directory)
    try:
        suite = Suite.model_validate(record.run.config)
    except Exception as exc:  # pydantic's message names the field
        raise ResultsFileError(
            f"{directory}/run.json: config is not a valid suite: {exc}"
        ) from None
    committed = _read_scores(scores_file(directory))
    now, then = environment(system), committed_environment(record.run.provenance)
    diff = {k: (then.get(k), now.get(k)) for k in sorted(set(now) | set(then))
            if then.get(k) != now.get(k)}
    tolerance = atol if atol is not None else (0.0 if not diff else CROSS_PLATFORM_ATOL)
    checks = []
    with tempfile.TemporaryDirectory(prefix="xecgbench-verify-") as scratch:
        root = Path(work_dir) if work_dir is not None else Path(scratch)
        for index, cell in enumerate(draw_cells(suite, n_cells, seed)):
            out = root / f"cell-{index}"
            summary = run_suite(cell_suite(suite, cell), system, out,
                                workers=workers, quiet=True)
            _, rerun = record_from_store(summary.store_path, system, summary.run_id)
            check = CellCheck(cell.seed, cell.pretraining.display, cell.freezing.display)
            mine = committed[(committed["seed"] == cell.seed)
                             & (committed["pretraining"] == check.pretraining)
                             & (committed["freezing"] == check.freezing)]
            check.n_rows = len(mine)
            check.differing = compare_scores(mine, rerun, tolerance)
            checks.append(check)
    return VerifyReport(not diff, diff, tolerance, checks)
