"""The public API: every name a plugin author or a user of the results imports.

Import from here (``from xecgbench.api import MetricInfo``); the modules behind these names may
move, this list does not. ``docs/api.md`` documents each name and a test imports every one.

Everything the bundled plugins use of the core is here too (a test fails when
``xecgbench_builtin`` imports any other module of ``xecgbench``): a third-party plugin can do
whatever a bundled one does, through the same names.

The names that need torch, pandas or the runner (``receptive_field``, ``fit``, ``load_scores``,
``score_model``, ``run_suite`` …) load on first use (:data:`_LAZY`): a plugin's hook module
imports this one, and ``xecgbench --help`` must not pay for torch. A plugin imports them where
it uses them (inside the function), as the bundled ones do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from xecgbench.errors import UserError
from xecgbench.plugins.attribution_checks import eval_mode, explain_in_chunks, validate_inputs
from xecgbench.plugins.components import (
    BRANCHES,
    EXPLAINED_BRANCHES,
    MASK_NAMES,
    METRIC_CATEGORIES,
    METRIC_RANGES,
    RHYTHM_AF,
    RHYTHM_NON_AF,
    RHYTHM_NORMAL,
    RHYTHM_OTHER,
    AccuracyMetric,
    AttributionMethod,
    Augmentation,
    BranchedModel,
    Dataset,
    DatasetError,
    ECGSet,
    ExplanationBatch,
    ExplanationMetric,
    FineTuneStage,
    FreezingSchedule,
    MetricInfo,
    ModelFactory,
    PretrainingStrategy,
    SanityCheck,
    TrainingBudget,
    WindowDelineator,
    record_of,
)
from xecgbench.plugins.data_root import DATA_ENV, data_root
from xecgbench.plugins.hookspecs import hookimpl
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.plugins.operating_points import (
    ValidationScores,
    f1_threshold,
    specificity_threshold,
)
from xecgbench.plugins.registry import BoundRegistry, RegistryError
from xecgbench.run.device import model_device
from xecgbench.run.faults import from_os_error

if TYPE_CHECKING:  # for type checkers and readers; at run time through __getattr__
    from xecgbench.plugins.receptive_field import receptive_field
    from xecgbench.report.loaded_board import Board, load_board
    from xecgbench.run.config import Suite
    from xecgbench.run.runner import RunSummary
    from xecgbench.run.store import load_scores
    from xecgbench.run.training import (
        crop_order,
        fit,
        grouped_holdout,
        record_groups,
        seed_everything,
    )
    from xecgbench.scoring import ScoreReport, load_windows, score_model
    from xecgbench.suite_run import SuiteRun, run_suite

#: public name -> the module that defines it, imported when the name is first used.
_LAZY: dict[str, str] = {
    "receptive_field": "xecgbench.plugins.receptive_field",
    "Board": "xecgbench.report.loaded_board",
    "load_board": "xecgbench.report.loaded_board",
    "Suite": "xecgbench.run.config",
    "RunSummary": "xecgbench.run.runner",
    "load_scores": "xecgbench.run.store",
    "crop_order": "xecgbench.run.training",
    "fit": "xecgbench.run.training",
    "grouped_holdout": "xecgbench.run.training",
    "record_groups": "xecgbench.run.training",
    "seed_everything": "xecgbench.run.training",
    "ScoreReport": "xecgbench.scoring",
    "load_windows": "xecgbench.scoring",
    "score_model": "xecgbench.scoring",
    "SuiteRun": "xecgbench.suite_run",
    "run_suite": "xecgbench.suite_run",
}


def __getattr__(name: str) -> Any:
    """A :data:`_LAZY` name, imported now and kept (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value

__all__ = [
    "BRANCHES",
    "DATA_ENV",
    "EXPLAINED_BRANCHES",
    "MASK_NAMES",
    "METRIC_CATEGORIES",
    "METRIC_RANGES",
    "RHYTHM_AF",
    "RHYTHM_NON_AF",
    "RHYTHM_NORMAL",
    "RHYTHM_OTHER",
    "AccuracyMetric",
    "AttributionMethod",
    "Augmentation",
    "Board",
    "BoundRegistry",
    "BranchedModel",
    "Dataset",
    "DatasetError",
    "ECGSet",
    "ExplanationBatch",
    "ExplanationMetric",
    "FineTuneStage",
    "FreezingSchedule",
    "MetricInfo",
    "ModelFactory",
    "PluginSystem",
    "PretrainingStrategy",
    "RegistryError",
    "RunSummary",
    "SanityCheck",
    "ScoreReport",
    "Suite",
    "SuiteRun",
    "TrainingBudget",
    "UserError",
    "ValidationScores",
    "WindowDelineator",
    "crop_order",
    "data_root",
    "eval_mode",
    "explain_in_chunks",
    "f1_threshold",
    "fit",
    "from_os_error",
    "grouped_holdout",
    "hookimpl",
    "load_board",
    "load_plugins",
    "load_scores",
    "load_windows",
    "model_device",
    "receptive_field",
    "record_groups",
    "record_of",
    "run_suite",
    "score_model",
    "seed_everything",
    "specificity_threshold",
    "validate_inputs",
]
