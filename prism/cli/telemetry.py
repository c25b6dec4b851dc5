"""``prism telemetry``: whether it is on, and exactly what a report holds."""

from __future__ import annotations

import click

from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.telemetry import build_report, encode_report

__all__ = ["telemetry"]


@click.group()
def telemetry() -> None:
    """Opt-in telemetry: counts and timings only (PRISM_TELEMETRY, PRISM_TELEMETRY_URL)."""


@telemetry.command("preview")
@click.pass_obj
def preview(settings: Settings) -> None:
    """Print exactly the bytes a report from this device holds now (nothing is sent).

    A running server's reports also carry its per-route request counts and timings, in
    the same shape under "routes"; this command's own process has served none.
    """

    async def run() -> bytes:
        async with upgraded_store(settings) as database:
            return encode_report(await build_report(settings, database, ()))

    body = run_async(run())
    state = "on" if settings.telemetry.enabled and settings.telemetry.endpoint else "off"
    click.echo(body.decode())
    console.print(f"telemetry is {state}" + (f", sent to {settings.telemetry.endpoint}" if state == "on" else ""))
