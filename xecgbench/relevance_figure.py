"""The study's figure: an ECG coloured by relevance, with P/QRS/T waves shaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: Shading of fiducial regions: (mask name, colour, legend label).
WAVE_SHADING = (
    ("p_wave", "tab:green", "P wave"),
    ("qrs", "tab:purple", "QRS"),
    ("t_wave", "tab:orange", "T wave"),
)


def draw_relevance(
    ax: Any,
    signal: np.ndarray,
    relevance: np.ndarray,
    masks: Mapping[str, np.ndarray],
    fs: float,
) -> None:
    """Draw ``signal`` as a line coloured by relevance (red +, blue −) over wave shading."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import TwoSlopeNorm

    time = np.arange(len(signal)) / fs
    for name, colour, label in WAVE_SHADING:
        if name not in masks:
            continue
        ax.fill_between(time, 0, 1, where=masks[name], transform=ax.get_xaxis_transform(),
                        step="mid", color=colour, alpha=0.15, lw=0, label=label)
    points = np.stack([time, signal], axis=1)
    segments = np.stack([points[:-1], points[1:]], axis=1)
    scale = float(np.max(np.abs(relevance))) or 1.0
    line = LineCollection(
        list(segments), cmap="bwr", norm=TwoSlopeNorm(0.0, -scale, scale), linewidth=1.6
    )
    line.set_array((relevance[:-1] + relevance[1:]) / 2)
    ax.add_collection(line)
    ax.set_xlim(time[0], time[-1])
    margin = 0.05 * (signal.max() - signal.min() or 1.0)
    ax.set_ylim(signal.min() - margin, signal.max() + margin)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ECG (normalised)")
    ax.figure.colorbar(line, ax=ax, pad=0.01, label="relevance")


def save_relevance_figure(
    out: Path,
    signal: np.ndarray,
    relevance: np.ndarray,
    masks: Mapping[str, np.ndarray],
    fs: float,
    title: str,
) -> Path:
    """Write the figure as PNG (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(14, 3.6), dpi=110, layout="constrained")
    draw_relevance(ax, signal, relevance, masks, fs)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8, ncols=3)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out
