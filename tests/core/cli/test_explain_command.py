"""``xecgbench explain``: a finished run's model explains one record as a figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xecgbench.cli import build_cli
from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.runner import run_suite


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    suite = load_suite(
        "smoke",
        ["pretraining=[none]", "freezing=[none]", "attributions=[saliency]", "explain.n_samples=2"],
    )
    assert run_suite(suite, load_plugins(autoload=False), out, quiet=True).ok
    return out


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    system = load_plugins(autoload=False)
    return CliRunner().invoke(build_cli(system), ["explain", *args], obj=system)


@pytest.mark.parametrize("method, branch", [("dtd", "morphology"), ("saliency", "rhythm")])
def test_explain_writes_a_figure(
    finished_run: Path, tmp_path: Path, method: str, branch: str
) -> None:
    from PIL import Image

    out = tmp_path / "fig.png"
    result = _invoke(
        "--dataset",
        "synthetic",
        "--record",
        "synthetic-test-000003",
        "--method",
        method,
        "--branch",
        branch,
        "--results",
        str(finished_run),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        width, height = image.size
    assert width > 1000 and 300 < height < width
    assert out.stat().st_size > 20_000, "a plotted ECG, not an empty canvas"


def test_unknown_record_is_a_clear_error(finished_run: Path, tmp_path: Path) -> None:
    result = _invoke(
        "--dataset",
        "synthetic",
        "--record",
        "nope",
        "--method",
        "dtd",
        "--results",
        str(finished_run),
        "--out",
        str(tmp_path / "f.png"),
    )
    assert result.exit_code != 0
    assert "record 'nope' not found" in str(result.exception)


def test_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    result = _invoke(
        "--dataset",
        "synthetic",
        "--record",
        "x",
        "--method",
        "dtd",
        "--results",
        str(tmp_path / "none"),
    )
    assert "run `xecgbench run" in str(result.exception)
