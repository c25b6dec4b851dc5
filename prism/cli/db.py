"""``prism db``: migrate the store, show its revision, rebuild the positions projection,
and encrypt, decrypt or re-key the device file."""

from __future__ import annotations

import click

from prism.cli.db_encryption import db_decrypt, db_encrypt, db_rekey
from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.config import Settings
from prism.migrations import current_revision, downgrade, head_revision, upgrade, upgrade_device
from prism.storage.engine import open_database
from prism.storage.projection import rebuild_owner
from prism.storage.tables import accounts

__all__ = ["db"]


@click.group()
def db() -> None:
    """Schema and projection upkeep."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Migrate the store to the newest schema."""

    async def run() -> None:
        if settings.database.is_sqlite:
            copy = await upgrade_device(settings.database)
            if copy is not None:
                console.print(f"copied the database aside first: {copy}")
        else:
            database = open_database(settings.database)
            await upgrade(database)
            await database.dispose()
        console.print(f"[green]at revision {head_revision()}[/green]")

    run_async(run())


@db.command("downgrade")
@click.argument("revision")
@click.pass_obj
def db_downgrade(settings: Settings, revision: str) -> None:
    """Migrate the store back to REVISION (`base` removes every table)."""

    async def run() -> None:
        database = open_database(settings.database)
        try:
            await downgrade(database, revision)
        finally:
            await database.dispose()

    run_async(run())
    console.print(f"[green]at revision {revision}[/green]")


@db.command("current")
@click.pass_obj
def db_current(settings: Settings) -> None:
    """Show the store's revision and the newest one."""

    async def run() -> str | None:
        database = open_database(settings.database)
        try:
            return await current_revision(database)
        finally:
            await database.dispose()

    current = run_async(run())
    head = head_revision()
    state = "[green]up to date[/green]" if current == head else "[yellow]needs `prism db upgrade`[/yellow]"
    console.print(f"database revision {current or '(empty)'}, newest {head}: {state}")


@db.command("rebuild")
@click.pass_obj
def db_rebuild(settings: Settings) -> None:
    """Recompute the positions projection of every account from its ledger."""

    async def run() -> int:
        async with upgraded_store(settings) as database:
            owners = await database.read(lambda c: list(c.execute(accounts.select()).scalars()))
            with progress_bar() as progress:
                task = progress.add_task("rebuilding positions", total=len(owners))
                for owner in owners:
                    await database.write(rebuild_owner, owner)
                    progress.advance(task)
            return len(owners)

    console.print(f"rebuilt the projection of {run_async(run())} account(s)")


db.add_command(db_encrypt)
db.add_command(db_decrypt)
db.add_command(db_rekey)
