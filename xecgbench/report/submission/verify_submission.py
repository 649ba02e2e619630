"""``xecgbench leaderboard verify`` on a submission: rerun it from its ``run.json`` alone.

A submission's ``run.json`` holds the config it was scored with and names the board it joined;
the board publishes the models and windows. Drawn models are re-scored with the same stage
functions as ``submit`` and the rows compared as a board's verify compares them: identical at
the committed precision when the CPU fingerprint, Python, numeric packages and the versions of
the plugins the submission used match, within the float32 tolerance otherwise. Installed
plugins it did not use are not compared.
"""

from __future__ import annotations

import random
from pathlib import Path

from xecgbench.plugins.data_root import data_root
from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board_format.config_paths import confine_declared
from xecgbench.report.board_format.submission_record import SUBMISSIONS_DIR
from xecgbench.report.published import read_models
from xecgbench.report.results_files import ResultsFileError, read_record, validate_directory
from xecgbench.report.submission.submit import rescore
from xecgbench.report.submission.verify_board import (
    CellCheck,
    VerifyReport,
    compare_scores,
    environment_diff,
    tolerance_for,
)
from xecgbench.report.submission.verify_limits import check_budget, stage_limit
from xecgbench.run.interrupts import interrupt_on_sigterm


def board_of(submission_dir: Path, board: Path | None = None) -> Path:
    """The board a submission joins: ``board``, else the directory above ``submissions/``.

    The board's run must be the one the submission names (same run id and config hash).
    """
    submission_dir = Path(submission_dir)
    record = read_record(submission_dir)
    if record.submission is None:
        raise ResultsFileError(f"{submission_dir}/run.json is not a submission")
    if board is None:
        if submission_dir.resolve().parent.name != SUBMISSIONS_DIR:
            raise ResultsFileError(
                f"{submission_dir} is not under <board>/{SUBMISSIONS_DIR}/: give --board")
        board = submission_dir.resolve().parent.parent
    joined = read_record(board).run
    if (joined.run_id, joined.config_hash) != (record.submission.board_run_id,
                                               record.submission.board_config_hash):
        raise ResultsFileError(
            f"{submission_dir} joins board run {record.submission.board_run_id} "
            f"({record.submission.board_config_hash}), but {board} holds run {joined.run_id} "
            f"({joined.config_hash})")
    return Path(board)


def verify_submission(directory: Path, system: PluginSystem, *, n_cells: int = 1,
                      seed: int = 0, atol: float | None = None, board: Path | None = None,
                      stage_time_limit_s: float | None = None) -> VerifyReport:
    """Rerun the submission in ``directory`` on ``n_cells`` drawn models of its board, under
    the same budget and stage time limit as a board's verify."""
    directory = Path(directory)
    board = board_of(directory, board)
    record = read_record(directory)
    check_budget(record.run.config, directory / "run.json")
    confine_declared(record.run.config, directory / "run.json", data_root(), system)
    declared = record.run.config.get("stage_time_limit_s")
    limit = stage_limit(declared if isinstance(declared, int | float) else None,
                        stage_time_limit_s)
    diff = environment_diff(record, system, directory)
    tolerance = tolerance_for(atol, diff)
    if n_cells < 1:
        raise ResultsFileError(f"--cells must be at least 1, got {n_cells}")
    models = read_models(board)
    drawn = random.Random(seed).sample(models, min(n_cells, len(models)))
    with interrupt_on_sigterm():
        rerun = rescore(directory, board, system, drawn, limit)
    committed = validate_directory(directory).scores
    checks = []
    for model in drawn:
        check = CellCheck(model.seed, model.pretraining, model.freezing)
        mine, theirs = (frame[(frame["seed"] == model.seed)
                              & (frame["pretraining"] == model.pretraining)
                              & (frame["freezing"] == model.freezing)]
                        for frame in (committed, rerun))
        check.n_rows = len(mine)
        check.differing = compare_scores(mine, theirs, tolerance)
        checks.append(check)
    return VerifyReport(not diff, diff, tolerance, checks)
