"""LUDB loader: masks equal the expert annotations, annotated span, leads, labels, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from xecgbench_builtin.data.ecg_windows import BadRecordError, DatasetError
from xecgbench_builtin.data.fiducial_events import run_bounds
from xecgbench_builtin.data.ludb import LUDB, LUDB_LEADS

FS = 500.0
R_WIDTH_MS = 40.0


def expert_masks(annotation_base: Path, lead: str, n: int) -> dict[str, np.ndarray]:
    """Masks written straight from the annotation file, beat by beat (the reference)."""
    import wfdb

    ann = wfdb.rdann(str(annotation_base), lead)
    symbols, samples = list(ann.symbol), list(ann.sample)
    masks = {k: np.zeros(n, dtype=bool) for k in ("p_wave", "qrs", "t_wave", "r_peak")}
    names = {"p": "p_wave", "N": "qrs", "t": "t_wave"}
    half = round(R_WIDTH_MS / 2000 * FS)
    for i, symbol in enumerate(symbols):
        if symbol not in names:
            continue
        start = samples[i - 1] if i > 0 and symbols[i - 1] == "(" else samples[i]
        end = samples[i + 1] if i + 1 < len(symbols) and symbols[i + 1] == ")" else samples[i]
        masks[names[symbol]][start : end + 1] = True
        if symbol == "N":
            masks["r_peak"][max(samples[i] - half, 0) : samples[i] + half + 1] = True
    masks["annotated"] = np.zeros(n, dtype=bool)
    masks["annotated"][min(samples) : max(samples) + 1] = True
    return masks


@pytest.fixture(scope="module")
def ludb_all(shared_data: Path):
    return LUDB(path=shared_data / "ludb", r_peak_width_ms=R_WIDTH_MS).load(
        "all", fs=FS, duration_s=10.0)


def test_masks_equal_the_expert_annotations(ludb_all, shared_data: Path) -> None:
    assert len(ludb_all) == 160 and not ludb_all.skipped
    assert ludb_all.signals.shape == (160, 1, 5000)
    checked = 0
    for i, window_id in enumerate(ludb_all.record_ids):
        record = window_id.split("#")[0]
        expected = expert_masks(shared_data / "ludb" / record, "ii", 5000)
        assert np.array_equal(ludb_all.annotated[i, 0], expected.pop("annotated")), record
        for name, mask in expected.items():
            if name == "p_wave" and ludb_all.labels[i] == 1:
                continue  # AF: the atrial window instead, tested below
            assert np.array_equal(ludb_all.masks[name][i, 0], mask), (record, name)
        checked += 1
    assert checked == 160


def test_annotated_span_is_partial(ludb_all) -> None:
    share = ludb_all.annotated.mean(axis=(1, 2))
    assert 0.4 < share.mean() < 0.9 and (share < 1).all()
    for name, mask in ludb_all.masks.items():
        if name in ("qrs", "t_wave"):  # r_peak is widened; AF p_wave is a window
            assert not (mask & ~ludb_all.annotated).any(), name


def test_af_labels_and_atrial_windows(ludb_all, shared_data: Path) -> None:
    import pandas as pd

    table = pd.read_csv(shared_data / "ludb" / "ludb.csv", dtype={"ID": str})
    af_ids = {i for i, r in zip(table["ID"], table["Rhythms"], strict=True)
              if str(r).startswith("Atrial fibrillation")}
    loaded_af = {rid.split("#")[0].split("/")[-1] for rid, y in
                 zip(ludb_all.record_ids, ludb_all.labels, strict=True) if y == 1}
    assert loaded_af and loaded_af <= af_ids and len(loaded_af) == 12
    for i in np.flatnonzero(ludb_all.labels == 1):
        p, qrs = ludb_all.masks["p_wave"][i, 0], ludb_all.masks["qrs"][i, 0]
        assert p.any() and not (p & qrs).any()
        assert not (p & ~ludb_all.annotated[i, 0]).any()
        _, p_ends = run_bounds(p)
        qrs_starts, _ = run_bounds(qrs)
        assert np.isin(p_ends - 1 + 15, qrs_starts).all()  # 30 ms before an onset


def test_rhythm_classes_come_from_the_rhythms_column(ludb_all, shared_data: Path) -> None:
    """AF as labelled, N for every rhythm of sinus origin, O for the rest (atrial flutter)."""
    import pandas as pd

    table = pd.read_csv(shared_data / "ludb" / "ludb.csv", dtype={"ID": str})
    rhythm = {i: str(r).splitlines()[0] for i, r in zip(table["ID"], table["Rhythms"],
                                                       strict=True)}
    for window_id, label, rhythm_class in zip(ludb_all.record_ids, ludb_all.labels,
                                              ludb_all.rhythm_class, strict=True):
        named = rhythm[window_id.split("#")[0].split("/")[-1]]
        expected = "AF" if label == 1 else "N" if "sinus" in named.lower() else "O"
        assert rhythm_class == expected, (window_id, named)
    assert set(ludb_all.rhythm_class.tolist()) == {"N", "O", "AF"}


def test_af_atrial_window_can_be_switched_off(shared_data: Path) -> None:
    data = LUDB(path=shared_data / "ludb", limit=12, atrial_window_in_af=False).load(
        "all", fs=FS, duration_s=10.0)
    assert (data.labels == 1).any()
    assert not data.masks["p_wave"][data.labels == 1].any()


def test_resampling_scales_the_masks(shared_data: Path) -> None:
    dataset = LUDB(path=shared_data / "ludb", limit=6, normalise="none")
    full = dataset.load("all", fs=FS, duration_s=10.0)
    half = dataset.load("all", fs=250.0, duration_s=10.0)
    assert half.signals.shape == (6, 1, 2500) and half.record_ids == full.record_ids
    for name in ("qrs", "annotated"):
        a = full.masks[name] if name != "annotated" else full.annotated
        b = half.masks[name] if name != "annotated" else half.annotated
        assert abs(b.sum() * 2 - a.sum()) <= 2 * a.shape[0] * 20  # rounding: ≤1 sample per edge


def test_other_leads_and_unknown_lead(shared_data: Path) -> None:
    ii = LUDB(path=shared_data / "ludb", limit=3).load("all", fs=FS, duration_s=10.0)
    v1 = LUDB(path=shared_data / "ludb", limit=3, lead="V1").load("all", fs=FS, duration_s=10.0)
    assert v1.record_ids == ii.record_ids and not np.array_equal(v1.signals, ii.signals)
    with pytest.raises(DatasetError, match=r"unknown lead 'v7'; leads: i, ii, iii, avr") as info:
        LUDB(path=shared_data / "ludb", lead="v7")
    assert all(lead in str(info.value) for lead in LUDB_LEADS)


def test_splits_keep_af_on_both_sides(shared_data: Path) -> None:
    dataset = LUDB(path=shared_data / "ludb")
    train, test = dataset.records("train")[0], dataset.records("test")[0]
    assert len(train) + len(test) == 160 and len(test) == 32
    assert sum(e.label for e in test) in (2, 3) and sum(e.label for e in train) in (9, 10)


@pytest.fixture
def small(shared_data: Path, tmp_path: Path) -> Path:
    """Three LUDB records (1, 2, 4) copied with their annotations."""
    source, target = shared_data / "ludb", tmp_path / "ludb"
    (target / "data").mkdir(parents=True)
    for record in ("1", "2", "4"):
        for path in (source / "data").glob(f"{record}.*"):
            shutil.copy(path, target / "data" / path.name)
    shutil.copy(source / "ludb.csv", target / "ludb.csv")
    (target / "RECORDS").write_text("data/1\ndata/2\ndata/4\n")
    return target


def test_bad_ludb_records(small: Path) -> None:
    (small / "data" / "2.ii").unlink()
    (small / "RECORDS").write_text("data/1\ndata/2\ndata/4\ndata/999\n")
    data = LUDB(path=small).load("all", fs=FS, duration_s=10.0)
    assert data.record_ids == ("data/1#0", "data/4#0")
    assert "missing or corrupt annotation" in data.skipped["data/2"]
    assert data.skipped["data/999"] == "no row in ludb.csv"
    assert "data/2" in LUDB(path=small).check().skipped
    with pytest.raises(BadRecordError, match="record data/"):
        LUDB(path=small, on_bad_record="error").load("all", fs=FS, duration_s=10.0)
    (small / "ludb.csv").unlink()
    with pytest.raises(DatasetError, match=r"ludb\.csv is missing"):
        LUDB(path=small).load("all", fs=FS, duration_s=10.0)
