"""``prism hive``: the community hive from a device (docs/hive.md).

prism hive preview                 # exactly the bytes `sync` would send (contribution is opt-in)
prism hive sync                    # contribute (if PRISM_HIVE_CONTRIBUTE is on), then pull
prism hive pull                    # download the snapshot, or the delta since the last pull
prism hive resolve US0378331005    # from the mirror, the cache, then (unless --offline) the hive
prism hive import-dump ./old-hive  # a hive operator: the old Supabase hive's tables
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
import msgspec
from rich.table import Table

from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.errors import ValidationError
from prism.hive.device import PullReport, contribution_payload, hive_key, pull, resolve_on_device
from prism.hive.legacy_dump import import_dump
from prism.hive.remote import HiveRemote
from prism.hive.wire import ContributionIn, ContributionOut, Resolution
from prism.storage.catalog import device_account
from prism.storage.device_lake import open_device_lake

__all__ = ["hive"]


@click.group()
def hive() -> None:
    """Resolve ISINs through the community hive, privately; contribute if you opt in."""


def _remote(settings: Settings) -> HiveRemote:
    if not settings.hive.url:
        raise click.ClickException("no hive configured: set PRISM_HIVE_URL")
    return HiveRemote(settings.hive.url, settings.hive.token)


async def _payload(settings: Settings) -> ContributionIn:
    async with upgraded_store(settings) as database:
        owner = await database.read(device_account)
        if owner is None:
            return ContributionIn()
        return await database.read(contribution_payload, owner)


@hive.command()
@click.pass_obj
def preview(settings: Settings) -> None:
    """Print exactly what `prism hive sync` would send (nothing is sent)."""
    body = msgspec.json.encode(run_async(_payload(settings)))
    state = "on" if settings.hive.contribute else "off (PRISM_HIVE_CONTRIBUTE): `sync` sends nothing"
    click.echo(f"contribution is {state}; the payload:", err=True)
    sys.stdout.buffer.write(body + b"\n")


async def _pull(settings: Settings, remote: HiveRemote) -> PullReport:
    async with upgraded_store(settings) as database:
        lake = open_device_lake(settings)
        try:
            key = hive_key(settings.hive.url or "")
            return await pull(database, lake, settings.lake_lock_path, key, remote.snapshot)
        finally:
            lake.close()


def _show_pull(report: PullReport) -> None:
    what = "snapshot" if report.since == 0 else f"delta since version {report.since}"
    console.print(
        f"hive at version {report.version} ({what}): {report.assets} asset(s), {report.funds} fund(s); "
        f"{report.lake_rows} composition row(s) into the lake"
    )


def _download(settings: Settings) -> None:
    remote = _remote(settings)
    try:
        _show_pull(run_async(_pull(settings, remote)))
    except ConnectionError as error:
        raise click.ClickException(str(error)) from error
    finally:
        remote.close()


@hive.command("pull")
@click.pass_obj
def pull_command(settings: Settings) -> None:
    """Download the hive's snapshot, or the delta since the last pull, for offline lookups."""
    _download(settings)


@hive.command()
@click.pass_obj
def sync(settings: Settings) -> None:
    """Contribute this device's assets (only with PRISM_HIVE_CONTRIBUTE on), then pull."""
    if settings.hive.contribute:
        payload = run_async(_payload(settings))
        remote = _remote(settings)
        try:
            sent: ContributionOut = remote.contribute(payload)
        except (ConnectionError, ValidationError) as error:
            raise click.ClickException(str(error)) from error
        finally:
            remote.close()
        console.print(f"contributed {sent.accepted.get('assets', 0)} asset(s); hive version {sent.version}")
    else:
        console.print("contribution is off (PRISM_HIVE_CONTRIBUTE): nothing sent")
    _download(settings)


async def _resolve(settings: Settings, isins: list[str], offline: bool) -> dict[str, Resolution]:
    remote = None if offline or not settings.hive.url else HiveRemote(settings.hive.url, settings.hive.token)
    try:
        async with upgraded_store(settings) as database:
            return await resolve_on_device(database, isins, ask=remote.resolve if remote else None)
    finally:
        if remote is not None:
            remote.close()


@hive.command()
@click.argument("isins", nargs=-1, required=True)
@click.option("--offline", is_flag=True, help="Answer from the mirror and the cache only.")
@click.pass_obj
def resolve(settings: Settings, isins: tuple[str, ...], offline: bool) -> None:
    """What the hive knows of ISINS."""
    found = run_async(_resolve(settings, list(isins), offline))
    table = Table("ISIN", "name", "class", "currency", "contributors", "from")
    for isin in (i.strip().upper() for i in isins):
        answer = found.get(isin)
        if answer is None:
            table.add_row(isin, "[dim]unknown[/dim]", "", "", "", "")
            continue
        fields = {name: value.value for name, value in answer.fields.items()}
        origin = answer.origin + (" (stale)" if answer.stale else "")
        table.add_row(
            isin,
            fields.get("name", ""),
            fields.get("asset_class", ""),
            fields.get("base_currency", ""),
            str(answer.contributors),
            origin,
        )
    console.print(table)


@hive.command("import-dump")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def import_dump_command(settings: Settings, folder: Path) -> None:
    """Import the old Supabase hive's tables from FOLDER (CSV or JSON per table) into this hive."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            report = await import_dump(database, folder, today=dt.datetime.now(dt.UTC).date())
        rows = ", ".join(f"{count} {table}" for table, count in report.rows.items())
        console.print(f"imported {rows}; hive version {report.version}")
        for line in report.skipped:
            console.print(f"[yellow]skipped[/yellow] {line}", highlight=False)

    run_async(run())
