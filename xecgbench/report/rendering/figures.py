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
BUILT_IN_COLOUR, SUBMITTED_COLOUR = "#1f77b4", "#d62728"
#: Figures are drawn at the width they are shown (≤ 1,360 px in the 1,400-px HTML report) at
#: this resolution, so a font size in points is the size a reader sees.
DPI = 100
FONT = 12
#: Width of a full-width figure (1,360 px at :data:`DPI`) and panels per row in a grid.
WIDTH, PANELS_PER_ROW = 13.6, 3


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


def _labels(frame: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    return [" / ".join(str(v) for v in row) for row in frame[list(keys)].itertuples(index=False)]


def interval_profile_figure(values: pd.DataFrame, rows: pd.DataFrame,
                            intervals: Sequence[str]) -> Figure:
    """Bars of relevance share per interval for one branch, one bar per pretraining strategy.

    One panel per attribution × freezing schedule, three panels a row, so the figure is
    :data:`WIDTH` inches wide whatever the grid (the report's 30-panel figure of every branch
    was 50 inches and unreadable at 1,400 px); error bars are the tables' 95 % intervals
    (inside [0, 1] by construction); the dashed line is uniform relevance.
    """
    panels = list(dict.fromkeys(zip(rows["attribution"], rows["freezing"], rows["branch"],
                                    strict=True)))
    pretrainings = list(dict.fromkeys(rows["pretraining"]))
    n_cols = min(PANELS_PER_ROW, len(panels))
    n_rows = -(-len(panels) // n_cols)
    figure, axes = _figure(WIDTH * n_cols / PANELS_PER_ROW, 2.7 * n_rows + 0.6, n_rows, n_cols,
                           sharey=True)
    colours = _palette(len(pretrainings))
    width = 0.8 / max(len(pretrainings), 1)
    x = np.arange(len(intervals))
    lookup = values.set_index(["pretraining", "freezing", "attribution", "branch", "region"])
    offsets = x[None, :] - 0.4 + (np.arange(len(pretrainings))[:, None] + 0.5) * width
    colour = [colours[k] for k in np.repeat(np.arange(len(pretrainings)), len(intervals))]
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for n, (attribution, freezing, branch) in enumerate(panels):
        ax = axes[n // n_cols][n % n_cols]
        index = pd.MultiIndex.from_tuples([(p, freezing, attribution, branch, r)
                                           for p in pretrainings for r in intervals])
        picked = lookup.reindex(index)  # one lookup per panel, not per bar
        mean = picked["mean"].to_numpy(float)
        low = picked["ci_low"].to_numpy(float) if "ci_low" in picked else mean
        high = picked["ci_high"].to_numpy(float) if "ci_high" in picked else mean
        errors = np.nan_to_num(np.stack([mean - low, high - mean]).clip(min=0))
        bars = ax.bar(offsets.ravel(), mean, width, color=colour)
        ax.errorbar(offsets.ravel(), mean, yerr=errors, ls="", marker="", ecolor="black",
                    elinewidth=0.8, capsize=2)
        if n == 0:  # legend handles: the first bar of each strategy
            for k, name in enumerate(pretrainings):
                bars.patches[k * len(intervals)].set_label(name)
        ax.axhline(1 / len(intervals), color="grey", ls="--", lw=1)
        ax.set_ylim(0, 1)
        ax.set_xticks(x, intervals, fontsize=FONT - 1)
        ax.tick_params(axis="y", labelsize=FONT - 1)
        ax.set_title(f"{attribution} · {freezing}", fontsize=FONT)
        if n % n_cols == 0:
            ax.set_ylabel("relevance share", fontsize=FONT)
    figure.suptitle(f"{panels[0][2]} branch" if panels else "", fontsize=FONT + 2)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=FONT, ncols=min(6, len(pretrainings)),
                  loc="outside upper center", title="pretraining", title_fontsize=FONT,
                  frameon=False)
    return figure


def accuracy_alignment_figure(points: pd.DataFrame, x_label: str, y_label: str) -> Figure:
    """Scatter of alignment (x) against the branch's accuracy (y) for every configuration.

    ``points``: ``branch``, ``pretraining``, ``attribution``, ``x``, ``y``. Colour =
    pretraining, marker = attribution. Points only: with few seeds the intervals span most of
    the panel and hide the pattern; they are in the tables beside the same numbers.
    """
    branches = list(dict.fromkeys(points["branch"]))
    figure, axes = _figure(min(WIDTH, 5.0 * len(branches) + 2.8), 5.4, 1, len(branches))
    pretrainings = list(dict.fromkeys(points["pretraining"]))
    attributions = list(dict.fromkeys(points["attribution"]))
    colours = dict(zip(pretrainings, _palette(len(pretrainings)), strict=True))
    markers = dict(zip(attributions, "osD^vP*Xph<>", strict=False))
    for ax, branch in zip(axes[0], branches, strict=True):
        mine = points[points["branch"] == branch]
        for row in mine.itertuples(index=False):
            ax.plot(row.x, row.y, markers.get(row.attribution, "o"),
                    color=colours[row.pretraining], ms=8, alpha=0.85)
        ax.set_title(f"{branch} branch", fontsize=FONT)
        ax.set_ylim(*_padded(mine["y"]))
        ax.set_xlim(*_padded(mine["x"]))
        ax.set_xlabel(x_label, fontsize=FONT)
        ax.set_ylabel(y_label, fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[p], marker="o", ls="", label=p) for p in pretrainings]
    handles += [Line2D([], [], color="black", marker=markers.get(a, "o"), ls="", label=a)
                for a in attributions]
    figure.legend(handles=handles, fontsize=FONT - 1, loc="outside right upper", frameon=False)
    return figure


def ranking_figure(labels: Sequence[str], stats: Sequence[Mapping[str, float]],
                   submitted: Sequence[bool], x_label: str, reference: float | None) -> Figure:
    """One branch's ranking: each method's mean and 95 % interval, top method at the top.

    Submitted methods are drawn in a second colour; ``reference`` (e.g. 0 for "above chance")
    is a dashed line. Sized to stay readable when shown at its natural width (≤ 900 px).
    """
    height = 0.42 * len(labels) + 1.3
    figure, axes = _figure(8.4, height, 1, 1)
    ax = axes[0][0]
    y = np.arange(len(labels))[::-1]
    for yi, stat, mine in zip(y, stats, submitted, strict=True):
        colour = SUBMITTED_COLOUR if mine else BUILT_IN_COLOUR
        low, high = stat.get("ci_low", np.nan), stat.get("ci_high", np.nan)
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([low, high], [yi, yi], color=colour, lw=2.2, solid_capstyle="butt")
        ax.plot(stat["mean"], yi, "o", color=colour, ms=8)
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    ax.set_yticks(y, labels, fontsize=FONT)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(x_label, fontsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT - 1)
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.lines import Line2D

    kinds = [("built-in", BUILT_IN_COLOUR)] + ([("submitted", SUBMITTED_COLOUR)]
                                               if any(submitted) else [])
    figure.legend(handles=[Line2D([], [], color=c, marker="o", lw=2.2, label=k)
                           for k, c in kinds],
                  fontsize=FONT - 1, loc="outside upper center", ncols=len(kinds), frameon=False)
    return figure


def to_svg(figure: Figure) -> str:
    """The figure as SVG text that is identical on every rebuild (no date, fixed ids); glyphs
    are paths, so it looks the same in every browser whatever fonts it has."""
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "xecgbench", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _mask_band(masks: Mapping[str, np.ndarray], record: int, n: int) -> np.ndarray:
    """RGBA strip ``(1, T, 4)`` in the colours of :data:`WAVE_SHADING`, transparent elsewhere."""
    from matplotlib.colors import to_rgba

    band = np.zeros((1, n, 4), dtype=np.float32)
    for name, _label, colour in WAVE_SHADING:
        mask = masks.get(name)
        if mask is not None:
            band[0, np.asarray(mask[record]).reshape(-1)[:n].astype(bool)] = to_rgba(colour, 0.8)
    return band


def heatmap_figure(signals: np.ndarray, masks: Mapping[str, np.ndarray], fs: float,
                   panels: Sequence[tuple[str, str, np.ndarray]], titles: Sequence[str]) -> Figure:
    """Relevance over the ECG: one row per configuration, one column per (branch, record).

    ``panels``: (row label, column label, relevance ``(T,)``) in row-major order, with the
    record's position ``titles.index(column label)`` giving which signal to draw. Relevance is
    divided by its maximum magnitude (red: for the class, blue: against); waves are shaded
    along the bottom in the colours of :data:`WAVE_SHADING`.

    Every panel is drawn into one axes (images, one line, text): a report holds hundreds of
    panels, and one matplotlib axes each (ticks, shared limits, layout) cost ~50 ms per panel.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    row_labels = list(dict.fromkeys(p[0] for p in panels))
    n = signals.shape[-1]
    span, gap_x, gap_y = (n - 1) / fs, 0.04 * (n - 1) / fs, 0.25
    left = min(0.2 + 0.085 * max((len(r) for r in row_labels), default=0), 4.0)  # inches
    height = 1.0 * len(row_labels) + 1.2
    figure = Figure(figsize=(WIDTH, height))
    FigureCanvasAgg(figure)
    ax = figure.add_axes((left / WIDTH, 0.6 / height, 1 - left / WIDTH - 0.01,
                          1 - 1.2 / height))
    time = np.arange(n) / fs
    column_of = {t: j for j, t in enumerate(titles)}
    bands = {r: _mask_band(masks, r, n) for r in range(signals.shape[0])}
    xs, ys = [], []
    for row_label, column_label, relevance in panels:
        i, j = row_labels.index(row_label), column_of[column_label]
        x0, y0 = j * (span + gap_x), -i * (1.1 + gap_y)
        record = j % signals.shape[0]
        scale = np.nanmax(np.abs(relevance)) or 1.0
        ax.imshow(relevance[None, :] / scale, aspect="auto", cmap="bwr", vmin=-1, vmax=1,
                  extent=(x0, x0 + span, y0 - 0.05, y0 + 1.05), interpolation="nearest")
        ax.imshow(bands[record], aspect="auto", extent=(x0, x0 + span, y0 - 0.05, y0 + 0.08),
                  interpolation="nearest")
        trace = signals[record].reshape(-1) - np.min(signals[record])
        xs += [x0 + time, [np.nan]]
        ys += [y0 + trace / (np.max(trace) or 1.0), [np.nan]]
    if xs:
        ax.plot(np.concatenate(xs), np.concatenate(ys), color=TRACE_COLOUR, lw=0.6)
    for i, row_label in enumerate(row_labels):
        ax.text(-gap_x / 2, -i * (1.1 + gap_y) + 0.5, row_label, ha="right", va="center",
                fontsize=FONT - 1)
    for j, title in enumerate(titles):  # "branch · record (class)" on two lines: columns are
        ax.text(j * (span + gap_x) + span / 2, 1.1, title.replace(" · ", "\n", 1),  # narrow
                ha="center", va="bottom", fontsize=FONT - 1)
    ticks = np.array([0.0, n / fs / 2])
    ax.set_xticks([j * (span + gap_x) + t for j in range(len(titles)) for t in ticks],
                  [f"{t:g}" for _ in titles for t in ticks], fontsize=FONT - 2)
    ax.set_xlabel("time (s)", fontsize=FONT - 1)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlim(-gap_x / 4, len(titles) * (span + gap_x) - gap_x * 0.75)
    ax.set_ylim(-(len(row_labels) - 1) * (1.1 + gap_y) - 0.1, 1.1)
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
