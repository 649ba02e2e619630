"""Suite errors point at their source (a --set or a file line) and suggest the closest name."""

from __future__ import annotations

from pathlib import Path

import pytest

from xecgbench.run.config import Suite, SuiteError, load_suite
from xecgbench.run.config_errors import fields_at, override_source


def test_an_override_error_names_the_override_not_the_file() -> None:
    with pytest.raises(SuiteError, match=r"^--set seeds=abc: field 'seeds'") as caught:
        load_suite("smoke", ["seeds=abc"])
    assert "smoke.yaml" not in str(caught.value)


def test_an_override_that_is_not_yaml_names_the_override() -> None:
    with pytest.raises(SuiteError, match=r"^--set attributions=\[dtd: invalid YAML value"):
        load_suite("smoke", ["attributions=[dtd"])


def test_a_file_error_still_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("name: x\nseeds: [a]\n")
    with pytest.raises(SuiteError, match=r"suite\.yaml:2: field 'seeds\.0'"):
        load_suite(str(path), ["training.epochs=2"])  # an unrelated override is not blamed


@pytest.mark.parametrize(
    ("override", "field", "suggestion"),
    [
        ("trainig.epochs=2", "trainig", "training"),
        ("training.epoch=2", "training.epoch", "epochs"),
        ("explain.n_sampels=4", "explain.n_sampels", "n_samples"),
        ("data.dataset.parms={}", "data.dataset.parms", "params"),
        ("attributions=[{name: dtd, parms: {}}]", "attributions.0.parms", "params"),
    ],
)
def test_unknown_fields_get_did_you_mean(override: str, field: str, suggestion: str) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite("smoke", [override])
    message = str(caught.value)
    assert message.startswith(f"--set {override}: field '{field}': unknown field")
    assert f"(did you mean '{suggestion}'?)" in message and "valid fields:" in message


def test_unknown_field_in_a_file_gets_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("name: x\nprimary_metrc: auroc\n")
    with pytest.raises(SuiteError, match=r"suite\.yaml:2: .*did you mean 'primary_metric'"):
        load_suite(str(path))


def test_fields_at_walks_nested_models() -> None:
    assert "epochs" in fields_at(Suite, ["training", "x"])
    assert fields_at(Suite, ["attributions", 0, "x"]) == ["name", "params", "label"]
    assert override_source(["training", "epochs"], ["seeds=[1]", "training={epochs: x}"]) == (
        "--set training={epochs: x}")
    assert override_source(["seeds"], ["training.epochs=2"]) is None
