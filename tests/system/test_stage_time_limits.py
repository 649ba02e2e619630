"""Hangs (issue 32, item 4): a stage past its time limit fails naming its component, verify
cleans its temporary directory on SIGTERM, ``status`` on a FIFO does not block, and the budget
limits refuse no committed board. The refusals themselves are cases of ``test_board_fuzz``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xecgbench.plugins.manager import load_plugins
from xecgbench.report.submission.verify_limits import check_budget, stage_limit
from xecgbench.run import stages
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import ComponentSpec, load_suite
from xecgbench.run.stage_types import StageContext, StageFailure, StageTask
from xecgbench.run.time_limit import StageTimeLimit, time_limit

REPO = Path(__file__).resolve().parents[2]


def test_a_limit_stops_a_sleep_and_no_except_exception_swallows_it() -> None:
    slept = []
    # a component's catch-all (the innermost suppress) must not hide the limit
    with (pytest.raises(StageTimeLimit, match=r"time limit of 0\.2 s"), time_limit(0.2),
          contextlib.suppress(Exception)):
        time.sleep(30)
        slept.append(True)
    assert slept == []  # stopped inside the sleep, not after it
    with time_limit(None):  # no limit: nothing armed
        time.sleep(0.01)


def test_a_sleeping_attribution_fails_its_stage_naming_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    suite = load_suite("smoke", ["stage_time_limit_s=0.2"])
    context = StageContext(suite, load_plugins(), ArtifactCache(tmp_path))
    monkeypatch.setitem(stages.RUNNERS, "attribute", lambda c, t: time.sleep(30))
    task = StageTask(stage="attribute", key="k", seed=0,
                     specs={"attributions": ComponentSpec(name="saliency")}, labels={})
    result = stages.execute(context, task)  # the sleep is stopped by the limit, or fails here
    assert isinstance(result, StageFailure)
    assert result.component == "attributions:saliency"
    assert "StageTimeLimit: stopped after its time limit of 0.2 s" in result.error


def test_the_limit_is_in_no_hash_and_verify_never_lifts_it() -> None:
    suite = load_suite("smoke")
    assert load_suite("smoke", ["stage_time_limit_s=5"]).config_hash() == suite.config_hash()
    assert stage_limit(None, None) == 3600
    assert stage_limit(10.0, None) == 10.0  # a board's own lower limit holds
    assert stage_limit(1e9, 60.0) == 60.0  # a board's higher one does not


def test_no_committed_board_is_over_a_budget_limit() -> None:
    for path in sorted((REPO / "leaderboards").glob("**/run.json")):
        check_budget(json.loads(path.read_text())["run"]["config"], path)


def _verify_dirs(tmp: Path) -> list[Path]:
    return list(tmp.glob("xecgbench-verify-*"))


def test_sigterm_stops_verify_and_removes_its_temporary_directory(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"),
                                          os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-c", "from xecgbench.cli import main; main()", "leaderboard",
         "verify", str(REPO / "leaderboards" / "smoke-verify")],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _verify_dirs(tmp_path) and process.poll() is None:
        assert time.monotonic() < deadline, "verify never made its temporary directory"
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    time.sleep(0.5)  # inside the rerun
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    assert _verify_dirs(tmp_path) == []


@pytest.mark.timeout(120)  # a blocking open would hang the suite: fail it instead
def test_status_of_a_fifo_is_one_line_and_does_not_block(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from xecgbench.cli import main

    fifo = tmp_path / "results.sqlite"
    os.mkfifo(fifo)
    with pytest.raises(SystemExit) as exit_code:  # opening the FIFO to read would block
        main(["status", "--store", str(fifo)])
    assert exit_code.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(fifo) in lines[0] and "not a regular file" in lines[0]
