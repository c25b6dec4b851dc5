"""The ``prism`` command: database upkeep, the demo, and holdings at a glance.

prism demo                      # a sample portfolio in the device database, then its holdings
prism holdings --method average # what you hold, per portfolio
prism db upgrade                # migrate (a device file is copied aside first)
prism db status
prism db rebuild                # recompute the positions projection from the ledger
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from prism.config import Settings, load_settings
from prism.demo import create_demo_book
from prism.domain.holdings import CostMethod, Holding
from prism.errors import PrismError
from prism.migrations import current_revision, head_revision, open_upgraded, upgrade, upgrade_device
from prism.storage.catalog import device_account, list_assets, list_portfolios
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.projection import rebuild_owner
from prism.storage.tables import accounts

__all__ = ["main"]

console = Console()
R = TypeVar("R")


def _run(coroutine: Coroutine[Any, Any, R]) -> R:
    try:
        return asyncio.run(coroutine)
    except PrismError as error:
        raise click.ClickException(str(error)) from error


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder of the device database (PRISM_DATA_DIR).")
@click.option("--database-url", help="SQLAlchemy URL of the store (PRISM_DATABASE_URL).")
@click.version_option(package_name="portfolio-prism")
@click.pass_context
def main(context: click.Context, data_dir: str | None, database_url: str | None) -> None:
    """Portfolio Prism: your portfolio, on your device."""
    try:
        context.obj = load_settings(data_dir=data_dir, database_url=database_url)
    except PrismError as error:
        raise click.ClickException(str(error)) from error


async def _ready(settings: Settings) -> Database:
    """The store, upgraded to the code's schema (a device file safely)."""
    return await open_upgraded(settings.database)


@main.group()
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

    _run(run())


@db.command("status")
@click.pass_obj
def db_status(settings: Settings) -> None:
    """Show the store's revision and the newest one."""

    async def run() -> str | None:
        database = open_database(settings.database)
        try:
            return await current_revision(database)
        finally:
            await database.dispose()

    current = _run(run())
    head = head_revision()
    state = "[green]up to date[/green]" if current == head else "[yellow]needs `prism db upgrade`[/yellow]"
    console.print(f"database revision {current or '(empty)'}, newest {head}: {state}")


@db.command("rebuild")
@click.pass_obj
def db_rebuild(settings: Settings) -> None:
    """Recompute the positions projection of every account from its ledger."""

    async def run() -> int:
        database = await _ready(settings)
        try:
            owners = await database.read(lambda c: list(c.execute(accounts.select()).scalars()))
            with _progress() as progress:
                task = progress.add_task("rebuilding positions", total=len(owners))
                for owner in owners:
                    await database.write(rebuild_owner, owner)
                    progress.advance(task)
            return len(owners)
        finally:
            await database.dispose()

    console.print(f"rebuilt the projection of {_run(run())} account(s)")


@main.command()
@click.option("--seed", default=2019, show_default=True, help="Seed of the sample market.")
@click.pass_obj
def demo(settings: Settings, seed: int) -> None:
    """Fill an empty device database with a sample portfolio and show it."""

    async def run() -> None:
        database = await _ready(settings)
        try:
            if await database.read(device_account) is not None:
                console.print("[yellow]the database already holds an account; showing it[/yellow]")
            else:
                with _progress() as progress:
                    task = progress.add_task("recording seven years of transactions", total=None)

                    def advance(count: int) -> None:
                        progress.update(task, completed=count)

                    book = await database.write(create_demo_book, seed=seed, progress=advance)
                console.print(f"recorded {book.entries:,} transactions in {len(book.portfolios)} portfolios")
            await _show_holdings(database, CostMethod.FIFO, None)
        finally:
            await database.dispose()

    console.print(f"database: {settings.database.sqlite_path or settings.database.url}")
    _run(run())


@main.command()
@click.option("--portfolio", "portfolio_name", help="Only this portfolio (by name).")
@click.option("--method", type=click.Choice([m.value for m in CostMethod]), default="fifo", show_default=True)
@click.pass_obj
def holdings(settings: Settings, portfolio_name: str | None, method: str) -> None:
    """Show what the device's account holds, per portfolio."""

    async def run() -> None:
        database = await _ready(settings)
        try:
            await _show_holdings(database, CostMethod(method), portfolio_name)
        finally:
            await database.dispose()

    _run(run())


def _money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{places}f}"


def _gain(value: Decimal | None) -> str:
    text = _money(value)
    if value is None or value == 0:
        return text
    return f"[green]{text}[/green]" if value > 0 else f"[red]{text}[/red]"


async def _show_holdings(database: Database, method: CostMethod, only: str | None) -> None:
    owner = await database.read(device_account)
    if owner is None:
        raise click.ClickException("no account yet: run `prism demo` to create a sample one")
    names = {a.id: a for a in await database.read(list_assets, owner)}
    shown = 0
    for portfolio in await database.read(list_portfolios, owner):
        if only is not None and portfolio.name != only:
            continue
        shown += 1
        found = await database.read(read_holdings, owner, portfolio_id=portfolio.id, method=method)
        cash = await database.read(read_cash, owner, portfolio_id=portfolio.id)
        console.print(_holdings_table(portfolio.name, portfolio.base_currency, method, found, names))
        balances = ", ".join(f"{_money(b.balance)} {b.currency}" for b in cash) or "none"
        console.print(f"  cash: {balances}\n")
    if only is not None and not shown:
        raise click.ClickException(f"no portfolio named {only!r}")


def _holdings_table(
    name: str, currency: str, method: CostMethod, found: list[Holding], assets: dict[uuid.UUID, Any]
) -> Table:
    table = Table(title=f"{name} ({currency}, {method.value})", title_justify="left")
    table.add_column("asset", ratio=1, overflow="fold")
    for column in ("quantity", "cost basis", "value", "unrealised", "realised", "dividends"):
        table.add_column(column, justify="right", no_wrap=True)
    totals = [Decimal(0)] * 5
    for holding in sorted(found, key=lambda h: -(h.market_value or 0)):
        asset = assets.get(holding.asset_id)
        flag = "" if holding.consistent else " [red](inconsistent)[/red]"
        label = f"{asset.name} [dim]{asset.isin or ''}[/dim]" if asset else str(holding.asset_id)
        table.add_row(
            label + flag,
            _money(holding.quantity, 3),
            _money(holding.cost_basis),
            _money(holding.market_value),
            _gain(holding.unrealized_gain),
            _gain(holding.realized_gain),
            _money(holding.dividends),
        )
        for index, value in enumerate(
            (
                holding.cost_basis,
                holding.market_value,
                holding.unrealized_gain,
                holding.realized_gain,
                holding.dividends,
            )
        ):
            totals[index] += value or 0
    table.add_section()
    table.add_row(
        "total", "", _money(totals[0]), _money(totals[1]), _gain(totals[2]), _gain(totals[3]), _money(totals[4])
    )
    return table
