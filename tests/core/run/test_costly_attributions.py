"""Costly attribution methods explain only the declared stratified prefix of the windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from xecgbench.api import load_scores, run_suite
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.plan import plan


@pytest.fixture(scope="module")
def system() -> PluginSystem:
    return load_plugins(autoload=False)


def _attribute_keys(system: PluginSystem, *overrides: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in plan(load_suite("smoke", overrides), system):
        if item.task.stage == "attribute":
            keys.setdefault(item.task.specs["attributions"].name, set()).add(item.task.key)
    return keys


def test_unset_keeps_the_hash_and_every_key(system: PluginSystem) -> None:
    suite = load_suite("smoke")
    assert suite.explain.costly_attribution is None
    assert "costly_attribution" not in str(suite.config_hash())
    same = load_suite("smoke", ["explain.costly_attribution=null"])
    assert same.config_hash() == suite.config_hash()
    assert _attribute_keys(system, "explain.costly_attribution=null") == _attribute_keys(system)


def test_only_the_costly_method_re_explains(system: PluginSystem) -> None:
    # dtd costs 2 passes, saliency 1, amplitude 0: a cutoff of 2 makes dtd alone costly
    before = _attribute_keys(system)
    after = _attribute_keys(system, "explain.costly_attribution=2")
    assert load_suite("smoke", ["explain.costly_attribution=2"]).config_hash() != \
        load_suite("smoke").config_hash()
    assert after["saliency"] == before["saliency"]
    assert after["amplitude"] == before["amplitude"]
    assert after["dtd"].isdisjoint(before["dtd"])


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_cutoff_that_is_not_a_positive_cost_is_refused(value: str) -> None:
    with pytest.raises(Exception, match="costly_attribution"):
        load_suite("smoke", [f"explain.costly_attribution={value}"])


@pytest.mark.slow
def test_a_costly_method_scores_the_first_n_costly_windows_at_full_coverage(
        tmp_path: Path) -> None:
    run_suite("smoke", out=tmp_path, overrides=[
        "explain.costly_attribution=2", "pretraining=[none]", "freezing=[none]",
        "attributions=[dtd, saliency]", "explain.n_samples=8", "explain.n_costly=3",
        "metrics=[accuracy, relevance_mass_accuracy]"], quiet=True)
    scores = load_scores(tmp_path / "results.sqlite")
    rma = scores[(scores["metric"] == "relevance_mass_accuracy") & (scores["seed"] >= 0)]
    windows = rma.groupby("attribution")["sample"].nunique()
    assert windows["dtd"] == 3
    assert windows["saliency"] == 8
    first = sorted(rma[rma["attribution"] == "saliency"]["sample"].unique())
    assert set(rma[rma["attribution"] == "dtd"]["sample"]) <= set(first)
