"""What ``verify`` refuses to start, and how long it lets one stage run.

A board's ``run.json`` is untrusted and ``verify`` reruns the work it declares: ``epochs`` and
``patience`` of 1e9 trained until the process was killed. So before any work every budget
field is held to a limit stated here (:data:`LIMITS`, samples per window to
:data:`MAX_WINDOW_SAMPLES`), and every number among a component's parameters to
:data:`MAX_PARAM` (an attribution's ``n_steps`` or a dataset's ``n_train`` of 1e9 is as much a
hang); one line names the field and its limit. Honest boards sit far below (the paper suite:
30 epochs, patience 10, 64 windows, 2,500 samples, parameters <= 200). What passes and is
still slow, or a component that sleeps, meets the stage time limit: no stage of a verify runs
longer than ``--stage-time-limit`` (default :data:`STAGE_TIME_LIMIT_S`), whatever the board
declares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xecgbench.report.board_format.config_paths import component_specs, leaves
from xecgbench.report.board_format.reader import ResultsFileError
from xecgbench.run.config import MAX_STAGE_TIME_LIMIT_S

#: Suite fields (dotted) -> the most ``verify`` reruns.
LIMITS: dict[str, int] = {
    **{f"{budget}.{name}": limit
       for budget in ("training", "pretraining_budget")
       for name, limit in (("epochs", 1_000), ("patience", 1_000), ("batch_size", 65_536))},
    "explain.n_samples": 10_000,
    "explain.n_costly": 10_000,
    "explain.batch_size": 4_096,
}
#: Samples in one window (``data.fs`` x ``data.duration_s``): an hour at 250 Hz is 900,000.
MAX_WINDOW_SAMPLES = 1_000_000
#: The largest magnitude of any number among a component's parameters.
MAX_PARAM = 1_000_000
#: Default wall-clock seconds one stage of a verify may run (the paper grid's longest stage,
#: a fine-tuning at the challenge's scale, takes minutes).
STAGE_TIME_LIMIT_S = 3_600.0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field(config: Mapping[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _over(file: Path, field: str, value: float, limit: float, what: str = "") -> ResultsFileError:
    shown = f"{value:,.0f}" if math.isfinite(value) and value == int(value) else f"{value:g}"
    return ResultsFileError(f"{file}: field 'run.config.{field}': {shown}{what} is over "
                            f"verify's limit of {limit:,.0f}; refused before any work")


def check_budget(config: Mapping[str, Any], file: Path) -> None:
    """Refuse a config whose declared work is over a limit of this module, before any work."""
    for field, limit in LIMITS.items():
        value = _number(_field(config, field))
        if value is not None and not value <= limit:
            raise _over(file, field, value, limit)
    fs, duration = (_number(_field(config, f"data.{k}")) for k in ("fs", "duration_s"))
    if fs is not None and duration is not None and not fs * duration <= MAX_WINDOW_SAMPLES:
        raise _over(file, "data.fs", fs * duration, MAX_WINDOW_SAMPLES,
                    f" samples per window ({fs:g} Hz x data.duration_s {duration:g} s)")
    for where, _, _, params in component_specs(config):
        for name, value in leaves(params, f"{where}.params"):
            number = _number(value)
            if number is not None and not abs(number) <= MAX_PARAM:
                raise _over(file, name, number, MAX_PARAM)


def stage_limit(declared: float | None, limit: float | None) -> float:
    """The stage time limit of a rerun: the board's own, never above ``limit`` (default
    :data:`STAGE_TIME_LIMIT_S`), which must be a positive number of seconds."""
    limit = STAGE_TIME_LIMIT_S if limit is None else limit
    if not (math.isfinite(limit) and 0 < limit <= MAX_STAGE_TIME_LIMIT_S):
        raise ResultsFileError(f"--stage-time-limit must be a positive number of seconds, "
                               f"at most {MAX_STAGE_TIME_LIMIT_S:g}, got {limit}")
    return min(limit, declared) if declared is not None else limit
