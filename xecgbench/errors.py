"""The one base of every error a user can fix, and the click form commands raise.

``main`` catches :class:`XecgbenchError` once and prints its message as one line (``error:``
then the message, the file, record or plugin first), exit code ``exit_code``; every error
class a user can cause subclasses it, so a new one cannot slip past as a traceback. Click's own
usage errors get the same lowercase ``error:`` prefix (:func:`show_click_error`), so a user
meets one form whichever layer refused the command.
"""

from __future__ import annotations

from typing import IO, Any, ClassVar

import click


class XecgbenchError(Exception):
    """A mistake the user can fix: one line naming the cause, exit code 2, no traceback."""

    exit_code: ClassVar[int] = 2  # per class, as click's ClickException (UserError's base) has it


PREFIX = "error: "
#: The longest error line printed; a longer message (a library's dump) is cut, with "…".
MAX_LINE = 1000


def one_line(message: str) -> str:
    """``message`` as the one line every error is printed as: its lines joined by " / "
    (torch and pydantic write several), cut at :data:`MAX_LINE` characters."""
    text = " / ".join(part.strip() for part in str(message).splitlines() if part.strip())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…"


class UserError(click.ClickException, XecgbenchError):
    """A :class:`XecgbenchError` raised inside a click command (shown the same way when a
    command runs outside ``main``, e.g. under ``CliRunner``)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        """``error: …`` on standard error, as ``main`` prints it (click's own says ``Error:``)."""
        click.echo(PREFIX + one_line(self.format_message()), file=file, err=True)


def show_click_error(exc: click.ClickException) -> None:
    """Click's own refusal (a bad option, a missing argument) with the house prefix: its usage
    and help hint first, as click prints them, then one ``error:`` line."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        hint = (f"Try '{ctx.command_path} {max(ctx.help_option_names, key=len)}' for help.\n"
                if ctx.command.get_help_option(ctx) is not None else "")
        click.echo(f"{ctx.get_usage()}\n{hint}", err=True)
    click.echo(PREFIX + one_line(exc.format_message()), err=True)
