"""Score your own model: a torch module, your windows and your attributions, on the board's
metrics and statistics, without writing a plugin or a suite (Quantus-style library use).

Everything is resolved through the plugin registry (metrics, attribution methods, the dataset
whose delineation draws the masks), so the core never imports a bundled plugin, and the rows
come from the same code the score stage runs (:func:`metric_values`): a window scored here
gets the number it would get on a board.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xecgbench.errors import UserError
from xecgbench.plugins.components import ECGSet, ExplanationBatch
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.plugins.metric_tables import metric_regions
from xecgbench.run.config import ComponentSpec
from xecgbench.run.explanation_stages import metric_values, re_explain
from xecgbench.run.store import SCORE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import nn

#: One attribution source: precomputed ``(N, 1, T)`` relevance, ``f(model, x, target)``, a
#: registered method's name, or ``(name, params)``.
Attribution = np.ndarray | Callable[..., Any] | str | tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class ScoreReport:
    """What :func:`score_model` returns.

    Attributes
    ----------
    scores : one row per model × attribution × metric × region × window, the columns of
        :func:`~xecgbench.api.load_scores` (``seed`` is the model's position in the list).
    statistics : ``summary``, ``by_class`` and ``vs_chance`` DataFrames (see
        :mod:`xecgbench.report.stats.score_statistics`).
    undelineated : window index -> why the delineation gave it no masks.
    """

    scores: pd.DataFrame
    statistics: Mapping[str, pd.DataFrame]
    undelineated: Mapping[int, str]


def load_windows(
    dataset: str, split: str = "test", *, fs: float = 250.0, duration_s: float = 10.0,
    system: PluginSystem | None = None, **params: Any,
) -> ECGSet:
    """Windows of a registered dataset (``params`` are its constructor's), via the registry."""
    system = system or load_plugins()
    return system.registry["datasets"].get(dataset)(**params).load(
        split, fs=fs, duration_s=duration_s)


def two_class(module: nn.Module) -> nn.Module:
    """``module`` with ``(N, 2)`` logits: a single logit ``z`` becomes ``[-z/2, z/2]``.

    Softmax then gives ``sigmoid(z)`` for class 1 (AF), and the class contrast is ``z``
    itself, so explaining class 1 explains the user's own output.
    """
    import torch

    class TwoClass(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.inner(x)
            if out.ndim == 2 and out.shape[1] == 2:
                return out
            if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
                z = out.reshape(-1, 1)
                return torch.cat([-z / 2, z / 2], dim=1)
            raise UserError(f"model output has shape {tuple(out.shape)}; expected (N,), "
                            "(N, 1) (one AF logit) or (N, 2) (two-class logits)")

    return TwoClass()


def _as_spec(source: str | tuple[str, Mapping[str, Any]]) -> ComponentSpec:
    if isinstance(source, str):
        return ComponentSpec(name=source)
    return ComponentSpec(name=source[0], params=dict(source[1]))


def _label(source: Attribution) -> str:
    if isinstance(source, np.ndarray):
        return "given"
    if callable(source):
        return getattr(source, "__name__", type(source).__name__)
    return _as_spec(source).display


def _explainer(system: PluginSystem, source: Attribution, module: nn.Module, label: str,
               fs: float, seed: int) -> Callable[..., torch.Tensor] | None:
    """A checked ``explain(x, target, masks)`` for a callable or plugin; None for arrays."""
    from xecgbench.plugins.attribution_checks import call_attribution, make_attribution

    if isinstance(source, np.ndarray):
        return None
    if callable(source):
        return functools.partial(call_attribution, label, "user",
                                 functools.partial(source, module))
    spec = _as_spec(source)
    registration = system.registry["attributions"].registration(spec.name)
    method = make_attribution(registration.component, module, fs=fs, seed=seed, **spec.params)
    return functools.partial(call_attribution, label, registration.plugin, method)


def _masks(system: PluginSystem, masks: Any, x: np.ndarray, fs: float,
           labels: np.ndarray | None) -> tuple[dict[str, np.ndarray], dict[int, str]]:
    """Given masks checked, or a dataset's delineation of the windows (``WindowDelineator``)."""
    if isinstance(masks, Mapping):
        checked = {name: np.asarray(m, dtype=bool) for name, m in masks.items()}
        wrong = {n: m.shape for n, m in checked.items() if m.shape != x.shape}
        if wrong:
            raise UserError(f"masks {wrong} do not match the windows' shape {x.shape}")
        return checked, {}
    spec = _as_spec(masks)
    dataset = system.registry["datasets"].get(spec.name)(**spec.params)
    if not hasattr(dataset, "delineate"):
        datasets = system.registry["datasets"]
        able = [datasets.reference(r) for r in datasets if hasattr(r.component, "delineate")]
        raise UserError(f"dataset {spec.name!r} cannot delineate windows; datasets that can: "
                        f"{', '.join(able) or '(none)'} (or pass masks as a dict of arrays)")
    return dataset.delineate(x, fs, labels)


def _logits(module: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The two-class logits of every window, batched."""
    import torch

    with torch.no_grad():
        return torch.cat([module(x[s : s + batch_size]) for s in range(0, len(x), batch_size)])


def _targets(module: nn.Module, x: torch.Tensor, target: Any, labels: np.ndarray | None,
             batch_size: int) -> np.ndarray:
    if isinstance(target, str) and target == "predicted":
        return _logits(module, x, batch_size).argmax(dim=1).cpu().numpy().astype(np.int64)
    if isinstance(target, str) and target == "true":
        if labels is None:
            raise UserError("target='true' needs labels=")
        return labels.astype(np.int64)
    if isinstance(target, str):
        raise UserError(f"unknown target {target!r}; valid: predicted, true, or an array (N,)")
    chosen = np.asarray(target, dtype=np.int64)
    if chosen.shape != (len(x),):
        raise UserError(f"target must be ({len(x)},) classes, got shape {chosen.shape}")
    return chosen


@dataclass(frozen=True)
class _Inputs:
    """The windows and what goes with them, checked once."""

    x: np.ndarray
    fs: float
    labels: np.ndarray | None
    record_ids: tuple[str, ...]
    masks: dict[str, np.ndarray]
    undelineated: dict[int, str]


def _relevance(explain: Callable[..., Any] | None, source: Attribution, xt: torch.Tensor,
               target: np.ndarray, masks: Mapping[str, np.ndarray], batch: int) -> np.ndarray:
    import torch

    if explain is None:
        relevance = np.asarray(source, dtype=np.float32)
        if relevance.shape != tuple(xt.shape):
            raise UserError(f"attributions have shape {relevance.shape}, windows {tuple(xt.shape)}")
        return relevance
    t = torch.from_numpy(target).to(xt.device)
    return np.concatenate([
        explain(xt[s : s + batch], t[s : s + batch],
                {k: m[s : s + batch] for k, m in masks.items()}).cpu().numpy()
        for s in range(0, len(xt), batch)
    ]).astype(np.float32)


def score_model(
    model: nn.Module | Sequence[nn.Module],
    windows: np.ndarray | ECGSet,
    *,
    attributions: Attribution | Mapping[str, Attribution],
    fs: float | None = None,
    labels: np.ndarray | None = None,
    masks: Mapping[str, np.ndarray] | str | tuple[str, Mapping[str, Any]] | None = None,
    metrics: Sequence[str | tuple[str, Mapping[str, Any]]] | None = None,
    target: str | np.ndarray = "predicted",
    branch: str = "model",
    dataset: str = "user",
    seed: int = 0,
    batch_size: int = 16,
    device: str = "cpu",
    system: PluginSystem | None = None,
) -> ScoreReport:
    """Score ``model``'s explanations of ``windows`` on the board's metrics and statistics.

    Parameters
    ----------
    model : a torch module mapping ``(N, 1, T)`` to one AF logit or two-class logits; or a
        list of such modules trained from different seeds (the replicates the intervals need).
    windows : ``(N, 1, T)`` float array (then ``fs`` is required), or an :class:`ECGSet`
        (its ``fs``, labels, masks and record ids are used unless given).
    attributions : precomputed ``(N, 1, T)`` relevance (one model only), a callable
        ``f(model, x, target) -> tensor``, a registered method's name or ``(name, params)``;
        or a mapping of label -> one of those to compare several.
    masks : mask name -> bool ``(N, 1, T)``; or the name (or ``(name, params)``) of a dataset
        whose loader can delineate windows (``xecgbench list datasets``; e.g. CinC 2017's
        NeuroKit2 rules); default: the ECGSet's masks.
    metrics : registered metric names (or ``(name, params)``); default every registered
        metric of category ``localisation``. Accuracy metrics need ``labels``.
    target : ``"predicted"`` (the model's class, as boards explain), ``"true"`` or ``(N,)``.
    """
    import torch

    system = system or load_plugins()
    models = [model] if isinstance(model, torch.nn.Module) else list(model)
    sources = dict(attributions) if isinstance(attributions, Mapping) else {
        _label(attributions): attributions}
    if len(models) > 1 and any(isinstance(s, np.ndarray) for s in sources.values()):
        raise UserError("precomputed attribution arrays belong to one model; pass one model")
    inputs = _inputs(system, windows, fs, labels, masks)
    specs = [_as_spec(m) for m in metrics] if metrics is not None else [
        ComponentSpec(name=system.registry["metrics"].reference(r))
        for r in system.registry["metrics"] if r.component.info.category == "localisation"]
    rows: list[dict[str, Any]] = []
    xt = torch.from_numpy(inputs.x).to(device)
    for k, user_module in enumerate(models):
        module = two_class(user_module).to(device).eval()
        targets = _targets(module, xt, target, inputs.labels, batch_size)
        y = inputs.labels if inputs.labels is not None else targets
        base = {"stage_key": "", "dataset": dataset, "seed": seed + k, "pretraining": None,
                "freezing": None, "branch": branch}
        rows += _accuracy_rows(system, specs, module, xt, inputs.labels, base, batch_size)
        for label, source in sources.items():
            explain = _explainer(system, source, module, label, inputs.fs, seed + k)
            relevance = _relevance(explain, source, xt, targets, inputs.masks, batch_size)
            for spec in specs:
                metric = system.registry["metrics"].get(spec.name)(**spec.params)
                if metric.info.category == "accuracy":
                    continue
                if "explainer" in metric.info.requires and explain is None:
                    raise UserError(f"metric {spec.display!r} re-explains perturbed windows; "
                                    "give the attribution as a callable or a method name")
                for region in metric_regions(metric.info, list(inputs.masks)):
                    batch = ExplanationBatch(
                        x=inputs.x, y=y, target=targets, attributions=relevance, fs=inputs.fs,
                        seed=seed + k, mask=inputs.masks[region] if region else None,
                        mask_name=region or None, masks=inputs.masks, model=module,
                        explain=None if explain is None else functools.partial(
                            re_explain, explain, device, inputs.masks))
                    for sub, values, chance in metric_values(metric, spec.display, batch, region):
                        rows += [{**base, "attribution": label, "metric": spec.display,
                                  "category": metric.info.category, "region": sub, "sample": i,
                                  "record_id": inputs.record_ids[i], "value": _finite(v),
                                  "label": None if inputs.labels is None
                                  else int(inputs.labels[i]), "chance": _finite(c)}
                                 for i, (v, c) in enumerate(zip(values, chance, strict=True))]
    return _report(rows, inputs.undelineated)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _accuracy_rows(system: PluginSystem, specs: Sequence[ComponentSpec], module: nn.Module,
                   xt: torch.Tensor, labels: np.ndarray | None, base: Mapping[str, Any],
                   batch_size: int) -> list[dict[str, Any]]:
    """The accuracy metrics among ``specs`` on the model's AF probability (``sample == -1``)."""
    import torch

    chosen = [(s, system.registry["metrics"].get(s.name)) for s in specs]
    chosen = [(s, cls) for s, cls in chosen if cls.info.category == "accuracy"]
    if not chosen:
        return []
    if labels is None:
        raise UserError(f"accuracy metric {chosen[0][0].display!r} needs labels=")
    probability = torch.softmax(_logits(module, xt, batch_size), dim=1)[:, 1].cpu().numpy()
    return [{**base, "attribution": None, "metric": spec.display, "category": "accuracy",
             "region": "", "sample": -1, "record_id": None, "label": None, "chance": None,
             "value": float(cls(**spec.params).evaluate(labels, probability))}
            for spec, cls in chosen]


def _inputs(system: PluginSystem, windows: np.ndarray | ECGSet, fs: float | None,
            labels: np.ndarray | None, masks: Any) -> _Inputs:
    """The windows checked, with masks given, taken from the ECGSet, or to be delineated."""
    if isinstance(windows, ECGSet):
        fs = windows.fs if fs is None else fs
        labels = windows.labels if labels is None else labels
        masks = dict(windows.masks) if masks is None else masks
        ids = windows.record_ids
        windows = windows.signals
    else:
        ids = ()
    x = np.ascontiguousarray(windows, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] != 1:
        raise UserError(f"windows must be (N, 1, T), got shape {x.shape}")
    if fs is None:
        raise UserError("fs= (the windows' sampling rate in Hz) is required with an array")
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(x),):
            raise UserError(f"labels must be ({len(x)},), got {labels.shape}")
    if masks is None:
        raise UserError("masks= is required with an array: a dict of (N, 1, T) bool arrays, "
                        "or a dataset name to delineate the windows")
    ids = ids or tuple(f"window-{i}" for i in range(len(x)))
    if not isinstance(masks, Mapping) and labels is None:
        raise UserError("delineating masks needs labels= (P-wave detections are not trusted on "
                        "AF windows, which get the expected atrial window instead)")
    drawn, failed = _masks(system, masks, x, float(fs), labels)
    return _Inputs(x, float(fs), labels, ids, drawn, failed)


def _report(rows: list[dict[str, Any]], undelineated: Mapping[int, str]) -> ScoreReport:
    import pandas as pd

    from xecgbench.report.stats.score_statistics import score_statistics

    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS)).astype(
        {"value": float, "chance": float})  # undefined scores are NaN, as load_scores gives them
    return ScoreReport(scores, score_statistics(scores), dict(undelineated))
