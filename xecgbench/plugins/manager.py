"""Loads plugins (bundled defaults, then ``xecgbench`` entry points) and fills the registry."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from xecgbench import __version__
from xecgbench.errors import XecgbenchError
from xecgbench.plugins import hookspecs
from xecgbench.plugins.registry import KINDS, Registry, RegistryError

ENTRY_POINT_GROUP = "xecgbench"
#: Set to ``1`` to skip third-party entry points (the bundled defaults still load).
DISABLE_AUTOLOAD_ENV = "XECGBENCH_DISABLE_PLUGIN_AUTOLOAD"

#: Bundled plugins: (plugin name, module). The names equal their entry-point names in
#: ``pyproject.toml``, so entry-point autoloading sees them as already registered.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("builtin-data", "xecgbench_builtin.data.hooks"),
    ("builtin-models", "xecgbench_builtin.models.hooks"),
    ("builtin-attributions", "xecgbench_builtin.attribution.hooks"),
    ("builtin-metrics", "xecgbench_builtin.metrics.hooks"),
)
_BUNDLED = frozenset(name for name, _ in DEFAULT_PLUGINS)
#: The distribution the bundled plugins ship in: ``xecgbench:smoothgrad`` is the bundled one.
BUNDLED_DISTRIBUTION = "xecgbench"


class PluginLoadError(XecgbenchError):
    """A plugin could not be imported or registered; the message names it."""


@dataclass(frozen=True)
class BrokenPlugin:
    """A third-party plugin that failed to import, or whose register hook raised: skipped
    (none of its components registered), listed by ``plugins``."""

    name: str
    target: str
    distribution: str
    version: str
    error: str
    #: What failed: ``to import``, or ``in xecgbench_register_<kind>``.
    failed: str = "to import"

    @property
    def problem(self) -> str:
        return (f"entry point {self.name!r} ({self.target}) of distribution "
                f"{self.distribution} {self.version} failed {self.failed}: {self.error}")

    @property
    def remedy(self) -> str:
        return (f"update or `pip uninstall {self.distribution}`, or set "
                f"{DISABLE_AUTOLOAD_ENV}=1 to skip third-party plugins")


@dataclass
class PluginSystem:
    """A plugin manager and the registry its plugins filled."""

    pm: pluggy.PluginManager
    registry: Registry
    #: plugin name -> why its registrations were refused (``load_plugins(strict=False)``).
    problems: dict[str, str] = field(default_factory=dict)
    #: entry-point name -> the third-party plugin that failed to import (and was skipped).
    broken: dict[str, BrokenPlugin] = field(default_factory=dict)

    def dist_info(self, plugin_name: str) -> Any:
        """The entry-point distribution ``plugin_name`` was loaded from (``None``: from code)."""
        plugin = self.pm.get_plugin(plugin_name)
        for dist_plugin, dist in self.pm.list_plugin_distinfo():
            if dist_plugin is plugin:
                return dist
        return None

    def distribution(self, plugin_name: str) -> str | None:
        """The installed distribution that ships ``plugin_name`` (``None`` if not installed)."""
        dist = self.dist_info(plugin_name)
        return str(dist.project_name) if dist is not None else None

    def remedy(self, plugin_name: str) -> str:
        """How to get rid of a broken plugin, for error messages."""
        dist = self.distribution(plugin_name)
        uninstall = f"`pip uninstall {dist}`" if dist else "uninstall it"
        return (f"set {DISABLE_AUTOLOAD_ENV}=1 to skip third-party plugins, or {uninstall}")

    def check(self) -> None:
        """Raise the first recorded plugin problem, with the remedy (for commands that run)."""
        for plugin_name, problem in self.problems.items():
            raise RegistryError(f"{problem} ({self.remedy(plugin_name)})")

    def plugin_version(self, plugin_name: str) -> str:
        """Version of the distribution that ships ``plugin_name`` (ours for the bundled ones)."""
        dist = self.dist_info(plugin_name)
        if dist is not None:
            return str(dist.version)
        return str(getattr(self.pm.get_plugin(plugin_name), "__version__", __version__))

    def describe(self) -> list[dict[str, Any]]:
        """Per plugin: name, version, implemented hooks and what it registered."""
        registered = self.registry.by_plugin()
        rows = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: str(item[0])):
            hooks = sorted(impl.name for impl in self._hookcallers(plugin))
            rows.append(
                {
                    "name": name,
                    "version": self.plugin_version(str(name)),
                    "hooks": hooks,
                    "registered": {
                        kind: [r.name for r in registered.get(str(name), []) if r.kind == kind]
                        for kind in KINDS
                        if any(r.kind == kind for r in registered.get(str(name), []))
                    },
                }
            )
            clashes = self.clashes(str(name))
            if clashes:
                rows[-1]["clashes"] = clashes
            if str(name) in self.problems:
                rows[-1]["problem"] = self.problems[str(name)]
                rows[-1]["remedy"] = self.remedy(str(name))
        for plugin in self.broken.values():
            rows.append({"name": plugin.name, "version": plugin.version,
                         "distribution": plugin.distribution, "hooks": [], "registered": {},
                         "problem": plugin.problem, "remedy": plugin.remedy})
        return rows

    def clashes(self, plugin_name: str) -> list[dict[str, Any]]:
        """Names ``plugin_name`` shares with other plugins: kind, name, this one's qualified
        name, the others', and what the bare name means (``None``: ambiguous)."""
        out = []
        for kind in KINDS:
            registry = self.registry[kind]
            for name, entries in registry.clashes().items():
                mine = [r for r in entries if r.plugin == plugin_name]
                if not mine:
                    continue
                meaning = registry.bare_meaning(name)
                out.append({
                    "kind": kind, "name": name, "qualified_name": mine[0].qualified_name,
                    "also": [r.qualified_name for r in entries if r is not mine[0]],
                    "bare_name_means": meaning.qualified_name if meaning else None,
                })
        return out

    def _hookcallers(self, plugin: object) -> list[Any]:
        return list(self.pm.get_hookcallers(plugin) or [])


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("xecgbench")
    pm.add_hookspecs(hookspecs)
    return pm


def _import_default(plugin_name: str, module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # a broken bundled plugin must say which one
        raise PluginLoadError(
            f"bundled plugin {plugin_name!r} ({module_name}) failed: {exc}"
        ) from exc


def load_plugins(
    *, autoload: bool | None = None, extra: Iterable[object] = (), defaults: bool = True,
    strict: bool = True,
) -> PluginSystem:
    """Build a :class:`PluginSystem`.

    Parameters
    ----------
    autoload : load third-party ``xecgbench`` entry points; default: unless
        ``XECGBENCH_DISABLE_PLUGIN_AUTOLOAD`` is set.
    extra : plugin objects (modules or class instances) to register too, e.g. in tests.
    defaults : register the bundled plugins.
    strict : raise on a registration problem (a bad metric, a name registered twice by one
        plugin); otherwise record it in :attr:`PluginSystem.problems` and go on, so
        ``xecgbench plugins`` and ``--help`` still work and can name the culprit.
    """
    if autoload is None:
        autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "") in ("", "0")
    pm = _new_manager()
    if defaults:
        for plugin_name, module_name in DEFAULT_PLUGINS:
            pm.register(_import_default(plugin_name, module_name), name=plugin_name)
    for plugin in extra:
        pm.register(plugin)
    broken = _load_entry_points(pm) if autoload else {}
    pm.check_pending()
    system = PluginSystem(pm=pm, registry=Registry(), broken=broken)
    _fill_registry(system, strict)
    return system


def _load_entry_points(pm: pluggy.PluginManager) -> dict[str, BrokenPlugin]:
    """Load each ``xecgbench`` entry point on its own; one that fails to import is skipped
    with one warning naming it, its distribution and the error, so it costs only its own
    components (before, one outdated plugin made every command, even ``--version``, fail)."""
    broken: dict[str, BrokenPlugin] = {}
    for dist in metadata.distributions():
        for entry in dist.entry_points:
            if (entry.group != ENTRY_POINT_GROUP or pm.get_plugin(entry.name) is not None
                    or pm.is_blocked(entry.name) or entry.name in broken):
                continue
            try:
                pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=entry.name)
            except (Exception, SystemExit) as exc:  # any import-time failure of third-party code
                plugin = BrokenPlugin(entry.name, entry.value, dist.metadata["Name"] or "?",
                                      dist.version, f"{type(exc).__name__}: {exc}")
                broken[entry.name] = plugin
                print(f"warning: skipping plugin: {plugin.problem} ({plugin.remedy})",
                      file=sys.stderr)
    return broken


def _fill_registry(system: PluginSystem, strict: bool = True) -> None:
    """Call every plugin's register hooks with a registry bound to that plugin."""
    for kind in KINDS:
        caller = getattr(system.pm.hook, f"xecgbench_register_{kind}")
        # get_hookimpls() is in registration order (pluggy *calls* them last-first): bundled
        # plugins register first; a name two plugins register is kept for both (registry.py)
        for impl in caller.get_hookimpls():
            plugin_name = system.pm.get_name(impl.plugin) or repr(impl.plugin)
            bundled = plugin_name in _BUNDLED
            bound = system.registry[kind].bound(
                plugin_name, system.plugin_version(plugin_name), bundled=bundled,
                distribution=BUNDLED_DISTRIBUTION if bundled else system.distribution(plugin_name))
            if plugin_name in system.problems:
                continue  # a plugin that already clashed registers nothing more
            try:
                impl.function(registry=bound)
            except RegistryError as exc:
                if strict:
                    raise
                system.problems[plugin_name] = str(exc)
            except (Exception, SystemExit) as exc:  # a hook calling sys.exit ended every command
                if bundled:
                    raise PluginLoadError(
                        f"plugin {plugin_name!r} failed in xecgbench_register_{kind}: {exc}"
                    ) from exc
                _mark_broken(system, plugin_name, impl.plugin, kind, exc)


def _mark_broken(system: PluginSystem, plugin_name: str, plugin: object, kind: str,
                 exc: BaseException) -> None:
    """A third-party register hook that raised costs only its own plugin, as a failed import
    does: everything it registered is forgotten, it is unregistered (no further hook of it is
    called) and listed as broken, with one warning (it used to make every command fail,
    ``--version`` and ``plugins`` included)."""
    broken = BrokenPlugin(plugin_name, getattr(plugin, "__name__", type(plugin).__name__),
                          system.distribution(plugin_name) or "(none: registered from code)",
                          system.plugin_version(plugin_name), f"{type(exc).__name__}: {exc}",
                          failed=f"in xecgbench_register_{kind}")
    system.registry.drop_plugin(plugin_name)
    system.pm.unregister(plugin)
    system.broken[plugin_name] = broken
    print(f"warning: skipping plugin: {broken.problem} ({broken.remedy})", file=sys.stderr)
