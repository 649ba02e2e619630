"""The docs section "How far the masks can be trusted", rendered from its committed results.

``benchmarks/mask_error.py`` measures NeuroKit2's masks against expert ones (about a minute,
too slow for the test suite) and commits ``benchmarks/results/mask_error.json``; this module
only renders that file, so the stale-docs test catches a hand edit of the section and a
number in it can never be typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xecgbench.plugins.manager import PluginSystem

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "mask_error.json"
#: (JSON key of a wave row, column heading, format)
_WAVE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("expert_waves", "expert waves", "d"),
    ("neurokit2_waves", "NeuroKit2 waves", "d"),
    ("wave_sensitivity", "wave sensitivity", ".3f"),
    ("wave_ppv", "wave PPV", ".3f"),
    ("dice", "Dice", ".3f"),
    ("expert_share", "expert share", ".3f"),
    ("neurokit2_share", "NeuroKit2 share", ".3f"),
    ("width_ratio", "width ratio", ".2f"),
)
#: (mask key of an alignment row, column heading)
_MASK_SIDES: tuple[tuple[str, str], ...] = (
    ("expert", "expert masks"),
    ("neurokit2", "NeuroKit2 masks"),
    ("neurokit2_in_span", "NeuroKit2 masks in the annotated span"),
)


def _wave_table(window_set: Mapping[str, Any]) -> str:
    failed = window_set["failed"]
    lines = [
        f"**{window_set['label']}** ({window_set['windows']} windows, "
        f"{window_set['af_windows']} AF; NeuroKit2 could not delineate {len(failed)}"
        + (f": {', '.join(f'`{r}`' for r in failed)}" if failed else "") + ")",
        "",
        "| wave | " + " | ".join(head for _, head, _ in _WAVE_COLUMNS) + " |",
        "|---|" + "---|" * len(_WAVE_COLUMNS),
    ]
    for wave, row in window_set["waves"].items():
        cells = [format(row[key], spec) for key, _, spec in _WAVE_COLUMNS]
        lines.append(f"| `{wave}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _alignment_table(alignment: Mapping[str, Any]) -> str:
    heads = [f"{head}: score (× from scratch; chance)" for _, head in _MASK_SIDES]
    lines = [
        f"`{alignment['attribution']}` on {alignment['models']} published models, "
        f"`{alignment['metric']}`, mean over seeds and freezing schedules per pretraining:",
        "",
        "| branch | mask | windows | pretraining | models | " + " | ".join(heads) + " |",
        "|---|---|---|---|---|" + "---|" * len(heads),
    ]
    for row in alignment["rows"]:
        cells = [f"{row[key]:.3f} (×{row[f'{key}_vs_scratch']:.2f}; {row[f'{key}_chance']:.3f})"
                 for key, _ in _MASK_SIDES]
        lines.append(f"| {row['branch']} | `{row['region']}` | {row['windows']} "
                     f"({row['windows_scored']}) | `{row['pretraining']}` | {row['models']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_mask_error(results: Mapping[str, Any]) -> str:
    """The section's generated body from the results of ``benchmarks/mask_error.py``."""
    cost = results["cost"]
    parts = [_wave_table(s) for s in results["window_sets"]]
    parts.append(_alignment_table(results["alignment"]))
    parts.append(
        f"Cost: delineation and comparison {cost['delineation_and_comparison_cpu_seconds']:g} "
        f"CPU s, re-explaining {cost['attribute_cpu_seconds']:g} CPU s (board "
        f"`{results['board']}`, {results['fs']:g} Hz, {results['duration_s']:g}-s windows)."
    )
    return "\n\n".join(parts)


def mask_error_section(system: PluginSystem) -> str:
    """The section from the committed results file (the registry is not read)."""
    return render_mask_error(json.loads(RESULTS.read_text(encoding="utf-8")))
