"""Cache keys see parameters merged with the component's defaults: defaults written out reuse."""

from __future__ import annotations

import pytest

from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import ComponentSpec, content_hash, load_suite
from xecgbench.run.param_defaults import declared_defaults, key_params, merged_params
from xecgbench.run.plan import _component_id, plan


class Method:
    def __init__(self, model, *, alpha=1.0, steps=50, mode="fast", flag=False):
        pass


@pytest.fixture(scope="module")
def system():
    return load_plugins(autoload=False)


def test_defaults_come_from_the_signature() -> None:
    assert declared_defaults(Method) == {"alpha": 1.0, "steps": 50, "mode": "fast", "flag": False}
    assert declared_defaults(len) == {}  # no signature: nothing is dropped


def test_key_params_drop_exactly_the_defaults() -> None:
    assert key_params(Method, {"alpha": 1, "steps": 50, "mode": "fast"}) == {}
    assert key_params(Method, {"alpha": 2.0, "steps": 50}) == {"alpha": 2.0}
    assert key_params(Method, {"flag": 0}) == {"flag": 0}  # 0 is not False in a suite
    assert key_params(Method, {"unknown": 1}) == {"unknown": 1}
    assert merged_params(Method, {"alpha": 2.0})["steps"] == 50


def test_equal_merged_params_mean_equal_keys(system) -> None:
    a = _component_id(system, "attributions", ComponentSpec(name="lrp_epsilon"))
    b = _component_id(system, "attributions",
                      ComponentSpec(name="lrp_epsilon", params={"epsilon": 0.01}))
    c = _component_id(system, "attributions",
                      ComponentSpec(name="lrp_epsilon", params={"epsilon": 0.1}))
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_specs_without_params_keep_their_old_keys(system) -> None:
    """The key formula is unchanged for unspecified params: cached runs stay valid."""
    spec = ComponentSpec(name="dtd")
    version = system.registry["attributions"].registration("dtd").version
    assert _component_id(system, "attributions", spec) == {
        "name": "dtd", "params": {}, "version": version}


def test_writing_defaults_out_reuses_every_stage(system) -> None:
    plain = load_suite("smoke")
    explicit = load_suite("smoke", [
        "attributions=[{name: dtd, params: {stabilizer: 1.0e-6}}, saliency, amplitude]",
        "freezing=[none, {name: freeze_first_k, params: {k: 2}}]",
        "data.dataset.params={n_train: 96, n_test: 32, seed: 0, noise: 0.05}",
    ])
    assert [p.task.key for p in plan(plain, system)] == [p.task.key for p in plan(explicit, system)]
    changed = load_suite("smoke", ["attributions=[{name: dtd, params: {stabilizer: 1.0e-3}}, "
                                   "saliency, amplitude]"])
    assert [p.task.key for p in plan(plain, system)] != [p.task.key for p in plan(changed, system)]
