"""Bundled command-line commands, added to ``xecgbench`` through the commands hook."""

from __future__ import annotations

import click

from xecgbench import hookimpl
from xecgbench_builtin.data_cli import data


@hookimpl
def xecgbench_register_commands(cli: click.Group) -> None:
    """Add ``xecgbench data`` (check, export, download)."""
    cli.add_command(data)
