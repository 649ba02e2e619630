"""An unannotated parameter given a value of another type than its default's is one line
before any stage (issue 31, item 7), not a failed cell at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_runs import cli, micro_suite, one_line_error

from xecgbench.run.param_types import expected_type, unannotated_defaults

PLUGIN = '''from xecgbench import hookimpl


class WindowedSaliency:
    """|gradient| smoothed over ``window_ms``: parameters without annotations, as many
    third-party plugins write them."""

    version = "1.0"
    family = "gradient"
    needs_baseline = False
    relative_cost = 1.0

    def __init__(self, model, window_ms=50, scale=1.0, note=None):
        self.model, self.window_ms, self.scale = model, window_ms, scale

    def __call__(self, x, target):
        raise AssertionError("preflight should have refused the suite")


@hookimpl
def xecgbench_register_attributions(registry):
    registry.register("windowed_saliency", WindowedSaliency)
'''


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("fifty", 50, "an integer"),
        (12.5, 50, "an integer"),
        (True, 50, "an integer"),
        (50, 50, None),
        (2, 1.0, None),  # an int stands for a float
        ("x", 1.0, "a number"),
        (1, False, "true or false"),
        (["p_wave"], ("qrs",), None),  # YAML writes a tuple default as a list
        ("p_wave", ("qrs",), "a list"),
        (3, "mean", "a string"),
        ({"a": 1}, {}, None),
        ("anything", None, None),
        ("anything", object(), None),  # a default no suite can write: not checked
    ],
)
def test_a_value_must_stand_for_its_default(value: Any, default: Any,
                                            expected: str | None) -> None:
    assert expected_type(value, default) == expected


def test_only_unannotated_defaults_are_read_up_the_mro() -> None:
    class Base:
        def __init__(self, *, size=1, rate: float = 1.0, **rest: Any) -> None:
            pass

    class Child(Base):
        def __init__(self, model, *, size=2.0, plain=None, **rest: Any) -> None:
            super().__init__(**rest)

    assert unannotated_defaults(Child) == {"size": 2.0, "plain": None}

    def factory(*, fs: float, n_samples: int, depth=2):  # type: ignore[no-untyped-def]
        pass

    assert unannotated_defaults(factory) == {"depth": 2}


@pytest.fixture()
def windowed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed distribution (dist-info with an ``xecgbench`` entry point) on sys.path."""
    site = tmp_path / "site"
    info = site / "windowed_saliency-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: windowed-saliency\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[xecgbench]\nwindowed = windowed_saliency\n")
    (site / "windowed_saliency.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("XECGBENCH_DISABLE_PLUGIN_AUTOLOAD")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ("{window_ms: fifty}", "parameter window_ms='fifty': expected an integer, like its "
                               "default 50"),
        ("{scale: big}", "parameter scale='big': expected a number, like its default 1.0"),
    ],
)
@pytest.mark.usefixtures("windowed_plugin")
def test_a_value_of_another_type_is_one_line_before_any_stage(
        params: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out),
                       "--quiet", "--set",
                       f"attributions=[{{name: windowed_saliency, params: {params}}}]")
    one_line_error(code, err, "attribution 'windowed_saliency' (plugin windowed)", named)
    assert len(err.strip().splitlines()) == 1, err
    assert not (out / "cache" / "pretrain").exists()  # no stage ran
