"""Shared by the tests that drive the command line: a one-cell micro suite, the CLI in this
process or in a child, and the checks of a one-line error and of processes still alive."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xecgbench.cli import main

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
       "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}

MICRO = """\
description: tiny run for fault tests
seeds: [0]
data:
  dataset: {dataset}
  fs: {fs}
  duration_s: {duration}
model: {{name: xecgarch, params: {{width: 2}}}}
pretraining: [none]
pretraining_budget: {{epochs: 1, batch_size: 16, lr: 0.01, patience: 1}}
freezing: {freezing}
training: {{epochs: {epochs}, batch_size: 16, lr: 0.01, patience: 1}}
attributions: [saliency]
metrics: {metrics}
explain: {{n_samples: 4, n_costly: 1, batch_size: 4, branches: [morphology]}}
primary_metric: {primary}
"""
SYNTHETIC = "{name: synthetic, params: {n_train: 32, n_test: 8, seed: 0}}"


def micro_suite(path: Path, **fields: str) -> Path:
    """A one-cell suite (five stages and the untrained model's two, a few seconds);
    ``fields`` replace its defaults."""
    values = {"dataset": SYNTHETIC, "fs": "50", "duration": "4", "freezing": "[none]",
              "epochs": "1", "metrics": "[accuracy, relevance_mass_accuracy]",
              "primary": "relevance_mass_accuracy", **fields}
    path.write_text(MICRO.format(**values))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (monkeypatches apply); exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def spawn(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "xecgbench.cli", *args], cwd=cwd,
                            env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def xecgbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script of this interpreter's environment."""
    script = shutil.which("xecgbench", path=str(Path(sys.executable).parent)) or "xecgbench"
    env = {**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [script, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def one_line_error(code: int, err: str, *names: str) -> None:
    """Exit 2, no traceback, and every culprit in ``names`` named."""
    assert code == 2, err
    assert "Traceback" not in err, err
    for name in names:
        assert name in err, (name, err)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(tree: dict[int, str]) -> list[int]:
    from xecgbench.run.reaper import _table

    table = _table()
    return [pid for pid, start in tree.items() if table.get(pid, (0, None))[1] == start]


def running_run(store: Path) -> bool:
    """Whether ``store`` records a run as running (False while it does not exist yet)."""
    if not store.is_file():
        return False
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return bool(db.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone())
    except sqlite3.Error:
        return False
