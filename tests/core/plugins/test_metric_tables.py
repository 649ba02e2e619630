"""A metric no leaderboard table would show is refused at registration (issue 31, item 3), and
a metric that picks its own region declares it and is labelled with it."""

from __future__ import annotations

from typing import Any

import pytest
from test_registration_checks import Registers, _load, _metric

from xecgbench.plugins.components import METRIC_CATEGORIES, MetricInfo
from xecgbench.plugins.metric_tables import TABLE_OF, metric_regions, placement_problem
from xecgbench.plugins.registry import RegistryError

NO_MASK: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"requires": NO_MASK}, "metric 'my_metric' of category 'localisation' would be shown "
         "in no table: the alignment-BRANCH tables show it on a mask, so add 'mask' to requires"),
        ({"region": "qrs"}, "metric 'my_metric' declares region 'qrs' and requires 'mask'"),
        ({"requires": NO_MASK, "region": "st_segment"}, "unknown region 'st_segment'; valid "
         "regions: p_wave, qrs, r_peak, t_wave"),
        ({"category": "interval_anova"}, "'<class>/<interval>' sub-scores, which a mask label "
         "would garble"),
        ({"category": "interval_anova", "requires": NO_MASK, "region": "qrs"},
         "category 'interval_anova'"),
        ({"category": "accuracy", "requires": NO_MASK, "region": "qrs"},
         "of category 'accuracy' is scored on predictions, not on a mask"),
    ],
)
def test_a_metric_no_table_would_show_is_refused_in_one_line(info: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(RegistryError, match=r"^plugin '[^']+': metric 'my_metric'") as caught:
        _load(Registers("metrics", "my_metric", _metric(**info)))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_metric_with_its_own_region_registers() -> None:
    own = _metric(requires=frozenset({"model"}), region="qrs")
    system = _load(Registers("metrics", "my_metric", own))
    assert system.registry["metrics"].get("my_metric").info.region == "qrs"


def test_every_bundled_metric_has_a_table_and_every_category_names_one() -> None:
    from xecgbench.plugins.manager import load_plugins

    assert set(TABLE_OF) == set(METRIC_CATEGORIES)
    for registration in load_plugins(autoload=False).registry["metrics"]:
        assert placement_problem(registration.name, registration.component.info) is None


@pytest.mark.parametrize(
    ("requires", "region", "regions"),
    [({"mask"}, None, ("r_peak", "qrs")), (set(), "t_wave", ("t_wave",)), (set(), None, ("",))],
)
def test_scores_are_labelled_with_the_paired_masks_or_the_own_region(
        requires: set[str], region: str | None, regions: tuple[str, ...]) -> None:
    info = MetricInfo("m", "1", "complexity", True, frozenset(requires), region=region)
    assert metric_regions(info, ("r_peak", "qrs")) == regions
