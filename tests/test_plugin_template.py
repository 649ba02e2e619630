"""The attribution plugin template installs, is discovered, passes the contract tests and runs.

The template is pip-installed into a temporary folder (never into the shared environment) that
subprocesses put on ``PYTHONPATH``; ``docs/writing-plugins.md`` must show its files verbatim.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "templates" / "xecgbench-attribution-template"
TUTORIAL = REPO_ROOT / "docs" / "writing-plugins.md"
MODULE = "xecgbench_gradient_x_sign.py"


def tutorial_files() -> dict[str, str]:
    """``File `name`:`` followed by a fenced block, as the tutorial shows each template file."""
    pattern = re.compile(r"^File `([^`]+)`:\n\n```[a-z]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return dict(pattern.findall(TUTORIAL.read_text()))


def test_tutorial_shows_every_template_file_verbatim() -> None:
    shown = tutorial_files()
    template_files = {p.name for p in TEMPLATE.iterdir() if p.is_file()}
    assert set(shown) == template_files == {"pyproject.toml", MODULE}
    for name, text in shown.items():
        assert text == (TEMPLATE / name).read_text(), f"{name} differs from the template"


def test_template_module_is_at_most_30_lines() -> None:
    assert len((TEMPLATE / MODULE).read_text().splitlines()) <= 30


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment whose ``PYTHONPATH`` holds the installed template, autoloading enabled."""
    work = tmp_path_factory.mktemp("template")
    source, site = work / "source", work / "site"
    shutil.copytree(TEMPLATE, source)  # building writes build/ and *.egg-info next to the source
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
            "--no-build-isolation", "--target", str(site), str(source),
        ],
        check=True,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_xecgbench_plugins_lists_the_installed_template(plugin_env) -> None:
    result = run(["-m", "xecgbench.cli", "plugins", "--json"], plugin_env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["gradient-x-sign"]["version"] == "0.1.0"
    assert rows["gradient-x-sign"]["registered"] == {"attributions": ["gradient_x_sign"]}
    text = run(["-m", "xecgbench.cli", "plugins"], plugin_env).stdout
    assert "gradient-x-sign 0.1.0\n  hooks: xecgbench_register_attributions\n" in text


def test_template_passes_the_attribution_contract_tests(plugin_env) -> None:
    env = {**plugin_env, "XECGBENCH_TEST_THIRD_PARTY": "1"}
    args = ["-m", "pytest", "tests/test_attributions.py", "-q", "-p", "no:cacheprovider"]
    result = run([*args, "-k", "gradient_x_sign"], env)
    assert result.returncode == 0, result.stdout[-3000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 10, result.stdout[-3000:]


def test_template_runs_in_the_smoke_suite(plugin_env, tmp_path) -> None:
    out = tmp_path / "smoke"
    overrides = ["attributions=[gradient_x_sign]", "pretraining=[none]", "freezing=[none]"]
    args = ["-m", "xecgbench.cli", "run", "smoke", "--quiet", "--out", str(out)]
    result = run([*args, *(f"--set={o}" for o in overrides)], plugin_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout, result.stdout
    assert "gradient_x_sign" in (out / "leaderboard.md").read_text()
