"""A committed board as Python objects: what a reader of a board needs without knowing its
file names, Parquet parts or how AF windows' regions are renamed.

Every file is read through the guarded loader (checksums, size budgets, no links), exactly as
the tables, ``verify`` and ``submit`` read it, so a board that loads here is the board the
leaderboard shows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xecgbench.plugins.components import BranchedModel, ECGSet
from xecgbench.report.board_format.reader import ResultsFileError
from xecgbench.report.published import (
    PublishedModel,
    read_explained_windows,
    read_model,
    read_models,
)
from xecgbench.report.results_files import RunRecord, read_record, validate_directory
from xecgbench.run.config import Suite


@dataclass(frozen=True)
class Board:
    """One board, loaded.

    Attributes
    ----------
    path : the board's directory.
    record : its validated ``run.json`` (the suite's config as stored: ``record.run.config``).
    suite : that config validated as a run validates it (once, when the board was loaded).
    scores : every per-window score, trained models' and untrained models' rows
        (``model_state``), regions named as the tables name them (on AF windows the P-wave
        mask is the ``atrial_interval`` template).
    probabilities : per-window AF probabilities of test and validation windows, or None for
        boards made before they were stored.
    windows : the explained windows with their masks and record ids.
    window_index : each explained window's index into the evaluation set: the ``sample``
        column of ``scores``.
    models : the published fine-tuned models' index (seed, pretraining, freezing, file).
    """

    path: Path
    record: RunRecord
    suite: Suite
    scores: pd.DataFrame
    probabilities: pd.DataFrame | None
    windows: ECGSet
    window_index: np.ndarray
    models: tuple[PublishedModel, ...]

    def model(self, seed: int, pretraining: str, freezing: str,
              system: Any = None) -> BranchedModel:
        """The published model of one cell, in eval mode on the CPU (its file's SHA-256 checked
        against the index)."""
        import torch

        found = [m for m in self.models if (m.seed, m.pretraining, m.freezing)
                 == (seed, pretraining, freezing)]
        if not found:
            cells = sorted({(m.seed, m.pretraining, m.freezing) for m in self.models})
            raise ResultsFileError(f"{self.path}: no published model for seed {seed}, "
                                   f"{pretraining!r}, {freezing!r} (cells: {cells[:6]} …)")
        model = self.untrained_model(seed, system)
        state = torch.load(io.BytesIO(read_model(self.path, found[0])), weights_only=True,
                           map_location="cpu")
        model.load_state_dict(state)
        return model.eval()

    def untrained_model(self, seed: int, system: Any = None) -> BranchedModel:
        """The seed's initial model (the weights every pretraining of that seed starts from,
        and the null every method is compared with), in eval mode on the CPU."""
        from xecgbench.plugins.manager import load_plugins
        from xecgbench.run.training import seed_everything

        suite = self.suite
        system = system or load_plugins()
        seed_everything(seed)
        factory = system.registry["models"].get(suite.model.name)
        model = factory(fs=suite.data.fs, n_samples=self.windows.signals.shape[-1],
                        **suite.model.params)
        return model.eval()


def load_board(path: str | Path) -> Board:
    """Read and check the board in ``path`` (a directory under ``leaderboards/``)."""
    path = Path(path)
    results = validate_directory(path)
    index, windows = read_explained_windows(path)
    scores = pd.concat([results.scores, results.untrained], ignore_index=True)
    return Board(path=path, record=read_record(path), suite=results.suite, scores=scores,
                 probabilities=results.probabilities, windows=windows, window_index=index,
                 models=tuple(read_models(path)))
