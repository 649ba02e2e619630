"""Absurd settings are refused before the first stage (issue 24, item 3): values outside the
ranges the config and the components declare, a model that cannot be built for the windows,
data or a model larger than the memory available, and a split without windows of a class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from cli_runs import cli, micro_suite, one_line_error
from damaged_records import BAD, RECORDS, cinc_copy, write_reference
from pydantic import Field

#: --set override -> what the one line must name
CASES: dict[str, tuple[str, ...]] = {
    "data.dataset.params.n_test=0": ("synthetic", "split 'test'", "no windows of class"),
    "data.dataset.params.n_train=-1": ("synthetic", "n_train=-1", "greater than or equal to 0"),
    "data.duration_s=0.001": ("0.001 s", "0.05 samples", "at least one sample"),
    "data.duration_s=1e6": ("windows of 50000000 samples", "GiB", "memory available"),
    "data.fs=1e9": ("1e+09 Hz", "memory available"),
    "data.fs=0.5": ("xecgarch", "windows of 2 samples", "too short"),
    "data.fs=.inf": ("data.fs", "finite"),
    "training.lr=.inf": ("training.lr", "finite"),
    "pretraining_budget.lr=.nan": ("pretraining_budget.lr", "finite"),
    "model.params.width=100000": ("xecgarch", "width=100000", "less than or equal to 1024"),
    "model.params.width=0": ("xecgarch", "width=0", "greater than or equal to 1"),
    "seeds=[-1]": ("seeds", "greater than or equal to 0"),
    "seeds=[0.5]": ("seeds",),
}


@pytest.mark.parametrize("override", sorted(CASES))
def test_absurd_settings_are_one_line_before_any_stage(
        override: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out", str(out),
                       "--quiet", "--set", override)
    one_line_error(code, err, *CASES[override])
    assert len(err.strip().splitlines()) == 1, err
    assert "builtin-models) :" not in err and "FAILED" not in err  # no stage ran to fail
    assert not (out / "cache" / "pretrain").exists()


def test_memory_estimate_uses_the_available_memory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("xecgbench.run.preflight.available_memory", lambda: 50_000)
    code, _, err = cli(capsys, "run", str(micro_suite(tmp_path / "s.yaml")), "--out",
                       str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, "40 windows of 200 samples", "need about 0.1 MiB", "memory available")


def test_ranges_come_from_the_components_own_annotations() -> None:
    from xecgbench.run.preflight import declared_ranges

    class Base:
        def __init__(self, *, size: Annotated[int, Field(ge=1)] = 1, **rest: Any) -> None:
            pass

    class Child(Base):
        def __init__(self, *, rate: Annotated[float, Field(gt=0)] = 1.0, plain: int = 0,
                     **rest: Any) -> None:
            super().__init__(**rest)

    assert sorted(declared_ranges(Child)) == ["rate", "size"]

    def factory(*, fs: float, n_samples: int, depth: Annotated[int, Field(le=9)] = 2) -> None:
        pass

    assert list(declared_ranges(factory)) == ["depth"]
    assert declared_ranges(lambda **params: None) == {}


@pytest.mark.data
def test_cinc_labels_all_noisy_refused_before_the_first_stage(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XECGBENCH_CACHE", str(tmp_path / "delineation"))
    data = cinc_copy(shared_data, tmp_path / "cinc2017")
    write_reference(data, "".join(f"{record},~\n" for record in RECORDS))
    dataset = f"{{name: cinc2017, params: {{path: '{data}'}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, _, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, "cinc2017", "split 'train'", "no windows of class")
    assert BAD not in err


def test_a_dataset_without_a_paired_mask_is_refused_naming_it() -> None:
    """A dataset plugin that gives no `r_peak` mask, under a suite that scores the rhythm branch
    on it, is one SuiteError before any stage (it used to be a bare KeyError mid-run)."""
    import dataclasses

    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import SuiteError, load_suite
    from xecgbench.run.preflight import check_masks
    from xecgbench.scoring import load_windows

    system = load_plugins(autoload=False)
    suite = load_suite("smoke")
    windows = load_windows("synthetic", "test", fs=100.0, system=system, n_test=8, n_train=8)
    check_masks(suite, system, windows)  # every paired mask present: nothing to say
    pruned = dataclasses.replace(windows, masks={k: v for k, v in windows.masks.items()
                                                 if k != "r_peak"})
    with pytest.raises(SuiteError, match=r"no 'r_peak' mask, which explain\.alignment\.rhythm"):
        check_masks(suite, system, pruned)
