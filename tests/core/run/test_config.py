"""Suites: built-ins validate; bad YAML and bad fields name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from xecgbench.run.config import SuiteError, builtin_suites, content_hash, load_suite


@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_builtin_suites_validate(name: str) -> None:
    suite = load_suite(name)
    assert suite.name == name
    assert suite.seeds


def test_unknown_suite_lists_valid_names() -> None:
    with pytest.raises(SuiteError, match=r"valid suites: .*quick.*smoke"):
        load_suite("nonexistent")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("seeds: [0, 1\ntraining: {epochs: 2}\n")
    with pytest.raises(SuiteError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_suite(str(path))


def test_bad_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("seeds: [0]\ntraining:\n  epochs: -3\n")
    with pytest.raises(SuiteError, match=r"suite\.yaml:3: field 'training\.epochs'"):
        load_suite(str(path))


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("seeds: [0]\ntrainig: {epochs: 2}\n")
    with pytest.raises(SuiteError, match=r"suite\.yaml:2: field 'trainig'"):
        load_suite(str(path))


def test_overrides_apply_yaml_typed_values() -> None:
    suite = load_suite("smoke", ["training.epochs=5", "seeds=[3, 4]", "explain.n_samples=4"])
    assert suite.training.epochs == 5
    assert suite.seeds == (3, 4)
    assert suite.explain.n_samples == 4


def test_malformed_override_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="key=value"):
        load_suite("smoke", ["training.epochs"])


def test_config_hash_is_stable_and_sensitive() -> None:
    assert load_suite("smoke").config_hash() == load_suite("smoke").config_hash()
    assert load_suite("smoke").config_hash() != load_suite("smoke", ["seeds=[1]"]).config_hash()
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})


def test_duplicate_components_need_distinct_labels(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("attributions: [dtd, dtd]\n")
    with pytest.raises(SuiteError, match="listed twice: dtd"):
        load_suite(str(path))
