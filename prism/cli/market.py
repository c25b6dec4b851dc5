"""``prism market``: market data into the lake (prices, FX rates, ETF compositions).

prism market import prices closes.csv            # isin, date, close, currency
prism market import fx rates.parquet             # pair (or base + quote), date, rate
prism market import etf-holdings iwda.csv        # fund_isin, as_of, constituent..., weight
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
from rich.table import Table

from prism.analytics.market import ImportReport, MarketDataError, MarketKind, catalog_isins, import_market_file
from prism.cli.terminal import console, upgraded_store
from prism.config import Settings
from prism.errors import PrismError
from prism.storage.catalog import device_account
from prism.storage.device_lake import open_device_lake

__all__ = ["market"]

_SHOWN_PROBLEMS = 20


@click.group()
def market() -> None:
    """Market data in the analytics lake."""


@market.command("import")
@click.argument("kind", type=click.Choice([kind.value for kind in MarketKind]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--currency", help="Currency of prices whose file has no currency column (ISO 4217).")
@click.pass_obj
def import_file(settings: Settings, kind: str, file: Path, currency: str | None) -> None:
    """Import a CSV or Parquet FILE of KIND into the lake (see docs/market-data.md).

    Nothing is written unless every row passes; rows for an (ISIN, date), (pair, date)
    or (fund, as-of) already in the lake replace the stored ones.
    """
    started = time.perf_counter()
    try:
        report = asyncio.run(_import(settings, MarketKind(kind), file, currency))
    except MarketDataError as error:
        _show_problems(error)
        raise click.ClickException(f"nothing imported: {error.total} problem(s) in {file}") from error
    except PrismError as error:
        raise click.ClickException(f"nothing imported: {error}") from error
    console.print(_report_table(report, file, time.perf_counter() - started))
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {warning.field}: {warning.message}", highlight=False)


async def _import(settings: Settings, kind: MarketKind, file: Path, currency: str | None) -> ImportReport:
    async with upgraded_store(settings) as database:
        owner = await database.read(device_account)
        known = await catalog_isins(database, owner) if owner is not None else None
        if known is None:
            console.print("[yellow]no account yet: ISINs are not checked against a catalog[/yellow]")
        lake = open_device_lake(settings)
        try:
            with console.status(f"reading {file.name}") as status:
                return await import_market_file(
                    database,
                    lake,
                    settings.lake_lock_path,
                    kind,
                    file,
                    known_isins=known,
                    default_currency=currency,
                    progress=lambda step: status.update(f"{step} {file.name}"),
                )
        finally:
            lake.close()


def _show_problems(error: MarketDataError) -> None:
    table = Table(title="Rejected", title_justify="left")
    table.add_column("where")
    table.add_column("problem")
    for problem in error.problems[:_SHOWN_PROBLEMS]:
        table.add_row(problem.field, problem.message)
    if error.total > _SHOWN_PROBLEMS:
        table.add_row("…", f"{error.total - _SHOWN_PROBLEMS} more")
    console.print(table)


def _report_table(report: ImportReport, file: Path, seconds: float) -> Table:
    table = Table(title=f"Imported {file.name} into {report.dataset}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("rows", f"{report.rows:,}")
    table.add_row("dataset version", str(report.version))
    table.add_row("earliest date", str(report.earliest) if report.earliest else "-")
    if report.alerts:
        table.add_row("alerts triggered", f"{report.alerts:,}")
    if report.pairs:
        table.add_row("pairs", ", ".join(report.pairs))
    else:
        table.add_row("ISINs", f"{len(report.isins):,}")
    table.add_row("warnings", str(len(report.warnings)))
    table.add_row("took", f"{seconds:.1f} s")
    return table
