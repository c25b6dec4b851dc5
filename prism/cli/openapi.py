"""``prism openapi``: print or write the OpenAPI document the server serves."""

from __future__ import annotations

from pathlib import Path

import click

from prism.client.openapi_dump import DEFAULT_PATH, render, served_document

__all__ = ["openapi"]


@click.command("openapi")
@click.option(
    "--write",
    "write_to",
    is_flag=False,
    flag_value=str(DEFAULT_PATH),
    default=None,
    help=f"Write it to this file (alone: {DEFAULT_PATH.name} of the source tree) instead of printing it.",
)
@click.option("--hosted", is_flag=True, help="The document of a hosted server (adds /api/v1/auth).")
def openapi(write_to: str | None, hosted: bool) -> None:
    """The OpenAPI document of /api/v1, keys sorted (docs/openapi.json is the device's)."""
    text = render(served_document("hosted" if hosted else "device"))
    if write_to is None:
        click.echo(text, nl=False)
        return
    Path(write_to).write_text(text, encoding="utf-8")
    click.echo(f"wrote {write_to}")
