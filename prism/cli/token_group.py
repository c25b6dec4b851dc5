"""``prism token``: the device API's bearer token, and scoped tokens (:mod:`prism.cli.tokens`)."""

from __future__ import annotations

import click

from prism.api.auth import ensure_device_token, rotate_device_token
from prism.cli.tokens import TOKEN_COMMANDS
from prism.config import Settings

__all__ = ["token"]


@click.group()
def token() -> None:
    """The device API's bearer token (in <data-dir>/api-token, mode 0600), and scoped tokens."""


@token.command("show")
@click.pass_obj
def token_show(settings: Settings) -> None:
    """Print the token, creating it if there is none yet."""
    click.echo(ensure_device_token(settings.token_path))


@token.command("rotate")
@click.pass_obj
def token_rotate(settings: Settings) -> None:
    """Replace the token; a running server accepts only the new one from its next request."""
    click.echo(rotate_device_token(settings.token_path))


for _command in TOKEN_COMMANDS:
    token.add_command(_command)
