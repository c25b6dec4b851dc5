"""``prism holdings``: what the device's account holds, per portfolio, as tables."""

from __future__ import annotations

import click

from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.domain.holdings import CostMethod
from prism.reports import cash_line, holdings_table, summary_table
from prism.storage.catalog import device_account, list_assets, list_portfolios
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings

__all__ = ["holdings", "show_holdings", "show_summary"]


@click.command()
@click.option("--portfolio", "portfolio_name", help="Only this portfolio (by name).")
@click.option("--method", type=click.Choice([m.value for m in CostMethod]), default="fifo", show_default=True)
@click.pass_obj
def holdings(settings: Settings, portfolio_name: str | None, method: str) -> None:
    """Show what the device's account holds, per portfolio."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            await show_holdings(database, CostMethod(method), portfolio_name)

    run_async(run())


async def show_holdings(database: Database, method: CostMethod, only: str | None) -> None:
    """Print each portfolio's holdings and cash (``only``: one portfolio, by name)."""
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
        console.print(holdings_table(portfolio.name, portfolio.base_currency, method, found, names))
        console.print(f"  cash: {cash_line(cash)}\n")
    if only is not None and not shown:
        raise click.ClickException(f"no portfolio named {only!r}")


async def show_summary(database: Database) -> None:
    """Print one line per portfolio: value, cost and cash."""
    owner = await database.read(device_account)
    assert owner is not None
    rows = []
    for portfolio in await database.read(list_portfolios, owner):
        found = await database.read(read_holdings, owner, portfolio_id=portfolio.id)
        cash = await database.read(read_cash, owner, portfolio_id=portfolio.id)
        rows.append((portfolio, found, cash))
    console.print(summary_table(rows))
