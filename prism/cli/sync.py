"""``prism sync``: link this device to a relay, and keep it in step with the others.

prism sync init --relay URL            # first device: new account, passphrase, keys
prism sync join --relay URL --account ID
prism sync                             # one exchange (push, then pull)
prism sync --watch                     # keep exchanging until interrupted
prism sync status
prism sync compact                     # upload a snapshot; the relay drops the sets it covers
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import click
from rich.table import Table

from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.client.errors import RequestRejectedError
from prism.client.relay import RelayClient, RelayIdentity
from prism.config import Settings
from prism.errors import NotFoundError
from prism.storage.catalog import device_account
from prism.storage.engine import Database
from prism.sync.conflicts import list_conflicts
from prism.sync.engine import SyncEngine, SyncReport
from prism.sync.enrol import Created, create_sync_account, join_sync_account
from prism.sync.key_file import device_key_file
from prism.sync.keyring import change_passphrase, read_invitation
from prism.sync.keys import DeviceKeys, load_device_keys
from prism.sync.link import Link, held_devices, outbox_size, peer_ids, read_link

__all__ = ["linked_relay", "sync"]


def _passphrase(path: str | None, *, confirm: bool) -> str:
    if path is not None:
        return Path(path).read_text().splitlines()[0] if Path(path).read_text() else ""
    return str(click.prompt("Sync passphrase", hide_input=True, confirmation_prompt=confirm))


def _report_line(report: SyncReport) -> str:
    parts = [
        f"pushed {report.pushed_changes:,} change(s) in {report.pushed_sets} set(s)",
        f"pulled {report.pulled_sets} set(s), applied {report.applied_changes:,} change(s)",
    ]
    if report.conflicts:
        parts.append(f"{report.conflicts} conflict(s) kept (see /api/v1/sync/conflicts)")
    if report.held_sets:
        parts.append(f"{report.held_sets} set(s) held for missing predecessors")
    if report.held_changes:
        parts.append(f"{report.held_changes} change(s) from a newer Prism kept until you upgrade")
    if report.restored_changes:
        parts.append(f"restored {report.restored_changes:,} change(s) from a snapshot")
    if report.rejected:
        parts.append(f"[red]{len(report.rejected)} set(s) rejected[/red]")
    return "; ".join(parts)


@contextlib.contextmanager
def _pull_progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar over the relay's sequence numbers, shown once a pull has pages."""
    with progress_bar() as bar:
        task = bar.add_task("applying change sets", total=None)

        def show(cursor: int, head: int) -> None:
            bar.update(task, completed=cursor, total=head)

        yield show


async def _linked(database: Database, settings: Settings) -> tuple[DeviceKeys, Link]:
    keys = load_device_keys(device_key_file(settings))
    owner = await database.read(device_account)
    if keys is None or owner != keys.owner_id:
        raise NotFoundError("this device is not linked to a relay; run `prism sync init` or `prism sync join`")
    return keys, await database.read(read_link, owner)


@contextlib.contextmanager
def _explained_refusal() -> Iterator[None]:
    """A relay that no longer knows this device says only 404; say what that means."""
    try:
        yield
    except RequestRejectedError as error:
        if error.status != 404:
            raise
        raise NotFoundError(
            "the relay does not know this device any more: it was revoked from another device, "
            "or the account was deleted"
        ) from error


@contextlib.asynccontextmanager
async def linked_relay(settings: Settings) -> AsyncIterator[tuple[DeviceKeys, RelayClient]]:
    """This device's keys and a client for its relay that signs with them."""
    async with upgraded_store(settings) as database:
        keys, link = await _linked(database, settings)
    async with RelayClient(settings.sync.relay_url or link.relay_url) as relay:
        relay.identity = RelayIdentity(keys.account_id, keys.device_id, keys.signing_key)
        yield keys, relay


@click.group(invoke_without_command=True)
@click.option("--relay", "relay_url", help="Relay URL for this run (PRISM_SYNC_RELAY; default: the linked one).")
@click.option("--once", "mode", flag_value="once", default=True, help="One exchange, then exit (default).")
@click.option("--watch", "mode", flag_value="watch", help="Keep pushing and pulling until interrupted.")
@click.pass_context
def sync(context: click.Context, relay_url: str | None, mode: str) -> None:
    """Exchange changes with the other devices through the relay."""
    if context.invoked_subcommand is not None:
        return
    settings: Settings = context.obj

    async def run() -> None:
        async with upgraded_store(settings) as database:
            keys, link = await _linked(database, settings)
            async with RelayClient(relay_url or settings.sync.relay_url or link.relay_url) as relay:
                engine = SyncEngine(
                    database, keys, relay, wait_seconds=settings.sync.wait_seconds, keys_path=device_key_file(settings)
                )
                if mode == "once":
                    with _pull_progress() as show, _explained_refusal():
                        report = await engine.sync_once(progress=show)
                    console.print(_report_line(report))
                    return
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, stop.set)
                console.print(f"syncing with {link.relay_url}; Ctrl-C stops")
                await engine.watch(stop, on_report=lambda r: console.print(_report_line(r)))

    run_async(run())


@sync.command("init")
@click.option("--relay", "relay_url", required=True, help="URL of the relay to create the account on.")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), help="Read the passphrase here.")
@click.pass_obj
def sync_init(settings: Settings, relay_url: str, passphrase_file: str | None) -> None:
    """Make this device the first of a new sync account."""
    passphrase = _passphrase(passphrase_file, confirm=True)

    async def run() -> Created:
        async with upgraded_store(settings) as database, RelayClient(relay_url) as relay:
            return await create_sync_account(
                database,
                relay,
                relay_url=relay_url,
                passphrase=passphrase,
                settings=settings.sync,
                keys_path=device_key_file(settings),
            )

    keys, recovery_key = run_async(run())
    console.print(f"[green]sync account created[/green]: {keys.account_id}")
    # Plain echo: what is to be copied must never be wrapped across lines.
    click.echo(f"on another device: prism sync join --relay {relay_url} --account {keys.account_id}")
    click.echo("")
    click.echo("Recovery key (write it down and keep it apart from your devices):")
    click.echo(f"    {recovery_key}")
    click.echo("With every device lost, it is the only way back in, with")
    click.echo(f"    prism sync recover --relay {relay_url} --account {keys.account_id}")
    click.echo("Lose the passphrase, every device and this key, and the data is gone: nobody else can open it.")


def _enrol(
    settings: Settings,
    relay_url: str,
    account_id: uuid.UUID,
    *,
    passphrase: str | None = None,
    recovery_key: str | None = None,
    code: str | None = None,
) -> SyncReport:
    async def run() -> SyncReport:
        async with upgraded_store(settings) as database, RelayClient(relay_url) as relay:
            keys = await join_sync_account(
                database,
                relay,
                relay_url=relay_url,
                account_id=account_id,
                passphrase=passphrase,
                recovery_key=recovery_key,
                code=code,
                keys_path=device_key_file(settings),
            )
            engine = SyncEngine(database, keys, relay, keys_path=device_key_file(settings))
            with _pull_progress() as show:
                return await engine.sync_once(progress=show)

    return run_async(run())


@sync.command("join")
@click.option("--relay", "relay_url", required=True, help="URL of the account's relay.")
@click.option("--code", help="The one-time code `prism devices add` showed on an enrolled device.")
@click.option("--account", "account_id", type=click.UUID, help="The sync account to join by passphrase.")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), help="Read the passphrase here.")
@click.pass_obj
def sync_join(
    settings: Settings, relay_url: str, code: str | None, account_id: uuid.UUID | None, passphrase_file: str | None
) -> None:
    """Enrol this (empty) device in an existing sync account: by code, or by passphrase."""
    if code is not None:
        report = _enrol(settings, relay_url, read_invitation(code)[0], code=code)
    elif account_id is not None:
        report = _enrol(settings, relay_url, account_id, passphrase=_passphrase(passphrase_file, confirm=False))
    else:
        raise click.UsageError("give --code (from `prism devices add`) or --account (to join by passphrase)")
    console.print(f"[green]joined[/green]: {_report_line(report)}")


@sync.command("recover")
@click.option("--relay", "relay_url", required=True, help="URL of the account's relay.")
@click.option("--account", "account_id", required=True, type=click.UUID, help="The sync account to recover.")
@click.option("--recovery-key-file", type=click.Path(exists=True, dir_okay=False), help="Read the recovery key here.")
@click.pass_obj
def sync_recover(settings: Settings, relay_url: str, account_id: uuid.UUID, recovery_key_file: str | None) -> None:
    """Enrol this (empty) device with the recovery key, when no device is left."""
    if recovery_key_file is not None:
        recovery_key = Path(recovery_key_file).read_text().strip()
    else:
        recovery_key = str(click.prompt("Recovery key", hide_input=True))
    report = _enrol(settings, relay_url, account_id, recovery_key=recovery_key)
    console.print(f"[green]recovered[/green]: {_report_line(report)}")


@sync.command("passphrase")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), help="Read the new passphrase here.")
@click.pass_obj
def sync_passphrase(settings: Settings, passphrase_file: str | None) -> None:
    """Set a new passphrase; the data keys and every device stay as they are."""
    passphrase = _passphrase(passphrase_file, confirm=True)

    async def run() -> None:
        async with linked_relay(settings) as (keys, relay):
            await change_passphrase(relay, keys, device_key_file(settings), passphrase, settings.sync)

    run_async(run())
    console.print("[green]passphrase changed[/green]")


@sync.command("delete-account")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def sync_delete_account(settings: Settings, yes: bool) -> None:
    """Delete everything the relay holds for this sync account (this device keeps its data)."""
    if not yes:
        click.confirm("Delete the account from the relay, for every device?", abort=True)

    async def run() -> None:
        async with linked_relay(settings) as (_keys, relay):
            await relay.delete_account()

    run_async(run())
    console.print("[green]deleted from the relay[/green]; this device's own data is untouched")


@sync.command("status")
@click.pass_obj
def sync_status(settings: Settings) -> None:
    """Where this device stands with its relay."""

    async def run() -> Table:
        async with upgraded_store(settings) as database:
            keys, link = await _linked(database, settings)
            owner = keys.owner_id
            table = Table(title="sync", show_header=False)
            table.add_row("relay", link.relay_url)
            table.add_row("account", str(keys.account_id))
            table.add_row("this device", keys.device_id)
            table.add_row("peers", ", ".join(sorted(await database.read(peer_ids, owner))) or "none yet")
            table.add_row("sets sealed", str(link.device_seq))
            table.add_row("waiting to push", f"{await database.read(outbox_size, owner):,} change(s)")
            table.add_row("relay cursor", str(link.relay_cursor))
            held = await database.read(held_devices, owner)
            table.add_row("held sets from", ", ".join(sorted(held)) or "none")
            table.add_row("open conflicts", str(len(await database.read(list_conflicts, owner))))
            return table

    console.print(run_async(run()))


def _size(count: int, size: int) -> str:
    return f"{count:,} ({size / 1e6:,.1f} MB)"


@sync.command("compact")
@click.option("--relay", "relay_url", help="Relay URL for this run (default: the linked one).")
@click.pass_obj
def sync_compact(settings: Settings, relay_url: str | None) -> None:
    """Upload a sealed snapshot of this device's state; the relay drops the sets it covers."""

    async def run() -> Table:
        async with upgraded_store(settings) as database:
            keys, link = await _linked(database, settings)
            async with RelayClient(relay_url or settings.sync.relay_url or link.relay_url) as relay:
                engine = SyncEngine(database, keys, relay)
                before = await relay.storage()
                with console.status("sealing and uploading a snapshot"):
                    done = await engine.upload_snapshot()
                after = await relay.storage()
        table = Table(title=f"snapshot {done.snapshot_id}: relay sets up to {done.covers_seq}")
        for column in ("relay storage", "before", "after"):
            table.add_column(column, justify="left" if column == "relay storage" else "right")
        table.add_row("change sets", _size(before.sets, before.set_bytes), _size(after.sets, after.set_bytes))
        table.add_row(
            "snapshot chunks",
            _size(before.snapshot_chunks, before.snapshot_bytes),
            _size(after.snapshot_chunks, after.snapshot_bytes),
        )
        total_before, total_after = before.set_bytes + before.snapshot_bytes, after.set_bytes + after.snapshot_bytes
        table.add_row("total", f"{total_before / 1e6:,.1f} MB", f"{total_after / 1e6:,.1f} MB")
        table.caption = (
            f"{done.changes:,} compacted change(s) in {done.chunks} chunk(s); {done.dropped_sets} set(s) dropped"
        )
        return table

    console.print(run_async(run()))


async def watch_beside(settings: Settings, relay_url: str | None, stop: asyncio.Event) -> None:
    """Run the sync engine until ``stop`` (``prism serve --relay``)."""
    async with upgraded_store(settings) as database:
        keys, link = await _linked(database, settings)
        async with RelayClient(relay_url or link.relay_url) as relay:
            engine = SyncEngine(
                database, keys, relay, wait_seconds=settings.sync.wait_seconds, keys_path=device_key_file(settings)
            )
            with contextlib.suppress(asyncio.CancelledError):
                await engine.watch(stop)
