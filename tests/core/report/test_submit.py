"""Publishing and joining a board: export publishes models and windows, `submit` scores a method
on them (a real pip-installed third-party plugin), `verify` reruns the submission.

One smoke run is exported once per module; the attribution template is pip-installed into a
temporary folder put on ``PYTHONPATH`` of the subprocesses (as in ``test_plugin_template``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xecgbench.errors import UserError
from xecgbench.plugins.manager import load_plugins
from xecgbench.report.published import read_models, read_windows
from xecgbench.report.results_files import (
    ResultsFileError,
    read_record,
    validate_directory,
    write_checksums,
)
from xecgbench.report.submission.submit import submission_suite, submit
from xecgbench.run.config import load_suite
from xecgbench.run.distributions import archive_sha256, local_source
from xecgbench.run.stage_types import StageContext, build_model
from xecgbench.run.windows import evaluation_windows, explained_indices

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "templates" / "xecgbench-attribution-template"
PLUGIN, DIST, METHOD = "gradient-x-sign", "xecgbench-gradient-x-sign", "gradient_x_sign"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = env or {**os.environ, "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "xecgbench.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, env=environment,
                          timeout=300)


def _submit(board: Path, out: Path | None = None, **what: str) -> Path:
    """``submit`` in-process with the bundled plugins (no subprocess start-up to pay)."""
    out = out or board / "submissions" / next(iter(what.values()))
    return submit(board, load_plugins(autoload=False), out, **what)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory, smoke_run) -> Path:  # type: ignore[no-untyped-def]
    """The session's smoke run exported (with its published models and windows)."""
    root = tmp_path_factory.mktemp("board")
    _ok(_cli("leaderboard", "export", "--store", smoke_run.store,
             "--out", root / "smoke", "--examples", "0"))
    return root / "smoke"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment with the attribution template pip-installed and autoloading on."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(TEMPLATE, work / TEMPLATE.name)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--no-build-isolation", "--target", str(work / "site"),
                    str(source)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work / "site"),
                                                      env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def plugin_submission(board: Path, plugin_env: dict[str, str]) -> Path:
    out = board / "submissions" / METHOD
    _ok(_cli("leaderboard", "submit", "--board", board, "--attribution", METHOD,
             env=plugin_env))
    return out


def test_export_publishes_every_fine_tuned_model_and_the_explained_windows(board: Path) -> None:
    import torch

    suite = load_suite("smoke")
    models = read_models(board)
    cells = {(m.seed, m.pretraining, m.freezing) for m in models}
    # 2 strategies × 2 schedules, less `none` with frozen blocks (not run: random weights)
    assert len(cells) == len(models) == len(suite.seeds) * 3
    system = load_plugins(autoload=False)
    published = read_windows(board, suite)
    context = StageContext(suite, system, cache=None)  # type: ignore[arg-type]
    for model in models:
        state = torch.load(board / model.file, weights_only=True)
        build_model(context, model.seed, published.signals.shape[-1]).load_state_dict(state)
    test = evaluation_windows(suite, system)
    index = explained_indices(test.labels, suite.explain.n_samples)
    assert np.array_equal(published.signals[index], test.signals[index])
    assert np.array_equal(published.masks["p_wave"][index], test.masks["p_wave"][index])
    assert [published.record_ids[i] for i in index] == [test.record_ids[i] for i in index]
    assert "generated" in (board / "DATA_LICENCE").read_text()


@pytest.fixture(scope="module")
def saliency_submission(board: Path) -> Path:
    return _submit(board, attribution="saliency")


def test_a_submitted_builtin_method_reproduces_the_boards_own_rows(
        board: Path, saliency_submission: Path) -> None:
    """`saliency` is on the smoke board: re-scoring it on the published models must give the
    board's rows exactly, so a submission is what the grid would have computed."""
    mine = validate_directory(saliency_submission).scores
    theirs = validate_directory(board).scores
    theirs = theirs[theirs["attribution"] == "saliency"]
    keys = ["seed", "pretraining", "freezing", "branch", "metric", "region", "sample"]
    joined = theirs.merge(mine, on=keys, suffixes=("_board", "_submitted"))
    assert len(joined) == len(theirs) == len(mine) > 0
    assert (joined["value_board"] == joined["value_submitted"]).all()
    assert (joined["record_id_board"] == joined["record_id_submitted"]).all()
    # and its null baseline: the same method on each seed's untrained model, rebuilt from the seed
    mine_null = validate_directory(saliency_submission).untrained
    theirs_null = validate_directory(board).untrained
    theirs_null = theirs_null[theirs_null["attribution"] == "saliency"]
    null_keys = ["seed", "branch", "metric", "region", "sample"]
    joined = theirs_null.merge(mine_null, on=null_keys, suffixes=("_board", "_submitted"))
    assert len(joined) == len(theirs_null) == len(mine_null) > 0
    assert (joined["value_board"] == joined["value_submitted"]).all()


def test_a_third_party_plugin_submission_names_its_distribution(
        plugin_submission: Path) -> None:
    record = read_record(plugin_submission)
    assert record.submission is not None
    assert record.submission.under_test == {"attributions": METHOD}
    assert record.submission.board == plugin_submission.parent.parent.name
    provenance = record.run.provenance
    assert provenance["component_plugins"]["attributions"] == {METHOD: PLUGIN}
    dist = provenance["plugin_distributions"][PLUGIN]
    assert (dist["distribution"], dist["version"]) == (DIST, "0.1.0")
    assert dist["source"]["install"].startswith("file://")
    assert len(dist["archive_sha256"]) == 64
    # pip-installed from a folder on this machine: marked local, not reproducible elsewhere
    (reason,) = record.submission.local.values()
    assert list(record.submission.local) == [PLUGIN]
    assert reason.startswith("installed from the local path file://")
    scores = validate_directory(plugin_submission).scores
    assert set(scores["attribution"]) == {METHOD} and scores["value"].notna().any()


def test_a_publishable_submission_refuses_local_code_before_any_work(
        board: Path, plugin_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "refused"
    result = _cli("leaderboard", "submit", "--board", board, "--attribution", METHOD,
                  "--out", out, "--publishable", env=plugin_env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"plugin {PLUGIN!r} is installed from the local path file://" in line
    assert not out.exists()


def test_local_sources_are_told_apart_from_installable_ones() -> None:
    def record(direct: dict | None) -> dict:
        return {"source": {"install": "x", **({"direct_url": direct} if direct else {})}}

    assert local_source(None) == "registered from code, not an installed distribution"
    assert local_source(record({"url": "file:///src/p", "dir_info": {"editable": True}})) == (
        "an editable install of file:///src/p")
    assert local_source(record({"url": "file:///src/p", "dir_info": {}})) == (
        "installed from the local path file:///src/p")
    assert local_source(record({"url": "https://github.com/a/p",
                                "vcs_info": {"vcs": "git", "commit_id": "abc"}})) is None
    assert local_source(record(None)) is None  # from a package index


def test_verify_reruns_the_submission_identically(plugin_submission: Path,
                                                  plugin_env: dict[str, str]) -> None:
    out = _ok(_cli("leaderboard", "verify", plugin_submission, "--cells", "2",
                   env=plugin_env))
    assert "environment matches" in out and "2 cells verified, 0 differ" in out


def test_verify_ignores_an_installed_plugin_the_submission_does_not_use(
        saliency_submission: Path, plugin_env: dict[str, str]) -> None:
    out = _ok(_cli("leaderboard", "verify", saliency_submission, env=plugin_env))
    assert "environment matches" in out, out


def test_verify_without_the_plugin_says_what_to_install(plugin_submission: Path) -> None:
    result = _cli("leaderboard", "verify", plugin_submission)
    assert result.returncode == 2
    assert f"{DIST} 0.1.0" in result.stderr and "pip install 'file://" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_changed_submitted_score_fails_verify(plugin_submission: Path, tmp_path: Path,
                                                plugin_env: dict[str, str]) -> None:
    copy = plugin_submission.parent / "changed"
    shutil.copytree(plugin_submission, copy)
    path = copy / "scores.parquet"
    scores = pd.read_parquet(path)
    scores.loc[scores["value"].notna().idxmax(), "value"] += 0.25
    scores.to_parquet(path, index=False)
    write_checksums(copy)
    result = _cli("leaderboard", "verify", copy, "--cells", "4", env=plugin_env)
    shutil.rmtree(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 differing rows" in result.stdout


def test_a_metric_is_scored_on_the_boards_attributions(board: Path, tmp_path: Path) -> None:
    out = _submit(board, tmp_path / "rank", metric="relevance_rank_accuracy")
    scores = validate_directory(out).scores
    assert set(scores["metric"]) == {"relevance_rank_accuracy"}
    assert set(scores["attribution"]) == {s.display for s in load_suite("smoke").attributions}


def test_an_accuracy_metric_or_an_unpublished_board_is_a_user_error(board: Path,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(UserError, match="accuracy metric"):
        _submit(board, tmp_path / "acc", metric="accuracy")
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(board / "run.json", bare)
    shutil.copy(board / "scores.parquet", bare)
    write_checksums(bare)
    with pytest.raises(ResultsFileError, match="publishes no models"):
        _submit(bare, attribution="saliency")


def test_archive_hash_follows_the_installed_files(plugin_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    site = Path(plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    copy = shutil.copytree(site, tmp_path / "site")
    (dist,) = [d for d in metadata.distributions(path=[str(copy)])
               if d.metadata["Name"] == DIST]
    before = archive_sha256(dist)
    assert before == archive_sha256(dist) and len(before) == 64
    module = copy / "xecgbench_gradient_x_sign.py"
    module.write_text(module.read_text() + "\n# edited\n")
    assert archive_sha256(dist) != before
    assert json.loads(dist.read_text("direct_url.json"))["url"].startswith("file://")


def _damaged(board: Path, tmp_path: Path, damage) -> Path:  # type: ignore[no-untyped-def]
    copy = shutil.copytree(board, tmp_path / "damaged", ignore=shutil.ignore_patterns(
        "submissions"))
    damage(copy)
    return copy


def _symlink_a_model(copy: Path) -> None:
    model = next((copy / "models").iterdir())
    outside = copy.parent / "outside.pt"
    shutil.move(model, outside)
    model.symlink_to(outside)


def _flip_a_model_byte(copy: Path) -> None:
    model = next((copy / "models").iterdir())
    data = bytearray(model.read_bytes())
    data[-1] ^= 1
    model.write_bytes(bytes(data))


def _drop_a_window_key(copy: Path) -> None:
    with np.load(copy / "windows.npz") as archive:
        arrays = {k: archive[k] for k in archive.files if k != "all_labels"}
    np.savez(copy / "windows.npz", **arrays)
    write_checksums(copy)


@pytest.mark.parametrize(("damage", "message"), [
    (_symlink_a_model, "refusing a symlink inside the board"),
    (_flip_a_model_byte, "SHA-256 differs from models.json"),
    (_drop_a_window_key, "field 'all_labels' missing"),
    (lambda c: (c / "windows.npz").write_bytes(b"not a zip"), "SHA-256 differs"),
])
def test_published_files_are_read_through_the_guards(board: Path, tmp_path: Path, damage,  # type: ignore[no-untyped-def]
                                                     message: str) -> None:
    copy = _damaged(board, tmp_path, damage)
    with pytest.raises(ResultsFileError, match=re.escape(message)) as error:
        _submit(copy, tmp_path / "out", attribution="saliency")
    assert "\n" not in str(error.value)


def test_a_board_with_pre_registered_tests_takes_a_submission() -> None:
    """The paper and quick suites declare primary tests naming their methods; a submitted
    method replaces the method list, so the board's tests stay with the board."""
    config = read_record(REPO / "leaderboards" / "synthetic-both").run.config
    assert config["primary_tests"]
    suite = submission_suite(config, load_plugins(autoload=False), "guided_backprop", None)
    assert [s.name for s in suite.attributions] == ["guided_backprop"]
    assert not suite.primary_tests
