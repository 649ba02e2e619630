"""The public API: every name a plugin author or a user of the results imports.

Import from here (``from xecgbench.api import MetricInfo``); the modules behind these names may
move, this list does not. ``docs/api.md`` documents each name and a test imports every one.
"""

from xecgbench.errors import UserError
from xecgbench.plugins.attribution_checks import validate_inputs
from xecgbench.plugins.components import (
    BRANCHES,
    EXPLAINED_BRANCHES,
    MASK_NAMES,
    METRIC_CATEGORIES,
    AccuracyMetric,
    AttributionMethod,
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
from xecgbench.plugins.operating_points import (
    ValidationScores,
    f1_threshold,
    specificity_threshold,
)
from xecgbench.plugins.receptive_field import receptive_field
from xecgbench.plugins.registry import BoundRegistry, RegistryError
from xecgbench.run.store import load_scores
from xecgbench.scoring import ScoreReport, load_windows, score_model
from xecgbench.suite_run import SuiteRun, run_suite

__all__ = [
    "BRANCHES",
    "DATA_ENV",
    "EXPLAINED_BRANCHES",
    "MASK_NAMES",
    "METRIC_CATEGORIES",
    "AccuracyMetric",
    "AttributionMethod",
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
    "PretrainingStrategy",
    "RegistryError",
    "SanityCheck",
    "ScoreReport",
    "SuiteRun",
    "TrainingBudget",
    "UserError",
    "ValidationScores",
    "WindowDelineator",
    "data_root",
    "f1_threshold",
    "hookimpl",
    "load_scores",
    "load_windows",
    "receptive_field",
    "record_of",
    "run_suite",
    "score_model",
    "specificity_threshold",
    "validate_inputs",
]
