"""Which installable distribution each plugin came from, so a reviewer can install the same one.

A run record that says only "zero-occlusion 0.1.0" leaves a reviewer guessing what to install.
Every plugin is recorded with its distribution name, version, source (the installer's
``direct_url.json`` when pip wrote one, else the project's URLs) and an archive hash: SHA-256
over the files its ``RECORD`` lists (path and content), so two installs of the same release
hash alike and an edited one does not. An editable install's ``RECORD`` lists only its
``.pth`` and metadata, so there the source (``direct_url.json`` with its ``editable`` flag) is
what names the code.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from xecgbench.errors import UserError
from xecgbench.plugins.manager import DEFAULT_PLUGINS, PluginSystem

#: Metadata files the installer writes per install (not part of the released archive).
_INSTALL_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
#: Registry kinds of a suite's components, with how to read their specs from the config.
_SUITE_KINDS = ("pretraining", "freezing", "attributions", "metrics")


def archive_sha256(dist: Any) -> str | None:
    """SHA-256 over ``path NUL sha256(content)`` of every RECORD-listed file, sorted by path."""
    files = dist.files
    if files is None:
        return None
    digest = hashlib.sha256()
    for file in sorted(files, key=str):
        path = Path(str(file))
        if path.name in _INSTALL_FILES or path.suffix == ".pyc":
            continue
        located = Path(str(dist.locate_file(file)))
        content = hashlib.sha256(located.read_bytes()).hexdigest() if located.is_file() else "-"
        digest.update(f"{path.as_posix()}\0{content}\n".encode())
    return digest.hexdigest()


def _install_target(name: str, version: str, direct: dict[str, Any] | None) -> str:
    """What to give ``pip install`` for this distribution."""
    if not direct:
        return f"{name}=={version}"
    url = str(direct.get("url", ""))
    vcs = direct.get("vcs_info")
    if vcs:
        return f"{vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}"
    return url or f"{name}=={version}"


def distribution_record(dist: Any) -> dict[str, Any]:
    """Name, version, source and archive hash of an installed distribution."""
    name, version = str(dist.metadata["Name"]), str(dist.version)
    text = dist.read_text("direct_url.json")
    direct = json.loads(text) if text else None
    urls = [str(u) for u in (dist.metadata.get_all("Project-URL") or [])]
    home = dist.metadata.get("Home-page")
    source: dict[str, Any] = {"install": _install_target(name, version, direct)}
    if direct:
        source["direct_url"] = direct
    if urls or home:
        source["project_urls"] = urls + ([str(home)] if home else [])
    return {"distribution": name, "version": version, "source": source,
            "archive_sha256": archive_sha256(dist)}


def _distribution_of(system: PluginSystem, plugin_name: str) -> Any:
    """The installed distribution a plugin was loaded from (xecgbench for the bundled ones)."""
    dist = system.dist_info(plugin_name)
    if dist is not None:
        return dist
    if plugin_name in {name for name, _ in DEFAULT_PLUGINS}:
        try:
            return metadata.distribution("xecgbench")
        except metadata.PackageNotFoundError:
            return None
    return None


def plugin_distributions(system: PluginSystem) -> dict[str, dict[str, Any] | None]:
    """Plugin name -> :func:`distribution_record` (None: registered from code, not installed)."""
    out: dict[str, dict[str, Any] | None] = {}
    records: dict[str, dict[str, Any]] = {}  # the bundled plugins share one distribution
    for name, _ in system.pm.list_name_plugin():
        dist = _distribution_of(system, str(name))
        if dist is not None and str(dist.metadata["Name"]) not in records:
            records[str(dist.metadata["Name"])] = distribution_record(dist)
        out[str(name)] = records[str(dist.metadata["Name"])] if dist is not None else None
    return dict(sorted(out.items()))


def suite_components(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(registry kind, component name) of every component a suite config names."""
    data = config.get("data", {})
    found = [("datasets", data.get("dataset")), ("datasets", data.get("test")),
             ("models", config.get("model"))]
    found += [(kind, spec) for kind in _SUITE_KINDS for spec in config.get(kind, ())]
    named = [(kind, spec if isinstance(spec, str) else spec.get("name"))
             for kind, spec in found if spec]
    return sorted(set((kind, str(name)) for kind, name in named))


def component_plugins(system: PluginSystem, config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Kind -> component name -> the plugin that registered it, for a suite's components."""
    out: dict[str, dict[str, str]] = {}
    for kind, name in suite_components(config):
        registry = system.registry[kind]
        if name in registry:
            out.setdefault(kind, {})[name] = registry.registration(name).plugin
    return out


def used_plugins(provenance: dict[str, Any], system: PluginSystem,
                 config: dict[str, Any]) -> set[str]:
    """Plugins a run used: as recorded, else (older records) as registered here."""
    recorded = provenance.get("component_plugins") or component_plugins(system, config)
    return {plugin for names in recorded.values() for plugin in names.values()}


def require_installed(provenance: dict[str, Any], system: PluginSystem,
                      config: dict[str, Any], where: str) -> None:
    """Raise a UserError naming the distribution to install for every component missing here."""
    recorded = provenance.get("component_plugins", {})
    distributions = provenance.get("plugin_distributions", {})
    for kind, name in suite_components(config):
        if name in system.registry[kind]:
            continue
        plugin = recorded.get(kind, {}).get(name)
        dist = distributions.get(plugin) if plugin else None
        if dist:
            raise UserError(
                f"{where}: {kind} {name!r} comes from plugin {plugin!r} of distribution "
                f"{dist['distribution']} {dist['version']}, which is not installed here; "
                f"install it with `pip install '{dist['source']['install']}'` "
                f"(archive SHA-256 {dist['archive_sha256']})"
            )
        raise UserError(
            f"{where}: {kind} {name!r} is not installed here and the record names no "
            f"distribution for it (plugin {plugin or 'unknown'}); install the plugin that "
            f"registers it"
        )


def local_source(record: dict[str, Any] | None) -> str | None:
    """Why a distribution record names code that only this machine has (an editable install,
    a local path, or no distribution at all), else None: such a run cannot be reproduced
    elsewhere from its record."""
    if not record:
        return "registered from code, not an installed distribution"
    direct = record.get("source", {}).get("direct_url") or {}
    url = str(direct.get("url", ""))
    if (direct.get("dir_info") or {}).get("editable"):
        return f"an editable install of {url}"
    if url.startswith("file:") and not direct.get("vcs_info"):
        return f"installed from the local path {url}"
    return None


def local_plugins(system: PluginSystem, plugins: set[str]) -> dict[str, str]:
    """Plugin -> why its code is local (:func:`local_source`), for the non-bundled ones of
    ``plugins``."""
    bundled = {name for name, _ in DEFAULT_PLUGINS}
    distributions = plugin_distributions(system)
    return {plugin: reason for plugin in sorted(plugins - bundled)
            if (reason := local_source(distributions.get(plugin))) is not None}
