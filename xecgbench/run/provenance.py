"""Provenance of a run: versions, plugins, git commit, config and seeds."""

from __future__ import annotations

import dataclasses
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from xecgbench import __version__
from xecgbench.plugins.manager import PluginSystem
from xecgbench.run.config import Suite
from xecgbench.run.distributions import component_plugins, plugin_distributions

PACKAGES = ("torch", "numpy", "zennit", "captum", "quantus", "wfdb", "neurokit2", "pluggy")


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the xecgbench checkout, when it runs from one."""
    folder = path or Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def component_catalogue(system: PluginSystem, suite: Suite) -> dict[str, Any]:
    """How to read the run's numbers, frozen when the run starts (not looked up at report time).

    ``metrics``: display label -> name, category, direction and optional sanity check;
    ``strategies``: pretraining display label -> name, pre-trained branches and what its
    report keys mean; ``schedules``: freezing display label -> name and ``depth`` (blocks frozen,
    None when not one fixed number); ``attributions``: method display label -> name, family and
    whether it builds relevance from the masks it is scored on (``mask_informed``). Labels whose
    plugin is not installed are left out.
    """
    metrics, strategies, schedules, attributions = {}, {}, {}, {}
    for spec in suite.metrics:
        if spec.name in system.registry["metrics"]:
            info = system.registry["metrics"].get(spec.name).info
            sanity = dataclasses.asdict(info.sanity) if info.sanity is not None else None
            metrics[spec.display] = {
                "name": spec.name, "category": info.category,
                "higher_is_better": bool(info.higher_is_better),
                **({"sanity": sanity} if sanity else {}),
                **({"region": info.region} if info.region else {}),
                **({"value_range": [float(v) for v in info.value_range]}
                   if getattr(info, "value_range", None) else {}),
            }
    for spec in suite.pretraining:
        if spec.name in system.registry["pretraining"]:
            strategy = system.registry["pretraining"].get(spec.name)
            strategies[spec.display] = {
                "name": spec.name,
                "branches": list(strategy.branches),
                "report_directions": dict(getattr(strategy, "report_directions", {})),
                "report_description": str(getattr(strategy, "report_description", "")),
            }
    for spec in suite.freezing:
        if spec.name in system.registry["freezing"]:
            try:
                schedule = system.registry["freezing"].get(spec.name)(**spec.params)
                depth = getattr(schedule, "depth", None)
            except (TypeError, ValueError):  # bad parameters: preflight names them
                depth = None
            schedules[spec.display] = {
                "name": spec.name, "depth": depth if isinstance(depth, int) else None,
            }
    for spec in suite.attributions:
        if spec.name in system.registry["attributions"]:
            method = system.registry["attributions"].get(spec.name)
            attributions[spec.display] = {
                "name": spec.name, "family": str(getattr(method, "family", "")),
                "mask_informed": bool(getattr(method, "mask_informed", False)),
            }
    return {"metrics": metrics, "strategies": strategies, "schedules": schedules,
            "attributions": attributions}


def cpu_kernels() -> str:
    """The CPU instruction set torch dispatches its kernels to (e.g. ``AVX2``, ``AVX512``).

    Two machines with the same platform string and package versions still round float32
    differently when torch picks different vector kernels (seen: 1e-8 apart), so
    bit-identity is only promised where this matches too.
    """
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_fingerprint() -> dict[str, Any]:
    """What predicts bit-identical float32 results: CPU vendor and model, kernel set, threads.

    ``cpu_kernels`` alone is not enough: an AMD EPYC and an Intel Xeon both report ``AVX512``
    and still round float32 reductions differently (seen: 7e-8 relative), so the vendor and
    model (with its family and model numbers, which a hypervisor's generic name hides) are
    part of the promise too.
    """
    from xecgbench.run.executors import STAGE_THREADS

    info = _cpuinfo()
    return {
        "vendor": info.get("vendor_id") or platform.processor() or None,
        "model": info.get("model name") or platform.processor() or None,
        "family": info.get("cpu family"),
        "model_number": info.get("model"),
        "kernels": cpu_kernels(),
        "threads": STAGE_THREADS,
    }


def provenance(system: PluginSystem, suite: Suite) -> dict[str, Any]:
    """Everything needed to say what produced a result, and how to read it (``catalogue``)."""
    return {
        "catalogue": component_catalogue(system, suite),
        "xecgbench": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_kernels": cpu_kernels(),
        "cpu": cpu_fingerprint(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "plugins": {row["name"]: row["version"] for row in system.describe()},
        "plugin_distributions": plugin_distributions(system),
        "component_plugins": component_plugins(system, suite.model_dump(mode="json")),
        "git_commit": git_commit(),
        "config_hash": suite.config_hash(),
        "seeds": list(suite.seeds),
    }
