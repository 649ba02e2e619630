"""The one base of every error a user can fix, and the click form commands raise.

``main`` catches :class:`XecgbenchError` once and prints its message as one line (``error:``
then the message, the file, record or plugin first), exit code ``exit_code``; every error
class a user can cause subclasses it, so a new one cannot slip past as a traceback.
"""

from __future__ import annotations

import click


class XecgbenchError(Exception):
    """A mistake the user can fix: one line naming the cause, exit code 2, no traceback."""

    exit_code = 2


class UserError(click.ClickException, XecgbenchError):
    """A :class:`XecgbenchError` raised inside a click command (click shows it the same way
    when a command runs outside ``main``, e.g. under ``CliRunner``)."""

    exit_code = 2
