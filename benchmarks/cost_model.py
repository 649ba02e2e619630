"""Cost model of a suite's grid (default ``paper``): CPU-hours here, GPU and Ray-cluster estimates.

1. **Count** the stages of the grid with :func:`xecgbench.run.plan.plan`, per stage type and
   component (pretraining strategy, freezing schedule, attribution method, metric).
2. **Cost per stage** as ``a + b · units``, where ``units`` is the work the stage scales with:
   pretrain ``n_train × epochs``, fine-tune ``n_train × Σ schedule epochs``, evaluate
   ``n_test``, attribute ``n_explained × branches``, score ``n_scored × branches``. ``a`` and
   ``b`` come from two small measured runs of the same grid (synthetic windows at the suite's
   rate and model, one seed, a few epochs; sizes ``SMALL`` and ``LARGE``) timed by the
   runner itself (``stages.seconds``), so fixed costs (model build, LUDB load) are not scaled
   up with the data. With ``--store`` (a results store of this suite, e.g. the lead's
   ``/work/runs/paper/results.sqlite``), the mean measured seconds of every finished
   (stage, component) replace the model.
3. **FLOPs** of one training sample (forward + backward, per branch; pre-training counts the
   branches its strategy declares), one test sample (forward) and one explained sample per
   method and branch, counted with ``torch.utils.flop_counter``.
   Achieved FLOP/s here = FLOPs of the grid's torch work / its modelled CPU seconds; the GPU
   estimate takes, per torch stage, the larger of FLOPs / an assumed sustained GPU rate
   (``--gpu-tflops``) and batches × a per-batch floor (``--gpu-step-ms``: these layers are
   too small to fill a GPU, so kernel launches bound them), and keeps scoring and data
   loading on the CPU; the Ray estimate spreads the CPU seconds over
   ``--ray-workers`` single-thread workers, bounded below by one cell's critical path, plus
   the one-off data preparation (delineation), which the runner does not spread out.

Data-set sizes (``--n-train``, ``--n-test``) default to the suite's data set as found under
``--data-dir`` (one 10-s window per record), else to the full CinC 2017 training set (8,528
records, 284 noisy left out, 80/20 split); a second total extrapolates the data-bound stages
(pretrain, fine-tune, evaluate) and delineation linearly to the full set. Stored stage times
are medians (the first stage of a process also pays for loading the data, a one-off). NeuroKit2
delineation of the records (done once, then cached on disk) is measured on a few records of
``--data-dir`` and added as a one-off term. Early stopping is ignored: every epoch of the
budget is counted, so the training terms are upper bounds. Pre-training on LUDB windows
(``use_ludb``) is a per-epoch cost that does not grow with ``n_train``: the fit puts it in
``a`` at the measured runs' one epoch, so it is under-counted by the paper's extra epochs.

Usage: ``python benchmarks/cost_model.py [--suite paper] [--store results.sqlite] [--json F]``;
``--quick`` uses one tiny measured run size (seconds, for smoke tests).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import statistics
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from measure import load_average, stamp, write_json

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Full CinC 2017 training set: 8,528 records of which 284 are noisy (``~``), 80/20 split.
CINC_USABLE_RECORDS = 8528 - 284
FULL_CINC = (6595, CINC_USABLE_RECORDS - 6595)  # 80 % of 8,244 usable records for training
#: Fit sizes; ``n_costly`` = ``n_samples`` as in the quick suite (every explained window gets
#: every metric, since the quality metrics are batched).
SMALL = {"n_train": 128, "n_test": 64, "n_samples": 8, "n_costly": 8}
LARGE = {"n_train": 1024, "n_test": 512, "n_samples": 64, "n_costly": 64}
DATA_BOUND = ("pretrain", "finetune", "evaluate")
COMPONENT_LABEL = {
    "pretrain": "pretraining", "finetune": "freezing", "evaluate": None,
    "attribute": "attribution", "score": "metric",
}


def component_of(stage: str, labels: dict[str, Any]) -> str:
    """The label a stage's cost depends on (its strategy, schedule, method or metric)."""
    key = COMPONENT_LABEL[stage]
    return str(labels.get(key)) if key else ""


def stage_units(suite: Any, system: Any, n_train: int, n_test: int) -> dict[tuple[str, str], int]:
    """Units of work per (stage, component) for a suite on data of the given sizes."""
    explain = suite.explain
    branches = len(explain.branches)
    units: dict[tuple[str, str], int] = {}
    for spec in suite.pretraining:
        units[("pretrain", spec.display)] = n_train * suite.pretraining_budget.epochs
    for spec in suite.freezing:
        schedule = system.registry["freezing"].get(spec.name)(**spec.params)
        epochs = sum(s.epochs for s in schedule.stages(4, suite.training.epochs))
        units[("finetune", spec.display)] = n_train * epochs
    units[("evaluate", "")] = n_test
    for spec in suite.attributions:
        units[("attribute", spec.display)] = explain.n_samples * branches
    for spec in suite.metrics:
        cls = system.registry["metrics"].get(spec.name)
        if cls.info.category != "accuracy":
            n = explain.n_costly if getattr(cls, "costly", False) else explain.n_samples
            units[("score", spec.display)] = n * branches
    return units


def stage_counts(suite: Any, system: Any) -> Counter[tuple[str, str]]:
    """How many stages of each (stage, component) the grid plans."""
    from xecgbench.run.plan import plan

    return Counter(
        (p.task.stage, component_of(p.task.stage, p.task.labels)) for p in plan(suite, system)
    )


def dataset_sizes(suite: Any, system: Any) -> tuple[int, int] | None:
    """Training and test windows of the suite's data set here (catalogue or parameters)."""
    spec = suite.data.dataset
    cls = system.registry["datasets"].get(spec.name)
    try:
        dataset = cls(**spec.params)
        if hasattr(dataset, "records"):  # WFDB data sets: one window per record ("first")
            return len(dataset.records("train")[0]), len(dataset.records("test")[0])
    except Exception:  # no local copy of the data: fall back to the full-set sizes
        return None
    if "n_train" in spec.params:
        return int(spec.params["n_train"]), int(spec.params.get("n_test", 0))
    return None


def store_seconds(path: Path) -> dict[tuple[str, str], list[float]]:
    """Measured seconds of every finished stage in a results store, by (stage, component)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT stage, labels_json, seconds FROM stages WHERE status = 'done' "
            "AND seconds IS NOT NULL"
        ).fetchall()
    finally:
        connection.close()
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for stage, labels, value in rows:
        seconds[(stage, component_of(stage, json.loads(labels)))].append(float(value))
    return seconds


def small_suite(name: str, size: dict[str, int]) -> Any:
    """``name`` shrunk to synthetic windows of ``size``, one seed, every epoch run."""
    from xecgbench.run.config import load_suite

    overrides = [
        "seeds=[0]",
        f"data.dataset={{name: synthetic, params: {{n_train: {size['n_train']}, "
        f"n_test: {size['n_test']}, seed: 0}}}}",
        "data.test=null",
        "pretraining_budget.epochs=1", "pretraining_budget.patience=1",
        "training.epochs=4", "training.patience=4",
        f"explain.n_samples={size['n_samples']}", f"explain.n_costly={size['n_costly']}",
    ]
    return load_suite(name, overrides)


def measured_run(name: str, size: dict[str, int], system: Any) -> dict[tuple[str, str], float]:
    """Mean seconds per (stage, component) of a small run of ``name``, timed by the runner."""
    from xecgbench.run.runner import run_suite

    suite = small_suite(name, size)
    with tempfile.TemporaryDirectory(prefix="xecgbench-cost-") as out:
        summary = run_suite(suite, system, Path(out), quiet=True)
        seconds = store_seconds(summary.store_path)
    return {key: sum(v) / len(v) for key, v in seconds.items()}


def fit_lines(
    runs: list[tuple[dict[tuple[str, str], int], dict[tuple[str, str], float]]],
) -> dict[tuple[str, str], tuple[float, float]]:
    """``(a, b)`` of ``seconds = a + b · units`` per key through the measured runs."""
    lines = {}
    for key in runs[0][1]:
        points = [(units[key], secs[key]) for units, secs in runs if key in secs and key in units]
        if len(points) >= 2 and points[-1][0] != points[0][0]:
            (u0, t0), (u1, t1) = points[0], points[-1]
            b = max((t1 - t0) / (u1 - u0), 0.0)
            lines[key] = (max(t0 - b * u0, 0.0), b)
        elif points:
            u0, t0 = points[0]
            lines[key] = (0.0, t0 / u0 if u0 else 0.0)
    return lines


def count_flops(run: Any) -> float:
    """FLOPs of ``run()`` by ``torch.utils.flop_counter``'s per-op formulas.

    ``FlopCounterMode`` itself tracks modules with backward hooks that clash with zennit's own
    (autograd raises inside ``autograd.grad``); then the same formulas are applied by a plain
    dispatch mode that tracks no modules.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    counter = FlopCounterMode(display=False)
    try:
        with counter:
            run()
        return float(counter.get_total_flops())
    except RuntimeError:
        pass

    class OpFlops(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                self.total += formula(*args, **kwargs, out_val=out)
            return out

    mode = OpFlops()
    with mode:
        run()
    return float(mode.total)


def flops_per_unit(suite: Any, system: Any) -> dict[tuple[str, str], float]:
    """FLOPs per unit of work: training/test sample, explained sample per method and branch."""
    import functools

    import torch

    from xecgbench.plugins.attribution_checks import accepts_masks, make_attribution

    fs, t = suite.data.fs, round(suite.data.fs * suite.data.duration_s)
    factory = system.registry["models"].get(suite.model.name)
    torch.manual_seed(0)
    model = factory(fs=fs, n_samples=t, **suite.model.params)
    batch = 8
    x, y = torch.rand(batch, 1, t), torch.randint(0, 2, (batch,))
    # Wave masks for methods that take them (clinical occlusion): a P, QRS and T band per beat.
    phase = np.arange(t) % round(fs)
    masks = {name: np.broadcast_to((lo <= phase) & (phase < hi), (batch, t))
             for name, (lo, hi) in {"p_wave": (0, 25), "qrs": (40, 65),
                                    "t_wave": (100, 150)}.items()}

    def train_step(branch: str) -> None:
        torch.nn.functional.cross_entropy(model.branches[branch](x), y).backward()

    flops = {("train", b): count_flops(functools.partial(train_step, b)) / batch
             for b in model.branches}
    for spec in suite.pretraining:  # only the branches a strategy declares are pre-trained
        declared = system.registry["pretraining"].get(spec.name).branches
        flops[("pretrain", spec.display)] = sum(flops[("train", b)] for b in declared)
    with torch.no_grad():
        flops[("forward", "")] = count_flops(lambda: model(x)) / batch
    model.eval()
    for spec in suite.attributions:
        cls = system.registry["attributions"].get(spec.name)
        per_branch = []
        for branch in suite.explain.branches:
            method = make_attribution(cls, model.explainable(branch), fs=fs, seed=0, **spec.params)
            extra = {"masks": masks} if accepts_masks(method) else {}
            per_branch.append(count_flops(functools.partial(method, x, y, **extra)) / batch)
        flops[("attribute", spec.display)] = sum(per_branch) / len(per_branch)
    return flops


def delineation_seconds(data_dir: Path, n_records: int = 5) -> float | None:
    """Mean seconds of NeuroKit2 delineation per CinC 2017 record (None without the data)."""
    from xecgbench_builtin.data.cinc2017 import CinC2017
    from xecgbench_builtin.data.fiducials import delineate

    path = data_dir / "cinc2017"
    if not (path / "REFERENCE.csv").exists():
        return None
    dataset = CinC2017(path=path)
    entries = dataset.records("all")[0][:n_records]
    spent = 0.0
    for entry in entries:
        raw = dataset._read(entry)
        start = time.process_time()
        delineate(raw.record, raw.signal, raw.fs, cache_dir=None)
        spent += time.process_time() - start
    return spent / len(entries)


def batch_size(suite: Any, stage: str) -> int:
    """Samples per torch call in ``stage`` (``predict`` batches 256 test windows)."""
    return {"pretrain": suite.pretraining_budget.batch_size, "finetune": suite.training.batch_size,
            "evaluate": 256, "attribute": suite.explain.batch_size}.get(stage, 1)


def run(suite_name: str = "paper", store: Path | None = None, n_train: int | None = None,
        n_test: int | None = None, gpu_tflops: float = 5.0, gpu_step_ms: float = 1.0,
        ray_workers: int = 64, data_dir: Path | None = None,
        quick: bool = False) -> dict[str, Any]:
    """The cost table of ``suite_name`` and its CPU, GPU and Ray totals."""
    import torch

    from xecgbench.plugins.manager import load_plugins
    from xecgbench.run.config import load_suite

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)  # as the runner's stages (executors.STAGE_THREADS)
    data_dir = data_dir or Path(os.environ.get("XECGBENCH_DATA", REPO_ROOT.parent / "shared/data"))
    os.environ.setdefault("XECGBENCH_DATA", str(data_dir))
    system = load_plugins(autoload=False)
    suite = load_suite(suite_name)
    here = dataset_sizes(suite, system)
    full = FULL_CINC
    n_train = n_train or (here or full)[0]
    n_test = n_test or (here or full)[1]
    load_before = load_average()

    sizes = [SMALL] if quick else [SMALL, LARGE]
    measured = []
    for size in sizes:
        small = small_suite(suite_name, size)
        units = stage_units(small, system, size["n_train"], size["n_test"])
        measured.append((units, measured_run(suite_name, size, system)))
    lines = fit_lines(measured)
    stored = store_seconds(store) if store else {}

    counts = stage_counts(suite, system)
    units = stage_units(suite, system, n_train, n_test)
    flops = flops_per_unit(suite, system)
    table = []
    for (stage, component), count in sorted(counts.items()):
        key = (stage, component)
        if stored.get(key):  # median: robust to load spikes and to the first stage's data load
            per_stage, source = statistics.median(stored[key]), f"store ({len(stored[key])})"
        else:
            a, b = lines.get(key, (math.nan, math.nan))
            per_stage, source = a + b * units[key], "model"
        if stage == "pretrain":
            unit_flops = flops[key]
        elif stage == "finetune":  # frozen blocks skip weight gradients: an upper bound
            unit_flops = sum(v for (kind, _), v in flops.items() if kind == "train")
        elif stage == "evaluate":
            unit_flops = flops[("forward", "")]
        elif stage == "attribute":
            unit_flops = flops[key]
        else:
            unit_flops = 0.0  # metrics run in numpy on the CPU
        steps = math.ceil(units[key] / batch_size(suite, stage)) if unit_flops else 0
        table.append({
            "stage": stage, "component": component, "count": count, "units": units[key],
            "seconds_per_stage": per_stage, "source": source,
            "cpu_hours": count * per_stage / 3600,
            "tflop": count * units[key] * unit_flops / 1e12,
            "gpu_seconds": count * max(units[key] * unit_flops / (gpu_tflops * 1e12),
                                       steps * gpu_step_ms / 1e3),
        })
    delineation = delineation_seconds(data_dir, 2 if quick else 5)
    cpu_s = sum(r["count"] * r["seconds_per_stage"] for r in table)
    one_off_s = (delineation or 0.0) * (n_train + n_test)
    torch_rows = [r for r in table if r["tflop"] > 0]
    torch_s = sum(r["count"] * r["seconds_per_stage"] for r in torch_rows)
    tflop = sum(r["tflop"] for r in table)
    gpu_s = sum(r["gpu_seconds"] for r in torch_rows) + (cpu_s - torch_s) + one_off_s
    scale = (full[0] + full[1]) / (n_train + n_test)  # data-bound stages grow with the records
    full_s = sum(r["count"] * r["seconds_per_stage"] * (scale if r["stage"] in DATA_BOUND else 1)
                 for r in table) + (delineation or 0.0) * (full[0] + full[1])
    critical_s = sum(max(r["seconds_per_stage"] for r in table if r["stage"] == s)
                     for s in {r["stage"] for r in table})
    # every worker loads the data set itself; delineation is cached on disk but done once first
    ray_s = max(cpu_s / ray_workers, critical_s) + one_off_s
    totals = {
        "cpu_hours": (cpu_s + one_off_s) / 3600,
        "wall_hours_2_cores": (cpu_s + one_off_s) / 3600 / 2,
        "cpu_hours_full_cinc2017": full_s / 3600,
        "delineation_s_per_record": delineation,
        "tflop": tflop,
        "achieved_gflops_here": 1e3 * tflop / torch_s if torch_s else math.nan,
        "gpu_hours": gpu_s / 3600,
        "gpu_tflops_assumed": gpu_tflops,
        "gpu_step_ms_assumed": gpu_step_ms,
        "ray_workers": ray_workers,
        "ray_wall_hours": ray_s / 3600,
        "critical_path_s": critical_s,
    }
    rows = [
        {"figure": f"`{suite_name}` grid, CPU-hours (1 thread)", "value": totals["cpu_hours"],
         "unit": "h", "target": "", "met": None},
        {"figure": f"`{suite_name}` grid on the full CinC 2017, CPU-hours (extrapolated)",
         "value": totals["cpu_hours_full_cinc2017"], "unit": "h", "target": "", "met": None},
        {"figure": f"`{suite_name}` grid, GPU estimate ({gpu_tflops:g} TFLOP/s sustained)",
         "value": totals["gpu_hours"], "unit": "h", "target": "", "met": None},
        {"figure": f"`{suite_name}` grid, Ray estimate ({ray_workers} workers)",
         "value": totals["ray_wall_hours"], "unit": "h", "target": "", "met": None},
    ]
    return stamp({
        "benchmark": "cost_model", "suite": suite_name, "n_train": n_train, "n_test": n_test,
        "store": str(store) if store else None, "measured_sizes": sizes,
        "flops_per_unit": {f"{s}:{c}": v for (s, c), v in flops.items()},
        "table": table, "totals": totals, "load_average_before": load_before, "rows": rows,
    })


def markdown(result: dict[str, Any]) -> str:
    """The per-(stage, component) cost table."""
    lines = ["| stage | component | stages | units/stage | s/stage | source | CPU-h | TFLOP |",
             "|---|---|---:|---:|---:|---|---:|---:|"]
    for r in result["table"]:
        lines.append(
            f"| {r['stage']} | {r['component'] or '-'} | {r['count']} | {r['units']} | "
            f"{r['seconds_per_stage']:.2f} | {r['source']} | {r['cpu_hours']:.3f} | "
            f"{r['tflop']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="paper")
    parser.add_argument("--store", type=Path, default=None, help="results.sqlite of this suite.")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--gpu-tflops", type=float, default=5.0,
                        help="Sustained GPU rate assumed for these small 1-D convolutions.")
    parser.add_argument("--gpu-step-ms", type=float, default=1.0,
                        help="Floor per batch on a GPU (kernel launches of ~30 small layers).")
    parser.add_argument("--ray-workers", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="One tiny measured run.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    result = run(args.suite, args.store, args.n_train, args.n_test, args.gpu_tflops,
                 args.gpu_step_ms, args.ray_workers, args.data_dir, args.quick)
    print(f"{result['suite']}: n_train {result['n_train']}, n_test {result['n_test']}")
    print(markdown(result))
    for key, value in result["totals"].items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    print(f"load average {result['load_average_before']} -> {result['load_average']}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
