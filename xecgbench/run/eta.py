"""An overall ETA that weights stages by their cost, measured in this run or estimated.

Counting every stage task the same made the ETA swing from under a minute to over an hour in a
short run: a pretraining stage costs hundreds of score stages. Here each stage kind has a cost
per task: measured once some of its tasks were computed in this run (wall time of the stage so
far over the tasks it computed, so parallel workers count), otherwise its prior relative cost
scaled by how the measured kinds compared with their priors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from rich.progress import ProgressColumn, Task, TimeRemainingColumn
from rich.text import Text

#: Relative cost of one task of each stage kind before anything was measured (a pretrain or
#: fine-tune trains a model; an attribution explains a batch; evaluate and score are cheap).
PRIOR_COST: dict[str, float] = {
    "pretrain": 30.0, "finetune": 30.0, "evaluate": 0.5, "attribute": 4.0, "score": 1.0,
}


class CostModel:
    """Seconds per task of each stage kind, and the run's remaining time from them."""

    def __init__(self, totals: Mapping[str, int],
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.totals = dict(totals)
        self.done = dict.fromkeys(totals, 0)
        self.computed = dict.fromkeys(totals, 0)
        self.busy = dict.fromkeys(totals, 0.0)  # seconds spent in each stage so far
        self.clock = clock
        self._stage: str | None = None
        self._since = clock()

    def begin(self, stage: str) -> None:
        """``stage`` starts now; the time until the next ``begin`` is charged to it."""
        self._charge()
        self._stage = stage

    def advance(self, stage: str, outcome: str) -> None:
        """One ``stage`` task finished; only computed tasks take time (reuse is a lookup)."""
        self._charge()
        self.done[stage] += 1
        if outcome == "computed":
            self.computed[stage] += 1

    def _charge(self) -> None:
        now = self.clock()
        if self._stage is not None:
            self.busy[self._stage] += now - self._since
        self._since = now

    def cost(self, stage: str) -> float | None:
        """Seconds per computed task of ``stage``: measured, scaled prior, or ``None``."""
        if self.computed.get(stage):
            return self.busy[stage] / self.computed[stage]
        ratios = sorted(self.busy[s] / self.computed[s] / PRIOR_COST.get(s, 1.0)
                        for s in self.computed if self.computed[s])
        if not ratios:
            return None
        return PRIOR_COST.get(stage, 1.0) * ratios[len(ratios) // 2]

    def remaining(self) -> float | None:
        """Estimated seconds left, or ``None`` before any task was computed."""
        self._charge()
        total = 0.0
        for stage, count in self.totals.items():
            left = count - self.done[stage]
            if left <= 0:
                continue
            cost = self.cost(stage)
            if cost is None:
                return None
            total += left * cost
        return total


class EtaColumn(ProgressColumn):
    """The task's ``eta_at`` field (a clock deadline) as a countdown; else rich's own ETA."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.clock = clock
        self.fallback = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        if "eta_at" not in task.fields:
            return self.fallback.render(task)
        deadline: Any = task.fields["eta_at"]
        if deadline is None:
            return Text("-:--:--", style="progress.remaining")
        seconds = max(0, int(deadline - self.clock()))
        hours, rest = divmod(seconds, 3600)
        return Text(f"{hours}:{rest // 60:02d}:{rest % 60:02d}", style="progress.remaining")
