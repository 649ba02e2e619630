"""CinC 2017 loader on real records: labels, splits, windows, masks and every bad-input case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from xecgbench.plugins.components import MASK_NAMES, Dataset
from xecgbench_builtin.data.cinc2017 import CinC2017
from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducial_events import run_bounds
from xecgbench_builtin.data.fiducials import ATRIAL_WINDOW_MS

#: A handful of real records: two normal, two AF, one other rhythm, one noisy.
RECORDS = {"A00001": "N", "A00002": "N", "A00004": "A", "A00005": "A", "A00008": "O",
           "A00022": "~"}
FS = 250.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def make_cinc(source: Path, target: Path, records: dict[str, str] = RECORDS) -> Path:
    """Copy ``records`` from the real set into ``target`` with a matching REFERENCE.csv."""
    target.mkdir(parents=True, exist_ok=True)
    for record in records:
        for suffix in (".hea", ".mat"):
            shutil.copy(source / f"{record}{suffix}", target / f"{record}{suffix}")
    (target / "REFERENCE.csv").write_text("".join(f"{r},{c}\n" for r, c in records.items()))
    return target


@pytest.fixture
def small(shared_data: Path, tmp_path: Path) -> Path:
    return make_cinc(shared_data / "cinc2017", tmp_path / "cinc2017")


def test_is_a_dataset_and_loads_labelled_windows(small: Path, cache: Path) -> None:
    dataset = CinC2017(path=small, cache_dir=cache, test_fraction=0.0)
    assert isinstance(dataset, Dataset)
    data = dataset.load("all", fs=FS, duration_s=10.0)
    assert data.signals.shape == (5, 1, 2500) and data.signals.dtype == np.float32
    assert sorted(data.record_ids) == [f"{r}#0" for r in sorted(RECORDS) if r != "A00022"]
    by_record = dict(zip(data.record_ids, data.labels.tolist(), strict=True))
    assert by_record == {"A00001#0": 0, "A00002#0": 0, "A00004#0": 1, "A00005#0": 1,
                         "A00008#0": 0}
    assert np.allclose(data.signals.min(axis=-1), 0) and np.allclose(data.signals.max(axis=-1), 1)
    assert set(data.masks) == set(MASK_NAMES) and data.annotated is None and not data.skipped
    for name in MASK_NAMES:
        assert data.masks[name].shape == data.signals.shape and data.masks[name].dtype == bool
    beats = [len(run_bounds(m[0])[0]) for m in data.masks["r_peak"]]
    assert all(8 <= b <= 30 for b in beats)  # 10 s at 48-180 bpm


def test_each_window_carries_its_reference_rhythm_class(small: Path, cache: Path) -> None:
    """N, O and AF from REFERENCE.csv, whatever the binary label map makes of them."""
    data = CinC2017(path=small, cache_dir=cache, label_map={"A": 1, "N": 0, "O": 0, "~": 0}
                    ).load("all", fs=FS, duration_s=10.0)
    by_record = dict(zip(data.record_ids, data.rhythm_class.tolist(), strict=True))
    assert by_record == {"A00001#0": "N", "A00002#0": "N", "A00004#0": "AF", "A00005#0": "AF",
                         "A00008#0": "O", "A00022#0": "noisy"}
    assert data.subset(np.array([4])).rhythm_class.tolist() == [by_record[data.record_ids[4]]]


def test_af_p_wave_mask_is_the_atrial_window_before_each_qrs(small: Path, cache: Path) -> None:
    data = CinC2017(path=small, cache_dir=cache).load("all", fs=FS, duration_s=10.0)
    end = round(ATRIAL_WINDOW_MS[1] / 1000 * FS)
    for i in np.flatnonzero(data.labels == 1):
        _, p_ends = run_bounds(data.masks["p_wave"][i, 0])  # exclusive ends
        p_ends = p_ends[p_ends + end < data.signals.shape[-1] - 1]  # its QRS is in the window
        qrs_starts, _ = run_bounds(data.masks["qrs"][i, 0])
        assert len(p_ends) >= len(qrs_starts) - 1
        # every window ends `end` samples before a QRS onset (1 sample of rounding)
        gaps = qrs_starts[None, :] - (p_ends[:, None] - 1)
        assert (np.abs(gaps - end).min(axis=1) <= 1).all()
        assert not (data.masks["p_wave"][i] & data.masks["qrs"][i]).any()


def test_label_map_includes_noisy_records_on_request(small: Path, cache: Path) -> None:
    data = CinC2017(path=small, cache_dir=cache, label_map={"A": 1, "N": 0, "O": 0, "~": 0}
                    ).load("all", fs=FS, duration_s=10.0)
    assert "A00022#0" in data.record_ids
    with pytest.raises(DatasetError, match="label_map"):
        CinC2017(path=small, label_map={"X": 1})


def test_splits_on_real_data_are_stratified_and_disjoint(shared_data: Path) -> None:
    dataset = CinC2017(path=shared_data / "cinc2017", limit=200, test_fraction=0.25)
    train, _ = dataset.records("train")
    test, _ = dataset.records("test")
    assert len(train) + len(test) == 200
    assert not {e.record for e in train} & {e.record for e in test}
    af_share = [np.mean([e.label for e in part]) for part in (train, test)]
    assert abs(af_share[0] - af_share[1]) < 0.03 and 0.15 < af_share[0] < 0.28
    again = CinC2017(path=shared_data / "cinc2017", limit=200, test_fraction=0.25)
    assert again.records("test")[0] == test


def test_windowing_all_and_padding(shared_data: Path, tmp_path: Path, cache: Path) -> None:
    path = make_cinc(shared_data / "cinc2017", tmp_path / "c", {"A00001": "N", "A05493": "N"})
    data = CinC2017(path=path, cache_dir=cache, windowing="all", normalise="none").load(
        "all", fs=FS, duration_s=10.0)
    assert data.record_ids == ("A00001#0", "A00001#1", "A00001#2", "A05493#0")  # 30 s, 9.05 s
    short = data.signals[3, 0]
    tail = round(9.0466 * FS) + 1
    assert np.all(short[tail:] == short[tail])  # edge-padded, no step
    assert not data.masks["qrs"][3, 0, tail:].any()
    strict = CinC2017(path=path, cache_dir=cache, min_duration_s=10.0).load(
        "all", fs=FS, duration_s=10.0)
    assert strict.record_ids == ("A00001#0",)
    assert "too short: 9.05 s" in strict.skipped["A05493"]


def _corrupt(case: str, path: Path) -> str:
    """Damage record A00004 (or the labels) in ``path``; return the expected fault text."""
    header, signal = path / "A00004.hea", path / "A00004.mat"
    if case == "missing .hea":
        header.unlink()
        return "missing header file"
    if case == "missing .mat":
        signal.unlink()
        return "missing signal file"
    if case == "corrupt .hea":
        header.write_text("this is not a WFDB header\n")
        return "corrupt header"
    if case == "truncated":
        signal.write_bytes(signal.read_bytes()[:5000])
        return "truncated signal file"
    raw = bytearray(signal.read_bytes())
    if case == "NaN":  # WFDB format 16's invalid-sample code reads as NaN
        raw[24 + 2 * 100 : 24 + 2 * 110] = b"\x00\x80" * 10
        signal.write_bytes(bytes(raw))
        return "10 non-finite samples (NaN), first at 100"
    if case == "flat line":
        raw[24:] = b"\x05\x00" * ((len(raw) - 24) // 2)
        signal.write_bytes(bytes(raw))
        return "flat line"
    if case == "unknown label":
        reference = path / "REFERENCE.csv"
        reference.write_text(reference.read_text().replace("A00004,A", "A00004,X"))
        return "label 'X' (REFERENCE.csv line 3) not in label set N, A, O, ~"
    raise AssertionError(case)


CASES = ["missing .hea", "missing .mat", "corrupt .hea", "truncated", "NaN", "flat line",
         "unknown label"]


@pytest.mark.parametrize("case", CASES)
def test_bad_record_is_skipped_with_its_reason(case: str, small: Path, cache: Path) -> None:
    fault = _corrupt(case, small)
    data = CinC2017(path=small, cache_dir=cache).load("all", fs=FS, duration_s=10.0)
    assert "A00004#0" not in data.record_ids and len(data) == 4
    assert fault in data.skipped["A00004"]
    report = CinC2017(path=small).check()
    assert fault in report.skipped["A00004"] and report.n_records == 6


@pytest.mark.parametrize("case", CASES)
def test_bad_record_raises_under_error_policy(case: str, small: Path, cache: Path) -> None:
    fault = _corrupt(case, small)
    with pytest.raises(BadRecordError, match="record A00004: ") as info:
        CinC2017(path=small, cache_dir=cache, on_bad_record="error").load(
            "all", fs=FS, duration_s=10.0)
    assert fault in str(info.value) and info.value.record == "A00004"


def test_dataset_level_faults_are_clear(small: Path, tmp_path: Path) -> None:
    (small / "REFERENCE.csv").unlink()
    with pytest.raises(DatasetError, match=r"REFERENCE.csv is missing"):
        CinC2017(path=small).load("train", fs=FS, duration_s=10.0)
    with pytest.raises(DatasetError, match=r"data directory .*nowhere does not exist"):
        CinC2017(path=tmp_path / "nowhere").check()
    with pytest.raises(DatasetError, match="unknown on_bad_record 'ignore'"):
        CinC2017(path=small, on_bad_record="ignore")
    with pytest.raises(DatasetError, match="unknown split 'val'"):
        CinC2017(path=small).load("val", fs=FS, duration_s=10.0)


def test_default_path_comes_from_the_data_root(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("XECGBENCH_DATA", str(tmp_path))
    assert CinC2017().path == tmp_path / "cinc2017"
    monkeypatch.delenv("XECGBENCH_DATA")
    assert CinC2017().path == Path("data") / "cinc2017"


def test_data_dir_wins_over_the_environment_and_writes_none(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """``--data-dir`` sets the root for its command only, without touching ``os.environ``."""
    import click
    from click.testing import CliRunner

    from xecgbench.cli.context import data_dir_option

    monkeypatch.setenv("XECGBENCH_DATA", str(tmp_path / "env"))
    seen = []

    @click.command()
    @data_dir_option
    def probe() -> None:
        seen.append((CinC2017().path, os.environ["XECGBENCH_DATA"]))

    result = CliRunner().invoke(probe, ["--data-dir", str(tmp_path / "flag")])
    assert result.exit_code == 0, result.output
    assert seen == [((tmp_path / "flag" / "cinc2017").resolve(), str(tmp_path / "env"))]
    assert CinC2017().path == tmp_path / "env" / "cinc2017"  # put back when the command ended
