"""The class × interval analysis detects an interaction that is built in, and none that is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xecgbench.report.stats import intervals as interval_stats
from xecgbench.report.stats.intervals import MODELS, class_interval_test, long_frame

BASE = {
    "non-AF": {"P": 0.20, "PQ": 0.10, "QRS": 0.30, "ST": 0.15, "T": 0.15, "TP": 0.10},
    "AF": {"F": 0.10, "QRS": 0.30, "ST": 0.15, "T": 0.15, "TP": 0.10},
}


def simulate(qrs_boost: float, *, seeds: int = 3, records: int = 30, rng: int = 0) -> pd.DataFrame:
    """Shares with seed and record intercepts; AF windows get ``qrs_boost`` more QRS share."""
    generator = np.random.default_rng(rng)
    record_effects = generator.normal(0, 0.02, records)  # the same records under every seed
    rows = []
    for seed in range(seeds):
        seed_effect = generator.normal(0, 0.02)
        for r, record_effect in enumerate(record_effects):
            cls = "AF" if r % 2 else "non-AF"
            for interval, mean in BASE[cls].items():
                value = mean + seed_effect + record_effect + generator.normal(0, 0.05)
                value += qrs_boost if (cls, interval) == ("AF", "QRS") else 0.0
                rows.append(
                    {"seed": seed, "record": f"R{r}", "cls": cls, "interval": interval,
                     "value": value}
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("model", MODELS)
def test_a_built_in_interaction_is_detected_and_located(model: str) -> None:
    result = class_interval_test(simulate(0.1), model=model)
    assert result.p_interaction < 1e-4
    assert result.shared == ("QRS", "ST", "T", "TP")
    by_class = result.posthoc[result.posthoc["family"] == "class within interval"]
    significant = by_class.loc[by_class["p_holm"] < 0.05, "comparison"].tolist()
    assert significant == ["AF − non-AF @ QRS"]
    qrs = by_class.set_index("comparison").loc["AF − non-AF @ QRS", "estimate"]
    assert qrs == pytest.approx(0.1, abs=0.03)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("rng", [0, 1, 2])
def test_no_interaction_is_found_where_none_is_built_in(model: str, rng: int) -> None:
    result = class_interval_test(simulate(0.0, rng=rng), model=model)
    assert result.p_interaction > 0.01
    if model == "mixed":  # seed means keep the records' own effects: see the module docstring
        by_class = result.posthoc[result.posthoc["family"] == "class within interval"]
        assert (by_class["p_holm"] > 0.01).all()
    assert result.p_interval < 1e-6  # the interval main effect is real in both


def test_mixed_model_false_positive_rate_is_near_nominal() -> None:
    """Under no interaction and no class effect, p < 0.05 in about 5 % of 30 data sets."""
    results = [class_interval_test(simulate(0.0, records=16, rng=100 + i)) for i in range(30)]
    interaction = np.mean([r.p_interaction < 0.05 for r in results])
    by_class = np.mean(
        [(r.posthoc.loc[r.posthoc["family"] == "class within interval", "p_holm"] < 0.05).any()
         for r in results]
    )
    assert interaction <= 0.2 and by_class <= 0.2


def test_p_and_pq_exist_only_for_non_af_and_f_only_for_af() -> None:
    result = class_interval_test(simulate(0.0))
    assert "AF/P" not in result.cell_means and "AF/PQ" not in result.cell_means
    assert "non-AF/F" not in result.cell_means and "AF/F" in result.cell_means
    within_af = result.posthoc[result.posthoc["family"] == "intervals within AF"]
    assert len(within_af) == 10  # 5 AF intervals, all pairs
    assert not within_af["comparison"].str.contains(r"\bP\b|PQ").any()


def test_posthoc_holm_is_monotone_and_at_least_the_raw_p() -> None:
    posthoc = class_interval_test(simulate(0.05)).posthoc
    assert (posthoc["p_holm"] >= posthoc["p_value"] - 1e-15).all()


def test_one_seed_gives_no_seed_level_test_but_means() -> None:
    result = class_interval_test(simulate(0.1, seeds=1), model="seed_anova")
    assert np.isnan(result.p_interaction) and result.posthoc["p_value"].isna().all()
    assert result.cell_means["non-AF/P"] == pytest.approx(0.2, abs=0.05)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown model 'anova'"):
        class_interval_test(simulate(0.0), model="anova")


def test_long_frame_reads_class_interval_regions() -> None:
    scores = pd.DataFrame(
        {"seed": [0, 0, 1], "record_id": ["A01#0", "A01#1", "A02#0"],
         "region": ["AF/F", "non-AF/PQ", "AF/QRS"], "value": [0.1, None, 0.3]}
    )
    frame = long_frame(scores)
    assert frame["record"].tolist() == ["A01", "A01", "A02"]
    assert frame["cls"].tolist() == ["AF", "non-AF", "AF"]
    assert frame["interval"].tolist() == ["F", "PQ", "QRS"]
    assert np.isnan(frame["value"][1])


def test_many_cells_fit_in_a_pool_to_the_same_results_and_duplicates_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper board fits hundreds of cells: pooled fits equal serial ones bit for bit, and a
    cell identical to another (a model-blind control) is fitted once."""
    frames = [simulate(0.02 * (i % 3), seeds=2, records=8, rng=i % 3) for i in range(6)]
    monkeypatch.setattr(interval_stats, "POOL_MIN_FITS", 2)
    pooled = interval_stats.class_interval_tests(frames)
    calls: list[int] = []
    real = interval_stats.class_interval_test
    monkeypatch.setattr(interval_stats, "POOL_MIN_FITS", 10**9)
    monkeypatch.setattr(interval_stats, "class_interval_test",
                        lambda frame, **kw: calls.append(1) or real(frame, **kw))
    serial = interval_stats.class_interval_tests(frames)
    assert len(calls) == 3
    for a, b in zip(pooled, serial, strict=True):
        np.testing.assert_array_equal(a.cell_means.to_numpy(), b.cell_means.to_numpy())
        assert (a.p_interaction, a.p_interval) == (b.p_interaction, b.p_interval)
    assert serial[0] is serial[3]
