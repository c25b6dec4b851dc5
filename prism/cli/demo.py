"""``prism demo``: a sample portfolio in an empty device database, its market in the lake, then serve it."""

from __future__ import annotations

import asyncio

import click

from prism.analytics.snapshots import refresh_snapshots
from prism.cli.holdings import show_summary
from prism.cli.serve import serve_settings, with_server
from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.config import Settings
from prism.demo import create_demo_book
from prism.demo_lake import lake_has_prices, write_demo_market
from prism.storage.catalog import device_account
from prism.storage.device_lake import open_device_lake
from prism.storage.engine import Database
from prism.storage.lake import writer_lease

__all__ = ["demo"]


@click.command()
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 100),
    help="Size: 1 is ~200 assets and ~10,000 transactions; 10 is ten times that.",
)
@click.option("--seed", default=2016, show_default=True, help="Seed of the sample market.")
@click.option(
    "--market/--no-market",
    "with_market",
    default=True,
    show_default=True,
    help="Also write ten years of generated prices, FX rates and ETF compositions into the lake.",
)
@click.option("--serve/--no-serve", default=True, show_default=True, help="Serve the API afterwards.")
@click.option("--port", type=int, help="Port to serve on (PRISM_PORT).")
@click.pass_obj
def demo(  # noqa: PLR0917 - click passes each option positionally
    settings: Settings, scale: float, seed: int, with_market: bool, serve: bool, port: int | None
) -> None:
    """Create a sample portfolio in an empty device database, fill the lake's market data, and serve it."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            if await database.read(device_account) is not None:
                console.print("[yellow]the database already holds an account; using it[/yellow]")
            else:
                expected = round(10_000 * scale)
                with progress_bar() as progress:
                    task = progress.add_task("recording ten years of transactions", total=expected)

                    def advance(count: int) -> None:
                        progress.update(task, completed=min(count, expected))

                    book = await database.write(create_demo_book, scale=scale, seed=seed, progress=advance)
                console.print(
                    f"recorded {book.entries:,} transactions of {book.assets:,} assets in "
                    f"{len(book.portfolios)} portfolios"
                )
            if with_market:
                await write_market(database)
            await materialise(database)
            await show_summary(database)

    async def materialise(database: Database) -> None:
        owner = await database.read(device_account)
        if owner is None:
            return
        lake = open_device_lake(settings)
        try:
            with console.status("computing the daily values of ten years (the snapshots job)"):
                done = await refresh_snapshots(database, lake, settings.lake_lock_path, owner)
        finally:
            lake.close()
        if done.rows:
            console.print(f"materialised {done.rows:,} daily values from {done.recomputed_from} to {done.through}")

    async def write_market(database: Database) -> None:
        lake = open_device_lake(settings)
        try:
            async with writer_lease(database, settings.lake_lock_path):
                if await asyncio.to_thread(lake_has_prices, lake):
                    console.print("[yellow]the lake already holds prices; leaving its market data as it is[/yellow]")
                    return
                with progress_bar() as progress:
                    task = progress.add_task("generating the market", total=None)

                    def advance(description: str, done: int, total: int) -> None:
                        progress.update(task, description=description, completed=done, total=total)

                    written = await asyncio.to_thread(write_demo_market, lake, seed=seed, progress=advance)
        finally:
            lake.close()
        console.print(
            f"wrote the market into the lake ({settings.lake_settings.url}): {written.closes:,} daily closes of "
            f"{written.assets:,} assets from {written.first} to {written.last}, {written.rates:,} FX rates "
            f"({', '.join(written.pairs)}), {written.compositions} compositions of {written.funds} ETFs "
            f"({written.holdings:,} lines)"
        )

    console.print(f"database: {settings.database.sqlite_path or settings.database.url}")
    run_async(run())
    if serve:
        serve_settings(settings if port is None else with_server(settings, port=port))
