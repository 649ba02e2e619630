"""Stage keys: each stage's key changes exactly when something that shapes its result does."""

from __future__ import annotations

import pytest

from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.plan import plan


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


def _keys(system: PluginSystem, *overrides: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in plan(load_suite("smoke", overrides), system):
        keys.setdefault(item.task.stage, set()).add(item.task.key)
    return keys


def test_mask_pairings_reuse_attributions_but_rescore(system: PluginSystem) -> None:
    before = _keys(system)
    after = _keys(system, "explain.alignment={morphology: [qrs], rhythm: [r_peak]}")
    assert after["attribute"] == before["attribute"]
    assert after["finetune"] == before["finetune"]
    assert after["score"].isdisjoint(before["score"])


def test_costly_sample_count_only_rescores(system: PluginSystem) -> None:
    before, after = _keys(system), _keys(system, "explain.n_costly=1")
    assert after["attribute"] == before["attribute"]
    assert after["score"].isdisjoint(before["score"])


def test_explained_windows_shape_the_attributions(system: PluginSystem) -> None:
    before, after = _keys(system), _keys(system, "explain.n_samples=4")
    assert after["finetune"] == before["finetune"]
    assert after["attribute"].isdisjoint(before["attribute"])


def test_stages_come_in_dependency_order(system: PluginSystem) -> None:
    seen: set[str] = set()
    for item in plan(load_suite("smoke"), system):
        assert set(item.needs.values()) <= seen
        seen.add(item.task.key)
