"""Fuzz corpus of submitted boards (issue 24 item 7): every attack is one line, exit 2.

Each case damages a copy of the committed ``smoke-verify`` board and runs the real CLI
(``leaderboard validate``, ``rebuild --check``, ``build``, ``verify``) through click's runner in
a forked child, so a case costs no interpreter start-up. Asserted for every case: exit code 2,
exactly one line on stderr naming the file, no traceback, done within :data:`SECONDS`, the
child's peak memory grew by less than :data:`MEGABYTES`, and no file anywhere under the case's
temporary directory (where the symlinks point) was written.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import resource
import select
import shutil
import signal
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import xecgbench.report.rendering.html
import xecgbench.report.submission.verify_board
import xecgbench.run.runner
from xecgbench.cli import cli
from xecgbench.plugins.manager import load_plugins
from xecgbench.report.board_format.reader import SCORE_PARTS
from xecgbench.report.board_format.score_parts import MAX_ROWS

#: Imported here, before any fork: a case's time and memory are the reading, not the imports.
PRELOADED = (xecgbench.report.rendering.html, xecgbench.report.submission.verify_board,
             xecgbench.run.runner)
#: The plugins ``main`` would give the CLI (verify builds components from them).
SYSTEM = load_plugins()

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "leaderboards" / "smoke-verify"
SECONDS = 20.0
MEGABYTES = 300


# -- building a damaged board ---------------------------------------------------------------
def _seal(board: Path) -> None:
    """checksums.json as an honest exporter would write it (following links, unlike a reader),
    so each case fails on the damage it makes, not on the checksum."""
    digests = {}
    for name in ("run.json", *SCORE_PARTS, "scores.csv.gz", "examples.npz",
                 "probabilities.parquet", "models.json", "windows.npz"):
        path = board / name
        if path.is_file():
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif os.path.lexists(path):
            digests[name] = "0" * 64
    (board / "checksums.json").write_text(json.dumps({"sha256": digests}))


def _record(board: Path) -> dict:
    return json.loads((board / "run.json").read_text())


def _edit_record(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        record = _record(board)
        edit(record)
        (board / "run.json").write_text(json.dumps(record))
        _seal(board)
    return damage


def _scores(board: Path) -> pd.DataFrame:
    return pd.read_parquet(board / "scores.parquet")


def _edit_scores(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        frame = edit(_scores(board))
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                       board / "scores.parquet")
        _seal(board)
    return damage


def _as_csv(text: Callable[[str], str] = lambda t: t,
            edit: Callable[[pd.DataFrame], pd.DataFrame] = lambda f: f
            ) -> Callable[[Path], None]:
    """The board in the legacy csv.gz format, its frame and then its text edited first."""
    def damage(board: Path) -> None:
        csv = edit(_scores(board)).to_csv(index=False, lineterminator="\n")
        (board / "scores.parquet").unlink()
        (board / "scores.csv.gz").write_bytes(gzip.compress(text(csv).encode(), mtime=0))
        _seal(board)
    return damage


def _replace(name: str, data: bytes | Callable[[], bytes],
             seal: bool = True) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        (board / name).write_bytes(data() if callable(data) else data)
        if seal:
            _seal(board)
    return damage


def _link(name: str) -> Callable[[Path], None]:
    """``name`` becomes a symlink to an identical copy outside the board."""
    def damage(board: Path) -> None:
        outside = board.parent / "outside" / name
        outside.parent.mkdir(exist_ok=True)
        if (board / name).exists():
            shutil.move(board / name, outside)
        else:
            outside.write_bytes(b"{}")
        (board / name).symlink_to(os.path.relpath(outside, board))
        _seal(board)
    return damage


def _fifo(name: str) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        (board / name).unlink(missing_ok=True)
        os.mkfifo(board / name)
        _seal(board)
    return damage


def _directory(name: str) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        (board / name).unlink(missing_ok=True)
        (board / name).mkdir()
        _seal(board)
    return damage


def _sparse(name: str, size: int) -> Callable[[Path], None]:
    """A huge file that costs nothing on disk."""
    def damage(board: Path) -> None:
        with (board / name).open("r+b") as handle:
            handle.truncate(size)
        _seal(board)
    return damage


def _remove(name: str) -> Callable[[Path], None]:
    def damage(board: Path) -> None:
        (board / name).unlink()
        if name != "checksums.json":
            _seal(board)
    return damage


def _many_rows_csv(board: Path) -> None:
    """30 M rows in a few MB: one compressed million-row member, concatenated (valid gzip)."""
    header = ",".join(_scores(board).columns) + "\n"
    row = "d,0,none,none,,rhythm,accuracy,accuracy,,-1,,0.5,,\n"
    member = gzip.compress((row * 1_000_000).encode(), compresslevel=1, mtime=0)
    with (board / "scores.csv.gz").open("wb") as handle:
        handle.write(gzip.compress(header.encode(), mtime=0))
        for _ in range(30):
            handle.write(member)
    (board / "scores.parquet").unlink()
    _seal(board)


def _many_rows_parquet(board: Path, n: int = MAX_ROWS + 1, name: str = "scores.parquet"
                       ) -> None:
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), ["x"]).cast(pa.string())
    columns = {c: (pa.array(np.zeros(n, np.int64)) if c in ("seed", "sample")
                   else pa.array(np.zeros(n)) if c in ("value", "label", "chance")
                   else text) for c in _scores(board).columns}
    pq.write_table(pa.table(columns), board / name)
    _seal(board)


def _many_rows_in_parts(board: Path) -> None:
    """Two parts, each under the row limit, over it together (refused before decoding)."""
    _many_rows_parquet(board, MAX_ROWS // 2 + 1, "scores.parquet")
    _many_rows_parquet(board, MAX_ROWS // 2 + 1, "scores-2.parquet")


def _npz(**arrays: object) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in ("fs", "signals", "labels", "record_ids", "configs"):
            archive.writestr(f"{key}.npy", b"\0" * (120 << 20), compresslevel=1)
    return buffer.getvalue()


def _retired_pointer(board: Path) -> None:
    (board / "scores.external.json").write_text(json.dumps(
        {"path": "../../../etc/passwd", "sha256": "0" * 64}))


def _unlisted_examples(board: Path) -> None:
    (board / "examples.npz").write_bytes(_npz(fs=np.array(100.0)))


def _symlinked_board(board: Path) -> None:
    elsewhere = board.parent / "elsewhere"
    shutil.move(board, elsewhere)
    board.symlink_to(elsewhere, target_is_directory=True)


def _wide_csv(board: Path) -> None:
    header = ",".join(f"c{i}" for i in range(1_000_000)) + "\n"
    (board / "scores.csv.gz").write_bytes(gzip.compress(header.encode(), mtime=0))
    (board / "scores.parquet").unlink()
    _seal(board)


def _bad_parquet_footer(board: Path) -> None:
    (board / "scores.parquet").write_bytes(b"PAR1" + b"\0" * 64 + (1 << 31).to_bytes(4, "little")
                                           + b"PAR1")
    _seal(board)


def _long_line_csv(board: Path) -> None:
    header = ",".join(_scores(board).columns) + "\n"
    (board / "scores.csv.gz").write_bytes(gzip.compress((header + "x" * (100 << 20)).encode(),
                                                        compresslevel=1, mtime=0))
    (board / "scores.parquet").unlink()
    _seal(board)


def _outside_path(key: str, value: object, spec: str = "dataset") -> Callable[[Path], None]:
    """``key: value`` among the params of the dataset (or the first entry of ``spec``)."""
    def edit(record: dict) -> None:
        config = record["run"]["config"]
        target = config["data"]["dataset"] if spec == "dataset" else config[spec][0]
        target["params"][key] = value
    return _edit_record(edit)


def _declared_path(key: str, value: str) -> Callable[[Path], None]:
    """The dataset swapped for a WFDB loader whose ``key`` is annotated as a path; ``value``
    is relative (so no reader refuses it) but lands outside ``--data-dir``."""
    return _edit_record(lambda r: r["run"]["config"]["data"].update(
        dataset={"label": "", "name": "cinc2017", "params": {key: value}}))


def _config_field(dotted: str, value: object) -> Callable[[Path], None]:
    """``run.config.<dotted>`` set to ``value`` (a budget verify must refuse before work)."""
    def edit(record: dict) -> None:
        *parents, last = dotted.split(".")
        target = record["run"]["config"]
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    return _edit_record(edit)


def _linked_submissions(board: Path) -> None:
    """``submissions/`` a link to a folder outside holding a copy of the board."""
    outside = board.parent.parent / "outside-submissions"
    shutil.copytree(board, outside / "copy")
    (board / "submissions").symlink_to(outside, target_is_directory=True)


def _link_in_tree(folder: str, name: str) -> Callable[[Path], None]:
    """``folder/name`` inside the board a link to a decoy outside it."""
    def damage(board: Path) -> None:
        (board / folder).mkdir(parents=True, exist_ok=True)
        (board / folder / name).symlink_to(board.parent.parent / "decoy.txt")
    return damage


def _linked_submission_file(board: Path) -> None:
    """A real submission folder whose scores file is a link out of the board."""
    sub = board / "submissions" / "copy"
    sub.mkdir(parents=True)
    for name in ("run.json", "checksums.json"):
        shutil.copy(board / name, sub / name)
    (sub / "scores.parquet").symlink_to(board / "scores.parquet")


VALIDATE = ("leaderboard", "validate", "{board}")
CHECK = ("leaderboard", "rebuild", "--check", "{root}")
BUILD = ("leaderboard", "build", "--results", "{board}", "--format", "html",
         "--out", "{root}/report.html")
VERIFY = ("leaderboard", "verify", "{board}", "--data-dir", "{root}/data")
SITE = ("leaderboard", "site", "--boards", "{root}", "--out", "{root}/site")
#: verify with a stage time limit no stage of the smoke cell meets: the first stage fails.
VERIFY_IN_NO_TIME = (*VERIFY, "--stage-time-limit", "0.0001")

#: name -> (damage, command, file named in the error line)
CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...], str]] = {
    "run.json bad JSON": (_replace("run.json", b"{\"run\": "), VALIDATE, "run.json"),
    "run.json a list": (_replace("run.json", b"[1, 2]"), VALIDATE, "run.json"),
    "run.json binary": (_replace("run.json", bytes(range(256)) * 8), VALIDATE, "run.json"),
    "run.json empty": (_replace("run.json", b""), VALIDATE, "run.json"),
    "run.json deeply nested": (_replace("run.json", b"[" * 200_000), VALIDATE, "run.json"),
    "run.json missing field": (_edit_record(lambda r: r.pop("run")), VALIDATE, "run.json"),
    "run.json seeds: 5": (_edit_record(lambda r: r["run"]["config"].update(seeds=5)),
                          VALIDATE, "run.json"),
    "run.json seeds text": (_edit_record(lambda r: r["run"]["config"].update(seeds=["a"])),
                            CHECK, "run.json"),
    "run.json started 1e308": (_edit_record(lambda r: r["run"].update(started=1e308)),
                               VALIDATE, "run.json"),
    "run.json started NaN": (_edit_record(lambda r: r["run"].update(started=float("nan"))),
                             VALIDATE, "run.json"),
    "run.json format 2": (_edit_record(lambda r: r.update(format=2)), VALIDATE, "run.json"),
    "run.json direction text": (_edit_record(
        lambda r: next(iter(r["metrics"].values())).update(higher_is_better="maybe")),
        VALIDATE, "run.json"),
    "run.json symlink": (_link("run.json"), VALIDATE, "run.json"),
    "run.json FIFO": (_fifo("run.json"), VALIDATE, "run.json"),
    "run.json directory": (_directory("run.json"), VALIDATE, "run.json"),
    "run.json 9 MB": (_sparse("run.json", 9 << 20), VALIDATE, "run.json"),
    "checksums missing": (_remove("checksums.json"), VALIDATE, "checksums.json"),
    "checksums a list": (_replace("checksums.json", b"[]", seal=False), VALIDATE,
                         "checksums.json"),
    "checksums ../ name": (_replace("checksums.json", json.dumps(
        {"sha256": {"../run.json": "0" * 64}}).encode(), seal=False), VALIDATE,
        "checksums.json"),
    "checksums not hex": (_replace("checksums.json", json.dumps(
        {"sha256": {"run.json": "xyz"}}).encode(), seal=False), VALIDATE, "checksums.json"),
    "checksums symlink": (_link("checksums.json"), VALIDATE, "checksums.json"),
    "checksum mismatch": (_replace("run.json", b"{}", seal=False), VALIDATE, "run.json"),
    "raw file not listed": (_unlisted_examples, VALIDATE, "checksums.json"),
    "scores truncated": (lambda b: _replace(
        "scores.parquet", (b / "scores.parquet").read_bytes()[:-100])(b), VALIDATE,
        "scores.parquet"),
    "scores empty": (_replace("scores.parquet", b""), VALIDATE, "scores.parquet"),
    "scores random bytes": (_replace("scores.parquet", os.urandom(4096)), CHECK,
                            "scores.parquet"),
    "scores bad footer": (_bad_parquet_footer, VALIDATE, "scores.parquet"),
    "scores symlink": (_link("scores.parquet"), VALIDATE, "scores.parquet"),
    "scores FIFO": (_fifo("scores.parquet"), CHECK, "scores.parquet"),
    "scores directory": (_directory("scores.parquet"), VALIDATE, "scores.parquet"),
    "scores 65 MB": (_sparse("scores.parquet", 65 << 20), VALIDATE, "scores.parquet"),
    "scores over the row limit": (_many_rows_parquet, VALIDATE, "scores.parquet"),
    "score parts over the row limit": (_many_rows_in_parts, VALIDATE, "scores-2.parquet"),
    "score part after a gap": (_replace("scores-3.parquet", b"PAR1"), VALIDATE,
                               "scores-2.parquet"),
    "seed as text": (_edit_scores(lambda f: f.assign(seed=f["seed"].astype(str))), VALIDATE,
                     "scores.parquet"),
    "value as text": (_edit_scores(lambda f: f.assign(value="high")), VALIDATE,
                      "scores.parquet"),
    "unknown metric": (_edit_scores(lambda f: f.assign(metric="made_up")), VALIDATE,
                       "scores.parquet"),
    "seed not in config": (_edit_scores(lambda f: f.assign(seed=99)), VALIDATE,
                           "scores.parquet"),
    "huge seed": (_edit_scores(lambda f: f.assign(seed=2**62)), VALIDATE, "scores.parquet"),
    "infinite value": (_edit_scores(lambda f: f.assign(value=float("inf"))), VALIDATE,
                       "scores.parquet"),
    "duplicate rows": (_edit_scores(lambda f: pd.concat([f, f.iloc[:1]])), VALIDATE,
                       "scores.parquet"),
    "missing column": (_edit_scores(lambda f: f.drop(columns="metric")), VALIDATE,
                       "scores.parquet"),
    "unknown column": (_edit_scores(lambda f: f.assign(extra=1)), VALIDATE, "scores.parquet"),
    "no scores": (_remove("scores.parquet"), VALIDATE, "smoke-verify"),
    "both formats": (lambda b: (shutil.copy(b / "scores.parquet", b / "scores.csv.gz"),
                                _seal(b)), VALIDATE, "smoke-verify"),
    "retired pointer": (_retired_pointer, CHECK, "scores.external.json"),
    "csv 30 M rows": (_many_rows_csv, VALIDATE, "scores.csv.gz"),
    "csv 10^6 columns": (_wide_csv, VALIDATE, "scores.csv.gz"),
    "csv 100 MB line": (_long_line_csv, VALIDATE, "scores.csv.gz"),
    "csv truncated gzip": (lambda b: (_as_csv()(b), _replace(
        "scores.csv.gz", (b / "scores.csv.gz").read_bytes()[:-200])(b)), VALIDATE,
        "scores.csv.gz"),
    "csv not gzip": (lambda b: (_as_csv()(b), _replace("scores.csv.gz", b"a,b\n1,2\n")(b)),
                     VALIDATE, "scores.csv.gz"),
    "csv NaN seeds": (_as_csv(edit=lambda f: f.assign(seed=np.nan)), VALIDATE,
                      "scores.csv.gz"),
    "csv binary rows": (_as_csv(lambda t: t.split("\n", 1)[0] + "\n" + "\x00\xff" * 500),
                        VALIDATE, "scores.csv.gz"),
    "examples not a zip": (_replace("examples.npz", b"not a zip"), VALIDATE, "examples.npz"),
    "examples missing key": (_replace("examples.npz", _npz(fs=np.array(100.0))), BUILD,
                             "examples.npz"),
    "examples pickled": (_replace("examples.npz", _npz(
        fs=np.array(1.0), signals=np.array([{}], dtype=object), labels=np.zeros(1),
        record_ids=np.array(["a"]), configs=np.array("[]"))), VALIDATE, "examples.npz"),
    "examples zip bomb": (_replace("examples.npz", _zip_bomb), VALIDATE, "examples.npz"),
    "examples symlink": (lambda b: (_replace("examples.npz", b"x")(b), _link("examples.npz")(b)),
                         VALIDATE, "examples.npz"),
    "board dir symlink": (_symlinked_board, CHECK, "smoke-verify"),
    "verify absolute path": (_outside_path("path", "/etc"), VERIFY, "run.json"),
    "verify ../ folder": (_outside_path("folder", "../../.."), VERIFY, "run.json"),
    # issue 32 item 3: confined by what a value is, not by its key's name
    "cache_dir absolute": (_outside_path("cache_dir", "/tmp/xecgbench-cache"), VERIFY,
                           "cache_dir"),
    "cache_dir ../": (_outside_path("cache_dir", "../../cache"), VALIDATE, "cache_dir"),
    "any key absolute": (_outside_path("where", "/etc"), VALIDATE, "run.json"),
    "any key ~": (_outside_path("home", "~/.ssh"), CHECK, "run.json"),
    "nested list ../": (_outside_path("files", ["a.txt", {"more": "x/../../y"}]), VALIDATE,
                        "files.1.more"),
    "Windows drive": (_outside_path("where", "C:\\Windows"), VALIDATE, "run.json"),
    "attribution param absolute": (_outside_path("out", "/tmp/x", "attributions"), BUILD,
                                   "attributions.0"),
    "metric param ../": (_outside_path("out", "../x", "metrics"), VERIFY, "metrics.0"),
    "verify declared cache_dir outside": (_declared_path("cache_dir", "cache"), VERIFY,
                                          "cache_dir"),
    "verify declared path outside": (_declared_path("path", "boards/smoke-verify"), VERIFY,
                                     "params.path"),
    "verify undeclared name of a file outside": (_outside_path("notes", "decoy.txt"), VERIFY,
                                                 "params.notes"),
    "verify undeclared name of a folder outside": (_outside_path(
        "out", "boards", "metrics"), VERIFY, "metrics.0.params.out"),
    "verify undeclared nested name outside": (_outside_path(
        "files", ["x", {"more": "boards/smoke-verify"}]), VERIFY, "files.1.more"),
    "submissions symlink (site)": (_linked_submissions, SITE, "submissions"),
    "submissions symlink (rebuild)": (_linked_submissions, CHECK, "submissions"),
    "symlink inside a submission": (_linked_submission_file, SITE, "scores.parquet"),
    "symlink in models/": (_link_in_tree("models", "seed0.pt"), VALIDATE, "seed0.pt"),
    "stray symlink in the board": (_link_in_tree(".", "notes.txt"), VERIFY, "notes.txt"),
    # issue 32 item 4: budgets refused before any work, and no stage runs forever
    "verify epochs 1e9": (_config_field("training.epochs", 10**9), VERIFY, "training.epochs"),
    "verify patience 1e9": (_config_field("training.patience", 10**9), VERIFY,
                            "training.patience"),
    "verify pretraining epochs 1e9": (_config_field("pretraining_budget.epochs", 1e9), VERIFY,
                                      "pretraining_budget.epochs"),
    "verify batch 1e9": (_config_field("training.batch_size", 10**9), VERIFY,
                         "training.batch_size"),
    "verify n_samples 1e9": (_config_field("explain.n_samples", 10**9), VERIFY,
                             "explain.n_samples"),
    "verify n_costly 1e9": (_config_field("explain.n_costly", 10**9), VERIFY,
                            "explain.n_costly"),
    "verify 1e9 samples per window": (_config_field("data.fs", 1e8), VERIFY, "data.fs"),
    "verify n_train 1e9": (_config_field("data.dataset.params.n_train", 10**9), VERIFY,
                           "n_train"),
    "verify attribution n_steps 1e9": (_config_field("attributions.0.params", {
        "n_steps": 10**9}), VERIFY, "attributions.0.params.n_steps"),
    "verify nested param 1e12": (_config_field("metrics.0.params", {"steps": [1, 1e12]}),
                                 VERIFY, "metrics.0.params.steps.1"),
    "verify stage time limit reached": (lambda b: None, VERIFY_IN_NO_TIME, "time limit"),
    "verify stage time limit 0": (lambda b: None, (*VERIFY, "--stage-time-limit", "0"),
                                  "--stage-time-limit"),
    "verify stage time limit NaN": (lambda b: None, (*VERIFY, "--stage-time-limit", "nan"),
                                    "--stage-time-limit"),
    "verify stage time limit 1e300": (lambda b: None, (*VERIFY, "--stage-time-limit", "1e300"),
                                      "--stage-time-limit"),
}


# -- running a case -------------------------------------------------------------------------
def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``root`` (not following links): size, mtime and mode."""
    entries = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        entries[str(path)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return entries


def _in_child(args: list[str], cwd: Path) -> dict[str, object]:
    """Run the CLI in a forked child; its result, time and peak-memory growth."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.chdir(cwd)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            result = CliRunner().invoke(cli, args, obj=SYSTEM)
            crashed = (result.exception is not None
                       and not isinstance(result.exception, SystemExit))
            report = {"code": result.exit_code, "stdout": result.stdout,
                      "stderr": result.stderr, "crash": repr(result.exception) if crashed else "",
                      "seconds": time.perf_counter() - start,
                      "megabytes": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                    - before) / 1024}
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + SECONDS + 10
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"{args} did not finish within {SECONDS + 10} s")
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def assert_refused(case: str, report: dict, names: str) -> None:
    """Exit 2 with one line naming ``names``, no traceback, within the hang and memory guards
    (a bound against hangs and bombs, not a speed target)."""
    lines = [line for line in str(report["stderr"]).splitlines()
             if line.strip() and not line.startswith("[")]  # not build's progress lines
    assert not report["crash"], f"{case}: {report['crash']}"
    assert report["code"] == 2, f"{case}: exit {report['code']}: {report}"
    assert len(lines) == 1, f"{case}: {lines}"
    assert names in lines[0], f"{case}: {lines[0]!r} does not name {names}"
    assert "Traceback" not in str(report["stderr"]) + str(report["stdout"])
    assert report["seconds"] < SECONDS, f"{case}: {report['seconds']:.1f} s"
    assert report["megabytes"] < MEGABYTES, f"{case}: grew {report['megabytes']:.0f} MB"


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_board_is_one_line(case: str, tmp_path: Path) -> None:
    damage, command, names = CASES[case]
    root = tmp_path / "boards"
    board = root / "smoke-verify"
    board.mkdir(parents=True)
    for name in ("run.json", "scores.parquet", "checksums.json"):
        shutil.copy(SOURCE / name, board / name)
    (tmp_path / "decoy.txt").write_text("precious\n")
    damage(board)
    before = _snapshot(tmp_path)
    args = [a.format(board=board, root=root) for a in command]
    assert_refused(case, _in_child(args, tmp_path), names)
    assert _snapshot(tmp_path) == before, f"{case}: wrote under {tmp_path}"
    assert (tmp_path / "decoy.txt").read_text() == "precious\n"


def test_the_corpus_is_large_enough_and_the_clean_board_passes(tmp_path: Path) -> None:
    """The corpus holds >= 85 attacks, and the undamaged board is valid (so each case fails
    on its own damage)."""
    assert len(CASES) >= 90
    board = tmp_path / "smoke-verify"
    board.mkdir()
    for name in ("run.json", "scores.parquet", "checksums.json"):
        shutil.copy(SOURCE / name, board / name)
    report = _in_child(["leaderboard", "validate", str(board)], tmp_path)
    assert report["code"] == 0, report
