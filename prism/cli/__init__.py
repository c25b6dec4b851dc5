"""The ``prism`` command: database upkeep, the demo, and holdings at a glance.

prism demo                      # a sample portfolio in the device database, then its holdings
prism holdings --method average # what you hold, per portfolio
prism db upgrade                # migrate (a device file is copied aside first)
prism db status
prism db rebuild                # recompute the positions projection from the ledger
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
import msgspec

from prism.analytics.snapshots import refresh_snapshots
from prism.api.auth import ensure_device_token, rotate_device_token
from prism.cli.backup import backup
from prism.cli.devices import devices
from prism.cli.export import export
from prism.cli.hive import hive
from prism.cli.imports import import_group
from prism.cli.market import market
from prism.cli.openapi import openapi
from prism.cli.report import report
from prism.cli.sidecar import sidecar
from prism.cli.sync import sync, watch_beside
from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.cli.tokens import TOKEN_COMMANDS
from prism.config import Settings, load_settings, normalize_database_url
from prism.demo import create_demo_book
from prism.demo_lake import lake_has_prices, write_demo_market
from prism.domain.holdings import CostMethod
from prism.errors import PrismError
from prism.migrations import current_revision, downgrade, head_revision, upgrade, upgrade_device
from prism.reports import cash_line, holdings_table, summary_table
from prism.storage.catalog import device_account, list_assets, list_portfolios
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.lake import open_lake, writer_lease
from prism.storage.projection import rebuild_owner
from prism.storage.tables import accounts
from prism.sync.keys import load_device_keys

__all__ = ["main"]


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


@main.command()
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
            await _show_summary(database)

    async def materialise(database: Database) -> None:
        owner = await database.read(device_account)
        if owner is None:
            return
        lake = open_lake(settings.lake_settings)
        try:
            with console.status("computing the daily values of ten years (the snapshots job)"):
                done = await refresh_snapshots(database, lake, settings.lake_lock_path, owner)
        finally:
            lake.close()
        if done.rows:
            console.print(f"materialised {done.rows:,} daily values from {done.recomputed_from} to {done.through}")

    async def write_market(database: Database) -> None:
        lake = open_lake(settings.lake_settings)
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
        _serve(settings if port is None else _with_server(settings, port=port))


@main.command()
@click.option("--portfolio", "portfolio_name", help="Only this portfolio (by name).")
@click.option("--method", type=click.Choice([m.value for m in CostMethod]), default="fifo", show_default=True)
@click.pass_obj
def holdings(settings: Settings, portfolio_name: str | None, method: str) -> None:
    """Show what the device's account holds, per portfolio."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            await _show_holdings(database, CostMethod(method), portfolio_name)

    run_async(run())


@main.command()
@click.option("--host", help="Address to listen on (PRISM_HOST; device default 127.0.0.1).")
@click.option("--port", type=int, help="Port (PRISM_PORT; default 8731).")
@click.option("--database", "database_url", help="Database URL for this run (PRISM_DATABASE_URL).")
@click.option("--mode", type=click.Choice(["device", "hosted"]), help="Serving mode (PRISM_MODE).")
@click.option("--relay", "relay_url", help="Also sync with this relay while serving (needs `prism sync init|join`).")
@click.option(
    "--ready-json",
    is_flag=True,
    help="Print only one JSON line (port, pid, version, token file) once serving; stop when the parent dies.",
)
@click.pass_obj
def serve(  # noqa: PLR0917 - click passes each option positionally
    settings: Settings,
    host: str | None,
    port: int | None,
    database_url: str | None,
    mode: str | None,
    relay_url: str | None,
    ready_json: bool,
) -> None:
    """Serve the HTTP API (the device database is upgraded first, safely)."""
    _serve(
        _with_server(settings, host=host, port=port, database_url=database_url, mode=mode),
        relay_url,
        ready_json=ready_json,
    )


def _with_server(settings: Settings, **changes: Any) -> Settings:
    server = msgspec.structs.replace(
        settings.server, **{k: v for k, v in changes.items() if v is not None and k != "database_url"}
    )
    database = settings.database
    if changes.get("database_url"):
        database = msgspec.structs.replace(database, url=normalize_database_url(changes["database_url"]))
    return msgspec.structs.replace(settings, server=server, database=database)


def _serve(settings: Settings, relay_url: str | None = None, *, ready_json: bool = False) -> None:
    if relay_url is not None and load_device_keys(settings.sync_keys_path) is None:
        raise click.ClickException("this device is not linked to a relay: run `prism sync init` or `prism sync join`")
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    from prism.api import begin_shutdown, create_app  # noqa: PLC0415 - keep other commands' start-up light
    from prism.api.observability import configure_logging  # noqa: PLC0415

    configure_logging(settings.server.log_format)
    try:
        app = create_app(settings)
    except PrismError as error:
        raise click.ClickException(str(error)) from error
    url = f"http://{settings.server.host}:{settings.server.port}"
    token = ensure_device_token(settings.token_path)
    if ready_json:
        if relay_url is not None:
            raise click.ClickException("--ready-json does not combine with --relay yet")
        from prism.sidecar.ready import run_ready_json  # noqa: PLC0415 - the desktop shells' start-up

        run_ready_json(app, settings)
        return
    # Plain echo, not rich: a token must never be wrapped across lines.
    click.echo(f"serving {url}/api/v1  (OpenAPI: {url}/schema/openapi.json)")
    if settings.server.mode == "device":  # hosted accounts sign in for their tokens
        click.echo(f"token:  {token}")
        click.echo(f"try:    curl -H 'Authorization: Bearer {token}' {url}/api/v1/holdings", nl=True)
    class GracefulServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            begin_shutdown(app)  # held long-polls answer now instead of being cut off
            super().handle_exit(sig, frame)

    server = GracefulServer(
        uvicorn.Config(
            app,
            host=settings.server.host,
            port=settings.server.port,
            log_level="warning",
            access_log=False,  # it would name client addresses
            # In-flight requests get this long to finish; held long-polls were answered
            # at once (begin_shutdown), so only a slow request is ever cut.
            timeout_graceful_shutdown=10,
        )
    )
    if relay_url is None:
        server.run()
        return
    click.echo(f"sync:   with {relay_url}")
    run_async(_serve_and_sync(server, settings, relay_url))


async def _serve_and_sync(server: Any, settings: Settings, relay_url: str) -> None:
    stop = asyncio.Event()
    syncing = asyncio.create_task(watch_beside(settings, relay_url, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        await syncing


@main.group()
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
        console.print(holdings_table(portfolio.name, portfolio.base_currency, method, found, names))
        console.print(f"  cash: {cash_line(cash)}\n")
    if only is not None and not shown:
        raise click.ClickException(f"no portfolio named {only!r}")


async def _show_summary(database: Database) -> None:
    owner = await database.read(device_account)
    assert owner is not None
    rows = []
    for portfolio in await database.read(list_portfolios, owner):
        found = await database.read(read_holdings, owner, portfolio_id=portfolio.id)
        cash = await database.read(read_cash, owner, portfolio_id=portfolio.id)
        rows.append((portfolio, found, cash))
    console.print(summary_table(rows))


main.add_command(sync)
main.add_command(devices)
main.add_command(market)
main.add_command(import_group)
main.add_command(report)
main.add_command(export)
main.add_command(hive)
main.add_command(backup)
main.add_command(sidecar)
main.add_command(openapi)

if __name__ == "__main__":
    main()
