"""Malformed WFDB records and label files: each damage is a counted skip or a one-line error
naming the record, in ``data check`` and before the first stage of ``run``; skipped records
are counted per split; duplicate LUDB listings are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_runs import cli, micro_suite, one_line_error
from damaged_records import (
    BAD,
    RECORDS,
    cinc_copy,
    edit_header,
    signal_bytes,
    write_reference,
    write_signal,
)

from xecgbench.run.store import ResultsStore

#: name -> (damage, culprit the output must name)
WFDB_CASES = {
    "fs 0": (lambda p: edit_header(p, " 300 ", " 0 "), BAD),
    "fs text": (lambda p: edit_header(p, " 300 ", " abc "), BAD),
    "fs negative": (lambda p: edit_header(p, " 300 ", " -300 "), BAD),
    "fs inf": (lambda p: edit_header(p, " 300 ", " inf "), BAD),
    "fs huge": (lambda p: edit_header(p, " 300 ", " 1e9 "), BAD),
    "length 0": (lambda p: edit_header(p, " 300 9000", " 300 0"), BAD),
    "length text": (lambda p: edit_header(p, " 300 9000", " 300 many"), BAD),
    "length missing": (lambda p: (p / f"{BAD}.hea").write_text(
        f"{BAD} 1 300\n{BAD}.mat 16+24 1000/mV 16 0 0 0 0 ECG\n"), BAD),
    "length huge": (lambda p: edit_header(p, " 300 9000", " 300 99999999"), BAD),
    "gain 0": (lambda p: edit_header(p, "1000/mV", "0/mV"), BAD),
    "gain text": (lambda p: edit_header(p, "1000/mV", "abc/mV"), BAD),
    "format text": (lambda p: edit_header(p, "16+24", "xx+24"), BAD),
    "format unknown": (lambda p: edit_header(p, "16+24", "999+24"), BAD),
    "format missing": (lambda p: (p / f"{BAD}.hea").write_text(
        f"{BAD} 1 300 9000\n{BAD}.mat\n"), BAD),
    "name mismatch": (lambda p: edit_header(p, f"{BAD} 1", "A00001 1"), BAD),
    "signals 0": (lambda p: edit_header(p, f"{BAD} 1 ", f"{BAD} 0 "), BAD),
    "signals text": (lambda p: edit_header(p, f"{BAD} 1 ", f"{BAD} x "), BAD),
    "signals missing": (lambda p: edit_header(p, f"{BAD} 1 ", f"{BAD} 2 "), BAD),
    "header empty": (lambda p: (p / f"{BAD}.hea").write_text(""), BAD),
    "header binary": (lambda p: (p / f"{BAD}.hea").write_bytes(b"\x00\xff\x10garbage"), BAD),
    "header not ascii": (lambda p: (p / f"{BAD}.hea").write_bytes("A00004 1 300 éé\n".encode()),
                         BAD),
    "header missing": (lambda p: (p / f"{BAD}.hea").unlink(), BAD),
    "header is a directory": (lambda p: ((p / f"{BAD}.hea").unlink(),
                                         (p / f"{BAD}.hea").mkdir()), BAD),
    "file outside": (lambda p: edit_header(p, f"{BAD}.mat", "../A00001.mat"), BAD),
    "signal missing": (lambda p: (p / f"{BAD}.mat").unlink(), BAD),
    "signal empty": (lambda p: write_signal(p, b""), BAD),
    "signal truncated": (lambda p: write_signal(p, signal_bytes(p)[:5000]), BAD),
    "signal NaN": (lambda p: write_signal(
        p, signal_bytes(p)[:224] + b"\x00\x80" * 50 + signal_bytes(p)[324:]), BAD),
    "signal flat": (lambda p: write_signal(p, signal_bytes(p)[:24] + b"\x05\x00" * (
        (len(signal_bytes(p)) - 24) // 2)), BAD),
    "signal is a directory": (lambda p: ((p / f"{BAD}.mat").unlink(),
                                         (p / f"{BAD}.mat").mkdir()), BAD),
    "label conflicting": (lambda p: write_reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + f"{BAD},N\n"), BAD),
    "label duplicated": (lambda p: write_reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + f"{BAD},A\n"), BAD),
    "label unknown": (lambda p: write_reference(p, "".join(
        f"{r},{'X' if r == BAD else c}\n" for r, c in RECORDS.items())), BAD),
    "label empty": (lambda p: write_reference(p, "".join(
        f"{r},{'' if r == BAD else c}\n" for r, c in RECORDS.items())), BAD),
    "label path traversal": (lambda p: write_reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + "../../etc/passwd,N\n"),
        "../../etc/passwd"),
    "label record absent": (lambda p: write_reference(
        p, "".join(f"{r},{c}\n" for r, c in RECORDS.items()) + "A09999,N\n"), "A09999"),
    "labels not utf-8": (lambda p: (p / "REFERENCE.csv").write_bytes(b"\xff\xfe\x00A\x00,"),
                         "REFERENCE.csv"),
    "labels missing": (lambda p: (p / "REFERENCE.csv").unlink(), "REFERENCE.csv"),
    "labels empty": (lambda p: write_reference(p, ""), "REFERENCE.csv"),
}


@pytest.fixture(scope="module")
def delineation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("delineation")


@pytest.mark.data
@pytest.mark.parametrize("case", sorted(WFDB_CASES))
def test_malformed_wfdb_through_data_check_and_run(
        case: str, shared_data: Path, tmp_path: Path, delineation_cache: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XECGBENCH_CACHE", str(delineation_cache))
    damage, culprit = WFDB_CASES[case]
    data = cinc_copy(shared_data, tmp_path / "cinc2017")
    damage(data)
    code, out, err = cli(capsys, "data", "check", "cinc2017", "--path", str(data), "--json")
    assert "Traceback" not in out + err
    if code == 0:  # a counted skip that names the record
        report = json.loads(out)
        assert culprit in report["skipped"], report
    else:
        one_line_error(code, err, culprit)
    # run with the error policy: it stops before the first stage, naming the culprit
    dataset = f"{{name: cinc2017, params: {{path: '{data}', on_bad_record: error}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, out, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, culprit)
    assert not (tmp_path / "out" / "results.sqlite").exists()


@pytest.mark.data
def test_skipped_records_are_counted_per_split_in_the_run(
        shared_data: Path, tmp_path: Path, delineation_cache: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Header faults and a record NeuroKit2 cannot delineate are in the run's provenance."""
    import numpy as np

    monkeypatch.setenv("XECGBENCH_CACHE", str(delineation_cache))
    records = {**RECORDS, "A00013": "O", "A00015": "A", "A00019": "N", "A00027": "A"}
    data = tmp_path / "cinc2017"
    data.mkdir()
    for record in records:
        for suffix in (".hea", ".mat"):
            shutil.copy(shared_data / "cinc2017" / f"{record}{suffix}", data)
    write_reference(data, "".join(f"{r},{c}\n" for r, c in records.items()))
    edit_header(data, " 300 ", " 0 ")  # BAD: sampling frequency 0
    body = (data / "A00019.mat").read_bytes()  # a smooth, slow wave: nothing to delineate
    slow = (np.sin(np.linspace(0, 2 * np.pi, (len(body) - 24) // 2)) * 800).astype("<i2")
    (data / "A00019.mat").write_bytes(body[:24] + slow.tobytes())
    dataset = f"{{name: cinc2017, params: {{path: '{data}', test_fraction: 0.3}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, _, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    assert code == 0, err
    with ResultsStore(tmp_path / "out" / "results.sqlite") as store:
        record = store.runs()[-1]["provenance"]["data"]
    excluded = {**record["train"]["excluded_records"], **record["test"]["excluded_records"]}
    assert "field 'sampling frequency'" in excluded[BAD]
    assert "NeuroKit2" in excluded["A00019"] or "R peaks" in excluded["A00019"]
    total = record["train"]["excluded"] + record["test"]["excluded"]
    assert total == 2 and record["train"]["records"] + record["test"]["records"] == 7


@pytest.mark.data
def test_unwritable_delineation_cache_is_not_a_bad_record(
        shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the delineation cache should be")
    monkeypatch.setenv("XECGBENCH_CACHE", str(blocker))
    data = cinc_copy(shared_data, tmp_path / "cinc2017")
    dataset = f"{{name: cinc2017, params: {{path: '{data}'}}}}"
    suite = micro_suite(tmp_path / "s.yaml", dataset=dataset, fs="100", duration="9")
    code, _, err = cli(capsys, "run", str(suite), "--out", str(tmp_path / "out"), "--quiet")
    one_line_error(code, err, str(blocker))
    assert "A0000" not in err  # no record is blamed for the disk
    assert not list(tmp_path.rglob("*.tmp.npz"))


@pytest.mark.data
def test_ludb_duplicate_listings_are_named(shared_data: Path, tmp_path: Path) -> None:
    from xecgbench_builtin.data.ludb import LUDB

    source, target = shared_data / "ludb", tmp_path / "ludb"
    (target / "data").mkdir(parents=True)
    for record in ("1", "2"):
        for path in (source / "data").glob(f"{record}.*"):
            shutil.copy(path, target / "data")
    (target / "RECORDS").write_text("data/1\ndata/2\ndata/1\n")
    shutil.copy(source / "ludb.csv", target / "ludb.csv")
    report = LUDB(path=target).check()
    assert "listed more than once in RECORDS" in report.skipped["data/1"]
    assert "data/2" not in report.skipped
    import pandas as pd

    table = pd.read_csv(source / "ludb.csv", dtype={"ID": str})
    pd.concat([table, table[table["ID"] == "2"]]).to_csv(target / "ludb.csv", index=False)
    (target / "RECORDS").write_text("data/1\ndata/2\n")
    report = LUDB(path=target).check()
    assert "listed more than once in ludb.csv" in report.skipped["data/2"]
