"""Tests of results export, validation and rebuild on a real smoke run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from xecgbench.cli import cli
from xecgbench.plugins.manager import load_plugins
from xecgbench.report.rendering.text_formats import to_markdown
from xecgbench.report.results_files import (
    ResultsFileError,
    export_results,
    load_store,
    read_record,
    stale_tables,
    validate_directory,
    write_checksums,
    write_leaderboard,
)
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import Suite


@pytest.fixture(scope="module")
def system():
    return load_plugins(autoload=False)


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory, system) -> Path:
    from xecgbench.run.config import load_suite
    from xecgbench.run.runner import run_suite

    out = tmp_path_factory.mktemp("smoke")
    tests = "primary_tests=[{name: t, branch: morphology, pretraining: both}]"
    summary = run_suite(load_suite("smoke", [tests]), system, out, quiet=True)
    return summary.store_path


@pytest.fixture(scope="module")
def exported(tmp_path_factory, smoke_store, system) -> Path:
    return export_results(smoke_store, system, tmp_path_factory.mktemp("lb") / "smoke")


def test_export_writes_raw_results_and_tables(exported) -> None:
    names = sorted(p.name for p in exported.iterdir())
    assert names == ["checksums.json", "examples.npz", "leaderboard.csv", "leaderboard.md",
                     "leaderboard.tex", "probabilities.parquet", "run.json", "scores.parquet"]
    assert stale_tables(exported) == []


def test_export_records_each_attribute_stage_cost(exported) -> None:
    """The site's cost column: one positive wall time per attribute stage of the run."""
    record = read_record(exported)
    suite = Suite.model_validate(record.run.config)
    # every cell but `none` with frozen blocks (it would freeze random weights: not run)
    cells = len(suite.pretraining) * len(suite.freezing) - (len(suite.freezing) - 1)
    expected = len(suite.seeds) * cells * len(suite.attributions)
    assert len(record.costs) == expected
    assert all(c.seconds > 0 for c in record.costs)
    assert {c.attribution for c in record.costs} == {a.display for a in suite.attributions}


def test_tables_from_raw_files_equal_tables_from_the_store(exported, smoke_store, system) -> None:
    from_store = to_markdown(build_leaderboard(load_store(smoke_store, system)))
    assert (exported / "leaderboard.md").read_text(encoding="utf-8") == from_store


def test_write_leaderboard_keeps_the_run_command_working(smoke_store, system, tmp_path) -> None:
    path = write_leaderboard(smoke_store, system, tmp_path / "board.md")
    text = path.read_text(encoding="utf-8")
    assert "## Clinical alignment: morphology branch" in text
    assert "## What does it cost in accuracy?" in text and "## Provenance" in text


def test_a_changed_score_makes_the_tables_stale(exported, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    scores = pd.read_parquet(copy / "scores.parquet")
    scores.loc[scores["metric"] == "relevance_mass_accuracy", "value"] = 0.999
    scores.to_parquet(copy / "scores.parquet", index=False)
    write_checksums(copy)
    assert any(p.endswith("leaderboard.md") for p in stale_tables(copy))
    result = CliRunner().invoke(cli, ["leaderboard", "rebuild", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "stale" in result.output
    CliRunner().invoke(cli, ["leaderboard", "rebuild", str(tmp_path)])
    assert stale_tables(copy) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.pop("run"), "field 'run'"),
        (lambda r: r["metrics"].pop("accuracy"), "not described"),
        (lambda r: r["metrics"]["accuracy"].update(higher_is_better="maybe"), "higher_is_better"),
        (lambda r: r.update(format=2), "format"),
    ],
)
def test_validation_names_the_file_and_the_problem(exported, tmp_path, edit, message) -> None:
    copy = tmp_path / "bad"
    shutil.copytree(exported, copy)
    record = json.loads((copy / "run.json").read_text())
    edit(record)
    (copy / "run.json").write_text(json.dumps(record))
    write_checksums(copy)
    with pytest.raises(ResultsFileError, match=message) as info:
        validate_directory(copy)
    assert "bad" in str(info.value)
    result = CliRunner().invoke(cli, ["leaderboard", "validate", str(copy)], obj=None)
    assert result.exit_code == 2


def test_validate_command_accepts_an_export(exported) -> None:
    result = CliRunner().invoke(cli, ["leaderboard", "validate", str(exported / "run.json")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize("fmt", ["md", "csv", "latex"])
def test_build_command_formats(smoke_store, system, fmt, tmp_path) -> None:
    out = tmp_path / f"board.{fmt}"
    result = CliRunner().invoke(
        cli, ["leaderboard", "build", "--store", str(smoke_store), "--format", fmt,
              "--out", str(out)], obj=system)
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 500


def test_unknown_run_is_a_clear_error(smoke_store, system) -> None:
    result = CliRunner().invoke(
        cli, ["leaderboard", "build", "--store", str(smoke_store), "--run", "nope"], obj=system)
    assert result.exit_code == 2 and "no run 'nope'" in result.output


def test_committed_schema_is_the_generated_one() -> None:
    from xecgbench.report.results_files import schema

    committed = Path(__file__).resolve().parents[3] / "leaderboards" / "schema.json"
    assert json.loads(committed.read_text(encoding="utf-8")) == schema(), (
        "regenerate with: xecgbench leaderboard schema > leaderboards/schema.json"
    )


def test_run_json_freezes_the_primary_tests_and_schedule_depths(exported, tmp_path) -> None:
    record = json.loads((exported / "run.json").read_text(encoding="utf-8"))
    (test,) = record["run"]["config"]["primary_tests"]
    assert (test["branch"], test["pretraining"], test["alpha"]) == ("morphology", "both", 0.05)
    assert record["schedules"] == {"none": {"name": "none", "depth": 0},
                                   "freeze_first_k(k=2)": {"name": "freeze_first_k",
                                                           "depth": 2}}
    text = (exported / "leaderboard.md").read_text(encoding="utf-8")
    assert text.index("**The answer") < text.index("\n## ")
    old = tmp_path / "old"
    shutil.copytree(exported, old)
    del record["schedules"]  # a run.json written before depths existed still reads
    (old / "run.json").write_text(json.dumps(record), encoding="utf-8")
    write_checksums(old)
    assert validate_directory(old).schedules == {}
