"""Ray workers import the installed package from any working directory: a folder named
``xecgbench/`` in the driver's cwd does not shadow it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import ENV, REPO, micro_suite


@pytest.mark.slow
def test_ray_from_the_checkouts_parent(tmp_path: Path) -> None:
    """Workers see the driver's cwd: a folder ``xecgbench/`` there must not shadow the package.

    The driver finds the package through ``sys.path`` (as an editable install's finder does),
    not ``PYTHONPATH``, so workers can only import it if the executor tells them where it is.
    """
    parent = tmp_path / "parent"
    (parent / "xecgbench").mkdir(parents=True)  # the checkout folder, seen from its parent
    suite = micro_suite(tmp_path / "s.yaml")
    driver = (f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'plugins')!r}]; "
              "from xecgbench.cli import main; "
              f"main(['run', {str(suite)!r}, '--executor', 'ray', '--workers', '1', "
              f"'--out', {str(tmp_path / 'out')!r}, '--quiet'])")
    env = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", driver], cwd=parent, env=env,
                            capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "7 stages computed" in result.stdout and "0 failed" in result.stdout
