"""The explained-window sample (issue 28, item 5): a seeded, stratified draw of one window per
record whose every prefix is stratified, a default that keeps every hash and stage key, and
``windows.npz`` fields that let a reader check the draw."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from xecgbench.plugins.components import ECGSet
from xecgbench.plugins.manager import load_plugins
from xecgbench.report.board_format.reader import WINDOWS_FILE, ResultsFileError
from xecgbench.report.published import _publish_windows, read_windows
from xecgbench.report.results_files import write_checksums
from xecgbench.run.config import SuiteError, content_hash, load_suite
from xecgbench.run.plan import plan
from xecgbench.run.sample_rule import SampleError
from xecgbench.run.windows import explained_indices, explained_windows

STRATIFIED = "explain.sample={rule: stratified, seed: 3, per_class: {N: 20, O: 10, AF: 10}}"


def _suite(*overrides: str):  # type: ignore[no-untyped-def]
    return load_suite("smoke", ["explain.n_samples=40", "explain.n_costly=8", *overrides])


def _records(n_records: dict[str, int], windows_per_record: int = 3) -> ECGSet:
    """``windows_per_record`` windows of each record, every record of one rhythm class."""
    rhythms, ids = [], []
    for rhythm, count in n_records.items():
        for r in range(count):
            rhythms += [rhythm] * windows_per_record
            ids += [f"{rhythm}{r:03d}#{w}" for w in range(windows_per_record)]
    n = len(ids)
    labels = np.array([int(r == "AF") for r in rhythms], dtype=np.int64)
    return ECGSet(np.zeros((n, 1, 4), dtype=np.float32), labels, {}, tuple(ids), 100.0,
                  rhythm_labels=tuple(rhythms))


WINDOWS = _records({"N": 60, "O": 25, "AF": 12})


def test_the_draw_is_seeded_and_deterministic() -> None:
    first = explained_windows(_suite(STRATIFIED), WINDOWS)
    assert np.array_equal(first, explained_windows(_suite(STRATIFIED), WINDOWS))
    other = explained_windows(_suite(STRATIFIED.replace("seed: 3", "seed: 4")), WINDOWS)
    assert not np.array_equal(np.sort(first), np.sort(other))
    reordered = STRATIFIED.replace("{N: 20, O: 10, AF: 10}", "{AF: 10, O: 10, N: 20}")
    assert np.array_equal(first, explained_windows(_suite(reordered), WINDOWS))


def test_per_class_counts_and_one_window_per_record() -> None:
    index = explained_windows(_suite(STRATIFIED), WINDOWS)
    assert Counter(WINDOWS.rhythm_class[index].tolist()) == {"N": 20, "O": 10, "AF": 10}
    records = [WINDOWS.record_ids[i].split("#")[0] for i in index]
    assert len(set(records)) == len(records) == 40
    # not always a record's first window: the window inside the record is drawn too
    assert {WINDOWS.record_ids[i].split("#")[1] for i in index} == {"0", "1", "2"}


@pytest.mark.parametrize("prefix", [4, 8, 12, 16, 20, 32])
def test_every_prefix_is_stratified(prefix: int) -> None:
    """The first ``n_costly`` windows hold each class within one window of its share."""
    index = explained_windows(_suite(STRATIFIED), WINDOWS)
    counts = Counter(WINDOWS.rhythm_class[index[:prefix]].tolist())
    for rhythm, share in (("N", 0.5), ("O", 0.25), ("AF", 0.25)):
        assert abs(counts[rhythm] - share * prefix) <= 1, (rhythm, counts)


def test_all_takes_every_record_of_a_class() -> None:
    suite = _suite("explain.n_samples=97",
                   "explain.sample={rule: stratified, per_class: {N: all, O: all, AF: all}}")
    index = explained_windows(suite, WINDOWS)
    assert Counter(WINDOWS.rhythm_class[index].tolist()) == {"N": 60, "O": 25, "AF": 12}


def test_alternating_is_the_default_and_the_rule_before_it() -> None:
    suite = _suite()
    assert suite.explain.sample.rule == "alternating"
    assert np.array_equal(explained_windows(suite, WINDOWS),
                          explained_indices(WINDOWS.labels, 40))


def _keys(suite, stage: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.task.key for t in plan(suite, load_plugins(autoload=False)) if t.task.stage == stage}


def test_the_default_rule_leaves_hashes_and_stage_keys_unchanged() -> None:
    """Written out or left out, ``alternating`` hashes as before the field existed, so the
    committed boards' hashes and every cached stage stay valid."""
    default, written = load_suite("smoke"), load_suite("smoke", ["explain.sample.rule=alternating"])
    before = default.model_dump(mode="json", exclude={"device": True, "primary_tests": True,
                                                      "random_features": True,
                                                      "stage_time_limit_s": True,
                                                      "about": True,
                                                      "explain": {"sample", "costly_attribution"},
                                                      "training": {"augment", "validate_on"},
                                                      "pretraining_budget": {"augment",
                                                                             "validate_on"}})
    assert default.config_hash() == written.config_hash() == content_hash(before)[:12]
    for stage in ("pretrain", "finetune", "evaluate", "attribute", "score"):
        assert _keys(default, stage) == _keys(written, stage), stage


def test_a_stratified_rule_re_explains_but_shares_the_models() -> None:
    default = load_suite("smoke")
    stratified = load_suite("smoke", ["explain.sample={rule: stratified, per_class: {N: 4}}"])
    assert stratified.config_hash() != default.config_hash()
    assert _keys(stratified, "finetune") == _keys(default, "finetune")
    assert not _keys(stratified, "attribute") & _keys(default, "attribute")


def test_an_impossible_quota_names_the_dataset_and_class() -> None:
    greedy = STRATIFIED.replace("AF: 10", "AF: 13")
    with pytest.raises(SampleError, match=re.escape(
            "dataset 'synthetic(n_test=32, n_train=96, seed=0)' split 'test' has 12 records "
            "of rhythm class 'AF', the quota asks 13")) as error:
        explained_windows(_suite(greedy, "explain.n_samples=43"), WINDOWS)
    assert "\n" not in str(error.value)
    with pytest.raises(SampleError, match="no windows of rhythm class 'A'"):
        explained_windows(_suite(STRATIFIED.replace("AF:", "A:")), WINDOWS)


@pytest.mark.parametrize(("override", "message"), [
    ("explain.sample={rule: stratified}", "needs per_class"),
    ("explain.sample={rule: alternating, seed: 2}", "belong to rule: stratified"),
    ("explain.sample={rule: stratified, per_class: {N: 0}}", "at least 1"),
    ("explain.sample={rule: stratified, per_class: {N: 50}}", "asks 50 windows, over n_samples"),
    ("explain.sample={rule: random}", "explain.sample.rule"),
])
def test_a_rule_that_cannot_be_drawn_is_refused_on_load(override: str, message: str) -> None:
    with pytest.raises(SuiteError, match=re.escape(message)):
        _suite(override)


def _board(tmp_path: Path, suite) -> Path:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    board.mkdir()
    _publish_windows(suite, load_plugins(autoload=False), board)
    write_checksums(board)
    return board


def _rewrite(board: Path, **changes: np.ndarray | None) -> None:
    with np.load(board / WINDOWS_FILE) as archive:
        arrays = {k: archive[k] for k in archive.files}
    for name, value in changes.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    (board / WINDOWS_FILE).write_bytes(buffer.getvalue())
    write_checksums(board)


SMALL = "explain.sample={rule: stratified, seed: 1, per_class: {N: 4, O: 2, AF: 4}}"


def test_windows_npz_round_trips_the_rhythm_and_the_draw(tmp_path: Path) -> None:
    suite = _suite(SMALL, "explain.n_samples=10")
    board = _board(tmp_path, suite)
    with np.load(board / WINDOWS_FILE) as archive:
        rhythm, every = archive["rhythm"], archive["all_rhythm"]
        index, record_ids = archive["index"], archive["all_record_ids"]
    assert Counter(rhythm.tolist()) == {"N": 4, "O": 2, "AF": 4}
    assert np.array_equal(every[index], rhythm) and len(record_ids) == len(every) == 32
    windows = read_windows(board, suite)
    assert np.array_equal(windows.rhythm_class[index], rhythm)
    assert np.array_equal(explained_windows(suite, windows), index)


def test_boards_without_the_new_fields_still_read(tmp_path: Path) -> None:
    """Every committed board: alternating, no rhythm fields."""
    suite = _suite()
    board = _board(tmp_path, suite)
    _rewrite(board, rhythm=None, all_rhythm=None, all_record_ids=None)
    windows = read_windows(board, suite)
    index = explained_indices(windows.labels, 40)
    assert windows.rhythm_labels is None and all(windows.record_ids[i] for i in index)
    committed = Path(__file__).resolve().parents[3] / "leaderboards" / "smoke-verify"
    assert len(read_windows(committed, load_suite("smoke"))) == 32


@pytest.mark.parametrize(("change", "message"), [
    ({"rhythm": np.arange(10)}, "field 'rhythm' must be a string array of shape (10,)"),
    ({"all_rhythm": np.array(["N"] * 5)}, "field 'all_rhythm' must be a string array"),
    ({"rhythm": np.array([""] * 10)}, "field 'rhythm' holds ''"),
    ({"rhythm": np.array(["N"] * 10)}, "field 'rhythm' differs from 'all_rhythm'"),
    ({"all_rhythm": None}, "field 'all_rhythm' missing"),
    ({"index": np.array([0.5] * 10)}, "field 'index' must be window numbers"),
])
def test_bad_rhythm_fields_are_one_line_naming_the_file(tmp_path: Path, change: dict,
                                                        message: str) -> None:
    suite = _suite(SMALL, "explain.n_samples=10")
    board = _board(tmp_path, suite)
    _rewrite(board, **change)
    with pytest.raises(ResultsFileError, match=re.escape(message)) as error:
        read_windows(board, suite)
    assert str(error.value).startswith(str(board / WINDOWS_FILE)) and "\n" not in str(error.value)
