"""The paper suites: full-length CinC training data, an external LUDB test, shared models."""

from __future__ import annotations

from pathlib import Path

from xecgbench.plugins.manager import load_plugins
from xecgbench.run.config import load_suite
from xecgbench.run.plan import plan
from xecgbench_builtin.data.cinc2017 import CinC2017


def _keys(name: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in plan(load_suite(name), load_plugins()):
        keys.setdefault(item.task.stage, set()).add(item.task.key)
    return keys


def test_paper_ludb_is_paper_with_an_external_test_source() -> None:
    """The same grid; only the test source and the windows drawn from it differ."""
    paper = load_suite("paper").model_dump(exclude={"name", "description"})
    ludb = load_suite("paper-ludb").model_dump(exclude={"name", "description"})
    assert ludb["data"].pop("test")["name"] == "ludb"
    assert ludb["data"].pop("test_split") == "test"
    paper["data"].pop("test_split")
    assert paper["data"].pop("test") is None
    paper_sample, ludb_sample = paper["explain"].pop("sample"), ludb["explain"].pop("sample")
    assert set(ludb_sample["per_class"].values()) == {"all"}  # LUDB: every test record
    assert paper_sample["rule"] == ludb_sample["rule"] == "stratified"
    assert sum(paper_sample["per_class"].values()) == paper["explain"].pop("n_samples") >= 400
    ludb["explain"].pop("n_samples")
    assert ludb == paper


def test_paper_ludb_reuses_papers_models_and_evaluates_anew() -> None:
    """The test source shapes no training, so one --out trains once and evaluates twice."""
    paper, ludb = _keys("paper"), _keys("paper-ludb")
    assert paper["pretrain"] == ludb["pretrain"] and paper["finetune"] == ludb["finetune"]
    for stage in ("evaluate", "attribute", "score"):
        assert not paper[stage] & ludb[stage], stage


def test_paper_trains_on_the_large_set_with_crops_and_five_seeds() -> None:
    suite = load_suite("paper")
    params = suite.data.dataset.params
    assert params["folder"] == "cinc2017_large" and params["train_windowing"] == "crops"
    assert len(suite.seeds) >= 5


def test_folder_names_the_directory_under_the_data_root(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XECGBENCH_DATA", str(tmp_path))
    assert CinC2017(folder="cinc2017_large").path == tmp_path / "cinc2017_large"
    assert CinC2017().path == tmp_path / "cinc2017"


def test_paper_ludb_tests_only_ludb_records_no_pretraining_saw(shared_data: Path) -> None:
    """LUDB's expert P masks train the P-wave pretext; its AF test must use the other records."""
    from xecgbench_builtin.data.ludb import LUDB

    suite = load_suite("paper-ludb")
    system = load_plugins()
    assert suite.data.test is not None and suite.data.test_split == "test"
    test_source = LUDB(path=shared_data / "ludb", **suite.data.test.params)
    tested = {e.record for e in test_source.records("test")[0]}
    assert len(tested) >= 60
    for spec in suite.pretraining:
        strategy = system.registry["pretraining"].get(spec.name)(**spec.params)
        for part in getattr(strategy, "parts", (strategy,)):
            if not getattr(part, "use_ludb", False):
                continue
            pretext = LUDB(path=shared_data / "ludb", test_fraction=part.ludb_test_fraction)
            seen = {e.record for e in pretext.records("train")[0]}
            assert seen and not seen & tested, spec.display
