"""The benchmark scripts still run: their smallest configurations, no timing asserted.

Speed is measured by ``benchmarks/run_all.py``, never by tests (shared, noisy machines); these
tests only keep the scripts from rotting as the code they call changes.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_attribution  # noqa: E402
import bench_generator  # noqa: E402
import bench_report  # noqa: E402
import bench_submit  # noqa: E402
import bench_training  # noqa: E402
import cli_start  # noqa: E402
import cost_model  # noqa: E402
import run_all  # noqa: E402

ROW_KEYS = {"figure", "value", "unit", "target", "met"}


def _check_rows(result: dict) -> None:
    assert result["rows"], "a benchmark must report at least one figure"
    for row in result["rows"]:
        assert set(row) >= ROW_KEYS
        assert math.isfinite(row["value"]) and row["value"] >= 0
    assert "load_average" in result and "machine" in result


def test_generator_benchmark_runs() -> None:
    result = bench_generator.run(n=20, repeats=1)
    _check_rows(result)
    assert len(result["wall_seconds"]["generator"]) == 1


def test_report_benchmark_times_a_boards_html_report() -> None:
    result = bench_report.run(bench_report.QUICK.parent / "smoke-verify", repeats=1)
    _check_rows(result)
    assert len(result["cpu_seconds"]) == 1


def test_submit_benchmark_times_a_submission_to_a_smoke_board(tmp_path: Path) -> None:
    result = bench_submit.run(bench_submit.smoke_board(tmp_path), "saliency")
    _check_rows(result)
    assert result["child"]["cpu_s"] > 0


def test_training_benchmark_runs() -> None:
    result = bench_training.run(n=40, epochs=1, repeats=1, threads=None)
    _check_rows(result)
    assert result["n_train"] == 32


def test_attribution_benchmark_covers_requested_methods() -> None:
    result = bench_attribution.run(n=1, repeats=1, rates=(100.0,), methods=("saliency", "dtd"),
                                    threads=None)
    _check_rows(result)
    for case in result["cases"].values():
        assert set(case["ms_per_sample"]) == {"fwd+bwd", "saliency", "dtd"}
        assert case["over_saliency"]["saliency"] == pytest.approx(1.0)
    assert "| dtd |" in bench_attribution.markdown(result)


def test_cost_model_counts_every_planned_stage() -> None:
    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import load_suite

    system = load_plugins(autoload=False)
    suite = load_suite("paper")
    counts = cost_model.stage_counts(suite, system)
    units = cost_model.stage_units(suite, system, n_train=100, n_test=20)
    assert set(counts) <= set(units)
    seeds, pre, freeze = len(suite.seeds), len(suite.pretraining), len(suite.freezing)
    # the from-scratch strategy runs only with nothing frozen (no frozen random blocks)
    expected = seeds * (pre - 1) * freeze + seeds
    assert sum(n for (stage, _), n in counts.items() if stage == "finetune") == expected
    assert units[("evaluate", "")] == 20


def test_fit_lines_recovers_a_line() -> None:
    key = ("finetune", "none")
    runs = [({key: 10}, {key: 3.0}), ({key: 30}, {key: 7.0})]
    assert cost_model.fit_lines(runs)[key] == pytest.approx((1.0, 0.2))


def test_run_all_parses_the_quantus_comparison() -> None:
    stdout = (
        "N=16 T=500; times in ms, best of 1\n"
        "metric  vectorised q/sample q/batch x sample x batch max|diff|\n"
        "relevance_mass_accuracy 0.10 20.0 5.0 200 50.0 0.0e+00\n"
        "sparseness 1.00 20.0 5.0 20 5.0 3.0e-06\n"
        "quality: N=32 T=1000\n"
        "metric batched quantus x max|diff|\n"
        "pixel_flipping 0.500 60.0 120.0 0.0e+00\n"
        "mprt 1.000 2.0 2.0 1.1e-16\n"
    )
    result = run_all.parse_metrics(stdout)
    met = {row["figure"]: row["met"] for row in result["rows"]}
    assert met["relevance_mass_accuracy vs Quantus (per sample), speed-up"] is True
    assert met["sparseness vs Quantus (per sample), speed-up"] is False
    assert met["sparseness vs Quantus, max |score diff|"] is False
    assert met["pixel_flipping vs Quantus (per window), speed-up"] is True
    assert met["mprt vs Quantus (per window), speed-up"] is False
    assert result["metrics"]["mprt"]["max_abs_diff"] == pytest.approx(1.1e-16)


def test_cli_start_benchmark_times_each_command_against_a_bare_interpreter() -> None:
    result = cli_start.run(repeats=1)
    _check_rows(result)
    assert set(result["medians"]) == {cli_start.REFERENCE, *cli_start.COMMANDS}
    assert set(result["heavy_imports"]) == set(cli_start.COMMANDS)


def test_the_cli_start_section_is_generated_from_its_committed_results() -> None:
    assert cli_start.write_docs(check=True), (
        "docs/benchmarks.md's CLI start-up section is stale: run "
        "python benchmarks/cli_start.py --docs")
