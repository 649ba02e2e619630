"""Data loading opens only regular files of bounded size (issue 24, item 4): a FIFO or a
link to ``/dev/zero`` where a WFDB header, signal or label table should be is one line naming
the file, in bounded time, in ``data check`` and ``run`` (which holds ``run.lock`` while it
reads)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runs import micro_suite, run_cli
from damaged_records import BAD, cinc_copy

from xecgbench_builtin.data.files import HEADER_LIMIT, UnreadableFile, read_bounded


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _huge(path: Path) -> None:
    with path.open("r+b") as handle:  # sparse: over the limit without using the disk
        handle.truncate(3 << 30)


#: name -> (damage, the file the one line must name)
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "header fifo": (lambda p: _fifo(p / f"{BAD}.hea"), f"{BAD}.hea"),
    "header /dev/zero": (lambda p: _zero(p / f"{BAD}.hea"), f"{BAD}.hea"),
    "header huge": (lambda p: _huge(p / f"{BAD}.hea"), f"{BAD}.hea"),
    "signal fifo": (lambda p: _fifo(p / f"{BAD}.mat"), f"{BAD}.mat"),
    "signal /dev/zero": (lambda p: _zero(p / f"{BAD}.mat"), f"{BAD}.mat"),
    "labels fifo": (lambda p: _fifo(p / "REFERENCE.csv"), "REFERENCE.csv"),
    "labels /dev/zero": (lambda p: _zero(p / "REFERENCE.csv"), "REFERENCE.csv"),
}


@pytest.mark.data
@pytest.mark.parametrize("case", sorted(CASES))
def test_special_files_are_refused_in_bounded_time(case: str, shared_data: Path,
                                                   tmp_path: Path) -> None:
    damage, culprit = CASES[case]
    data = cinc_copy(shared_data, tmp_path / "cinc2017")
    damage(data)
    checked = run_cli("data", "check", "cinc2017", "--path", str(data), "--json", timeout=60)
    assert "Traceback" not in checked.stdout + checked.stderr, checked.stderr
    if checked.returncode == 0:  # a counted skip that names the file
        skipped = json.loads(checked.stdout)["skipped"]
        assert culprit in skipped.get(BAD, ""), skipped
    else:
        assert checked.returncode == 2 and culprit in checked.stderr, checked.stderr
    if case not in ("header fifo", "signal /dev/zero"):
        return  # ``run`` reads through the same loader; two cases show it stops in time
    dataset = f"{{name: cinc2017, params: {{path: '{data}', on_bad_record: error}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    result = run_cli("run", str(suite), "--out", str(tmp_path / "out"), "--quiet", timeout=60)
    assert result.returncode == 2 and culprit in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_read_bounded(tmp_path: Path) -> None:
    fine = tmp_path / "fine.hea"
    fine.write_bytes(b"x 1 300 9000\n")
    assert read_bounded(fine, HEADER_LIMIT) == b"x 1 300 9000\n"
    fifo = tmp_path / "fifo.hea"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_bounded(fifo, HEADER_LIMIT)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_bounded("/dev/zero", HEADER_LIMIT)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_bounded(tmp_path, HEADER_LIMIT)
    with pytest.raises(UnreadableFile, match="limit"):
        read_bounded(fine, 4)
