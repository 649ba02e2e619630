"""A broken plugin costs only its own entries (issue 24, item 6), and a plugin written against
the module paths of earlier docs still loads (the paths themselves: test_moved_paths.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_runs import micro_suite

REPO = Path(__file__).resolve().parents[3]


def _installed(root: Path, module_source: str) -> dict[str, str]:
    """A real installed distribution (dist-info with an ``xecgbench`` entry point) under
    ``root``, and the environment that puts it on ``sys.path``."""
    info = root / "outdated_metric-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: outdated-metric\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[xecgbench]\noutdated = outdated_metric\n")
    (root / "outdated_metric.py").write_text(module_source)
    env = {k: v for k, v in os.environ.items() if k != "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "plugins"), str(root)])
    return env


def _xecgbench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_a_plugin_that_fails_to_import_is_skipped_with_one_warning(tmp_path: Path) -> None:
    env = _installed(tmp_path / "site", "from xecgbench.no_such_module import MetricInfo\n")
    suite = micro_suite(tmp_path / "s.yaml")
    runs = {
        "--version": _xecgbench(env, "--version"),
        "plugins": _xecgbench(env, "plugins"),
        "plugins --json": _xecgbench(env, "plugins", "--json"),
        "list": _xecgbench(env, "list", "metrics"),
        "run": _xecgbench(env, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet"),
    }
    for command, result in runs.items():
        assert result.returncode == 0, (command, result.stderr)
        warned = [line for line in result.stderr.splitlines() if "outdated" in line]
        assert len(warned) == 1, (command, result.stderr)
        for name in ("'outdated'", "outdated-metric", "No module named 'xecgbench.no_such"):
            assert name in warned[0], (command, name, warned[0])
        assert "Traceback" not in result.stderr
    assert "outdated 1.0  [BROKEN]" in runs["plugins"].stdout
    assert "accuracy" in runs["list"].stdout  # every other plugin still registered
    rows = {row["name"]: row for row in json.loads(runs["plugins --json"].stdout)}
    assert "No module named" in rows["outdated"]["problem"]
    assert rows["outdated"]["distribution"] == "outdated-metric"
    assert rows["builtin-metrics"]["registered"]["metrics"]


def test_a_plugin_written_from_the_earlier_docs_still_loads(tmp_path: Path) -> None:
    """``from xecgbench.components import ...`` (the contract module the earlier docs named)."""
    source = ("from xecgbench import hookimpl\n"
              "from xecgbench.components import MetricInfo, DatasetError\n"
              "@hookimpl\n"
              "def xecgbench_register_datasets(registry):\n"
              "    assert MetricInfo and DatasetError\n")
    result = _xecgbench(_installed(tmp_path / "site", source), "plugins", "--json")
    assert result.returncode == 0 and "outdated" not in result.stderr, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert "problem" not in rows["outdated"]
    assert rows["outdated"]["hooks"] == ["xecgbench_register_datasets"]
