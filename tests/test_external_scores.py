"""Scores kept under the data root: found through the pointer, checked by SHA-256, or refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xecgbench.report.external_scores import POINTER_FILE, SCORES_FILE, externalise
from xecgbench.report.results_files import ResultsFileError, validate_directory

SMOKE = Path(__file__).resolve().parent.parent / "leaderboards" / "smoke-verify"


@pytest.fixture
def external(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    directory = tmp_path / "repo" / "leaderboards" / "smoke-verify"
    shutil.copytree(SMOKE, directory)
    data_root = tmp_path / "data"
    externalise(directory, data_root)
    monkeypatch.setenv("XECGBENCH_DATA", str(data_root))
    return directory, data_root / "leaderboards" / "smoke-verify" / SCORES_FILE


def test_external_scores_read_like_committed_ones(external: tuple[Path, Path]) -> None:
    directory, _ = external
    assert not (directory / SCORES_FILE).exists() and (directory / POINTER_FILE).is_file()
    assert validate_directory(directory).scores.equals(validate_directory(SMOKE).scores)


def test_a_changed_copy_is_refused(external: tuple[Path, Path]) -> None:
    directory, copy = external
    copy.write_bytes(copy.read_bytes() + b"\n")
    with pytest.raises(ResultsFileError, match="SHA-256 differs"):
        validate_directory(directory)


def test_a_missing_copy_names_where_it_looked(external: tuple[Path, Path]) -> None:
    directory, copy = external
    copy.unlink()
    with pytest.raises(ResultsFileError, match=r"scores\.external\.json: scores not found"):
        validate_directory(directory)
