"""Damaged and read-only stores (issue 24, item 2): readers never write, any SQLite error is
one line naming the store and the recovery, exit 2, in ``run``, ``status`` and ``leaderboard``.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runs import cli, micro_suite, one_line_error

from xecgbench.run.store import ResultsStore, load_scores

PAGE = 4096


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished micro run: (suite file, results.sqlite), checkpointed into one file."""
    from xecgbench.cli import main

    root = tmp_path_factory.mktemp("finished")
    suite = micro_suite(root / "s.yaml")
    with pytest.raises(SystemExit) as info:
        main(["run", str(suite), "--out", str(root / "out"), "--quiet"])
    assert info.value.code in (0, None)
    store = root / "out" / "results.sqlite"
    wal = store.with_name("results.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # every commit is in the main file
    return suite, store


def _copy(store: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(store, where / "results.sqlite"))


def _damage(path: Path, how: str) -> None:
    """Zero every page after the schema page, or flip one byte in each page header."""
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * PAGE
    for start in range(PAGE, len(data), PAGE):
        if how == "zeroed":
            data[start:start + PAGE] = bytes(PAGE)
        else:
            data[start] ^= 0x40  # the b-tree page type byte: no valid type any more
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["zeroed", "bit-flipped"])
def test_damaged_store_is_one_line_everywhere(finished: tuple[Path, Path], tmp_path: Path,
                                              how: str, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    suite, original = finished
    store = _copy(original, tmp_path / "out")
    _damage(store, how)
    for args in (("status", "--store", str(store)),
                 ("leaderboard", "build", "--store", str(store),
                  "--out", str(tmp_path / "board.md")),
                 ("run", str(suite), "--out", str(store.parent), "--quiet")):
        code, _, err = cli(capsys, *args)
        one_line_error(code, err, str(store), "PRAGMA integrity_check", "xecgbench run")
        assert [line for line in err.splitlines() if not line.startswith("[")] == [
            err.splitlines()[-1]], err  # progress lines, then the one error line
    with pytest.raises(Exception, match="integrity_check") as info:
        load_scores(store)
    assert type(info.value).__name__ == "StorageError"


def test_readers_do_not_change_the_store(finished: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """No schema set-up, WAL switch or migration on read: the bytes stay, no -wal appears."""
    store = _copy(finished[1], tmp_path / "out")
    with contextlib.closing(sqlite3.connect(store)) as db:  # a writer would switch WAL back on
        db.execute("PRAGMA journal_mode=DELETE")
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    assert cli(capsys, "status", "--store", str(store))[0] == 0
    assert cli(capsys, "leaderboard", "build", "--store", str(store),
               "--out", str(tmp_path / "board.md"))[0] == 0
    assert len(load_scores(store)) > 0
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    # a WAL reader may map an -shm index, but writes nothing: no log, no commit sidecar
    assert not (store.parent / "results.sqlite.commits").exists()
    wal = store.with_name("results.sqlite-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs remounted read-only (root only), the way a store is shared on a mount."""
    path = tmp_path / "mount"
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(path)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("needs root and mount for a read-only tmpfs")
    yield path
    subprocess.run(["umount", str(path)], check=False)


def test_store_on_a_read_only_mount_can_be_read(finished: tuple[Path, Path],
                                                read_only_mount: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = _copy(finished[1], read_only_mount)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    code, out, err = cli(capsys, "status", "--store", str(store))
    assert code == 0 and out.startswith("run "), err
    board = read_only_mount.parent / "board.md"
    code, _, err = cli(capsys, "leaderboard", "build", "--store", str(store), "--out", str(board))
    assert code == 0 and board.is_file(), err
    with ResultsStore(store, read_only=True) as reader:
        assert len(reader.runs()) == 1
    assert len(load_scores(store)) > 0
