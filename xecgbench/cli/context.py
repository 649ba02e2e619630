"""What every command shares: the plugin system it runs with and the ``--data-dir`` option."""

from __future__ import annotations

from pathlib import Path

import click

from xecgbench.errors import UserError, XecgbenchError
from xecgbench.plugins.data_root import DATA_ENV, set_data_root
from xecgbench.plugins.manager import PluginSystem, load_plugins


def plugin_system(ctx: click.Context | None = None, *, check: bool = True) -> PluginSystem:
    """The plugins the command runs with: ``main``'s (or a test's ``obj``), else loaded now.

    ``check`` refuses to go on past a plugin's registration problem; ``plugins`` lists broken
    plugins instead, so it passes False.
    """
    root = (ctx or click.get_current_context()).find_root()
    if not isinstance(root.obj, PluginSystem):
        root.obj = load_plugins(strict=False)  # a broken plugin must not take `plugins` down
    if check:
        root.obj.check()
    return root.obj


def _set_data_root(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``--data-dir`` is the root every real-data loader resolves its default path under, for
    this command only (put back when it ends, so a test's next command does not inherit it)."""
    if value is not None:
        previous = set_data_root(value.resolve())
        ctx.call_on_close(lambda: set_data_root(previous))


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_set_data_root,
    expose_value=False,
    is_eager=True,
    help=f"Root of local PhysioNet data (default: ${DATA_ENV}, else ./data).",
)


class UserErrorGroup(click.Group):
    """A group whose commands' :class:`XecgbenchError`s reach click as :class:`UserError`s.

    ``main`` prints either the same way; the conversion, once here instead of in each command,
    keeps the group's exit code 2 and ``error:`` line when it runs without ``main`` (the board
    fuzz tests drive ``leaderboard`` through click's test runner).
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except XecgbenchError as exc:
            if isinstance(exc, click.ClickException):
                raise
            raise UserError(str(exc)) from exc  # the same exit code: every one exits 2
