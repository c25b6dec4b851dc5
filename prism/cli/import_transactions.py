"""``prism import transactions``: a broker's or tracker's file of transactions into a portfolio.

prism import transactions trades.csv --format generic --portfolio Main
prism import transactions positions.csv --format broker --date 2024-12-31
prism import transactions export.json --format ghostfolio --dry-run
prism import transactions Buchungen.csv --format portfolio-performance --skip-invalid
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from pathlib import Path

import click
from rich.table import Table

from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.config import Settings
from prism.errors import ValidationError
from prism.imports.formats import FormatOptions, RowProblem, format_names
from prism.imports.transactions import ImportRejectedError, ImportReport, ImportRequest, import_transactions
from prism.storage.catalog import Portfolio, create_portfolio, ensure_device_account, list_portfolios
from prism.storage.engine import Database

__all__ = ["transactions"]

_SHOWN_PROBLEMS = 30
#: Files with more lines than this get a progress bar.
_LARGE = 2_000


@click.command("transactions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "format_name", required=True, type=click.Choice(format_names()), help="The file's format.")
@click.option("--portfolio", help="Portfolio name or id (default: the only one; 'Imported' is created if none).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Date of opening positions (broker format).")
@click.option("--currency", help="Currency of rows that name none (ISO 4217).")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad ones.")
@click.pass_obj
def transactions(  # noqa: PLR0917 - click passes each option positionally
    settings: Settings,
    file: Path,
    format_name: str,
    portfolio: str | None,
    day: dt.datetime | None,
    currency: str | None,
    dry_run: bool,
    skip_invalid: bool,
) -> None:
    """Import FILE of transactions (all or nothing; importing it again adds nothing)."""
    started = time.perf_counter()
    options = FormatOptions(date=day.date() if day else None, currency=currency)
    try:
        report = run_async(_run(settings, file, format_name, portfolio, options, dry_run, skip_invalid))
    except click.ClickException as error:
        cause = error.__cause__
        if isinstance(cause, ImportRejectedError):
            console.print(_problems_table(cause.problems, cause.total, "Rejected rows"))
            raise click.ClickException(f"nothing imported: {cause.total} problem(s) in {file.name}") from cause
        raise
    console.print(_summary(report, file, time.perf_counter() - started))
    if report.problems:
        console.print(_problems_table(report.problems, len(report.problems), "Skipped rows"))


async def _run(  # noqa: PLR0917 - the command's options, passed on
    settings: Settings,
    file: Path,
    format_name: str,
    portfolio: str | None,
    options: FormatOptions,
    dry_run: bool,
    skip_invalid: bool,
) -> ImportReport:
    async with upgraded_store(settings) as database:
        owner = await database.write(ensure_device_account)
        target = await _portfolio(database, owner, portfolio, options.currency)
        request = ImportRequest(file, format_name, target.id, options, dry_run, skip_invalid)
        lines = await asyncio.to_thread(_count_lines, file)
        if lines < _LARGE:
            with console.status(f"importing {file.name}"):
                return await import_transactions(database, owner, request)
        with progress_bar() as progress:
            task = progress.add_task(f"importing {file.name}", total=lines)

            def advance(done: int) -> None:
                # A reading that starts again (an unsorted file, a skipped oversell) starts at 0.
                progress.update(task, completed=min(done, lines))

            return await import_transactions(database, owner, request, progress=advance)


def _count_lines(file: Path) -> int:
    """Lines of ``file``, read in blocks (the bar's total; the file is never whole in memory)."""
    with file.open("rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


async def _portfolio(database: Database, owner: uuid.UUID, wanted: str | None, currency: str | None) -> Portfolio:
    found = await database.read(list_portfolios, owner)
    if wanted is not None:
        for portfolio in found:
            if wanted in {str(portfolio.id), portfolio.name}:
                return portfolio
        raise ValidationError(f"no portfolio called {wanted!r}", field="portfolio")
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(p.name for p in found)
        raise ValidationError(f"several portfolios ({names}): choose one with --portfolio", field="portfolio")
    return await database.write(create_portfolio, owner, "Imported", currency or "EUR")


def _summary(report: ImportReport, file: Path, seconds: float) -> Table:
    verb = "Would import" if report.dry_run else "Imported"
    table = Table(title=f"{verb} {file.name} ({report.format})", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{report.rows:,}")
    table.add_row("new transactions", f"{report.imported:,}")
    for kind, count in sorted(report.by_type.items()):
        table.add_row(f"  {kind}", f"{count:,}")
    table.add_row("already imported", f"{report.already_imported:,}")
    table.add_row("assets created", f"{report.assets_created:,}")
    table.add_row("invalid rows skipped", f"{report.skipped:,}")
    table.add_row("rows left out", f"{len(report.notes):,}")
    table.add_row("took", f"{seconds:.1f} s")
    if report.dry_run:
        table.add_row("dry run", "nothing written")
    return table


def _problems_table(problems: list[RowProblem], total: int, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("row")
    table.add_column("column")
    table.add_column("problem")
    for problem in problems[:_SHOWN_PROBLEMS]:
        table.add_row(problem.where, problem.column, problem.message)
    if total > _SHOWN_PROBLEMS:
        table.add_row("…", "", f"{total - _SHOWN_PROBLEMS} more")
    return table
