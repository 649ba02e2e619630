"""``xecgbench leaderboard submit``: score an installed method (or metric) on a board's models.

The board's run already trained every model; a submission re-scores only. It runs the runner's
own attribute and score stages (:mod:`xecgbench.run.explanation_stages`) with a context whose
evaluation windows and fine-tuned models come from the board's published files, under the
board's config (explain settings, metrics, seeds), so its rows are the rows the grid would have
produced with the method listed in the suite — and need neither retraining nor the datasets.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xecgbench.errors import UserError
from xecgbench.plugins.manager import PluginSystem
from xecgbench.report.board_format.submission_record import SubmissionRecord
from xecgbench.report.published import PublishedModel, read_model, read_models, read_windows
from xecgbench.report.results_files import (
    RAW_SCORE_COLUMNS,
    FlagRecord,
    ResultsFileError,
    RunInfo,
    RunRecord,
    read_record,
    validate_directory,
    write_raw_results,
)
from xecgbench.run.cache import ArtifactCache
from xecgbench.run.config import ComponentSpec, Suite
from xecgbench.run.distributions import local_plugins
from xecgbench.run.stage_types import UNTRAINED, StageContext, StageTask


def submission_suite(board_config: dict[str, Any], system: PluginSystem,
                     attribution: str | None, metric: str | None) -> Suite:
    """The board's suite with the submitted attribution (replacing the board's) and metric
    (added) — what a run listing the method would have been — without the board's
    pre-registered primary tests (they name the board's methods, and are the board's)."""
    from pydantic import ValidationError

    from xecgbench.run.preflight import validate_components

    config = dict(board_config)
    if attribution is not None:
        config["attributions"] = [attribution]
    # the board's pre-registered tests stay the board's: a submission adds rows, never a test
    config["primary_tests"] = []
    listed = {m if isinstance(m, str) else m["name"] for m in config["metrics"]}
    if metric is not None and metric not in listed:
        config["metrics"] = [*config["metrics"], metric]
    try:
        suite = Suite.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"the board's config with the submission is not a valid suite: "
                        f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    validate_components(suite, system)
    return suite


def _scored_metrics(suite: Suite, system: PluginSystem, metric: str | None) -> list[ComponentSpec]:
    """The submitted metric alone, or every explanation metric of the board."""
    registry = system.registry["metrics"]
    explanation = [s for s in suite.metrics if registry.get(s.name).info.category != "accuracy"]
    if metric is None:
        return explanation
    chosen = [s for s in explanation if s.name == metric]
    if not chosen:
        raise UserError(f"metric {metric!r} is an accuracy metric: it scores models, and a "
                        "board's models do not change; submit an explanation metric")
    return chosen


def _run(stage: Any, context: StageContext, task: StageTask) -> Any:
    """A stage, with a failure of the component turned into one line naming it and its plugin."""
    from xecgbench.run.executors import stage_threads
    from xecgbench.run.stage_types import STAGE_KIND
    from xecgbench.run.time_limit import StageTimeLimit, time_limit

    try:
        with stage_threads(), time_limit(context.suite.stage_time_limit_s):
            return stage(context, task)
    except UserError:
        raise
    except (Exception, StageTimeLimit) as exc:
        kind = STAGE_KIND[task.stage]
        spec = task.specs[kind]
        cell = " ".join(f"{k}={task.labels[k]}" for k in ("seed", "pretraining", "freezing"))
        raise UserError(f"{kind} {spec.name!r} (plugin {context.plugin_of(kind, spec.name)}) "
                        f"failed on {cell}: {type(exc).__name__}: {exc}") from None


def score_on_board(board: Path, suite: Suite, system: PluginSystem,
                   models: Sequence[PublishedModel],
                   metrics: Sequence[ComponentSpec]) -> tuple[pd.DataFrame, list[FlagRecord]]:
    """Attribute with every attribution of ``suite`` and score ``metrics`` on ``models``, and
    on each of their seeds' untrained models (the null baseline, rebuilt from the seed) when
    the board's suite has one."""
    from xecgbench.run.explanation_stages import run_attribute, run_score
    from xecgbench.run.plan import StageKeys

    test = read_windows(board, suite)
    keys = StageKeys(suite, system)
    rows: list[dict[str, Any]] = []
    flags: list[FlagRecord] = []

    def explain(context: StageContext, seed: int, model_key: str, labels: dict[str, Any],
                specs: dict[str, ComponentSpec], upstream: dict[str, tuple[str, str]]) -> None:
        for attribution in suite.attributions:
            attr_specs = {**specs, "attributions": attribution}
            attr_labels = {**labels, "attribution": attribution.display}
            attr_key = keys.attribute(model_key, attribution)
            task = StageTask("attribute", attr_key, seed, attr_specs, attr_labels, upstream)
            outcome = _run(run_attribute, context, task)
            if labels.get("model_state") != UNTRAINED:
                flags.extend(FlagRecord(pretraining=labels["pretraining"],
                                        freezing=labels["freezing"], seed=seed, branch=branch,
                                        attribution=attribution.display,
                                        flag="all-zero relevance")
                             for branch, share in outcome.report["zero_relevance"].items()
                             if share >= 1.0)
            needs = {**upstream, "attribute": (outcome.artifact, outcome.checksum)}
            for metric in metrics:
                task = StageTask("score", keys.score(attr_key, metric), seed,
                                 {**attr_specs, "metrics": metric},
                                 {**attr_labels, "metric": metric.display}, needs)
                rows.extend(_run(run_score, context, task).scores)

    dataset = suite.data.dataset.display
    with tempfile.TemporaryDirectory(prefix="xecgbench-submit-") as scratch:
        cache = ArtifactCache(scratch)
        # the training set is never read by the explanation stages
        context = StageContext(suite, system, cache, data=(test, test))
        for model in models:
            target = Path(scratch) / model.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_model(board, model))
            cell = {"dataset": dataset, "seed": model.seed, "pretraining": model.pretraining,
                    "freezing": model.freezing}
            explain(context, model.seed, model.stage_key, cell,
                    {"models": suite.model}, {"finetune": (model.file, model.sha256)})
        if suite.explain.untrained_baseline:
            for seed in sorted({model.seed for model in models}):
                null = {"dataset": dataset, "seed": seed, "pretraining": None,
                        "freezing": None, "model_state": UNTRAINED}
                explain(context, seed, keys.untrained(seed), null, {"models": suite.model}, {})
    return pd.DataFrame(rows, columns=["stage_key", *RAW_SCORE_COLUMNS]), flags


def _board_record(board: Path) -> RunRecord:
    record = read_record(board)
    if record.submission is not None:
        raise ResultsFileError(f"{board} is a submission, not a board")
    return record


def _run_id(folder: str, started: float) -> str:
    """The submission's run id from its folder's name, made a safe id (a folder named
    ``sub[x]`` ended the submit in a pydantic traceback after all its work)."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", folder)[:100].lstrip("._+-") or "submission"
    return f"{safe}-{int(started)}"


def local_components(system: PluginSystem, under_test: dict[str, str]) -> dict[str, str]:
    """Plugin -> why its code is local, for the plugins of the submitted components."""
    plugins = {system.registry[kind].registration(name).plugin
               for kind, name in under_test.items() if name in system.registry[kind]}
    return local_plugins(system, plugins)


def submit(board: Path, system: PluginSystem, out: Path, *, attribution: str | None = None,
           metric: str | None = None, publishable: bool = False,
           notify: Callable[[str], None] = lambda line: None) -> Path:
    """Score ``attribution`` (and/or ``metric``) on ``board``'s published models into ``out``.

    A submitted plugin whose code exists only here (editable install, local path) is recorded
    as ``local`` and ``notify`` is told; ``publishable`` refuses it before any work.
    """
    from xecgbench.run.provenance import provenance

    if attribution is None and metric is None:
        raise UserError("give --attribution NAME or --metric NAME (or both)")
    board = Path(board)
    record = _board_record(board)
    suite = submission_suite(record.run.config, system, attribution, metric)
    metrics = _scored_metrics(suite, system, metric)
    if out.exists() and not (out / "run.json").is_file() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not a submission directory; choose another --out")
    started = time.time()
    under_test = {kind: name for kind, name in (("attributions", attribution),
                                                ("metrics", metric)) if name is not None}
    local = local_components(system, under_test)
    for plugin, reason in local.items():
        if publishable:
            raise UserError(f"plugin {plugin!r} is {reason}: a publishable submission needs "
                            "code others can install (a package index or a VCS URL)")
        notify(f"note: plugin {plugin!r} is {reason}; the submission is marked local "
               "(not reproducible elsewhere)")
    scores, flags = score_on_board(board, suite, system, read_models(board), metrics)
    run_provenance = provenance(system, suite)
    catalogue = run_provenance.pop("catalogue")
    submission = SubmissionRecord(
        board=board.resolve().name, board_run_id=record.run.run_id,
        board_config_hash=record.run.config_hash, under_test=under_test,
        attributions=[s.display for s in suite.attributions],
        metrics=[s.display for s in metrics], local=local)
    run = RunInfo(run_id=_run_id(out.name, started), suite=f"{record.run.suite}+{out.name}",
                  config_hash=suite.config_hash(), config=suite.model_dump(mode="json"),
                  provenance=run_provenance, started=started, finished=time.time(),
                  status="finished")
    result = RunRecord(run=run, metrics={k: v for k, v in catalogue["metrics"].items()
                                         if k in submission.metrics},
                       strategies=record.strategies, flags=flags, submission=submission)
    write_raw_results(result, scores[list(RAW_SCORE_COLUMNS)], out)
    validate_directory(out)
    return out


def rescore(submission_dir: Path, board: Path, system: PluginSystem,
            models: Sequence[PublishedModel],
            stage_time_limit_s: float | None = None) -> pd.DataFrame:
    """The submission's rows rerun from its ``run.json`` on ``models`` (as written by submit),
    no stage past ``stage_time_limit_s``."""
    record = read_record(submission_dir)
    assert record.submission is not None
    suite = Suite.model_validate(record.run.config)
    suite = suite.model_copy(update={"stage_time_limit_s": stage_time_limit_s})
    metrics = [s for s in suite.metrics if s.display in record.submission.metrics]
    scores, _ = score_on_board(board, suite, system, models, metrics)
    with tempfile.TemporaryDirectory(prefix="xecgbench-rescore-") as scratch:
        # through the writer and reader, so both sides carry the committed precision and types
        write_raw_results(record, scores[list(RAW_SCORE_COLUMNS)], Path(scratch))
        return validate_directory(Path(scratch)).scores
