"""``load_board``: a committed board read as Python objects, through the guarded loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xecgbench.api import load_board
from xecgbench.report.board_format.reader import ResultsFileError

BOARD = Path(__file__).resolve().parents[3] / "leaderboards" / "smoke-verify"


def test_the_board_holds_its_windows_models_and_both_model_states() -> None:
    board = load_board(BOARD)
    n = len(board.windows)
    assert n == len(board.window_index) == board.suite.explain.n_samples
    assert set(board.windows.masks) >= {"p_wave", "qrs", "r_peak", "t_wave"}
    explained = board.scores[board.scores["sample"] >= 0]
    assert set(explained["sample"]) <= set(board.window_index.tolist())
    assert {"trained", "untrained"} == set(board.scores["model_state"])
    assert len(board.models) == len({(m.seed, m.pretraining, m.freezing) for m in board.models})


def test_an_unknown_cell_names_the_board() -> None:
    board = load_board(BOARD)
    with pytest.raises(ResultsFileError, match="no published model for seed 99"):
        board.model(99, "none", "none")


def test_a_changed_windows_file_is_refused_naming_it(tmp_path: Path) -> None:
    copy = tmp_path / "board"
    shutil.copytree(BOARD, copy)
    windows = copy / "windows.npz"
    data = bytearray(windows.read_bytes())
    data[-40] ^= 0xFF
    windows.write_bytes(bytes(data))
    with pytest.raises(ResultsFileError, match=r"windows\.npz"):
        load_board(copy)
