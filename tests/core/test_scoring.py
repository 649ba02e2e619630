"""score_model: a user's own module, windows and attributions on the board's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xecgbench.api import UserError, load_windows, score_model
from xecgbench.run.store import SCORE_COLUMNS
from xecgbench.scoring import two_class

RMA = "relevance_mass_accuracy"


@pytest.fixture(scope="module")
def windows():  # type: ignore[no-untyped-def]
    return load_windows("synthetic", "test", fs=100, duration_s=6, n_train=0, n_test=6)


def _model(seed: int = 0, outputs: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv1d(1, 3, 7, padding=3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1),
        torch.nn.Flatten(), torch.nn.Linear(3, outputs))


def test_uniform_relevance_scores_its_chance_level(windows) -> None:  # type: ignore[no-untyped-def]
    """Relevance spread evenly puts each mask's share of the window on the mask: score = chance."""
    report = score_model(_model(), windows, attributions=np.ones_like(windows.signals),
                         metrics=[RMA])
    scores = report.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == len(windows) * 4  # one row per window and mask
    np.testing.assert_allclose(scores["value"], scores["chance"], rtol=1e-6)
    share = windows.masks["r_peak"].mean(axis=(1, 2))
    r_peak = scores[scores["region"] == "r_peak"].sort_values("sample")
    np.testing.assert_allclose(r_peak["chance"], share)
    assert list(r_peak["record_id"]) == list(windows.record_ids)
    assert list(r_peak["label"]) == list(windows.labels)
    ratio = report.statistics["vs_chance"]
    np.testing.assert_allclose(ratio["ratio"], 1.0)


def test_the_default_metrics_are_every_localisation_metric(windows) -> None:  # type: ignore[no-untyped-def]
    from xecgbench.plugins.manager import load_plugins

    system = load_plugins(autoload=False)
    expected = {r.name for r in system.registry["metrics"]
                if r.component.info.category == "localisation"}
    report = score_model(_model(), windows, attributions="saliency", system=system)
    assert set(report.scores["metric"]) == expected


def test_one_logit_is_explained_as_two_class_logits() -> None:
    model = _model()
    x = torch.randn(5, 1, 600)
    logits = two_class(model)(x)
    torch.testing.assert_close(torch.softmax(logits, 1)[:, 1], torch.sigmoid(model(x)[:, 0]))
    two = _model(outputs=2)
    torch.testing.assert_close(two_class(two)(x), two(x))
    with pytest.raises(UserError, match=r"model output has shape \(5, 3\)"):
        two_class(_model(outputs=3))(x)


def test_replicate_models_give_intervals(windows) -> None:  # type: ignore[no-untyped-def]
    report = score_model([_model(s) for s in range(3)], windows, attributions="saliency",
                         metrics=[RMA, "accuracy"])
    assert set(report.scores["seed"]) == {0, 1, 2}
    summary = report.statistics["summary"]
    rows = summary[summary["metric"] == RMA]
    assert (rows["n_seeds"] == 3).all() and rows["ci_low"].notna().all()
    assert (rows["ci_low"] <= rows["mean"]).all() and (rows["mean"] <= rows["ci_high"]).all()
    by_class = report.statistics["by_class"]
    assert set(by_class["label"]) == {"AF", "non-AF"} and (by_class["coverage"] == 1).all()


def test_masks_delineated_by_a_dataset_plugin(windows) -> None:  # type: ignore[no-untyped-def]
    flat = np.zeros((1, 1, windows.signals.shape[-1]), dtype=np.float32)
    x = np.concatenate([windows.signals, flat])
    labels = np.concatenate([windows.labels, [0]])
    report = score_model(_model(), x, fs=windows.fs, labels=labels, masks="cinc2017",
                         attributions=np.ones_like(x), metrics=[RMA])
    assert list(report.undelineated) == [len(windows)]
    r_peak = report.scores[report.scores["region"] == "r_peak"].sort_values("sample")
    assert np.isnan(r_peak["value"].iloc[-1])  # an empty mask leaves the score undefined
    # NeuroKit2 finds the synthetic R peaks: the drawn r_peak share is the exact one's, ±30 %
    exact = windows.masks["r_peak"].mean(axis=(1, 2))
    np.testing.assert_allclose(r_peak["chance"].iloc[:-1], exact, rtol=0.3)


def test_mistakes_are_one_line_user_errors(windows) -> None:  # type: ignore[no-untyped-def]
    x = windows.signals
    masks = dict(windows.masks)
    cases = [
        (dict(model=[_model(), _model(1)], windows=windows, attributions=np.ones_like(x)),
         "precomputed attribution arrays belong to one model"),
        (dict(model=_model(), windows=windows, attributions=np.ones_like(x),
              metrics=["max_sensitivity"]), "re-explains perturbed windows"),
        (dict(model=_model(), windows=x[:, 0], fs=100, masks=masks, attributions="saliency"),
         "windows must be (N, 1, T)"),
        (dict(model=_model(), windows=x, masks=masks, attributions="saliency"), "fs= "),
        (dict(model=_model(), windows=x, fs=100, attributions="saliency"), "masks= is required"),
        (dict(model=_model(), windows=x, fs=100, masks="cinc2017", attributions="saliency"),
         "needs labels="),
        (dict(model=_model(), windows=x, fs=100, masks="synthetic", labels=windows.labels,
              attributions="saliency"), "dataset 'synthetic' cannot delineate windows"),
        (dict(model=_model(), windows=x, fs=100, masks=masks, attributions="saliency",
              metrics=["accuracy"]), "accuracy metric 'accuracy' needs labels="),
    ]
    for kwargs, message in cases:
        model = kwargs.pop("model")
        wins = kwargs.pop("windows")
        with pytest.raises(UserError) as caught:
            score_model(model, wins, **kwargs)
        assert message in str(caught.value.message)
        assert "\n" not in caught.value.message




def test_a_board_model_scores_as_the_score_stage_scored_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same module, windows, method and masks give the rows a run stored, bit for bit."""
    from xecgbench.api import run_suite
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.cache import ArtifactCache
    from xecgbench.run.layout import RunLayout
    from xecgbench.run.stage_types import StageContext, build_model
    from xecgbench.run.store import ResultsStore
    from xecgbench.run.windows import evaluation_windows, explained_indices

    system = load_plugins(autoload=False)
    run = run_suite("smoke", tmp_path, seeds=[3], system=system, overrides=[
        "pretraining=[none]", "freezing=[none]", "attributions=[saliency]"])
    suite = run.suite
    with ResultsStore(run.store) as store:
        (finetuned,) = store.finished_stages(run.summary.run_id, "finetune")
    test = evaluation_windows(suite, system)
    model = build_model(StageContext(suite, system, ArtifactCache(RunLayout(tmp_path).cache)),
                        3, test.signals.shape[-1])
    model.load_state_dict(ArtifactCache(RunLayout(tmp_path).cache).load_state(
        finetuned.artifact, finetuned.checksum))
    index = explained_indices(test.labels, suite.explain.n_samples)
    for branch in suite.explain.branches:
        regions = suite.explain.alignment[branch]
        mine = score_model(
            model.explainable(branch).eval(), test.subset(index), attributions="saliency",
            masks={r: test.masks[r][index] for r in regions}, metrics=[RMA], seed=3,
            batch_size=suite.explain.batch_size, branch=branch, system=system).scores
        stored = run.scores[(run.scores["metric"] == RMA) & (run.scores["branch"] == branch)
                            & (run.scores["model_state"] == "trained")]
        for region in regions:
            ours = mine[mine["region"] == region].sort_values("record_id")
            theirs = stored[stored["region"] == region].sort_values("record_id")
            assert list(ours["record_id"]) == list(theirs["record_id"])
            np.testing.assert_array_equal(ours["value"].to_numpy(), theirs["value"].to_numpy())
            np.testing.assert_array_equal(ours["chance"].to_numpy(), theirs["chance"].to_numpy())
