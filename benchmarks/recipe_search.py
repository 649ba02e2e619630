"""Training-recipe search on a validation split of CinC 2017's *training* records only.

The test split of the suite (``split_seed`` 0, 20 %) is never loaded: the suite's train split
is divided by record into fit (75 %) and validation (25 %) records; fine-tuning carves its own
early-stopping split from the fit records, as in a run. Each recipe is scored on the first
10-s window of every validation record (the test-window rule of the paper suite): balanced
accuracy and AF F1 per branch and for the ensemble, the all-non-AF rate, and seconds per
epoch. Pretext tasks (``--pretext``) report RR R² / MAE and P-wave F1 on their own held-out
records. Results: ``benchmarks/results/recipe_search.json`` (appended, one entry per recipe);
``docs/training.md`` tabulates them.

Usage: ``nice python benchmarks/recipe_search.py --limit 2000 --recipes base,bn,cosine``.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from measure import load_average
from scipy import stats

from xecgbench.plugins.components import Augmentation, FineTuneStage, TrainingBudget
from xecgbench.run.training import fine_tune, grouped_holdout, predict, record_groups
from xecgbench_builtin.data.cinc2017 import CinC2017
from xecgbench_builtin.metrics.accuracy import F1AF, BalancedAccuracy
from xecgbench_builtin.models.pretraining import PWaveDetection, RRVariability
from xecgbench_builtin.models.xecgarch import build_xecgarch

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "recipe_search.json"

#: Name -> (model params, fine-tuning budget, train windowing, fs). ``base`` is the committed
#: paper recipe before issue 12 (width 8, no BatchNorm, constant lr 0.01, 12 epochs, first
#: window); each other recipe changes what its name says.
BASE: dict[str, Any] = {
    "width": 8, "batch_norm": False, "epochs": 12, "lr": 0.01, "patience": 3,
    "schedule": "constant", "windowing": "first", "fs": 250.0, "batch_size": 64,
    "normalise": "minmax", "class_weight": "inverse", "augment": [], "validate_on": "first",
}
RECIPES: dict[str, dict[str, Any]] = {
    "base": {},
    "crops": {"windowing": "crops"},
    "crops-e30": {"windowing": "crops", "epochs": 30, "patience": 6},
    "crops-e30-cos": {"windowing": "crops", "epochs": 30, "patience": 30, "schedule": "cosine"},
    "crops-bn": {"windowing": "crops", "batch_norm": True, "epochs": 30, "patience": 6},
    "crops-bn-lr3": {"windowing": "crops", "batch_norm": True, "epochs": 30, "patience": 6,
                     "lr": 0.003},
    "crops-w16": {"windowing": "crops", "width": 16, "epochs": 30, "patience": 6},
    "crops-bn-w16": {"windowing": "crops", "width": 16, "batch_norm": True, "epochs": 30,
                     "patience": 6},
    "crops-bn-fs125": {"windowing": "crops", "batch_norm": True, "epochs": 30, "patience": 6,
                       "fs": 125.0},
    "crops-bn-lr1": {"windowing": "crops", "batch_norm": True, "epochs": 30, "patience": 8,
                     "lr": 0.001},
    "crops-z-lr3": {"windowing": "crops", "normalise": "zscore", "epochs": 30, "patience": 6,
                    "lr": 0.003},
    "crops-bn-z-lr3": {"windowing": "crops", "batch_norm": True, "normalise": "zscore",
                       "epochs": 30, "patience": 6, "lr": 0.003},
    "crops-z-lr3-p10": {"windowing": "crops", "normalise": "zscore", "epochs": 30,
                        "patience": 10, "lr": 0.003},
    "crops-z-lr3-sqrt": {"windowing": "crops", "normalise": "zscore", "epochs": 30,
                         "patience": 6, "lr": 0.003, "class_weight": "sqrt"},
    "crops-z-lr3-unweighted": {"windowing": "crops", "normalise": "zscore", "epochs": 30,
                               "patience": 6, "lr": 0.003, "class_weight": "equal"},
    "crops-bn-z-cos": {"windowing": "crops", "batch_norm": True, "normalise": "zscore",
                       "epochs": 30, "patience": 30, "lr": 0.003, "schedule": "cosine"},
}
#: Issue 29: the committed ``paper`` recipe and what the field does beyond it, judged per
#: record (every 10-s crop of a validation record, mean AF probability) at full scale.
PAPER: dict[str, Any] = {"windowing": "crops", "normalise": "zscore", "epochs": 30,
                         "patience": 10, "lr": 0.003}
RECIPES |= {
    "paper": PAPER,
    "paper-w16": {**PAPER, "width": 16},
    "paper-w16-lr1": {**PAPER, "width": 16, "lr": 0.001},
    "paper-w32-lr1": {**PAPER, "width": 32, "lr": 0.001},
    "paper-fs300": {**PAPER, "fs": 300.0},
    "paper-bn": {**PAPER, "batch_norm": True},
    "paper-e60": {**PAPER, "epochs": 60, "patience": 15},
    "paper-w16-e60": {**PAPER, "width": 16, "epochs": 60, "patience": 15},
    # label-preserving for AF (ecg-augmentations' own table): wander, noise at high SNR, gain
    "paper-aug": {**PAPER, "augment": [
        {"name": "BaselineWander", "params": {"amplitude": [0.05, 0.3], "p": 0.5}},
        {"name": "GaussianNoise", "params": {"snr_db": [20, 40], "p": 0.5}},
        {"name": "AmplitudeScale", "params": {"scale": [0.8, 1.25], "p": 0.5}}]},
}
RECIPES["paper-aug-e60"] = {**RECIPES["paper-aug"], "epochs": 60, "patience": 15}
RECIPES["paper-w16-aug-e60"] = {**RECIPES["paper-aug-e60"], "width": 16}
RECIPES["paper-w32-e60"] = {**RECIPES["paper-w16-e60"], "width": 32}
# early stopping on every crop of the held-out records: a steadier loss than their first
RECIPES["paper-w16-e60-valall"] = {**RECIPES["paper-w16-e60"], "validate_on": "all"}


@functools.cache
def _train_split(limit: int, fs: float, cache: Path, path: Path, normalise: str) -> Any:
    dataset = CinC2017(path=path, limit=limit, split_seed=0, test_fraction=0.2,
                       train_windowing="crops", crop_step_s=5.0, cache_dir=cache,
                       normalise=normalise)
    return dataset.load("train", fs=fs, duration_s=10.0)


def _data(limit: int, fs: float, windowing: str, cache: Path, path: Path,
          normalise: str = "minmax") -> tuple[Any, Any]:
    train = _train_split(limit, fs, cache, path, normalise)
    groups = record_groups(train.record_ids)
    fit_idx, val_idx = grouped_holdout(train.labels, groups, 0.25, seed=100)
    first = np.array([r.endswith("#0") for r in train.record_ids])
    fit = fit_idx if windowing == "crops" else fit_idx[first[fit_idx]]
    return train.subset(fit), train.subset(val_idx[first[val_idx]])


def _validation_crops(limit: int, fs: float, cache: Path, path: Path, normalise: str) -> Any:
    """Every crop (5-s step) of every validation record: the record-level evaluation set."""
    train = _train_split(limit, fs, cache, path, normalise)
    _, val_idx = grouped_holdout(train.labels, record_groups(train.record_ids), 0.25, seed=100)
    return train.subset(val_idx)


def _scores(labels: np.ndarray, probs: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {"majority_rate": float(max(labels.mean(), 1 - labels.mean()))}
    for branch, p in probs.items():
        out[branch] = {
            "balanced_accuracy": BalancedAccuracy().evaluate(labels, p),
            "f1_af": F1AF().evaluate(labels, p),
            "accuracy": float(np.mean((p >= 0.5) == labels)),
            "constant": bool(np.all(p >= 0.5) or np.all(p < 0.5)),
        }
    return out


def _cross_fitted_f1(labels: np.ndarray, p: np.ndarray, seed: int) -> tuple[float, float]:
    """F1 of AF at a threshold chosen on the *other* half of the records (2-fold, stratified),
    pooled over both halves, and the mean chosen threshold: a validation-chosen threshold
    judged on records it was not chosen on."""
    from sklearn.metrics import f1_score, precision_recall_curve
    from sklearn.model_selection import StratifiedKFold

    predicted = np.zeros_like(labels)
    thresholds = []
    for tune, judge in StratifiedKFold(2, shuffle=True, random_state=seed).split(p, labels):
        precision, recall, cut = precision_recall_curve(labels[tune], p[tune])
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        best = float(cut[int(np.argmax(f1[:-1]))])
        thresholds.append(best)
        predicted[judge] = p[judge] >= best
    return float(f1_score(labels, predicted)), float(np.mean(thresholds))


def _record_scores(val_set: Any, probs: dict[str, np.ndarray], seed: int) -> dict[str, Any]:
    """Record level: each validation record's AF probability is the mean over its crops."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    records = np.array([r.split("#")[0] for r in val_set.record_ids])
    names, inverse = np.unique(records, return_inverse=True)
    counts = np.bincount(inverse)
    labels = np.bincount(inverse, weights=val_set.labels) / counts
    out: dict[str, Any] = {"n_records": len(names), "n_af": int(labels.sum()),
                           "windows_per_record": float(counts.mean())}
    for branch, p in probs.items():
        mean = np.bincount(inverse, weights=p) / counts
        f1, threshold = _cross_fitted_f1(labels.astype(int), mean, seed)
        out[branch] = {"auroc": float(roc_auc_score(labels, mean)),
                       "auprc": float(average_precision_score(labels, mean)),
                       "f1_af_05": F1AF().evaluate(labels.astype(int), mean),
                       "f1_af_cross_fitted": f1, "threshold": threshold,
                       "balanced_accuracy": BalancedAccuracy().evaluate(labels.astype(int), mean)}
    return out


def run_recipe(name: str, seed: int, limit: int, cache: Path, path: Path) -> dict[str, Any]:
    """Fine-tune ``name`` from scratch (pretraining ``none``) and score it on validation."""
    r = {**BASE, **RECIPES[name]}
    fit_set, val_set = _data(limit, r["fs"], r["windowing"], cache, path, r["normalise"])
    every_crop = _validation_crops(limit, r["fs"], cache, path, r["normalise"])
    torch.manual_seed(seed)
    model = build_xecgarch(fs=r["fs"], n_samples=fit_set.signals.shape[-1], width=r["width"],
                           batch_norm=r["batch_norm"])
    budget = TrainingBudget(epochs=r["epochs"], batch_size=r["batch_size"], lr=r["lr"],
                            patience=r["patience"], schedule=r["schedule"],
                            class_weight=r["class_weight"],
                            augment=tuple(Augmentation(**a) for a in r["augment"]),
                            validate_on=r["validate_on"])
    started = time.perf_counter()
    histories = fine_tune(model, fit_set, [FineTuneStage(0, r["epochs"])], budget, seed)
    seconds = time.perf_counter() - started
    epochs = sum(len(h.train_loss) for hs in histories.values() for h in hs)
    return {
        "recipe": name, "seed": seed, "limit": limit, **r,
        "early_stopping_windows": ("every crop per record" if r["validate_on"] == "all"
                                   else "first window per record"),
        "n_fit_records": len({x.split("#")[0] for x in fit_set.record_ids}),
        "n_val_records": len(val_set.labels), "seconds": round(seconds, 1),
        "seconds_per_branch_epoch": round(seconds / max(epochs, 1), 2),
        "epochs_run": {b: sum(len(h.train_loss) for h in hs) for b, hs in histories.items()},
        "validation": _scores(val_set.labels, predict(model, val_set.signals)),
        "record_level": _record_scores(every_crop, predict(model, every_crop.signals), seed),
        "load": load_average(),
    }


def run_pretext(name: str, seed: int, limit: int, epochs: int, cache: Path,
                path: Path) -> dict[str, Any]:
    """RR-variability or P-wave pretraining on the fit records; its held-out report."""
    fit_set, _ = _data(limit, 250.0, "crops", cache, path, "zscore")
    torch.manual_seed(seed)
    model = build_xecgarch(fs=250.0, n_samples=fit_set.signals.shape[-1], width=8)
    budget = TrainingBudget(epochs=epochs, batch_size=64, lr=0.01, patience=max(3, epochs // 5))
    strategy = (RRVariability() if name == "rr"
                else PWaveDetection(use_ludb=True, ludb_normalise="zscore"))
    started = time.perf_counter()
    report = strategy.pretrain(model, fit_set, seed=seed, budget=budget)
    return {"pretext": name, "seed": seed, "limit": limit, "epochs": epochs,
            "seconds": round(time.perf_counter() - started, 1), "report": report,
            "load": load_average()}


def _value(key: str, value: Any) -> str:
    return "+".join(a["name"] for a in value) if key == "augment" else str(value)


def _changes(entry: dict[str, Any]) -> str:
    changed = [f"{k}={_value(k, entry[k])}" for k in BASE if entry.get(k, BASE[k]) != BASE[k]]
    return ", ".join(changed) or "(committed recipe before issue 12)"


def _record_level_table(entries: list[dict[str, Any]]) -> list[str]:
    """Per recipe and seed, the record-level figures the issue-29 targets are stated in."""
    if not entries:
        return []
    lines = ["", "Record level (every 10-s crop of a validation record, mean AF probability; F1 at "
             "a threshold chosen on the other half of the validation records):", "",
             "| recipe | changes from `base` | seed | val records (AF) | minutes | branch "
             "| AUROC | AUPRC | F1 AF at 0.5 | F1 AF, cross-fitted threshold | BA at 0.5 |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for e in entries:
        level = e["record_level"]
        for branch in ("morphology", "rhythm", "ensemble"):
            b = level[branch]
            lines.append(
                f"| {e['recipe']} | {_changes(e)} | {e['seed']} | {level['n_records']} "
                f"({level['n_af']}) | {e['seconds'] / 60:.0f} | {branch} | {b['auroc']:.3f} "
                f"| {b['auprc']:.3f} | {b['f1_af_05']:.3f} | {b['f1_af_cross_fitted']:.3f} "
                f"| {b['balanced_accuracy']:.3f} |")
    return lines


def markdown(entries: list[dict[str, Any]]) -> str:
    """The recipe table (one row per recipe and seed) and the pretext table of training.md."""
    lines = [
        "| recipe | changes from `base` | seed | fit / val records | epochs run (m, r) "
        "| early-stopping windows | s / branch-epoch | morphology BA / acc | rhythm BA / acc "
        "| ensemble BA / acc | ensemble F1 AF | all-non-AF rate |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for e in (e for e in entries if "recipe" in e):
        v = e["validation"]
        cells = []
        for branch in ("morphology", "rhythm", "ensemble"):
            flag = " (constant)" if v[branch]["constant"] else ""
            cells.append(f"{v[branch]['balanced_accuracy']:.3f} / {v[branch]['accuracy']:.3f}"
                         f"{flag}")
        epochs = e["epochs_run"]
        lines.append(
            f"| {e['recipe']} | {_changes(e)} | {e['seed']} | {e['n_fit_records']} / "
            f"{e['n_val_records']} | {epochs['morphology']}, {epochs['rhythm']} | "
            f"{e.get('early_stopping_windows', 'all crops')} | "
            f"{e['seconds_per_branch_epoch']:.2f} | {' | '.join(cells)} | "
            f"{v['ensemble']['f1_af']:.3f} | {v['majority_rate']:.3f} |"
        )
    lines += _record_level_table([e for e in entries if "record_level" in e])
    pretext = [e for e in entries if "pretext" in e]
    if pretext:
        lines += ["", "| pretext | seed | epochs | seconds | report |", "|---|---:|---:|---:|---|"]
        for e in pretext:
            report = ", ".join(f"{k} {v:.3f}" for k, v in e["report"].items())
            lines.append(f"| {e['pretext']} | {e['seed']} | {e['epochs']} | {e['seconds']:.0f} "
                         f"| {report} |")
        lines += ["", "| pretext | seeds | mean ± 95 % t-interval over seeds |", "|---|---:|---|"]
        for name in sorted({e["pretext"] for e in pretext}):
            runs = [e["report"] for e in pretext if e["pretext"] == name]
            summary = []
            for key in runs[0]:
                values = np.array([r[key] for r in runs], dtype=float)
                half = (stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1)
                        / np.sqrt(len(values))) if len(values) > 1 else float("nan")
                summary.append(f"{key} {values.mean():.3f} ± {half:.3f}")
            lines.append(f"| {name} | {len(runs)} | {', '.join(summary)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--recipes", default="base")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--pretext", default="", help="rr and/or pwave, comma-separated")
    parser.add_argument("--pretext-epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/cinc2017_large")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "xecgbench")
    parser.add_argument("--markdown", action="store_true", help="Print the tables and exit.")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(OUT.read_text())), end="")
        return
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs: list[tuple[str, str]] = [("recipe", r) for r in args.recipes.split(",") if r]
    jobs += [("pretext", p) for p in args.pretext.split(",") if p]
    for kind, name in jobs:
        for seed in seeds:
            if kind == "recipe":
                entry = run_recipe(name, seed, args.limit, args.cache, args.data)
            else:
                entry = run_pretext(name, seed, args.limit, args.pretext_epochs, args.cache,
                                    args.data)
            print(json.dumps(entry), flush=True)
            entries = json.loads(OUT.read_text()) if OUT.is_file() else []  # others may append
            OUT.write_text(json.dumps([*entries, entry], indent=1) + "\n")


if __name__ == "__main__":
    main()
