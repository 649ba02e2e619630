"""A typed registry of components, recording which plugin registered each name.

Two plugins may register one name (a third-party ``smoothgrad`` beside the bundled one): both
stay reachable as ``<distribution or plugin>:<name>`` (``xecgbench-smoothgrad:smoothgrad``,
``xecgbench:smoothgrad``). The bare name means the bundled component, with a one-line warning
naming both distributions the first time it is looked up; between third-party components only,
the bare name is ambiguous and the lookup lists the qualified choices. Before, such a clash
made every command that runs anything fail.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from xecgbench.errors import XecgbenchError
from xecgbench.plugins.registration_checks import registration_problem

KINDS: tuple[str, ...] = (
    "datasets",
    "models",
    "pretraining",
    "freezing",
    "attributions",
    "metrics",
)


class RegistryError(XecgbenchError):
    """Base class for registry problems a user can fix."""


class DuplicateComponentError(RegistryError):
    """One plugin registered the same name twice for one kind."""


class AmbiguousComponentError(RegistryError, LookupError):
    """A bare name that several third-party plugins registered; the message lists the
    qualified names to choose from."""


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
    #: the installed distribution that ships the plugin (``None``: registered from code)
    distribution: str | None = None
    #: registered by one of xecgbench's bundled plugins (wins a bare name it shares)
    bundled: bool = False

    @property
    def qualified_name(self) -> str:
        """``<distribution or plugin>:<name>``: reaches this component whatever else is
        installed."""
        return f"{self.distribution or self.plugin}:{self.name}"

    def answers_to(self, qualifier: str) -> bool:
        """Whether ``qualifier`` (before the ``:``) names this plugin or its distribution."""
        return qualifier == self.plugin or (
            self.distribution is not None
            and _canonical(qualifier) == _canonical(self.distribution))

    @property
    def origin(self) -> str:
        """The distribution and plugin, for messages: ``xecgbench-smoothgrad (smoothgrad)``."""
        return f"{self.distribution} ({self.plugin})" if self.distribution else self.plugin

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
    #: bare name -> its registrations, in registration order
    _entries: dict[str, list[Registration]] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    #: False in stage workers: the driver has already named every shadowed component once.
    warns: bool = True

    def add(self, name: str, component: Any, plugin: str, plugin_version: str, *,
            distribution: str | None = None, bundled: bool = False) -> None:
        """Record ``component`` under ``name``; the same plugin registering a name twice
        raises, another plugin's registration of it is kept beside the first."""
        if not name or not isinstance(name, str):
            raise RegistryError(f"plugin {plugin!r} registered a {self.kind} entry without a name")
        problem = registration_problem(self.kind, name, component)
        if problem is not None:
            raise RegistryError(f"plugin {plugin!r}: {problem}")
        entries = self._entries.setdefault(name, [])
        if any(r.plugin == plugin for r in entries):
            raise DuplicateComponentError(
                f"{self.kind} {name!r} registered twice by plugin {plugin!r}")
        entries.append(Registration(self.kind, name, component, plugin, plugin_version,
                                    distribution, bundled))

    def drop_plugin(self, plugin: str) -> None:
        """Forget ``plugin``'s registrations of this kind."""
        for name in list(self._entries):
            self._entries[name] = [r for r in self._entries[name] if r.plugin != plugin]
            if not self._entries[name]:
                del self._entries[name]

    def bound(self, plugin: str, plugin_version: str, *, distribution: str | None = None,
              bundled: bool = False) -> BoundRegistry:
        """A view whose ``register`` attributes every entry to ``plugin``."""
        return BoundRegistry(self, plugin, plugin_version, distribution, bundled)

    def get(self, name: str) -> Any:
        """The component registered as ``name`` (bare or qualified)."""
        return self.registration(name).component

    def registration(self, name: str) -> Registration:
        """The full :class:`Registration` of ``name`` (bare or ``<plugin>:<name>``); unknown
        names list the valid ones, ambiguous ones the qualified choices."""
        qualifier, _, bare = str(name).rpartition(":")
        entries = self._entries.get(bare, [])
        if qualifier:
            matches = [r for r in entries if r.answers_to(qualifier)]
        else:
            winner = self._bare_winner(entries)
            matches = [winner] if winner is not None else entries
        if len(matches) == 1:
            if not qualifier and len(entries) > 1:
                self._warn_shadowed(matches[0], entries)
            return matches[0]
        if matches:
            raise AmbiguousComponentError(
                f"{self.kind} {name!r} is registered by {len(matches)} plugins; name one: "
                f"{', '.join(sorted(self._choices(matches)))}")
        raise UnknownComponentError(self._unknown(str(name), entries))

    def reference(self, registration: Registration) -> str:
        """The shortest name that reaches ``registration``: bare unless another plugin's
        component answers to it."""
        entries = self._entries.get(registration.name, [])
        if len(entries) == 1 or self._bare_winner(entries) is registration:
            return registration.name
        return registration.qualified_name

    def clashes(self) -> dict[str, list[Registration]]:
        """Bare names that several plugins registered, with their registrations."""
        return {name: list(entries) for name, entries in sorted(self._entries.items())
                if len(entries) > 1}

    def bare_meaning(self, name: str) -> Registration | None:
        """The registration a bare ``name`` resolves to; ``None`` when it is ambiguous."""
        entries = self._entries.get(name, [])
        return entries[0] if len(entries) == 1 else self._bare_winner(entries)

    @staticmethod
    def _bare_winner(entries: list[Registration]) -> Registration | None:
        """The bundled registration among several, if exactly one is bundled."""
        bundled = [r for r in entries if r.bundled]
        if len(entries) == 1:
            return entries[0]
        return bundled[0] if len(bundled) == 1 else None

    @staticmethod
    def _choices(entries: list[Registration]) -> list[str]:
        """Qualified names of ``entries``, by plugin where a distribution ships several."""
        dists = [r.distribution for r in entries]
        return [r.qualified_name if dists.count(r.distribution) == 1 else f"{r.plugin}:{r.name}"
                for r in entries]

    def _warn_shadowed(self, winner: Registration, entries: list[Registration]) -> None:
        """One line per bare name and process: which component it means, how to reach the
        others."""
        if winner.name in self._warned or not self.warns:
            return
        self._warned.add(winner.name)
        others = [(r, choice) for r, choice in zip(entries, self._choices(entries), strict=True)
                  if r is not winner]
        print(f"warning: {self.kind} {winner.name!r} is registered by {winner.origin} and "
              f"{', '.join(r.origin for r, _ in others)}; {winner.name!r} means the bundled "
              f"one, write {' or '.join(repr(c) for _, c in others)} for the other",
              file=sys.stderr)

    def _unknown(self, name: str, entries: list[Registration]) -> str:
        if entries:  # a qualifier that names none of the plugins registering the name
            return (f"unknown {self.kind} {name!r}; {entries[0].name!r} is registered as "
                    f"{', '.join(sorted(self._choices(entries)))}")
        valid = ", ".join(self.names()) or "(none registered)"
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}; valid names: {valid}{hint}"

    def names(self) -> list[str]:
        """Registered bare names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        qualifier, _, bare = str(name).rpartition(":")
        entries = self._entries.get(bare, [])
        return any(r.answers_to(qualifier) for r in entries) if qualifier else bool(entries)

    def __iter__(self) -> Iterator[Registration]:
        """Every registration, clashing ones included, sorted by name then plugin."""
        every = (r for entries in self._entries.values() for r in entries)
        return iter(sorted(every, key=lambda r: (r.name, not r.bundled, r.plugin)))

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())


def _canonical(distribution: str) -> str:
    """A distribution name as PEP 503 compares them (``Xecgbench_Foo`` = ``xecgbench-foo``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass(frozen=True)
class BoundRegistry:
    """What a plugin's ``xecgbench_register_<kind>`` hook receives."""

    target: KindRegistry
    plugin: str
    plugin_version: str
    distribution: str | None = None
    bundled: bool = False

    @property
    def kind(self) -> str:
        """The component kind this registry holds."""
        return self.target.kind

    def register(self, name: str, component: Any) -> None:
        """Register ``component`` under ``name`` on behalf of the bound plugin."""
        self.target.add(name, component, self.plugin, self.plugin_version,
                        distribution=self.distribution, bundled=self.bundled)


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

    def drop_plugin(self, plugin: str) -> None:
        """Forget every registration of ``plugin`` (one whose register hook failed midway)."""
        for kind_registry in self.kinds.values():
            kind_registry.drop_plugin(plugin)

    def by_plugin(self) -> dict[str, list[Registration]]:
        """Registrations grouped by the plugin that made them."""
        grouped: dict[str, list[Registration]] = {}
        for kind_registry in self.kinds.values():
            for registration in kind_registry:
                grouped.setdefault(registration.plugin, []).append(registration)
        return grouped
