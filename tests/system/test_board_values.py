"""The absurd in a board is refused when read (issue 32, items 5-8): scores outside their
metric's range, labels outside {0, 1}, negative chance, an empty or mistyped model index,
model files that would inflate past their budget, windows whose arrays disagree.

Every case tampers a copy of the committed ``smoke-verify`` board *with* its published files
(``models.json``, ``models/``, ``windows.npz``, ``probabilities.parquet``), reseals it as an
attacker would, and runs ``leaderboard validate`` through :func:`test_board_fuzz._in_child`:
exit 2, one line naming the file and the field, no traceback, bounded time and memory, nothing
written. Before, every one of them was "valid".
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_board_fuzz import CASES as BOARD_CASES
from test_board_fuzz import SOURCE, _in_child, _seal, _snapshot, assert_refused

PUBLISHED = ("models.json", "windows.npz", "probabilities.parquet")


def _table(name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        frame = edit(pd.read_parquet(board / name))
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), board / name)
    return damage


def _scores(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    return _table("scores.parquet", edit)


def _where(column: str, metric: str | None, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """``column`` set to ``value`` on the rows of ``metric`` (every row with one if None)."""
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame["metric"] == metric if metric else frame[column].notna()
        frame.loc[rows.to_numpy().nonzero()[0][:1], column] = value
        return frame
    return edit


def _models(edit: Callable[[list[dict]], object]) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        rows = json.loads((board / "models.json").read_text())
        result = edit(rows)
        (board / "models.json").write_text(json.dumps(rows if result is None else result))
    return damage


def _model_bytes(data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """The first model file replaced (and re-indexed with its new SHA-256)."""
    def damage(board: Path) -> None:
        import hashlib

        rows = json.loads((board / "models.json").read_text())
        path = board / rows[0]["file"]
        new = data(path.read_bytes())
        path.write_bytes(new)
        rows[0]["sha256"] = hashlib.sha256(new).hexdigest()
        (board / "models.json").write_text(json.dumps(rows))
    return damage


def _declares(size: int) -> Callable[[bytes], bytes]:
    """The archive's first member made to declare ``size`` unpacked bytes in the zip
    directory (a deflate bomb as the reader sees it, without building one)."""
    def patch(data: bytes) -> bytes:
        at = data.index(b"PK\x01\x02")
        return data[:at + 24] + struct.pack("<I", size) + data[at + 28:]
    return patch


def _windows(edit: Callable[[dict[str, np.ndarray]], object]) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        with np.load(board / "windows.npz") as archive:
            arrays = {k: archive[k] for k in archive.files}
        edit(arrays)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        (board / "windows.npz").write_bytes(buffer.getvalue())
    return damage


def _set(key: str, value: object) -> Callable[[dict[str, np.ndarray]], None]:
    return lambda arrays: arrays.__setitem__(key, np.asarray(value))


def _poke(key: str, index: tuple[int, ...], value: object) -> Callable[[dict], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[key] = arrays[key].copy()
        arrays[key][index] = value
    return edit


def _many_windows(frame: pd.DataFrame) -> pd.DataFrame:
    """40,000 distinct windows of one method: 640 MiB of bootstrap weights at 2,000 draws."""
    row = frame[frame["metric"] == "relevance_mass_accuracy"].iloc[:1]
    many = row.loc[row.index.repeat(40_000)].reset_index(drop=True)
    many["sample"] = np.arange(40_000) + 1_000
    many["record_id"] = [f"r{i}" for i in range(40_000)]
    return pd.concat([frame, many], ignore_index=True)


def _metric_record(**fields: object) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        record = json.loads((board / "run.json").read_text())
        record["metrics"]["accuracy"].update(fields)
        (board / "run.json").write_text(json.dumps(record))
    return damage


def _pickled_windows(board: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("signals.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order'"
                         b": False, 'shape': (1,), }" + b" " * 60 + b"\n" + b"\x80\x04N.")
    (board / "windows.npz").write_bytes(buffer.getvalue())


#: name -> (damage, what the one error line must name)
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    # scores (issue 32 item 8: published as they were)
    "score 1e308": (_scores(_where("value", "relevance_mass_accuracy", 1e308)), "'value'"),
    "score -1e300": (_scores(_where("value", "accuracy", -1e300)), "'value'"),
    "accuracy 5": (_scores(_where("value", "accuracy", 5.0)), "range [0, 1]"),
    "accuracy -0.5": (_scores(_where("value", "accuracy", -0.5)), "range [0, 1]"),
    "f1 1.0001": (_scores(_where("value", "f1_af", 1.0001)), "range [0, 1]"),
    "localisation 2": (_scores(_where("value", "relevance_mass_accuracy", 2.0)), "range"),
    "label 7.5": (_scores(_where("label", None, 7.5)), "'label'"),
    "label -1": (_scores(_where("label", None, -1.0)), "'label'"),
    "label 0.5": (_scores(_where("label", None, 0.5)), "'label'"),
    "chance -3": (_scores(_where("chance", None, -3.0)), "'chance'"),
    "chance 5": (_scores(_where("chance", None, 5.0)), "'chance'"),
    "chance -1e-9": (_scores(_where("chance", None, -1e-9)), "'chance'"),
    "declared range refuses 0.9": (lambda b: (_metric_record(value_range=[0, 0.5])(b), _scores(
        _where("value", "accuracy", 0.9))(b)), "range [0, 0.5]"),
    "declared range inverted": (_metric_record(value_range=[1, 0]), "value_range"),
    "declared range NaN": (_metric_record(value_range=[0, float("nan")]), "value_range"),
    "declared range of three": (_metric_record(value_range=[0, 1, 2]), "value_range"),
    "40,000 windows of one method": (_scores(_many_windows), "bootstrap"),
    "probability label 7.5": (_table("probabilities.parquet", _where("label", None, 7.5)),
                              "probabilities.parquet"),
    "probability 1.5": (_table("probabilities.parquet", _where("probability", None, 1.5)),
                        "probabilities.parquet"),
    # the model index
    "models.json []": (_models(lambda rows: []), "lists no models"),
    "models.json {}": (_models(lambda rows: {}), "list of models"),
    "models.json file 12345": (_models(lambda rows: rows[0].update(file=12345)), "'file'"),
    "models.json file ''": (_models(lambda rows: rows[0].update(file="")), "'file'"),
    "models.json seed text": (_models(lambda rows: rows[0].update(seed="0")), "'seed'"),
    "models.json seed 1e30": (_models(lambda rows: rows[0].update(seed=1e30)), "'seed'"),
    "models.json seed true": (_models(lambda rows: rows[0].update(seed=True)), "'seed'"),
    "models.json sha not hex": (_models(lambda rows: rows[0].update(sha256="z" * 64)),
                                "'sha256'"),
    "models.json extra field": (_models(lambda rows: rows[0].update(extra=1)), "model 0"),
    "models.json row a list": (_models(lambda rows: [[1, 2]]), "model 0"),
    "models.json file outside": (_models(lambda rows: rows[0].update(
        file="../run.json")), "not inside models/"),
    "models.json file missing": (_models(lambda rows: rows[0].update(file="models/x.pt")),
                                 "x.pt"),
    "model file changed": (lambda b: (b / json.loads((b / "models.json").read_text())[0][
        "file"]).write_bytes(b"PK"), "SHA-256"),
    # model files: budgets from the zip directory before torch inflates anything
    "model declares 4 GB": (_model_bytes(_declares(0xFFFFFFF0)), ".pt"),
    "model declares 300 MB": (_model_bytes(_declares(300 << 20)), ".pt"),
    "model not a zip": (_model_bytes(lambda data: b"\x80\x02}q\x00." * 10), "zip"),
    # windows.npz: every array by shape, type and value
    "windows labels 7": (_windows(_poke("labels", (0,), 7)), "'labels'"),
    "windows all_labels 7": (_windows(_poke("all_labels", (0,), 7)), "'all_labels'"),
    "windows all_labels -1": (_windows(_poke("all_labels", (1,), -1)), "'all_labels'"),
    "windows labels 2-D": (_windows(lambda a: a.__setitem__("labels", a["labels"][:, None])),
                           "'labels'"),
    "windows inf sample": (_windows(_poke("signals", (0, 0, 5), np.inf)), "'signals'"),
    "windows NaN sample": (_windows(_poke("signals", (3, 0, 7), np.nan)), "'signals'"),
    "windows signals 2-D": (_windows(lambda a: a.__setitem__("signals", a["signals"][:, 0])),
                            "'signals'"),
    "windows signals int": (_windows(lambda a: a.__setitem__(
        "signals", a["signals"].astype(np.int32))), "'signals'"),
    "windows signals text": (_windows(_set("signals", [["a"]])), "'signals'"),
    "windows mask shape": (_windows(lambda a: a.__setitem__(
        "mask_qrs", a["mask_qrs"][:, :, :300])), "'mask_qrs'"),
    "windows mask not bool": (_windows(lambda a: a.__setitem__(
        "mask_p_wave", a["mask_p_wave"].astype(np.float32))), "'mask_p_wave'"),
    "windows record_ids short": (_windows(lambda a: a.__setitem__(
        "record_ids", a["record_ids"][:3])), "'record_ids'"),
    "windows record_ids numbers": (_windows(lambda a: a.__setitem__(
        "record_ids", np.arange(len(a["record_ids"])))), "'record_ids'"),
    "windows index longer": (_windows(lambda a: a.__setitem__(
        "index", np.concatenate([a["index"], a["index"][:1]]))), "'index'"),
    "windows index past the end": (_windows(_poke("index", (0,), 10**6)), "'index'"),
    "windows fs 0": (_windows(_set("fs", 0.0)), "'fs'"),
    "windows fs inf": (_windows(_set("fs", np.inf)), "'fs'"),
    "windows fs a list": (_windows(_set("fs", [50.0, 60.0])), "'fs'"),
    "windows 4e6 evaluation windows": (_windows(lambda a: a.__setitem__(
        "all_labels", np.zeros(4_000_000, np.int8))), "'all_labels'"),
    "windows missing signals": (_windows(lambda a: a.pop("signals")), "'signals'"),
    "windows declares 4 GB": (lambda b: (b / "windows.npz").write_bytes(_declares(0xFFFFFFF0)(
        (b / "windows.npz").read_bytes())), "unpacked"),
    "windows pickled object": (_pickled_windows, "windows.npz"),
    "windows not a zip": (lambda b: (b / "windows.npz").write_bytes(b"no zip"), "zip"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_absurd_board_is_one_line(case: str, tmp_path: Path) -> None:
    damage, names = CASES[case]
    board = tmp_path / "boards" / "smoke-verify"
    board.mkdir(parents=True)
    for name in ("run.json", "scores.parquet", *PUBLISHED):
        shutil.copy(SOURCE / name, board / name)
    shutil.copytree(SOURCE / "models", board / "models")
    damage(board)
    _seal(board)
    before = _snapshot(tmp_path)
    assert_refused(case, _in_child(["leaderboard", "validate", str(board)], tmp_path), names)
    assert _snapshot(tmp_path) == before, f"{case}: wrote under {tmp_path}"


def test_the_whole_published_board_is_valid_and_the_corpus_is_large(tmp_path: Path) -> None:
    """The undamaged board with every published file passes (each case fails on its own
    damage), and the corpora of issue 32 hold >= 100 attacks together."""
    from test_hostile_plugins import FAILURES
    from test_hostile_suites import CASES as SUITE_CASES

    assert len(CASES) + len(BOARD_CASES) + len(SUITE_CASES) + len(FAILURES) >= 100
    board = tmp_path / "smoke-verify"
    board.mkdir()
    for name in ("run.json", "scores.parquet", *PUBLISHED):
        shutil.copy(SOURCE / name, board / name)
    shutil.copytree(SOURCE / "models", board / "models")
    _seal(board)
    report = _in_child(["leaderboard", "validate", str(board)], tmp_path)
    assert report["code"] == 0, report
