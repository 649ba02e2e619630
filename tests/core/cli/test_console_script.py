"""The command line, run as users run it: the installed ``xecgbench`` script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import xecgbench

from xecgbench import __version__


def test_version() -> None:
    result = xecgbench("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_plugins_json_lists_the_bundled_plugins() -> None:
    result = xecgbench("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    bundled = {"builtin-data", "builtin-models", "builtin-attributions", "builtin-metrics"}
    assert bundled <= set(rows)
    assert "synthetic" in rows["builtin-data"]["registered"]["datasets"]
    assert "iterative" in rows["builtin-models"]["registered"]["freezing"]
    assert all(row["version"] for row in rows.values())


@pytest.mark.parametrize(
    "kind", ["datasets", "models", "pretraining", "freezing", "attributions", "metrics", "suites"]
)
def test_list_kind_json(kind: str) -> None:
    result = xecgbench("list", kind, "--json")
    assert result.returncode == 0, result.stderr
    names = [row["name"] for row in json.loads(result.stdout)]
    assert names == sorted(names) and names


def test_list_attributions_shows_metadata() -> None:
    rows = {r["name"]: r for r in json.loads(xecgbench("list", "attributions", "--json").stdout)}
    assert rows["dtd"]["family"] == "propagation"
    assert rows["dtd"]["plugin"] == "builtin-attributions"


def test_unknown_suite_is_one_line_and_exit_2() -> None:
    result = xecgbench("run", "no-such-suite")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "valid suites" in result.stderr
    assert "Traceback" not in result.stderr


def test_click_usage_errors_carry_the_same_prefix() -> None:
    """A bad option (refused by click) and a bad suite (refused by xecgbench) both say
    ``error:``; click's own ``Error:`` never reaches the user."""
    result = xecgbench("run", "--no-such-option")
    assert result.returncode == 2
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: No such option")
    assert "Error:" not in result.stderr and "Try 'xecgbench run --help'" in result.stderr


def test_unknown_plugin_in_suite_lists_valid_names(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("attributions: [no_such_method]\n")
    result = xecgbench("run", str(suite), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "unknown attributions 'no_such_method'; valid names:" in result.stderr
    assert "dtd" in result.stderr and "Traceback" not in result.stderr


def test_invalid_yaml_names_file_line_and_field(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text("seeds: [0]\nexplain:\n  n_samples: many\n")
    result = xecgbench("run", str(suite), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{suite}:3: field 'explain.n_samples'" in result.stderr


def test_run_smoke_writes_store_and_leaderboard(tmp_path: Path) -> None:
    out = tmp_path / "D"
    result = xecgbench("run", "smoke", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert (out / "results.sqlite").is_file()
    board = (out / "leaderboard.md").read_text()
    assert "| rank |" in board and "dtd" in board and "saliency" in board
    assert "relevance_mass_accuracy [p_wave]" in board and "f1_af" in board
    # the run ends with its answer in words on the terminal, as the leaderboard opens with it
    assert "no pre-registered primary test, so every table below is exploratory" in result.stdout


def test_workers_default_to_the_environment_else_the_cores(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from xecgbench.cli.run import WORKERS_ENV, default_workers

    monkeypatch.setenv(WORKERS_ENV, "3")
    assert default_workers() == 3
    monkeypatch.delenv(WORKERS_ENV)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(WORKERS_ENV, "two")
    with pytest.raises(click.BadParameter, match="XECGBENCH_WORKERS must be a whole number"):
        default_workers()


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["run", "{suite}"]],
                         ids=["help", "plugins", "preflight error"])
def test_the_cli_answers_without_importing_torch(args: list[str], tmp_path: Path) -> None:
    """``--help``, ``plugins`` and a one-line preflight error load no heavy library: plugin
    modules import torch, captum, zennit and Quantus when a component runs (speed is measured
    by ``benchmarks/cli_start.py``, not here)."""
    suite = tmp_path / "bad.yaml"
    suite.write_text("attributions: [no_such_method]\n")
    argv = [a.format(suite=suite) for a in args] + (["--out", str(tmp_path / "o")]
                                                   if args[0] == "run" else [])
    code = ("import sys\nfrom xecgbench.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as exit:\n    code = exit.code\n"
            "print('LOADED', *[m for m in ('torch', 'captum', 'zennit', 'quantus') "
            "if m in sys.modules], 'EXIT', code)\n")
    env = {**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                            env=env, timeout=300)
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"LOADED EXIT {2 if args[0] == 'run' else 0}", (last, result.stderr)
