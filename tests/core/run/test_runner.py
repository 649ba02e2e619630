"""The runner in-process: resume, reuse, corruption, failure isolation, provenance, progress.

Every test runs the ``smoke`` suite (or a cut of it) for real; a finished run is shared per
module and copied before a test changes it.
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console
from score_checks import count_score_rows, sorted_scores

from xecgbench import hookimpl
from xecgbench.cli import build_cli
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import Suite, load_suite
from xecgbench.run.layout import CACHE_DIR, STORE_NAME
from xecgbench.run.runner import Progress, run_suite
from xecgbench.run.store import ResultsStore

#: 3 methods × (4 cells + the seed's untrained model): one null stage per seed × method.
# 3 cells: `none` × `freeze_first_k(k=2)` would freeze random weights and is not run
SMOKE_STAGES = {"pretrain": 2, "finetune": 3, "evaluate": 3, "attribute": 12, "score": 12}
ONE_CELL = ("pretraining=[none]", "freezing=[none]")


class _Broken:
    """Shared constructor of the broken attribution methods below."""

    version: ClassVar[str] = "0.1"
    family: ClassVar[str] = "control"
    needs_baseline: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 1.0

    def __init__(self, model: Any) -> None:
        self.model = model


class Raises(_Broken):
    name: ClassVar[str] = "raises"

    def __call__(self, x: Any, target: Any) -> Any:
        raise RuntimeError("deliberately broken")


class WrongShape(_Broken):
    name: ClassVar[str] = "wrong_shape"

    def __call__(self, x: Any, target: Any) -> Any:
        return x[:, :, :-1].clone()


class ReturnsNaN(_Broken):
    name: ClassVar[str] = "returns_nan"

    def __call__(self, x: Any, target: Any) -> Any:
        return x * float("nan")


class Exits(_Broken):
    name: ClassVar[str] = "exits"

    def __call__(self, x: Any, target: Any) -> Any:
        sys.exit(0)


class ExitingPlugin:
    """An inline plugin whose attribution ends the process with exit code 0."""

    __name__ = "exiting-plugin"

    @hookimpl
    def xecgbench_register_attributions(self, registry: Any) -> None:
        registry.register(Exits.name, Exits)


class BrokenPlugin:
    """An inline third-party plugin whose attributions break the contract in three ways."""

    __name__ = "broken-plugin"

    @hookimpl
    def xecgbench_register_attributions(self, registry: Any) -> None:
        for method in (Raises, WrongShape, ReturnsNaN):
            registry.register(method.name, method)


def smoke(*overrides: str) -> Suite:
    return load_suite("smoke", overrides)



@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def finished(smoke_run) -> Path:  # type: ignore[no-untyped-def]
    """A finished, uninterrupted smoke run (read-only: copy it before changing anything)."""
    assert smoke_run.computed == SMOKE_STAGES
    return smoke_run.out


@pytest.fixture
def copy_of_finished(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "copy"))


def test_a_finished_run_has_every_score_once(finished: Path) -> None:
    frame = sorted_scores(finished / STORE_NAME)
    # accuracy, f1_af, f1_af_val on 3 branches + the majority predictor for 3 cells; RMA on 8
    # samples × (1 + 2 regions) × 3 methods × (3 cells + untrained).
    assert len(frame) == 3 * 3 * 4 + 8 * 3 * 3 * 4
    assert count_score_rows(finished / STORE_NAME) == len(frame)
    with ResultsStore(finished / STORE_NAME) as store:
        assert store.runs()[-1]["status"] == "ok"


def test_rerun_computes_nothing_and_gives_identical_scores(copy_of_finished: Path,
                                                          system: PluginSystem) -> None:
    before = sorted_scores(copy_of_finished / STORE_NAME)
    summary = run_suite(smoke(), system, copy_of_finished, quiet=True)
    assert summary.computed == {}
    assert summary.reused == SMOKE_STAGES
    after = sorted_scores(copy_of_finished / STORE_NAME, summary.run_id)
    pd.testing.assert_frame_equal(after, before)
    assert count_score_rows(copy_of_finished / STORE_NAME) == len(before)


def test_adding_an_attribution_retrains_nothing(copy_of_finished: Path,
                                                system: PluginSystem) -> None:
    before = sorted_scores(copy_of_finished / STORE_NAME)
    summary = run_suite(smoke("attributions=[dtd, saliency, amplitude, random]"), system,
                        copy_of_finished, quiet=True)
    assert summary.computed == {"attribute": 4, "score": 4}  # 3 cells + the untrained model
    assert summary.reused == SMOKE_STAGES
    after = sorted_scores(copy_of_finished / STORE_NAME, summary.run_id)
    old = after[after["attribution"] != "random"].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before)
    assert len(after[after["attribution"] == "random"]) == 4 * 8 * 3  # 3 cells + untrained


def test_a_corrupted_artifact_is_detected_and_recomputed(copy_of_finished: Path,
                                                          system: PluginSystem) -> None:
    before = sorted_scores(copy_of_finished / STORE_NAME)
    cache = copy_of_finished / CACHE_DIR
    finetuned = sorted((cache / "finetune").glob("*.pt"))[0]
    explained = sorted((cache / "attribute").glob("*.npz"))[0]
    for path in (finetuned, explained):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    summary = run_suite(smoke(), system, copy_of_finished, quiet=True)
    assert summary.computed == {"finetune": 1, "attribute": 1}
    assert summary.ok
    pd.testing.assert_frame_equal(sorted_scores(copy_of_finished / STORE_NAME), before)
    # Recomputation is bit-identical, so it lands on the same content-addressed name.
    assert sorted((cache / "finetune").glob("*.pt"))[0] == finetuned
    again = run_suite(smoke(), system, copy_of_finished, quiet=True)
    assert again.computed == {}


def test_same_seed_gives_identical_scores(finished: Path, tmp_path: Path,
                                          system: PluginSystem) -> None:
    summary = run_suite(smoke(), system, tmp_path, quiet=True)
    assert summary.computed == SMOKE_STAGES
    pd.testing.assert_frame_equal(sorted_scores(tmp_path / STORE_NAME),
                                  sorted_scores(finished / STORE_NAME))


def test_another_seed_gives_other_scores(finished: Path, tmp_path: Path,
                                         system: PluginSystem) -> None:
    run_suite(smoke("seeds=[1]"), system, tmp_path, quiet=True)
    ours = sorted_scores(tmp_path / STORE_NAME)
    reference = sorted_scores(finished / STORE_NAME)
    assert len(ours) == len(reference)
    assert not set(ours["stage_key"]) & set(reference["stage_key"])
    assert not ours["value"].equals(reference["value"])


def test_provenance_is_recorded_per_run(finished: Path) -> None:
    import torch

    with ResultsStore(finished / STORE_NAME) as store:
        [run] = store.runs()
    provenance = run["provenance"]
    assert provenance["python"] == platform.python_version()
    assert provenance["packages"]["torch"] == torch.__version__.split("+")[0]
    assert provenance["plugins"]["builtin-attributions"]
    assert "git_commit" in provenance
    assert provenance["seeds"] == [0]
    assert provenance["execution"] == {"executor": "local", "workers": 1, "address": None,
                                       "stage_threads": 1, "host": platform.node(),
                                       "pid": os.getpid()}
    assert Suite.model_validate(run["config"]) == smoke()
    assert provenance["config_hash"] == run["config_hash"] == smoke().config_hash()


@pytest.fixture(scope="module")
def broken_system() -> PluginSystem:
    return load_plugins(autoload=False, extra=[BrokenPlugin()])


BROKEN = ("attributions=[saliency, raises, wrong_shape, returns_nan]", *ONE_CELL)


def test_a_component_calling_sys_exit_fails_its_stage_not_the_run(tmp_path: Path) -> None:
    """It used to end `xecgbench run` with exit 0, no output, and the store saying 'running'."""
    system = load_plugins(autoload=False, extra=[ExitingPlugin()])
    summary = run_suite(smoke("attributions=[saliency, exits]", *ONE_CELL), system, tmp_path,
                        quiet=True)
    assert not summary.ok and summary.computed["score"] == 2  # saliency: cell and untrained
    with ResultsStore(tmp_path / STORE_NAME) as store:
        failures = store.failures(summary.run_id)
        assert store.runs()[-1]["status"] == "failed-cells"
    assert {f["labels"]["attribution"] for f in failures} == {"exits"}
    assert all("SystemExit(0): the component tried to end the process" in f["error"]
               for f in failures)


def test_broken_attributions_fail_only_their_cells(tmp_path: Path,
                                                   broken_system: PluginSystem) -> None:
    summary = run_suite(smoke(*BROKEN), broken_system, tmp_path, quiet=True)
    assert not summary.ok
    assert summary.computed == {"pretrain": 1, "finetune": 1, "evaluate": 1, "attribute": 2,
                                "score": 2}  # saliency on the cell and on the untrained model
    assert summary.skipped == 6  # the broken methods' score stages (cell and untrained)
    with ResultsStore(tmp_path / STORE_NAME) as store:
        failures = {f["labels"]["attribution"]: f for f in store.failures(summary.run_id)}
        assert store.runs()[-1]["status"] == "failed-cells"
    assert set(failures) == {"raises", "wrong_shape", "returns_nan"}
    for name, failure in failures.items():
        assert failure["stage"] == "attribute"
        assert failure["plugin"] == "broken-plugin"
        assert f"attribution {name!r} (plugin 'broken-plugin')" in failure["error"]
    assert "deliberately broken" in failures["raises"]["error"]
    assert "returned shape" in failures["wrong_shape"]["error"]
    assert "NaN" in failures["returns_nan"]["error"]
    scored = sorted_scores(tmp_path / STORE_NAME)
    assert set(scored["attribution"].dropna()) == {"saliency"}


def test_cli_exit_code_and_status_list_failed_cells(tmp_path: Path,
                                                    broken_system: PluginSystem) -> None:
    cli = build_cli(broken_system)
    runner = CliRunner()
    sets = [arg for item in BROKEN for arg in ("--set", item)]
    result = runner.invoke(cli, ["run", "smoke", "--out", str(tmp_path), "--quiet", *sets],
                           obj=broken_system)
    assert result.exit_code == 1, result.output
    assert "6 failed" in result.output
    status = runner.invoke(cli, ["status", "--store", str(tmp_path / STORE_NAME)],
                           obj=broken_system)
    assert status.exit_code == 0, status.output
    assert "failed-cells, 6 failed stages" in status.output
    for name in ("raises", "wrong_shape", "returns_nan"):
        line = next(row for row in status.output.splitlines() if f"attribution={name}" in row)
        assert "plugin broken-plugin" in line and "seed=0" in line


def test_a_fixed_plugin_resumes_the_failed_cells_only(tmp_path: Path, system: PluginSystem,
                                                      broken_system: PluginSystem) -> None:
    run_suite(smoke("attributions=[saliency, raises]", *ONE_CELL), broken_system, tmp_path,
              quiet=True)
    summary = run_suite(smoke("attributions=[saliency, random]", *ONE_CELL), system, tmp_path,
                        quiet=True)
    assert summary.ok
    assert summary.computed == {"attribute": 2, "score": 2}  # random: cell + untrained


def test_quiet_cli_prints_only_the_summary(copy_of_finished: Path, system: PluginSystem) -> None:
    """No progress: the counts, where the results are, and the answer in words."""
    result = CliRunner().invoke(build_cli(system),
                                ["run", "smoke", "--out", str(copy_of_finished), "--quiet"],
                                obj=system)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 5
    assert "0 stages computed, 32 reused, 0 failed, 0 skipped" in lines[0]
    assert lines[1].startswith("results:") and lines[2].startswith("leaderboard:")
    assert lines[3] == "" and "every table below is exploratory" in lines[4]


def _show(progress: Progress) -> None:
    with progress.session({"pretrain": 2, "score": 1}):
        progress.begin("pretrain")
        progress.advance("pretrain", "computed")
        progress.advance("pretrain", "reused")
        progress.begin("score")
        progress.advance("score", "failed")


def test_progress_draws_bars_with_eta_on_a_terminal() -> None:
    buffer = io.StringIO()
    _show(Progress(quiet=False, console=Console(file=buffer, force_terminal=True, width=100)))
    text = buffer.getvalue()
    for expected in ("all", "pretrain", "score", "3/3", "2/2", "eta"):
        assert expected in text


def test_progress_prints_one_line_per_stage_without_a_terminal() -> None:
    buffer = io.StringIO()
    _show(Progress(quiet=False, console=Console(file=buffer, force_terminal=False, width=100)))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:4] == ["pretrain", "2/2", "(1", "computed,"]
    assert "1 reused" in lines[0] and "1 failed" in lines[1]
    assert "\x1b" not in buffer.getvalue()


def test_quiet_progress_prints_nothing() -> None:
    buffer = io.StringIO()
    _show(Progress(quiet=True, console=Console(file=buffer, force_terminal=True)))
    assert buffer.getvalue() == ""


def test_store_integrity(finished: Path) -> None:
    with closing(sqlite3.connect(finished / STORE_NAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
