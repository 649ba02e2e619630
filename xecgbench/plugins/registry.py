"""A typed registry of components, recording which plugin registered each name."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from xecgbench.plugins.registration_checks import registration_problem

KINDS: tuple[str, ...] = (
    "datasets",
    "models",
    "pretraining",
    "freezing",
    "attributions",
    "metrics",
)


class RegistryError(Exception):
    """Base class for registry problems a user can fix."""


class DuplicateComponentError(RegistryError):
    """Two plugins registered the same name for one kind."""


class UnknownComponentError(RegistryError, LookupError):
    """A name that no plugin registered; the message lists the valid names."""


@dataclass(frozen=True)
class Registration:
    """One registered component and its provenance."""

    kind: str
    name: str
    component: Any
    plugin: str
    plugin_version: str

    @property
    def version(self) -> str:
        """The component's own version (``version`` or ``info.version``), else the plugin's."""
        info = getattr(self.component, "info", None)
        version = getattr(self.component, "version", getattr(info, "version", None))
        return str(version if version is not None else self.plugin_version)


@dataclass
class KindRegistry:
    """Components of one kind. Plugins receive a view bound to themselves via :meth:`bound`."""

    kind: str
    _entries: dict[str, Registration] = field(default_factory=dict)

    def add(self, name: str, component: Any, plugin: str, plugin_version: str) -> None:
        """Record ``component`` under ``name``; a second registration of a name raises."""
        if not name or not isinstance(name, str):
            raise RegistryError(f"plugin {plugin!r} registered a {self.kind} entry without a name")
        problem = registration_problem(self.kind, name, component)
        if problem is not None:
            raise RegistryError(f"plugin {plugin!r}: {problem}")
        if name in self._entries:
            first = self._entries[name]
            raise DuplicateComponentError(
                f"{self.kind} {name!r} registered twice: by plugin {first.plugin!r} "
                f"and by plugin {plugin!r}"
            )
        self._entries[name] = Registration(self.kind, name, component, plugin, plugin_version)

    def bound(self, plugin: str, plugin_version: str) -> BoundRegistry:
        """A view whose ``register`` attributes every entry to ``plugin``."""
        return BoundRegistry(self, plugin, plugin_version)

    def get(self, name: str) -> Any:
        """The component registered as ``name``."""
        return self.registration(name).component

    def registration(self, name: str) -> Registration:
        """The full :class:`Registration` of ``name``; unknown names list the valid ones."""
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries)) or "(none registered)"
            close = difflib.get_close_matches(str(name), list(self._entries), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownComponentError(
                f"unknown {self.kind} {name!r}; valid names: {valid}{hint}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registration]:
        return iter(sorted(self._entries.values(), key=lambda r: r.name))

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class BoundRegistry:
    """What a plugin's ``xecgbench_register_<kind>`` hook receives."""

    target: KindRegistry
    plugin: str
    plugin_version: str

    @property
    def kind(self) -> str:
        """The component kind this registry holds."""
        return self.target.kind

    def register(self, name: str, component: Any) -> None:
        """Register ``component`` under ``name`` on behalf of the bound plugin."""
        self.target.add(name, component, self.plugin, self.plugin_version)


@dataclass
class Registry:
    """Every component kind's :class:`KindRegistry`."""

    kinds: dict[str, KindRegistry] = field(
        default_factory=lambda: {kind: KindRegistry(kind) for kind in KINDS}
    )

    def __getitem__(self, kind: str) -> KindRegistry:
        try:
            return self.kinds[kind]
        except KeyError:
            raise UnknownComponentError(
                f"unknown component kind {kind!r}; valid kinds: {', '.join(KINDS)}"
            ) from None

    def by_plugin(self) -> dict[str, list[Registration]]:
        """Registrations grouped by the plugin that made them."""
        grouped: dict[str, list[Registration]] = {}
        for kind_registry in self.kinds.values():
            for registration in kind_registry:
                grouped.setdefault(registration.plugin, []).append(registration)
        return grouped
