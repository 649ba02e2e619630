"""Bundled datasets, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xecgbench import hookimpl
from xecgbench_builtin.cinc2017 import CinC2017
from xecgbench_builtin.ludb import LUDB
from xecgbench_builtin.synthetic import SyntheticECG

if TYPE_CHECKING:
    from xecgbench.registry import BoundRegistry


@hookimpl
def xecgbench_register_datasets(registry: BoundRegistry) -> None:
    """Register the bundled dataset classes."""
    registry.register("synthetic", SyntheticECG)
    registry.register("cinc2017", CinC2017)
    registry.register("ludb", LUDB)
