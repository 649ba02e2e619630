"""The gates a plain attribution method must pass before a method ranking ranks it.

A score says something about what training taught only where it beats what needs no training:
the same method on its untrained model (the architecture and the ECG), every control the run
holds (attribution family ``control``: the bundled ones are random relevance and a map that
follows the signal's size, which finds R peaks and tall T waves by itself) and chance (the
target's share of the window). Ranking by the score above the untrained model alone put a
method at chance second (rhythm ``grad_cam`` on ``cinc2017-paper``: 0.062 against chance 0.060,
ahead of methods at 0.3) and hid that the amplitude map beat most methods.

Every gate is the same paired test as the untrained one: per window, trained − reference on
the same seeds × windows, the two-way bootstrap interval, the seed-level t-test over the
per-seed differences. A gate is passed when the difference lies on the better side of 0 in the
metric's direction, its 95 % interval excludes 0 and p < 0.05. A gate whose reference the run
holds for no method (no untrained-model rows, no control, no chance level) is not applied, and
the row says so; a reference missing for one method only fails its gate. Controls are found by
their family, never by name, so a plugin's own control is a gate too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xecgbench.report.board import RunResults
from xecgbench.report.stats.inference import Effect, Grid, TwoWayBootstrap, difference

ALPHA = 0.05
#: The two fixed gates; each control of the run is a gate named by its label between them.
UNTRAINED, CHANCE = "untrained", "chance"
#: The attribution family of the controls (``ATTRIBUTION_FAMILIES``), and the word for them
#: where a run holds none.
CONTROL, CONTROLS = "control", "controls"
PASSES = "passes"


def side(up: bool) -> str:
    """``above`` for a higher-is-better metric, ``below`` for a lower-is-better one."""
    return "above" if up else "below"


def versus(effect: Effect, up: bool, reference: str) -> str:
    """``above REFERENCE`` when the difference clears the gate; ``not clearly above …`` when it
    is on the better side but its interval reaches 0 or p ≥ 0.05; ``not above …`` otherwise
    (``below`` for a lower-is-better metric)."""
    sign, word = (1.0, "above") if up else (-1.0, "below")
    if not (np.isfinite(effect.value) and sign * effect.value > 0):
        return f"not {word} {reference}"
    bound = effect.low if up else effect.high
    if (np.isfinite(bound) and sign * bound > 0 and np.isfinite(effect.p_value)
            and effect.p_value < ALPHA):
        return f"{word} {reference}"
    return f"not clearly {word} {reference}"


def control_methods(results: RunResults, methods: Sequence[str]) -> list[str]:
    """The labels of the run's controls among ``methods``, in their order."""
    return [m for m in methods if results.attributions.get(m, {}).get("family") == CONTROL]


def column(gate: str) -> str:
    """The name of the column or value row holding ``gate``'s difference."""
    return f"above {gate}"


def references(method: str, untrained: Mapping[str, Grid], controls: Mapping[str, Grid],
               chance: Mapping[str, Grid]) -> dict[str, Grid | None]:
    """The gates that apply to ``method`` and the grid each tests it against (None: the run
    holds that reference but not for this method): untrained, each control, chance."""
    out: dict[str, Grid | None] = {}
    if untrained:
        out[UNTRAINED] = untrained.get(method)
    out.update(controls)
    if chance:
        out[CHANCE] = chance.get(method)
    return out


def gates(grid: Grid, against: Mapping[str, Grid | None], bootstrap: TwoWayBootstrap,
          up: bool) -> tuple[dict[str, Effect], tuple[str, ...]]:
    """Each applied gate's paired difference ``grid − reference`` and the gates ``grid``
    fails, worded as :func:`versus` (``no REFERENCE score`` where it has none)."""
    effects: dict[str, Effect] = {}
    failed = []
    for gate, reference in against.items():
        if reference is None:
            failed.append(f"no {gate} score")
            continue
        effects[gate] = difference(grid, reference, bootstrap)
        verdict = versus(effects[gate], up, gate)
        if verdict != f"{side(up)} {gate}":
            failed.append(verdict)
    return effects, tuple(failed)


def gate_text(failed: Sequence[str], applied: Sequence[str]) -> str:
    """The ``gates`` cell: the failed gates, or ``passes`` naming any gate not applied."""
    if failed:
        return "; ".join(failed)
    fixed = (UNTRAINED, CHANCE)
    missing = [g for g in fixed if g not in applied]
    if not [g for g in applied if g not in fixed]:
        missing.insert(len(missing) - (CHANCE in missing), CONTROLS)
    return PASSES + (f" ({', '.join(missing)}: not in this run)" if missing else "")
