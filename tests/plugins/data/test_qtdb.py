"""QTDB loader on the real records: windows around the marked beats, masks equal to annotator
1's marks and only inside ``annotated``, the lead rule, q2c, resampling and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from xecgbench.plugins.components import MASK_NAMES, Dataset
from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducial_events import run_bounds
from xecgbench_builtin.data.qtdb import QTDB

FS = 250.0
WINDOW = 2500
R_WIDTH_MS = 40.0


@pytest.fixture(scope="module")
def qtdb(shared_data: Path) -> Path:
    path = shared_data / "qtdb"
    if not path.is_dir():
        pytest.skip(f"QT Database fixture not found at {path}")
    return path


@pytest.fixture(scope="module")
def native(qtdb: Path):
    """Every record at its own 250 Hz in millivolts, so windows can be found in the record."""
    return QTDB(path=qtdb, normalise="none").load("all", fs=FS, duration_s=10.0)


def expert_masks(base: Path, annotator: str, n: int) -> dict[str, np.ndarray]:
    """Masks written straight from the annotation file, mark by mark (the reference)."""
    import wfdb

    ann = wfdb.rdann(str(base), annotator)
    symbols, samples = list(ann.symbol), list(ann.sample)
    masks = {k: np.zeros(n, dtype=bool) for k in MASK_NAMES}
    half = round(R_WIDTH_MS / 2000 * FS)
    for i, symbol in enumerate(symbols):
        if symbol in "()u":
            continue
        name = {"p": "p_wave", "t": "t_wave"}.get(symbol, "qrs")  # any beat symbol is a QRS
        start = samples[i - 1] if i > 0 and symbols[i - 1] == "(" else samples[i]
        end = samples[i + 1] if i + 1 < len(symbols) and symbols[i + 1] == ")" else samples[i]
        masks[name][start : end + 1] = True
        if name == "qrs":
            masks["r_peak"][max(samples[i] - half, 0) : samples[i] + half + 1] = True
    return masks


def window_start(signal: np.ndarray, window: np.ndarray) -> int:
    """Where ``window`` (float32 millivolts) begins in ``signal``."""
    view = np.lib.stride_tricks.sliding_window_view(signal.astype(np.float32), 50)
    hits = np.flatnonzero(np.all(np.isclose(view, window[:50], atol=1e-6), axis=1))
    assert len(hits) >= 1
    return int(hits[0])


def test_every_record_gives_non_af_windows_around_its_marked_beats(native, qtdb: Path) -> None:
    assert isinstance(QTDB(path=qtdb), Dataset)
    assert native.signals.shape == (312, 1, WINDOW) and not native.skipped
    records = {rid.rsplit("#", 1)[0] for rid in native.record_ids}
    assert records == set((qtdb / "RECORDS").read_text().split()) and len(records) == 70
    assert (native.labels == 0).all() and native.fs == FS
    assert {"sel821", "sel14046"} <= records  # headers with gain 0 (uncalibrated) load
    assert native.annotated is not None and native.annotated.any(axis=-1).all()


def test_masks_equal_annotator_1_and_every_beat_is_in_a_window(native, qtdb: Path) -> None:
    import wfdb

    for record in ("sel100", "sel31", "sel114", "sele0104", "sel803", "sel232"):
        signal = wfdb.rdrecord(str(qtdb / record)).p_signal
        lead = QTDB(path=qtdb).chosen_lead(record)
        names = wfdb.rdheader(str(qtdb / record)).sig_name
        signal = signal[:, names.index(lead)]
        expected = expert_masks(qtdb / record, "q1c", len(signal))
        covered = np.zeros(len(signal), dtype=bool)
        rows = [i for i, rid in enumerate(native.record_ids) if rid.startswith(f"{record}#")]
        for i in rows:
            start = window_start(signal, native.signals[i, 0])
            covered[start : start + WINDOW] = True
            for name in MASK_NAMES:
                assert np.array_equal(native.masks[name][i, 0],
                                      expected[name][start : start + WINDOW]), (record, name)
        ann = wfdb.rdann(str(qtdb / record), "q1c")
        assert covered[ann.sample].all(), record  # no marked beat left out of every window


def test_masks_lie_only_inside_the_annotated_beats(native) -> None:
    annotated = native.annotated
    for name in MASK_NAMES:
        assert not (native.masks[name] & ~annotated).any(), name
    share = annotated.mean(axis=(1, 2))
    assert (share < 1).mean() > 0.5 and 0.5 < share.mean() < 0.9  # unmarked beats stay out
    # between two consecutive marked beats the gap is ground truth: few holes inside a run
    starts, _ = zip(*(run_bounds(a[0]) for a in annotated), strict=True)
    assert np.median([len(s) for s in starts]) <= 2


def test_lead_rule_and_unnamed_signals(qtdb: Path) -> None:
    dataset = QTDB(path=qtdb)
    assert dataset.chosen_lead("sel100") == "MLII"  # MLII V5
    assert dataset.chosen_lead("sel114") == "MLII"  # V5 MLII: by name, not position
    assert dataset.chosen_lead("sele0104") == "D3"  # D3 D4
    assert dataset.chosen_lead("sele0107") == "V4"  # D3 V4: leftward precordial first
    assert dataset.chosen_lead("sel31") == "record 31, signal 0"  # "signal 0/1" headers
    assert QTDB(path=qtdb, lead="signal 1").chosen_lead("sel31") == "record 31, signal 1"
    assert QTDB(path=qtdb, lead="v5").chosen_lead("sel100") == "V5"


@pytest.fixture
def small(qtdb: Path, tmp_path: Path) -> Path:
    """Three records copied with all their files: MLII/V5, unnamed signals, and a q2c one."""
    target = tmp_path / "qtdb"
    target.mkdir()
    for record in ("sel100", "sel31", "sel117"):
        for path in qtdb.glob(f"{record}.*"):
            shutil.copy(path, target / path.name)
    (target / "RECORDS").write_text("sel100\nsel31\nsel117\n")
    return target


def test_a_named_lead_missing_from_a_record_is_a_bad_record(small: Path) -> None:
    v5 = QTDB(path=small, lead="V5").load("all", fs=FS, duration_s=10.0)
    assert {rid.rsplit("#", 1)[0] for rid in v5.record_ids} == {"sel100"}
    assert v5.skipped == {
        "sel31": "lead 'V5' not in record; leads: record 31, signal 0, record 31, signal 1",
        "sel117": "lead 'V5' not in record; leads: MLII, V2",
    }
    auto = QTDB(path=small).load("all", fs=FS, duration_s=10.0)
    first = [i for i, r in enumerate(auto.record_ids) if r.startswith("sel100#")]
    assert not np.array_equal(auto.signals[first], v5.signals)
    with pytest.raises(DatasetError, match="lead must be"):
        QTDB(path=small, lead="")


def test_resampling_scales_windows_and_masks(small: Path) -> None:
    dataset = QTDB(path=small, normalise="none")
    base = dataset.load("all", fs=FS, duration_s=10.0)
    double = dataset.load("all", fs=500.0, duration_s=10.0)
    assert double.signals.shape == (len(base), 1, 5000) and double.record_ids == base.record_ids
    for name in ("p_wave", "qrs", "t_wave"):
        a, b = base.masks[name].sum(), double.masks[name].sum()
        assert abs(b - 2 * a) <= 2 * len(base) * 20, name  # rounding: ≤ 1 sample per edge
    assert abs(double.annotated.sum() - 2 * base.annotated.sum()) <= 2 * len(base) * 40


def test_windowing_first_and_crops(small: Path) -> None:
    first = QTDB(path=small, windowing="first").load("all", fs=FS, duration_s=10.0)
    assert sorted(first.record_ids) == ["sel100#0", "sel117#0", "sel31#0"]
    with pytest.raises(DatasetError, match="'crops' does not apply"):
        QTDB(path=small, windowing="crops")


def test_second_annotator_gives_the_same_windows(small: Path) -> None:
    q1 = QTDB(path=small).load("all", fs=FS, duration_s=10.0)
    q2 = QTDB(path=small, annotator="q2c").load("all", fs=FS, duration_s=10.0)
    assert {r.rsplit("#", 1)[0] for r in q2.record_ids} == {"sel100", "sel117"}
    same = [i for i, r in enumerate(q1.record_ids) if r in q2.record_ids]
    assert q2.record_ids == tuple(q1.record_ids[i] for i in same)
    assert np.array_equal(q2.signals, q1.signals[same])
    assert not q2.masks["p_wave"].any() and q1.masks["p_wave"][same].any()  # 2 marked no P here
    assert (q2.masks["qrs"] & q1.masks["qrs"][same]).sum() > 0.8 * q2.masks["qrs"].sum()
    report = QTDB(path=small, annotator="q2c").check()
    assert report.excluded == {"no q2c": 1} and not report.skipped
    with pytest.raises(DatasetError, match="unknown annotator 'q3c'"):
        QTDB(path=small, annotator="q3c")


def test_bad_input_is_one_line_naming_the_record(small: Path) -> None:
    import wfdb

    (small / "sel31.q1c").unlink()
    ann = wfdb.rdann(str(small / "sel117"), "q1c")
    late = ann.sample.copy()
    late[-1] = 225_000 + 10
    wfdb.wrann("sel117", "qqc", late, symbol=ann.symbol, write_dir=str(small))  # wfdb writes
    (small / "sel117.qqc").replace(small / "sel117.q1c")  # only letters as an extension
    data = QTDB(path=small).load("all", fs=FS, duration_s=10.0)
    assert {r.rsplit("#", 1)[0] for r in data.record_ids} == {"sel100"}
    assert data.skipped["sel31"].startswith(f"missing or unreadable annotation {small}/sel31.q1c")
    assert data.skipped["sel117"] == (f"annotation {small}/sel117.q1c marks sample 225010, "
                                      "outside the signal's 225000 samples")
    assert all("\n" not in reason for reason in data.skipped.values())
    assert set(QTDB(path=small).check().skipped) == {"sel31", "sel117"}
    with pytest.raises(BadRecordError, match=r"^record sel31: missing or unreadable"):
        QTDB(path=small, on_bad_record="error").load("all", fs=FS, duration_s=10.0)
    (small / "RECORDS").unlink()
    with pytest.raises(DatasetError, match="RECORDS is missing"):
        QTDB(path=small).load("all", fs=FS, duration_s=10.0)
