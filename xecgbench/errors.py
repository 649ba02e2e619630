"""The one error type every command raises for a mistake the user can fix."""

from __future__ import annotations

import click


class UserError(click.ClickException):
    """A mistake the user can fix: one line naming the cause, exit code 2, no traceback."""

    exit_code = 2
