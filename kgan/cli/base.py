"""What every `kgan` command shares: how bad input is reported, and common options."""

import click

from kgan.errors import KganError

SET_HELP = "Override a recipe value, e.g. --set train.epochs=5 (repeatable)."
CHECKPOINT_HELP = '"last", "best" or a .keras file of the run.'


class UserError(click.ClickException):
    """Bad input from the user: printed as one paragraph, exit status 2."""

    exit_code = 2


class KganGroup(click.Group):
    """The one place where kgan's errors become command-line errors."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KganError as exc:
            raise UserError(str(exc)) from None
