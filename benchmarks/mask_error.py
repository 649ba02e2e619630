"""How far the CinC 2017 masks can be trusted: NeuroKit2's masks against the experts'.

The CinC 2017 masks are drawn by NeuroKit2 (:mod:`xecgbench_builtin.data.window_delineation`,
the rule the loader and ``masks="cinc2017"`` share). This script draws them the same way on
windows that also have expert masks and measures

1. their agreement per wave (:mod:`xecgbench_builtin.data.mask_agreement`): on the LUDB test
   windows of the ``cinc2017-paper-ludb`` board (its 64 explained windows, and all 80), inside
   LUDB's annotated span; on every QTDB window, inside its ``annotated`` mask (marked beats);
2. what the error does to an alignment score: the board's published models are re-explained
   with ``dtd`` on its 64 windows (the runner's own attribute stage), and
   ``relevance_mass_accuracy`` is computed with the expert masks and with NeuroKit2's masks of
   the same windows. ``p_wave`` is scored on non-AF windows only (on AF windows both masks are
   the expected atrial window, and the board reports it as a control); windows NeuroKit2 could
   not delineate are left out of both sides.

Writes ``benchmarks/results/mask_error.json``, which ``docs/metrics.md``'s generated section
"How far the masks can be trusted" is rendered from (``python -m
xecgbench.report.pages.reference_docs``). Usage::

    python benchmarks/mask_error.py [--data ../shared/data] [--out FILE.json]

About 1.5 minutes on two loaded cores (NeuroKit2 on 392 windows, DTD on 120 models x 2
branches x 64 windows); the CPU seconds of each part are in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from xecgbench.plugins.components import ECGSet, ExplanationBatch
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.report.published import read_model, read_models, read_windows
from xecgbench.report.results_files import read_record
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import Suite
from xecgbench.run.explanation_stages import run_attribute
from xecgbench.run.plan import StageKeys
from xecgbench.run.stage_types import StageContext, StageTask
from xecgbench.run.windows import evaluation_source, evaluation_windows, explained_indices
from xecgbench_builtin.data.mask_agreement import WaveAgreement, masks_agreement
from xecgbench_builtin.data.window_delineation import delineated_masks

REPO_ROOT = Path(__file__).resolve().parent.parent
BOARD = REPO_ROOT / "leaderboards" / "cinc2017-paper-ludb"
OUT = REPO_ROOT / "benchmarks" / "results" / "mask_error.json"
ATTRIBUTION = "dtd"
METRIC = "relevance_mass_accuracy"
#: branch -> (region, windows it is scored on: "non-AF" or "all")
ALIGNMENT: dict[str, tuple[tuple[str, str], ...]] = {
    "morphology": (("p_wave", "non-AF"),),
    "rhythm": (("r_peak", "all"), ("qrs", "all")),
}
#: The pretraining every strategy's alignment is divided by (the from-scratch model).
SCRATCH = "none"


def _agreement_rows(agreement: dict[str, WaveAgreement]) -> dict[str, dict[str, float]]:
    return {name: {
        "expert_waves": a.expert_waves, "neurokit2_waves": a.detected_waves,
        "wave_sensitivity": a.sensitivity, "wave_ppv": a.ppv, "dice": a.dice,
        "expert_share": a.expert_share, "neurokit2_share": a.detected_share,
        "width_ratio": a.width_ratio,
    } for name, a in agreement.items()}


def _window_set(label: str, test: ECGSet, neurokit: dict[str, np.ndarray],
                failed: dict[int, str], windows: np.ndarray, *,
                where_annotated: bool = True) -> dict[str, Any]:
    """One set of windows: counts, delineation failures and the per-wave agreement, inside
    the expert annotation (or over the whole window, as the scores see the masks)."""
    delineated = np.array([i for i in windows if int(i) not in failed], dtype=np.int64)
    valid = test.annotated if where_annotated else None
    return {
        "label": label, "windows": len(windows),
        "af_windows": int(test.labels[windows].sum()),
        "failed": sorted(test.record_ids[i] for i in windows if int(i) in failed),
        "waves": _agreement_rows(masks_agreement(test.masks, neurokit, valid, delineated)),
    }


def _ludb(system: PluginSystem, suite: Suite, board_index: np.ndarray,
          cache: str) -> tuple[list, dict]:
    test = evaluation_windows(suite, system)
    spec, _ = evaluation_source(suite)
    width = system.registry["datasets"].get(spec.name)(**spec.params).r_peak_width_ms
    published = read_windows(BOARD, suite.explain.n_samples)
    if not np.array_equal(published.signals[board_index], test.signals[board_index]):
        raise SystemExit("the LUDB windows read here are not the board's published windows")
    neurokit, failed = delineated_masks(test.signals, test.fs, test.labels,
                                        r_peak_width_ms=width, cache_dir=cache)
    every = np.arange(len(test))
    sets = [_window_set("LUDB, the board's 64 explained test windows", test, neurokit, failed,
                        board_index),
            _window_set(f"LUDB, all {len(test)} test windows", test, neurokit, failed, every),
            _window_set("LUDB, the board's 64 windows, whole window (as the board's scores "
                        "see the masks)", test, neurokit, failed, board_index,
                        where_annotated=False)]
    return sets, {"masks": neurokit, "failed": failed, "annotated": test.annotated}


def _qtdb(system: PluginSystem, suite: Suite, cache: str) -> dict[str, Any]:
    qtdb = system.registry["datasets"].get("qtdb")()
    test = qtdb.load("all", fs=suite.data.fs, duration_s=suite.data.duration_s)
    neurokit, failed = delineated_masks(test.signals, test.fs, test.labels,
                                        r_peak_width_ms=qtdb.r_peak_width_ms, cache_dir=cache)
    return _window_set(f"QTDB, all {len(test)} windows (marked beats only)", test, neurokit,
                       failed, np.arange(len(test)))


def _relevance(context: StageContext, keys: StageKeys, scratch: Path) -> dict[tuple, Any]:
    """DTD relevance per published model: (pretraining, freezing, seed) -> attribute arrays."""
    spec = next(s for s in context.suite.attributions if s.name == ATTRIBUTION)
    out = {}
    for model in read_models(BOARD):
        target = scratch / model.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read_model(BOARD, model))
        labels = {"seed": model.seed, "pretraining": model.pretraining,
                  "freezing": model.freezing, "attribution": spec.display}
        task = StageTask("attribute", keys.attribute(model.stage_key, spec), model.seed,
                         {"models": context.suite.model, "attributions": spec}, labels,
                         {"finetune": (model.file, model.sha256)})
        outcome = run_attribute(context, task)
        out[(model.pretraining, model.freezing, model.seed)] = context.cache.load_arrays(
            outcome.artifact, outcome.checksum)
    return out


def _alignment(system: PluginSystem, suite: Suite, neurokit: dict[str, np.ndarray],
               failed: dict[int, str], annotated: np.ndarray) -> dict[str, Any]:
    """Mean relevance mass accuracy per strategy with expert vs NeuroKit2 masks (whole
    window, as a CinC score sees them, and cut to LUDB's annotated span, where the expert
    masks hold), and each strategy's ratio to training from scratch under each mask."""
    metric = system.registry["metrics"].get(METRIC)()
    test = read_windows(BOARD, suite.explain.n_samples)
    with tempfile.TemporaryDirectory(prefix="xecgbench-mask-error-") as scratch:
        context = StageContext(suite, system, ArtifactCache(scratch), data=(test, test))
        started = time.process_time()
        relevance = _relevance(context, StageKeys(suite, system), Path(scratch))
        seconds = time.process_time() - started
    index = explained_indices(test.labels, suite.explain.n_samples)
    rows = []
    for branch, regions in ALIGNMENT.items():
        for region, on in regions:
            keep = np.array([int(i) not in failed and (on == "all" or test.labels[i] == 0)
                             for i in index])
            windows = index[keep]
            masks = {"expert": test.masks[region][windows],
                     "neurokit2": neurokit[region][windows],
                     "neurokit2_in_span": neurokit[region][windows] & annotated[windows]}
            by_strategy: dict[str, dict[str, list[float]]] = {}
            for (pretraining, _, _), arrays in sorted(relevance.items()):
                scores = by_strategy.setdefault(pretraining, {side: [] for side in masks})
                for side, mask in masks.items():
                    batch = ExplanationBatch(
                        x=test.signals[windows], y=test.labels[windows],
                        target=arrays[f"target_{branch}"][keep].astype(np.int64),
                        attributions=arrays[branch][keep], fs=test.fs, seed=0, mask=mask,
                        mask_name=region)
                    scores[side].append(float(np.nanmean(metric.evaluate_batch(batch))))
            scratch_mean = {side: np.mean(v) for side, v in by_strategy[SCRATCH].items()}
            rows += [{"branch": branch, "region": region, "windows_scored": on,
                      "windows": int(keep.sum()), "pretraining": pretraining,
                      "models": len(s["expert"]),
                      **{side: float(np.mean(v)) for side, v in s.items()},
                      **{f"{side}_vs_scratch": float(np.mean(v) / scratch_mean[side])
                         for side, v in s.items()},
                      **{f"{side}_chance": float(m.mean()) for side, m in masks.items()}}
                     for pretraining, s in by_strategy.items()]
    return {"attribution": ATTRIBUTION, "metric": METRIC, "rows": rows,
            "attribute_cpu_seconds": round(seconds, 1), "models": len(relevance)}


def compute(data: Path) -> dict[str, Any]:
    """Every number of the docs section, with what it cost."""
    os.environ["XECGBENCH_DATA"] = str(data)
    system = load_plugins(autoload=False)
    suite = Suite.model_validate(read_record(BOARD).run.config)
    board_index = read_windows(BOARD, suite.explain.n_samples)
    index = explained_indices(board_index.labels, suite.explain.n_samples)
    started = time.process_time()
    with tempfile.TemporaryDirectory(prefix="xecgbench-delineation-") as cache:  # timed cold
        ludb_sets, neurokit = _ludb(system, suite, index, cache)
        qtdb_set = _qtdb(system, suite, cache)
    delineation_seconds = time.process_time() - started
    alignment = _alignment(system, suite, neurokit["masks"], neurokit["failed"],
                           neurokit["annotated"])
    return {
        "board": BOARD.name, "fs": suite.data.fs, "duration_s": suite.data.duration_s,
        "window_sets": [*ludb_sets, qtdb_set], "alignment": alignment,
        "cost": {"delineation_and_comparison_cpu_seconds": round(delineation_seconds, 1),
                 "attribute_cpu_seconds": alignment.pop("attribute_cpu_seconds")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = compute(args.data)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
