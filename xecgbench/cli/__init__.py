"""The ``xecgbench`` command line: the root group, its commands and ``main``.

One module per command or group (``run``, ``explain``, ``plugins``/``list``, ``show``,
``status``, ``leaderboard``); what they share (the plugin system, ``--data-dir``) is in
:mod:`xecgbench.cli.context`. Plugins add their own commands through a hook.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from xecgbench import __version__
from xecgbench.cli.explain import explain_command
from xecgbench.cli.leaderboard import leaderboard
from xecgbench.cli.plugins import list_command, plugins_command
from xecgbench.cli.run import run_command
from xecgbench.cli.show import show
from xecgbench.cli.status import status_command
from xecgbench.errors import PREFIX, XecgbenchError, one_line, show_click_error
from xecgbench.plugins.manager import PluginSystem, load_plugins
from xecgbench.run.faults import DEBUG_ENV, debugging, from_os_error


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[DEBUG_ENV] = "1"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xecgbench")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help=f"Show tracebacks of errors (also {DEBUG_ENV}=1).")
def cli() -> None:
    """Benchmark whether transfer learning makes ECG explanations clinically meaningful."""


for _command in (plugins_command, list_command, run_command, explain_command, leaderboard,
                 show, status_command):
    cli.add_command(_command)


def build_cli(system: PluginSystem) -> click.Group:
    """The command group with every plugin's commands added."""
    system.pm.hook.xecgbench_register_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    try:
        system = load_plugins(strict=False)  # a broken plugin must not take `plugins` down
        group = build_cli(system)
        # Without standalone mode click returns ctx.exit's code instead of exiting with it.
        code = group.main(args=argv, prog_name="xecgbench", obj=system, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except XecgbenchError as exc:  # every user error, UserError included: one "error:" line
        _fail(str(exc), exc.exit_code)
    except click.ClickException as exc:  # click's own usage errors, with the same prefix
        show_click_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted; finished stages are kept, run again to resume", err=True)
        sys.exit(130)
    except OSError as exc:  # an unwritable or full disk anywhere else: still one line
        _fail(str(from_os_error(exc)))


def _fail(message: str, code: int = 2) -> None:
    """Print a user error as one line (after its traceback under --debug) and exit ``code``."""
    if debugging():
        traceback.print_exc()
    click.echo(PREFIX + one_line(message), err=True)
    sys.exit(code)
