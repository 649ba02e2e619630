"""CPSC 2021 loader on the real records: AF only wholly inside an episode, non-AF only wholly
outside, patients as the split unit, lead choice, NeuroKit2 masks, resampling, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from xecgbench.plugins.components import MASK_NAMES, Dataset, record_of
from xecgbench_builtin.data.af_episodes import AF, NON_AF, STRADDLES, af_episodes, window_rhythms
from xecgbench_builtin.data.cpsc2021 import CPSC2021, patient_of
from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducial_events import run_bounds
from xecgbench_builtin.data.fiducials import ATRIAL_WINDOW_MS

FS = 200.0
WINDOW = 2000
#: One record per kind, short ones (NeuroKit2 runs on every record): persistent AF (patient 8),
#: paroxysmal with four episodes (101) and with one (92), no AF (35).
SMALL = ("data_8_4", "data_101_6", "data_92_12", "data_35_6")


@pytest.fixture(scope="module")
def cpsc(shared_data: Path) -> Path:
    path = shared_data / "cpsc2021"
    if not path.is_dir():
        pytest.skip(f"CPSC 2021 fixture not found at {path}")
    return path


def copy_records(source: Path, target: Path, records: tuple[str, ...] = SMALL) -> Path:
    target.mkdir(parents=True)
    for record in records:
        for suffix in (".hea", ".dat", ".atr"):
            shutil.copy(source / f"{record}{suffix}", target / f"{record}{suffix}")
    (target / "RECORDS").write_text("".join(f"{r}\n" for r in records))
    return target


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def small_set(cpsc: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_records(cpsc, tmp_path_factory.mktemp("data") / "cpsc2021")


@pytest.fixture(scope="module")
def native(small_set: Path, cache: Path):
    return CPSC2021(path=small_set, cache_dir=cache, normalise="none").load(
        "all", fs=FS, duration_s=10.0)


def test_check_classifies_all_records_without_delineating(cpsc: Path) -> None:
    report = CPSC2021(path=cpsc).check()
    assert report.class_counts == {"paroxysmal AF": 6, "non-AF": 6, "persistent AF": 6}
    assert report.label_counts == {0: 6, 1: 12} and not report.skipped


def test_patients_are_the_unit_of_splits_and_limit(cpsc: Path) -> None:
    dataset = CPSC2021(path=cpsc, test_fraction=0.5)
    everyone = {patient_of(e.record) for e in dataset.records("all")[0]}
    assert everyone == {"8", "21", "35", "84", "92", "101"}  # 6 patients are 6 patients
    train = {patient_of(e.record) for e in dataset.records("train")[0]}
    test = {patient_of(e.record) for e in dataset.records("test")[0]}
    assert train | test == everyone and not train & test
    limited = CPSC2021(path=cpsc, limit=2).records("all")[0]
    assert len({patient_of(e.record) for e in limited}) == 2 and len(limited) == 6
    assert patient_of("data_101_6#3") == "101" and patient_of("data_8_2") == "8"
    with pytest.raises(ValueError, match="not a CPSC 2021 id"):
        patient_of("A00001#0")


def test_labels_follow_the_episodes_and_straddling_windows_are_dropped(native, small_set: Path
                                                                        ) -> None:
    import wfdb

    assert isinstance(CPSC2021(path=small_set), Dataset)
    assert native.signals.shape == (24, 1, WINDOW) and not native.skipped
    for record in SMALL:
        signal = wfdb.rdrecord(str(small_set / record)).p_signal[:, 0].astype(np.float32)
        ann = wfdb.rdann(str(small_set / record), "atr")
        notes = [(s, n) for s, n in zip(ann.sample, ann.aux_note, strict=True)
                 if n.startswith("(")]
        rows = [i for i, rid in enumerate(native.record_ids) if record_of(rid) == record]
        candidates = len(signal) // WINDOW
        assert 0 < len(rows) <= candidates
        for k, i in enumerate(rows):
            assert native.record_ids[i] == f"{record}#{k}"
            (start,) = (s for s in range(0, len(signal) - WINDOW + 1, WINDOW)
                        if np.allclose(signal[s : s + WINDOW], native.signals[i, 0], atol=1e-6))
            rhythm = [n for s, n in notes if s <= start]
            changes = [n for s, n in notes if start < s < start + WINDOW]
            assert not changes, (record, start)  # no rhythm change inside a kept window
            in_af = bool(rhythm) and rhythm[-1] == "(AFIB"
            assert native.labels[i] == int(in_af), (record, start)
    per_record = {r: [int(y) for rid, y in zip(native.record_ids, native.labels, strict=True)
                      if record_of(rid) == r] for r in SMALL}
    assert per_record["data_8_4"] == [1] * 4 and per_record["data_35_6"] == [0] * 13
    assert sorted(per_record["data_101_6"]) == [0, 0, 0, 1, 1]  # 6 of 11 windows straddle
    assert sorted(per_record["data_92_12"]) == [0, 1]


def test_masks_are_neurokit_and_p_is_never_trusted_inside_af(native) -> None:
    assert set(native.masks) == set(MASK_NAMES) and native.annotated is None
    end = round(ATRIAL_WINDOW_MS[1] / 1000 * FS)
    trusted_p_seen = False
    for i in range(len(native)):
        _, p_ends = run_bounds(native.masks["p_wave"][i, 0])
        qrs_starts, _ = run_bounds(native.masks["qrs"][i, 0])
        assert 5 <= len(qrs_starts) <= 30  # 10 s at 30-180 bpm
        p_ends = p_ends[p_ends + end < WINDOW - 1]
        gaps = np.abs(qrs_starts[None, :] - (p_ends[:, None] - 1) - end).min(axis=1)
        if native.labels[i] == 1:
            assert (gaps <= 1).all()  # every p_wave run is the atrial window of a QRS
        else:
            trusted_p_seen |= bool((gaps > 1).any())  # NeuroKit2's own P waves
        assert not (native.masks["p_wave"][i] & native.masks["qrs"][i]).any()
    assert trusted_p_seen


def test_lead_ii_and_unknown_leads(small_set: Path, cache: Path, tmp_path: Path) -> None:
    lead_i = CPSC2021(path=small_set, cache_dir=cache).load("all", fs=FS, duration_s=10.0)
    lead_ii = CPSC2021(path=small_set, cache_dir=cache, lead="ii").load(
        "all", fs=FS, duration_s=10.0)
    assert lead_ii.record_ids == lead_i.record_ids
    assert np.array_equal(lead_ii.labels, lead_i.labels)
    assert not np.allclose(lead_ii.signals, lead_i.signals)
    with pytest.raises(DatasetError, match=r"^cpsc2021: unknown lead 'V1'; leads: I, II$"):
        CPSC2021(path=small_set, lead="V1")
    renamed = copy_records(small_set, tmp_path / "renamed", ("data_8_4",))
    header = renamed / "data_8_4.hea"
    header.write_text(header.read_text().replace(" 0 II\n", " 0 V1\n"))
    data = CPSC2021(path=renamed, cache_dir=cache, lead="II").load("all", fs=FS, duration_s=10.0)
    assert data.skipped == {"data_8_4": "lead 'II' not in record; leads: I, V1"}


def test_resampling_to_the_suite_rate(small_set: Path, cache: Path) -> None:
    base = CPSC2021(path=small_set, cache_dir=cache).load("all", fs=FS, duration_s=10.0)
    data = CPSC2021(path=small_set, cache_dir=cache).load("all", fs=250.0, duration_s=10.0)
    assert data.signals.shape == (24, 1, 2500) and data.record_ids == base.record_ids
    assert np.array_equal(data.labels, base.labels) and data.fs == 250.0
    ratio = data.masks["qrs"].sum() / base.masks["qrs"].sum()
    assert 1.2 < ratio < 1.3


def test_af_episode_rule() -> None:
    only_afib = af_episodes([0, 30, 99], ["(AFIB", "None", ""], 1000, ("(AFIB",))
    assert only_afib.tolist() == [[0, 1000]]  # AF to the record's end
    paroxysmal = af_episodes([100, 400, 600], ["(AFIB", "(N", "(AFIB"], 1000, ("(AFIB",))
    assert paroxysmal.tolist() == [[100, 400], [600, 1000]]
    assert af_episodes([5], ["(N"], 1000, ("(AFIB",)).shape == (0, 2)
    rhythms = window_rhythms([0, 100, 300, 350, 600, 900], 100, 1000, paroxysmal)
    assert rhythms.tolist() == [NON_AF, AF, AF, STRADDLES, AF, AF]


def test_bad_input_is_one_line_naming_the_record(small_set: Path, cache: Path,
                                                 tmp_path: Path) -> None:
    import wfdb

    data_dir = copy_records(small_set, tmp_path / "bad", ("data_8_4", "data_92_12", "data_35_6"))
    (data_dir / "data_8_4.atr").unlink()
    ann = wfdb.rdann(str(data_dir / "data_92_12"), "atr")
    late = ann.sample.copy()
    late[-1] = 9779 + 50
    wfdb.wrann("data_92_12", "atr", late, symbol=ann.symbol, aux_note=ann.aux_note,
               write_dir=str(data_dir))
    (data_dir / "RECORDS").write_text("data_8_4\ndata_92_12\ndata_35_6\nrecord7\n")
    data = CPSC2021(path=data_dir, cache_dir=cache).load("all", fs=FS, duration_s=10.0)
    assert {record_of(r) for r in data.record_ids} == {"data_35_6"}
    assert data.skipped["data_8_4"].startswith(
        f"missing or unreadable annotation {data_dir}/data_8_4.atr (it holds the AF episodes)")
    assert data.skipped["data_92_12"] == (f"annotation {data_dir}/data_92_12.atr marks sample "
                                          "9829, outside the signal's 9779 samples")
    assert data.skipped["record7"] == "record name 'record7' (RECORDS) is not data_<patient>_<n>"
    assert all("\n" not in reason for reason in data.skipped.values())
    assert set(CPSC2021(path=data_dir).check().skipped) == {"data_8_4", "data_92_12", "record7"}
    with pytest.raises(BadRecordError, match=r"^record record7: record name"):
        CPSC2021(path=data_dir, on_bad_record="error").load("all", fs=FS, duration_s=10.0)
