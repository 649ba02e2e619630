"""docs/attributions.md is generated from the registry and the committed benchmark numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import attribution_costs  # noqa: E402
import attribution_docs  # noqa: E402

from xecgbench.plugins.manager import load_plugins  # noqa: E402

REGISTRY = load_plugins(autoload=False).registry["attributions"]


def test_committed_page_is_up_to_date() -> None:
    committed = attribution_docs.PAGE.read_text(encoding="utf-8")
    assert committed == attribution_docs.generate(), (
        "docs/attributions.md is stale: run python benchmarks/attribution_docs.py"
    )


def test_every_method_is_measured_documented_and_referenced() -> None:
    costs = json.loads(attribution_docs.COSTS.read_text(encoding="utf-8"))["methods"]
    page = attribution_docs.PAGE.read_text(encoding="utf-8")
    for name in REGISTRY.names():
        assert name in costs, f"{name} has no measured cost: run benchmarks/attribution_costs.py"
        assert set(costs[name]["ms_per_sample"]) == {"morphology", "rhythm"}
        assert name in attribution_docs.REFERENCES
        assert f"| `{name}` |" in page
    assert len(REGISTRY) >= 20


def test_parameters_follow_kwargs_into_the_base_class() -> None:
    lime = attribution_docs.parameters(REGISTRY.get("lime"))
    assert "`ridge_alpha=0.001`" in lime and "`n_samples=200`" in lime
    assert "`fs` (sampling rate)" in lime and "`seed` (run seed)" in lime


def test_cost_benchmark_runs_on_methods_that_need_masks() -> None:
    result = attribution_costs.run(n=1, repeats=1, methods=("saliency", "clinical_occlusion"))
    assert set(result["methods"]) == {"saliency", "clinical_occlusion"}
    assert result["methods"]["saliency"]["over_saliency"] == {"morphology": 1.0, "rhythm": 1.0}
