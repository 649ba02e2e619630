"""``xecgbench show suite``: a built-in suite's YAML, and the resolved suite after --set."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xecgbench.cli import cli
from xecgbench.run.config import builtin_suites, load_suite


def test_show_suite_prints_the_built_in_file_verbatim() -> None:
    for name, path in builtin_suites().items():
        result = CliRunner().invoke(cli, ["show", "suite", name])
        assert result.exit_code == 0, result.output
        assert result.output == path.read_text(encoding="utf-8")


def test_resolved_output_runs_as_a_suite_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["show", "suite", "smoke", "--set", "training.epochs=1",
                                      "--set", "seeds=[3, 4]", "--resolved"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# smoke resolved --set training.epochs=1 --set seeds=[3, 4]")
    copy = tmp_path / "mine.yaml"
    copy.write_text(result.output)
    expected = load_suite("smoke", ["training.epochs=1", "seeds=[3, 4]"])
    assert load_suite(str(copy)) == expected


def test_an_unknown_suite_lists_the_valid_ones() -> None:
    result = CliRunner().invoke(cli, ["show", "suite", "quik"])
    assert result.exit_code != 0 and "valid suites" in str(result.exception)
