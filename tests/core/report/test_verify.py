"""`leaderboard verify`: a committed cell reruns to the same scores; changed scores are caught."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from xecgbench.plugins.manager import load_plugins
from xecgbench.report.board_format.score_parts import scores_bytes
from xecgbench.report.results_files import (
    SCORES_FILE,
    ResultsFileError,
    read_board,
    write_checksums,
)
from xecgbench.report.submission.verify_board import (
    CROSS_PLATFORM_ATOL,
    cell_suite,
    committed_environment,
    compare_scores,
    draw_cells,
    environment,
    tolerance_for,
)
from xecgbench.run.config import Suite, load_suite
from xecgbench.run.plan import plan
from xecgbench.run.provenance import provenance

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "leaderboards" / "smoke-verify"
REGENERATE = ("regenerate it: xecgbench run smoke --out R && xecgbench leaderboard export "
              "--store R/results.sqlite --out leaderboards/smoke-verify --examples 0")


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_committed_smoke_cell_reruns_identically() -> None:
    """The CI check: one drawn cell of the committed smoke leaderboard, end to end."""
    result = _cli("leaderboard", "verify", str(COMMITTED), "--cells", "1", "--seed", "0")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{REGENERATE}"
    assert "1 cells verified, 0 differ" in result.stdout


def test_a_changed_committed_score_fails_and_is_listed(tmp_path: Path) -> None:
    copy = tmp_path / "board"
    copy.mkdir()
    (copy / "run.json").write_bytes((COMMITTED / "run.json").read_bytes())
    record, scores = read_board(COMMITTED)
    suite = Suite.model_validate(record.run.config)
    cell = draw_cells(suite, load_plugins(), 1, 0)[0]
    row = scores.index[(scores["seed"] == cell.seed)
                       & (scores["pretraining"] == cell.pretraining.display)
                       & (scores["freezing"] == cell.freezing.display)
                       & (scores["metric"] == "accuracy")][0]
    scores.loc[row, "value"] = scores.loc[row, "value"] + 0.5
    (copy / SCORES_FILE).write_bytes(scores_bytes(scores))
    write_checksums(copy)
    result = _cli("leaderboard", "verify", str(copy), "--cells", "1", "--seed", "0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 differing rows" in result.stdout
    assert "metric=accuracy" in result.stderr


def _frame(values: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({
        "dataset": "d", "seed": 0, "pretraining": "none", "freezing": "none",
        "attribution": None, "branch": "rhythm", "metric": "accuracy", "category": "accuracy",
        "region": "", "sample": list(range(len(values))), "record_id": None, "value": values,
    })


def test_compare_exact_tolerant_missing_and_nan() -> None:
    old = _frame([0.5, 0.25, float("nan")])
    assert compare_scores(old, _frame([0.5, 0.25, float("nan")]), 0.0) == []
    tiny = _frame([0.5 + 1e-12, 0.25, float("nan")])
    assert compare_scores(old, tiny, 0.0) == []  # below the committed %.9g precision
    moved = _frame([0.5 + 1e-6, 0.25, float("nan")])
    assert [r["sample"] for r in compare_scores(old, moved, 0.0)] == ["0"]
    assert compare_scores(old, moved, 1e-4) == []
    assert [r["sample"] for r in compare_scores(old, _frame([0.5, 0.25, 1.0]), 1e-4)] == ["2"]
    missing = compare_scores(old, _frame([0.5, 0.25]), 0.0)
    assert [r["sample"] for r in missing] == ["2"] and pd.isna(missing[0]["rerun"])


def _differing(old: list[float], new: list[float], atol: float) -> list[str]:
    return [r["sample"] for r in compare_scores(_frame(old), _frame(new), atol)]


def test_the_float32_tolerance_passes_another_cpus_rounding_and_catches_real_changes() -> None:
    """Committed 0.106949382 came back as 0.10694937407970428 on an AVX512 AMD EPYC (7e-8
    relative), 0.0163632054 as 0.01636321097612381 on an AVX2 one: both pass; a score moved by
    1e-4, two rows swapped, or a large score moved by 1e-4 relative do not."""
    committed = [0.106949382, 0.0163632054, 0.517304242, 7.25]
    assert _differing(committed, [0.10694937407970428, 0.01636321097612381,
                                  0.5173041820526123, 7.2500002], CROSS_PLATFORM_ATOL) == []
    assert _differing(committed, [0.106949382 + 1e-4, *committed[1:]], CROSS_PLATFORM_ATOL) == ["0"]
    swapped = [committed[1], committed[0], *committed[2:]]
    assert _differing(committed, swapped, CROSS_PLATFORM_ATOL) == ["0", "1"]
    assert _differing(committed, [*committed[:3], 7.25 * (1 + 1e-4)], CROSS_PLATFORM_ATOL) == ["3"]


def test_nan_passes_only_against_nan_and_a_tolerance_must_be_finite() -> None:
    nan, inf = float("nan"), float("inf")
    assert _differing([nan, inf, 0.5], [nan, inf, 0.5], 1e-4) == []
    assert _differing([nan, 0.5, inf], [0.5, nan, -inf], 1e-4) == ["0", "1", "2"]
    assert _differing([0.5], [1e9], 1e300) == []  # a huge tolerance is the user's choice
    for bad in (nan, inf, -1e-6):
        with pytest.raises(ResultsFileError, match="--atol must be a finite number"):
            compare_scores(_frame([0.5]), _frame([0.5]), bad)
        with pytest.raises(ResultsFileError, match="--atol must be a finite number"):
            tolerance_for(bad, {})


def test_a_run_made_here_verifies_exactly_here_and_an_older_record_never_does() -> None:
    """The fingerprint a run records is the one verify compares, so bit-identity is promised
    on the machine that made a board; a record without the fingerprint gets the tolerance."""
    system = load_plugins()
    made_here = provenance(system, load_suite("smoke"))
    assert committed_environment(made_here) == environment(system)
    assert tolerance_for(None, {}) == 0.0
    older = {k: v for k, v in made_here.items() if k != "cpu"}
    now, then = environment(system), committed_environment(older)
    diff = {k for k in now if now[k] != then.get(k)}
    assert diff and all(k.startswith("cpu.") for k in diff)
    assert tolerance_for(None, dict.fromkeys(diff)) == CROSS_PLATFORM_ATOL


def test_verify_refuses_a_nan_tolerance() -> None:
    result = _cli("leaderboard", "verify", str(COMMITTED), "--atol", "nan")
    assert result.returncode == 2 and "--atol must be a finite number" in result.stderr


def test_one_cell_suite_keeps_the_full_grids_stage_keys() -> None:
    """No key depends on the other cells, so a one-cell rerun recomputes the same stages."""
    system = load_plugins()
    suite = load_suite("quick-pretraining")
    full = {p.task.key for p in plan(suite, system)}
    for cell in draw_cells(suite, system, 3, 7):
        assert {p.task.key for p in plan(cell_suite(suite, cell), system)} <= full


def test_draw_is_seeded_and_distinct() -> None:
    suite, system = load_suite("quick-pretraining"), load_plugins()
    first = draw_cells(suite, system, 4, 3)
    labels = [(c.seed, c.pretraining.display, c.freezing.display) for c in first]
    assert first == draw_cells(suite, system, 4, 3) and len(set(labels)) == 4
    assert first != draw_cells(suite, system, 4, 4)


@pytest.mark.parametrize("n", [0, -1])
def test_zero_cells_is_a_user_error(n: int) -> None:
    result = _cli("leaderboard", "verify", str(COMMITTED), "--cells", str(n))
    assert result.returncode == 2 and "--cells" in result.stderr


def test_the_from_scratch_strategy_is_never_run_with_frozen_random_blocks() -> None:
    """``none`` × ``freeze_first_k`` would keep random weights frozen: not a cell unless the
    suite asks for ``random_features`` (a labelled contrast, never the baseline)."""
    from xecgbench.run.plan import cells

    system = load_plugins()
    suite = load_suite("quick-pretraining")
    grid = {(c.pretraining.name, c.freezing.display) for c in cells(suite, system)}
    assert ("none", "none") in grid
    assert not any(p == "none" and f != "none" for p, f in grid)
    assert ("p_wave_detection", "freeze_first_k(k=2)") in grid
    both = suite.model_copy(update={"random_features": True})
    assert ("none", "freeze_first_k(k=2)") in {
        (c.pretraining.name, c.freezing.display) for c in cells(both, system)}
    assert both.config_hash() != suite.config_hash()
