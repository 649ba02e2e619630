"""The interval_anova metric (shares per class and interval) and its leaderboard table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from xecgbench.plugins.components import ExplanationBatch
from xecgbench.report.board import RunResults
from xecgbench.report.rendering.text_formats import tidy, to_markdown
from xecgbench.report.results_files import RunInfo
from xecgbench.report.tables import build_leaderboard
from xecgbench.run.config import Suite
from xecgbench_builtin.metrics.interval_anova import CLASS_INTERVALS, IntervalAnova

T = 100
#: Two beats: P 10-19, QRS 25-29, T 40-54, then P 70-79, QRS 85-89.
WAVES = {"p_wave": [(10, 20), (70, 80)], "qrs": [(25, 30), (85, 90)], "t_wave": [(40, 55)]}


def masks(n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, spans in WAVES.items():
        mask = np.zeros((n, 1, T), dtype=bool)
        for start, stop in spans:
            mask[:, 0, start:stop] = True
        out[name] = mask
    return out


def batch(attributions: np.ndarray, y: list[int]) -> ExplanationBatch:
    n = len(attributions)
    return ExplanationBatch(
        x=np.zeros((n, 1, T)), y=np.array(y), target=np.array(y), attributions=attributions,
        fs=100.0, seed=0, masks=masks(n),
    )  # fmt: skip


def test_classes_get_their_own_intervals_and_shares_sum_to_one() -> None:
    shares = IntervalAnova().evaluate_batch(batch(np.ones((2, 1, T)), [0, 1]))
    assert set(shares) == {f"{c}/{i}" for c, ivs in CLASS_INTERVALS.items() for i in ivs}
    non_af = [shares[f"non-AF/{i}"][0] for i in CLASS_INTERVALS["non-AF"]]
    af = [shares[f"AF/{i}"][1] for i in CLASS_INTERVALS["AF"]]
    assert np.allclose(non_af, 1 / 6) and np.allclose(af, 1 / 5)  # uniform relevance
    # each window scores only its own class; P and PQ do not exist on AF windows
    assert all(np.isnan(shares[f"AF/{i}"][0]) for i in CLASS_INTERVALS["AF"])
    assert all(np.isnan(shares[f"non-AF/{i}"][1]) for i in CLASS_INTERVALS["non-AF"])
    assert "AF/P" not in shares and "AF/PQ" not in shares


def test_relevance_on_the_atrial_window_is_the_f_share_of_af_windows() -> None:
    a = np.zeros((2, 1, T))
    a[:, 0, 10:20] = 1.0  # first P wave / atrial window only
    shares = IntervalAnova().evaluate_batch(batch(a, [0, 1]))
    assert shares["non-AF/P"][0] == pytest.approx(1.0)
    assert shares["AF/F"][1] == pytest.approx(1.0)
    assert shares["AF/QRS"][1] == 0.0


def test_missing_masks_are_a_clear_error() -> None:
    b = batch(np.ones((1, 1, T)), [0])
    broken = ExplanationBatch(**{**b.__dict__, "masks": {"qrs": b.masks["qrs"]}})
    with pytest.raises(ValueError, match=r"interval_anova.*missing \['p_wave', 't_wave'\]"):
        IntervalAnova().evaluate_batch(broken)


METRICS = {
    "interval_anova": {"name": "interval_anova", "category": "interval_anova",
                       "higher_is_better": True},
}


def fake_run(n_records: int = 16, seeds: tuple[int, ...] = (0, 1, 2)) -> RunResults:
    """``dtd`` puts more QRS relevance on AF windows (interaction); ``random`` does not."""
    rng = np.random.default_rng(0)
    record_effect = rng.normal(0, 0.02, n_records)
    rows = []
    for seed, attribution in itertools.product(seeds, ("dtd", "random")):
        for sample in range(n_records):
            cls = "AF" if sample % 2 else "non-AF"
            for interval in CLASS_INTERVALS[cls]:
                value = 0.2 + record_effect[sample] + rng.normal(0, 0.03)
                if attribution == "dtd" and (cls, interval) == ("AF", "QRS"):
                    value += 0.15
                for region_cls in CLASS_INTERVALS:  # the other class's sub-scores are NaN
                    if interval not in CLASS_INTERVALS[region_cls]:
                        continue
                    rows.append({
                        "stage_key": "k", "dataset": "synthetic", "category": "interval_anova",
                        "seed": seed, "pretraining": "none", "freezing": "none",
                        "attribution": attribution, "branch": "morphology",
                        "metric": "interval_anova", "region": f"{region_cls}/{interval}",
                        "sample": sample, "record_id": f"A{sample:04d}#0",
                        "value": value if region_cls == cls else None,
                    })
    config = {"name": "fake", "data": {"dataset": "synthetic"}, "model": "xecgarch",
              "seeds": list(seeds), "primary_metric": "interval_anova",
              "pretraining": ["none"], "freezing": ["none"], "attributions": ["dtd", "random"],
              "metrics": ["interval_anova"], "explain": {"alignment": {}}}
    run = RunInfo(run_id="r", suite="fake", config_hash="h", config=config, provenance={},
                  started=1_700_000_000.0, status="ok")
    return RunResults(pd.DataFrame(rows), run, Suite.model_validate(config), METRICS)


def test_leaderboard_shows_the_interaction_where_it_is_built_in() -> None:
    board = build_leaderboard(fake_run())
    table = board.table("interval-anova")
    rows = table.rows.set_index("attribution")
    assert float(rows.loc["dtd", "class × interval p"].removeprefix("< ")) < 1e-3
    assert float(rows.loc["random", "class × interval p"]) > 0.01
    assert rows.loc["dtd", "AF vs non-AF (Holm p < 0.05)"] == "QRS ↑"
    assert rows.loc["random", "AF vs non-AF (Holm p < 0.05)"] == "no interval"
    headers = [c.header for c in table.columns]
    assert headers[:6] == ["non-AF P", "non-AF PQ", "non-AF QRS", "non-AF ST", "non-AF T",
                           "non-AF TP"]
    assert "AF F" in headers and "AF P" not in headers
    markdown = to_markdown(board)
    assert "Relevance per beat interval by class" in markdown
    numbers = tidy(board)
    interaction = numbers[numbers["metric"] == "interval_anova: class × interval"]
    assert set(interaction["attribution"]) == {"dtd", "random"}


@pytest.mark.slow
def test_a_run_passes_masks_to_clinical_occlusion_and_tables_the_anova(tmp_path) -> None:
    """End to end on the smoke suite: masks reach the method, the table reaches the board."""
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.report.results_files import load_store
    from xecgbench.run.config import load_suite
    from xecgbench.run.layout import STORE_NAME
    from xecgbench.run.runner import run_suite

    system = load_plugins(autoload=False)
    suite = load_suite("smoke", (
        "pretraining=[none]", "freezing=[none]", "seeds=[0,1]",
        "attributions=[clinical_occlusion,grad_cam]",
        "metrics=[accuracy,interval_anova,relevance_mass_accuracy]",
        "explain.n_samples=16", "explain.batch_size=16",
    ))
    summary = run_suite(suite, system, tmp_path, quiet=True)
    assert summary.ok, summary
    results = load_store(tmp_path / STORE_NAME, system)
    scored = results.scores[results.scores["metric"] == "interval_anova"]
    occluded = scored[scored["attribution"] == "clinical_occlusion"]
    assert occluded["value"].notna().any()
    table = build_leaderboard(results).table("interval-anova")
    assert set(table.rows["attribution"]) == {"clinical_occlusion", "grad_cam"}
    assert set(table.rows["branch"]) == {"morphology", "rhythm"}
