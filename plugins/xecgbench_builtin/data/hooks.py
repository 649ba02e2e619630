"""Registers the bundled data family: datasets and the ``xecgbench data`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xecgbench.api import hookimpl
from xecgbench_builtin.data.cinc2017 import CinC2017
from xecgbench_builtin.data.cpsc2021 import CPSC2021
from xecgbench_builtin.data.ludb import LUDB
from xecgbench_builtin.data.qtdb import QTDB
from xecgbench_builtin.data.synthetic import SyntheticECG

if TYPE_CHECKING:
    import click

    from xecgbench.api import BoundRegistry


@hookimpl
def xecgbench_register_datasets(registry: BoundRegistry) -> None:
    """Register the bundled dataset classes."""
    registry.register("synthetic", SyntheticECG)
    registry.register("cinc2017", CinC2017)
    registry.register("ludb", LUDB)
    registry.register("qtdb", QTDB)
    registry.register("cpsc2021", CPSC2021)


@hookimpl
def xecgbench_register_commands(cli: click.Group) -> None:
    """Add ``xecgbench data`` (check, export, download)."""
    from xecgbench_builtin.data.cli import data

    cli.add_command(data)
