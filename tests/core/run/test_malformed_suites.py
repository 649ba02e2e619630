"""A malformed suite fails before the first stage, in one line naming the culprit; the
parameter check follows forwarded keywords and the arguments the runner sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runs import SYNTHETIC, cli, micro_suite, one_line_error

#: name -> (suite text replacements or a raw file, culprit the error must name)
SUITE_CASES: dict[str, tuple[dict[str, str] | str, tuple[str, ...]]] = {
    "freezing parameter": ({"freezing": "[{name: freeze_first_k, params: {kk: 2}}]"},
                           ("freeze_first_k", "'kk'", "did you mean 'k'")),
    "model parameter": ({"dataset": SYNTHETIC}, ()),  # replaced below
    "dataset parameter": ({"dataset": "{name: synthetic, params: {n_trian: 32}}"},
                          ("synthetic", "'n_trian'", "did you mean 'n_train'")),
    "metric parameter": ({"metrics": "[accuracy, {name: relevance_mass_accuracy, params: "
                                     "{backnd: fast}}]"},
                         ("relevance_mass_accuracy", "'backnd'", "did you mean 'backend'")),
    "primary metric": ({"primary": "pointing_game"}, ("primary_metric", "pointing_game")),
    "primary metric typo": ({"primary": "relevance_mass_acuracy"},
                            ("did you mean 'relevance_mass_accuracy'",)),
    "missing data path": ({"dataset": "{name: cinc2017, params: {path: /nope/cinc2017}}"},
                          ("/nope/cinc2017",)),
    "unknown component": ({"freezing": "[frozen_solid]"}, ("frozen_solid",)),
    "unknown metric": ({"metrics": "[accuracy, relevance_mass_accuracy, nope_metric]"},
                       ("nope_metric",)),
    "bad yaml": ("seeds: [0\nmodel: {", ("s.yaml",)),
    "no seeds": ("seeds: []\n", ("seeds",)),
    "negative fs": ({"fs": "-1"}, ("fs",)),
    "dataset on_bad_record": ({"dataset": "{name: synthetic, params: {on_bad_record: skip}}"},
                              ("synthetic", "'on_bad_record'")),
}
SUITE_CASES["model parameter"] = ({"dataset": SYNTHETIC}, ("xecgarch", "'widht'",
                                                           "did you mean 'width'"))


@pytest.mark.parametrize("case", sorted(SUITE_CASES))
def test_malformed_suite_fails_before_the_first_stage(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fields, culprits = SUITE_CASES[case]
    path = tmp_path / "s.yaml"
    if isinstance(fields, str):
        path.write_text(fields)
    else:
        micro_suite(path, **fields)
        if case == "model parameter":
            path.write_text(path.read_text().replace("{width: 2}", "{widht: 2}"))
    code, _, err = cli(capsys, "run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, *culprits)
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "results.sqlite").exists()


def test_parameter_check_follows_forwarded_keywords_and_runner_arguments() -> None:
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import SuiteError, load_suite
    from xecgbench.run.preflight import accepted_parameters, check_parameters
    from xecgbench_builtin.data.cinc2017 import CinC2017

    accepted = accepted_parameters(CinC2017)  # its **config goes to WFDBDataset.__init__
    assert accepted is not None and {"label_map", "on_bad_record", "path"} <= accepted
    system = load_plugins(autoload=False)
    # a seed given to an attribution overrides the runner's default: allowed
    check_parameters(load_suite("smoke", ["attributions=[{name: random, params: {seed: 3}}]"]),
                     system)
    with pytest.raises(SuiteError, match="'fs' is set by the runner"):
        check_parameters(load_suite("smoke", ["model.params={width: 4, fs: 100}"]), system)
