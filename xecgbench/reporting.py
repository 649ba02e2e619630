"""Writes leaderboard files from a results store (the only way tables are made)."""

from __future__ import annotations

import time
from pathlib import Path

from xecgbench.leaderboard import build_leaderboard, to_markdown
from xecgbench.plugin_manager import PluginSystem
from xecgbench.store import ResultsStore


def write_leaderboard(
    store_path: Path, system: PluginSystem, out: Path, run_id: str | None = None
) -> Path:
    """Build the Markdown leaderboard of ``run_id`` (default: latest) into ``out``."""
    with ResultsStore(store_path) as store:
        run_id = run_id or store.latest_run_id()
        run = next(r for r in store.runs() if r["run_id"] == run_id)
        frame = store.scores_frame(run_id)
    config = run["config"]
    metrics = system.registry["metrics"]
    directions = {
        spec["label"] or spec["name"]: metrics.get(spec["name"]).info.higher_is_better
        for spec in config["metrics"]
        if spec["name"] in metrics
    }
    footer = {
        "suite": f"{config['name']} (config {run['config_hash']})",
        "run": run_id,
        "seeds": ", ".join(str(s) for s in config["seeds"]),
        "versions": ", ".join(f"{k} {v}" for k, v in run["provenance"]["packages"].items() if v),
        "git commit": run["provenance"].get("git_commit") or "n/a",
        "generated": time.strftime("%Y-%m-%d", time.gmtime(run["started"])),
    }
    board = build_leaderboard(
        frame,
        primary=config["primary_metric"],
        higher_is_better=directions,
        alignment=config["explain"]["alignment"],
        footer=footer,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_markdown(board, f"xecgbench leaderboard: {config['name']}"), encoding="utf-8")
    return out
