"""Matplotlib figures of the HTML report, returned as inline PNG data URIs (Agg, imported lazily).

Figures read the leaderboard's tidy tables, so they show exactly the numbers the tables do.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: One shading for fiducial waves in every figure: (mask name, interval label, colour).
WAVE_SHADING: tuple[tuple[str, str, str], ...] = (
    ("p_wave", "P", "#2ca02c"),
    ("qrs", "QRS", "#9467bd"),
    ("t_wave", "T", "#ff7f0e"),
)
TRACE_COLOUR = "#333333"
DPI = 80


def shade_waves(ax: Any, time: np.ndarray, masks: Mapping[str, np.ndarray],
                low: float = 0.0, high: float = 1.0, alpha: float = 0.15) -> None:
    """Shade every fiducial wave present in ``masks`` between axis fractions ``low``–``high``."""
    for name, label, colour in WAVE_SHADING:
        if name in masks:
            ax.fill_between(time, low, high, where=masks[name], transform=ax.get_xaxis_transform(),
                            step="mid", color=colour, alpha=alpha, lw=0, label=label)


def _figure(width: float, height: float, rows: int = 1, cols: int = 1, **kwargs: Any):
    """A new Agg figure (no pyplot state, so reports can be made from any thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False, **kwargs)
    return figure, axes


def to_data_uri(figure: Figure) -> str:
    """The figure as a ``data:image/png;base64`` URI (no file, no network)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _error_bars(mean: np.ndarray, records: Sequence[Any]) -> np.ndarray:
    """Asymmetric ``(2, n)`` error bars from each record's interval (0 where none)."""
    low = np.array([np.nan if r is None else float(r.get("ci_low", np.nan)) for r in records])
    high = np.array([np.nan if r is None else float(r.get("ci_high", np.nan)) for r in records])
    return np.nan_to_num(np.stack([mean - low, high - mean]).clip(min=0))


def _labels(frame: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    return [" / ".join(str(v) for v in row) for row in frame[list(keys)].itertuples(index=False)]


def interval_profile_figure(values: pd.DataFrame, rows: pd.DataFrame,
                            intervals: Sequence[str]) -> Figure:
    """Bars of relevance share per interval, one bar per pretraining × freezing.

    One panel per attribution (rows) and branch (columns), error bars = 95 % CI over seeds;
    the dashed line is uniform relevance (1 / number of intervals).
    """
    attributions = list(dict.fromkeys(rows["attribution"]))
    branches = list(dict.fromkeys(rows["branch"]))
    configs = rows[["pretraining", "freezing"]].drop_duplicates()
    names = _labels(configs, ["pretraining", "freezing"])
    panel_width = max(5.5, 1.5 + 0.06 * len(names) * len(intervals))  # room for every bar
    figure, axes = _figure(panel_width * len(branches), 2.4 * len(attributions) + 0.8
                           + 0.18 * len(names), len(attributions), len(branches), sharey=True)
    colours = _palette(len(names))
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(intervals))
    lookup = values.set_index(["pretraining", "freezing", "attribution", "branch", "region"])
    for i, attribution in enumerate(attributions):
        for j, branch in enumerate(branches):
            ax = axes[i][j]
            for k, (pretraining, freezing) in enumerate(configs.itertuples(index=False)):
                key = (pretraining, freezing, attribution, branch)
                picked = [lookup.loc[(*key, r)] if (*key, r) in lookup.index else None
                          for r in intervals]
                mean = np.array([np.nan if p is None else float(p["mean"]) for p in picked])
                ax.bar(x - 0.4 + (k + 0.5) * width, mean, width, yerr=_error_bars(mean, picked),
                       color=colours[k], label=names[k], capsize=1.5, error_kw={"lw": 0.6})
            ax.axhline(1 / len(intervals), color="grey", ls="--", lw=0.8)
            ax.set_ylim(0, 1)  # shares; CIs of two seeds can reach past it
            ax.set_xticks(x, intervals)
            ax.set_title(f"{attribution} · {branch} branch", fontsize=9)
            if j == 0:
                ax.set_ylabel("relevance share")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7, ncols=min(4, len(names)), loc="outside lower center")
    return figure


def accuracy_alignment_figure(points: pd.DataFrame, x_label: str, y_label: str) -> Figure:
    """Scatter of alignment (x) against the branch's accuracy (y) for every configuration.

    ``points``: ``branch``, ``pretraining``, ``attribution``, ``x``, ``y``. Colour =
    pretraining, marker = attribution. Points only: with few seeds the intervals span most of
    the panel and hide the pattern; they are in the tables beside the same numbers.
    """
    branches = list(dict.fromkeys(points["branch"]))
    figure, axes = _figure(5.0 * len(branches), 4.0, 1, len(branches))
    pretrainings = list(dict.fromkeys(points["pretraining"]))
    attributions = list(dict.fromkeys(points["attribution"]))
    colours = dict(zip(pretrainings, _palette(len(pretrainings)), strict=True))
    markers = dict(zip(attributions, "osD^vP*Xph<>", strict=False))
    for ax, branch in zip(axes[0], branches, strict=True):
        mine = points[points["branch"] == branch]
        for row in mine.itertuples(index=False):
            ax.plot(row.x, row.y, markers.get(row.attribution, "o"),
                    color=colours[row.pretraining], ms=6, alpha=0.85)
        ax.set_title(f"{branch} branch", fontsize=10)
        ax.set_ylim(*_padded(mine["y"]))
        ax.set_xlim(*_padded(mine["x"]))
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[p], marker="o", ls="", label=p) for p in pretrainings]
    handles += [Line2D([], [], color="black", marker=markers.get(a, "o"), ls="", label=a)
                for a in attributions]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    return figure


def heatmap_figure(signals: np.ndarray, masks: Mapping[str, np.ndarray], fs: float,
                   panels: Sequence[tuple[str, str, np.ndarray]], titles: Sequence[str]) -> Figure:
    """Relevance over the ECG: one row per configuration, one column per (branch, record).

    ``panels``: (row label, column label, relevance ``(T,)``) in row-major order, with the
    record's position ``titles.index(column label)`` giving which signal to draw. Relevance is
    divided by its maximum magnitude (red: for the class, blue: against); waves are shaded
    along the bottom in the colours of :data:`WAVE_SHADING`.
    """
    row_labels = list(dict.fromkeys(p[0] for p in panels))
    figure, axes = _figure(3.6 * len(titles), 0.95 * len(row_labels) + 0.6,
                           len(row_labels), len(titles), sharex=True)
    time = np.arange(signals.shape[-1]) / fs
    column_of = {t: i for i, t in enumerate(titles)}
    for row_label, column_label, relevance in panels:
        i, j = row_labels.index(row_label), column_of[column_label]
        ax = axes[i][j]
        record = j % signals.shape[0]
        scale = np.nanmax(np.abs(relevance)) or 1.0
        ax.imshow(relevance[None, :] / scale, aspect="auto", cmap="bwr", vmin=-1, vmax=1,
                  extent=(0, time[-1], -0.05, 1.05), interpolation="nearest")
        trace = signals[record] - np.min(signals[record])
        ax.plot(time, trace / (np.max(trace) or 1.0), color=TRACE_COLOUR, lw=0.6)
        shade_waves(ax, time, {k: m[record] for k, m in masks.items()}, 0.0, 0.1, alpha=0.8)
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([])
        if j == 0:
            ax.set_ylabel(row_label, rotation=0, ha="right", va="center", fontsize=7)
        if i == 0:
            ax.set_title(column_label, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    return figure


def _padded(values: pd.Series) -> tuple[float, float]:
    """Axis limits around the means (wide two-seed CIs would otherwise hide the points)."""
    low, high = float(values.min()), float(values.max())
    margin = max(0.1 * (high - low), 0.05)
    return low - margin, high + margin


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def relevance_figure(signal: np.ndarray, relevance: np.ndarray, masks: Mapping[str, np.ndarray],
                     fs: float, title: str) -> Figure:
    """One explained window: the ECG above, its relevance as a filled band below.

    The trace is drawn in a neutral colour over the wave shading, so it stays visible where
    relevance is near zero; the band shows relevance / max |relevance| (red: for the explained
    class, blue: against) around a zero line, on the same time axis and shading.
    """
    figure, axes = _figure(14, 4.2, 2, 1, sharex=True,
                           gridspec_kw={"height_ratios": (2.2, 1.0)})
    ax_ecg, ax_rel = axes[0][0], axes[1][0]
    time = np.arange(len(signal)) / fs
    shade_waves(ax_ecg, time, masks)
    ax_ecg.plot(time, signal, color=TRACE_COLOUR, lw=0.9, label="ECG")
    ax_ecg.set_ylabel("ECG (normalised)")
    ax_ecg.set_title(title, fontsize=10)
    ax_ecg.legend(loc="upper right", fontsize=8, ncols=4)
    scale = float(np.max(np.abs(relevance))) or 1.0
    shown = relevance / scale
    shade_waves(ax_rel, time, masks)
    ax_rel.fill_between(time, 0, shown, where=shown >= 0, color="#d62728", lw=0, step="mid")
    ax_rel.fill_between(time, 0, shown, where=shown < 0, color="#1f77b4", lw=0, step="mid")
    ax_rel.axhline(0, color=TRACE_COLOUR, lw=0.6)
    ax_rel.set_ylim(-1.05, 1.05)
    ax_rel.set_xlim(time[0], time[-1])
    ax_rel.set_ylabel(f"relevance\n(÷ {scale:.2g})")
    ax_rel.set_xlabel("time (s)")
    return figure


def save_relevance_figure(out: Path, signal: np.ndarray, relevance: np.ndarray,
                          masks: Mapping[str, np.ndarray], fs: float, title: str) -> Path:
    """Write :func:`relevance_figure` as a PNG."""
    out.parent.mkdir(parents=True, exist_ok=True)
    relevance_figure(signal, relevance, masks, fs, title).savefig(out, dpi=110)
    return out
