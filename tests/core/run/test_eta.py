"""The overall ETA weights stages by cost, so a few slow stages do not make it swing."""

from __future__ import annotations

import pytest
from rich.progress import Progress

from xecgbench.run.eta import CostModel, EtaColumn

#: stage -> (tasks, seconds per task): two slow trainings, many cheap scores.
RUN = {"pretrain": (2, 20.0), "finetune": (4, 20.0), "evaluate": (4, 0.2),
       "attribute": (8, 2.0), "score": (40, 0.2)}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _simulate(weighted: bool) -> list[tuple[float, float]]:
    """(true seconds left, estimated seconds left) after each task of :data:`RUN`."""
    clock = Clock()
    model = CostModel({s: n for s, (n, _) in RUN.items()}, clock=clock)
    total = sum(n * t for n, t in RUN.values())
    count = sum(n for n, _ in RUN.values())
    done = 0
    points = []
    for stage, (n, seconds) in RUN.items():
        model.begin(stage)
        for _ in range(n):
            clock.now += seconds
            model.advance(stage, "computed")
            done += 1
            left = model.remaining() if weighted else clock.now / done * (count - done)
            points.append((total - clock.now, left))
    return points


def test_weighted_eta_stays_within_a_factor_of_the_truth() -> None:
    for truth, estimate in _simulate(weighted=True):
        assert estimate is not None
        if truth > 20:  # near the end every estimate is a few seconds off
            assert truth / 2.5 <= estimate <= truth * 2.5, (truth, estimate)


def test_counting_every_stage_the_same_swings_far_more() -> None:
    def worst(points: list[tuple[float, float]]) -> float:
        return max(max(e / t, t / e) for t, e in points if t > 20 and e)

    assert worst(_simulate(weighted=False)) > 3 * worst(_simulate(weighted=True))


def test_reused_tasks_cost_nothing_and_unknown_costs_say_so() -> None:
    clock = Clock()
    model = CostModel({"pretrain": 2, "score": 10}, clock=clock)
    assert model.remaining() is None
    model.begin("pretrain")
    model.advance("pretrain", "reused")
    assert model.remaining() is None  # nothing computed yet: no basis for an estimate
    clock.now = 10.0
    model.advance("pretrain", "computed")
    assert model.cost("pretrain") == 10.0
    # score is priced from pretrain's measured cost relative to the priors
    assert model.remaining() == pytest.approx(10 * 10.0 / 30.0)


def test_eta_column_counts_down_to_its_deadline() -> None:
    clock = Clock()
    column = EtaColumn(clock=clock)
    progress = Progress()
    task_id = progress.add_task("all", total=3, eta_at=3725.0)
    task = progress.tasks[task_id]
    assert column.render(task).plain == "1:02:05"
    clock.now = 3725.0 + 5
    assert column.render(task).plain == "0:00:00"
    progress.update(task_id, eta_at=None)
    assert column.render(progress.tasks[task_id]).plain == "-:--:--"
