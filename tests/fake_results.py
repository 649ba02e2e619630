"""Shared by the report tests: seeded fake runs, as :class:`RunResults`, with planted effects."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from xecgbench.report.board import RunResults
from xecgbench.report.results_files import RunInfo
from xecgbench.report.table_builders.nulls import split_af_regions
from xecgbench.run.config import Suite

METRICS = {
    "accuracy": {"name": "accuracy", "category": "accuracy", "higher_is_better": True},
    "relevance_mass_accuracy": {"name": "relevance_mass_accuracy", "category": "localisation",
                                "higher_is_better": True},
    "interval_profile": {"name": "interval_profile", "category": "interval_profile",
                         "higher_is_better": True},
    "mprt": {"name": "mprt", "category": "randomisation", "higher_is_better": False,
             "sanity": {"fail_above": 0.5, "column": "MPRT sanity", "failure": "weights unused",
                        "description": "similarity to the randomised model's explanation"}},
    "complexity": {"name": "complexity", "category": "complexity", "higher_is_better": False},
}
ALIGNMENT = {"morphology": ["p_wave"], "rhythm": ["r_peak", "qrs"]}


def make_results(attributions=("dtd", "random"), pretrainings=("none", "p_wave_detection"),
                 seeds=(0, 1, 2), n_samples=12, dataset="synthetic") -> RunResults:
    """A fake run: P-wave pretraining moves morphology relevance onto P waves; ``random``
    explanations fail MPRT; accuracy does not change."""
    rng = np.random.default_rng(0)
    rows = []

    def add(**row):
        rows.append({"stage_key": "k", "dataset": dataset, "category": None, "record_id": None,
                     **row})

    for pretraining, seed in itertools.product(pretrainings, seeds):
        for branch in ("morphology", "rhythm", "ensemble"):
            add(seed=seed, pretraining=pretraining, freezing="none", attribution=None,
                branch=branch, metric="accuracy", region="", sample=-1,
                value=0.9 + rng.normal(0, 0.01))
        for attribution, branch in itertools.product(attributions, ("morphology", "rhythm")):
            cell = {"seed": seed, "pretraining": pretraining, "freezing": "none",
                    "attribution": attribution, "branch": branch}
            boost = 0.3 if (pretraining != "none" and branch == "morphology"
                            and attribution != "random") else 0.0
            for sample in range(n_samples):
                for region in ALIGNMENT[branch]:
                    add(**cell, metric="relevance_mass_accuracy", region=region, sample=sample,
                        value=0.2 + boost + rng.normal(0, 0.02))
                shares = rng.dirichlet(np.ones(6))
                for name, share in zip(("P", "PR", "QRS", "ST", "T", "TP"), shares, strict=True):
                    add(**cell, metric="interval_profile", region=name, sample=sample, value=share)
                add(**cell, metric="complexity", region="", sample=sample, value=rng.random())
                if sample < 2:
                    similarity = 0.95 if attribution == "random" else 0.1
                    add(**cell, metric="mprt", region="", sample=sample, value=similarity)
    scores = pd.DataFrame(rows)
    config = {
        "name": "fake",
        "data": {"dataset": "synthetic"},
        "model": "xecgarch",
        "seeds": list(seeds),
        "primary_metric": "relevance_mass_accuracy",
        "pretraining": list(pretrainings),
        "freezing": ["none"],
        "attributions": list(attributions),
        "metrics": list(METRICS),
        "explain": {"alignment": ALIGNMENT},
    }
    run = RunInfo(run_id="run-1", suite="fake", config_hash="abc123", config=config,
                  provenance={"packages": {"torch": "2.x"}, "plugins": {"builtin": "0.1"}},
                  started=1_700_000_000.0, status="ok")
    pretraining_reports = [
        {"pretraining": "p_wave_detection", "seed": s, "p_wave_f1": 0.8 + 0.01 * s}
        for s in seeds
    ]
    strategies = {
        "none": {"name": "none", "branches": [], "report_directions": {},
                 "report_description": ""},
        "p_wave_detection": {"name": "p_wave_detection", "branches": ["morphology"],
                             "report_directions": {"p_wave_f1": True},
                             "report_description": "P-wave F1"},
    }
    return RunResults(scores, run, Suite.model_validate(config), METRICS, pretraining_reports,
                      strategies)


PRIMARY = "relevance_mass_accuracy"
NULL_METRICS = {PRIMARY: {"name": PRIMARY, "category": "localisation",
                          "higher_is_better": True}}


def null_results(trained: dict[str, float], untrained: dict[str, float],
             attributions: dict | None = None, seeds=(0, 1, 2, 3), n=10) -> RunResults:
    """Morphology rows per method: trained score ``trained[m]``, untrained ``untrained[m]``,
    half the windows AF; small noise so seed-level tests have spread."""
    rng = np.random.default_rng(1)
    rows = []
    for (method, level), seed, sample in itertools.product(trained.items(), seeds, range(n)):
        for state, value in (("trained", level), ("untrained", untrained[method])):
            for pretraining in (("none", "p_wave_detection") if state == "trained" else (None,)):
                rows.append({
                    "stage_key": "k", "dataset": "d", "seed": seed, "pretraining": pretraining,
                    "freezing": "none" if state == "trained" else None, "attribution": method,
                    "branch": "morphology", "metric": PRIMARY, "category": "localisation",
                    "region": "p_wave", "sample": sample, "record_id": f"r{sample}",
                    "value": value + rng.normal(0, 0.01) + 0.01 * seed, "label": sample % 2,
                    "chance": 0.1, "model_state": state})
    scores = pd.DataFrame(rows)
    config = {"name": "fake", "data": {"dataset": "synthetic"}, "model": "xecgarch",
              "seeds": list(seeds), "primary_metric": PRIMARY,
              "pretraining": ["none", "p_wave_detection"], "freezing": ["none"],
              "attributions": list(trained), "metrics": [PRIMARY],
              "explain": {"alignment": {"morphology": ["p_wave"]}}}
    suite = Suite.model_validate(config)
    scores = split_af_regions(scores, suite.explain.af_regions)
    run = RunInfo(run_id="r", suite="fake", config_hash="h", config=config, provenance={},
                  started=1.7e9, status="ok")
    strategies = {"none": {"name": "none", "branches": [], "report_directions": {},
                           "report_description": ""}}
    null = scores["model_state"] == "untrained"
    return RunResults(scores[~null].reset_index(drop=True), run, suite, NULL_METRICS, (),
                      strategies,
                      untrained=scores[null].reset_index(drop=True),
                      attributions=attributions or {})
