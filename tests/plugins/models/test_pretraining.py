"""Pretraining strategies touch only their declared branches and learn their task."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xecgbench.plugins.components import TrainingBudget
from xecgbench.plugins.manager import load_plugins
from xecgbench.run.training import seed_everything
from xecgbench_builtin.data.synthetic import SyntheticECG
from xecgbench_builtin.models.xecgarch import build_xecgarch

BUDGET = TrainingBudget(epochs=3, batch_size=32, lr=0.01, patience=3, val_fraction=0.25)
STRATEGIES = load_plugins(autoload=False).registry["pretraining"]


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return SyntheticECG(n_train=96, n_test=8, seed=1).load("train", fs=100, duration_s=6)


def _model() -> torch.nn.Module:
    seed_everything(0)
    return build_xecgarch(fs=100, n_samples=600, width=4)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_only_declared_branches_change(name: str, data) -> None:  # type: ignore[no-untyped-def]
    strategy = STRATEGIES.get(name)()
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = strategy.pretrain(model, data, seed=0, budget=BUDGET)
    assert all(np.isfinite(v) or np.isnan(v) for v in report.values())
    for key, value in model.state_dict().items():
        branch = key.split(".")[1]
        changed = not torch.equal(before[key], value)
        if branch not in strategy.branches or ".head." in key:
            assert not changed, f"{name} changed {key}"
    touched = {k.split(".")[1] for k in before if not torch.equal(before[k], model.state_dict()[k])}
    assert touched == set(strategy.branches)


def test_p_wave_detection_reports_event_scores(data) -> None:  # type: ignore[no-untyped-def]
    report = STRATEGIES.get("p_wave_detection")().pretrain(_model(), data, seed=0, budget=BUDGET)
    assert set(report) == {"p_wave_sensitivity", "p_wave_ppv", "p_wave_f1"}
    assert 0 <= report["p_wave_f1"] <= 1


def test_rr_variability_learns_something(data) -> None:  # type: ignore[no-untyped-def]
    budget = TrainingBudget(epochs=8, batch_size=16, lr=0.01, patience=8, val_fraction=0.25)
    report = STRATEGIES.get("rr_variability")().pretrain(_model(), data, seed=0, budget=budget)
    assert report["rr_mae_ms"] > 0 and report["rr_r2"] > -1.0


def test_pretraining_is_deterministic(data) -> None:  # type: ignore[no-untyped-def]
    states = []
    for _ in range(2):
        model = _model()
        STRATEGIES.get("both")().pretrain(model, data, seed=5, budget=BUDGET)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
