"""``prism report``: performance, years and exposure in the terminal, charts into files.

prism report                                   # all portfolios together, in the base currency
prism report --portfolio Broker --start 2020-01-01 --end 2023-12-31 --cost-method average
prism report --charts charts/ --format svg --by sector

Exposure is that of the holdings now (the positions projection), priced with the
latest closes, whatever the period: the ledger keeps no look-through of the past.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, get_args

import click

from prism.analytics.exposure import ExposureReport, exposure
from prism.analytics.history import ValueHistory, value_history
from prism.analytics.performance import measure
from prism.analytics.snapshots import Refresh, refresh_snapshots
from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.domain.exposure import Dimension
from prism.domain.positions import CostMethod
from prism.report_tables import daily_values, exposure_table, performance_table, yearly_rows, yearly_table
from prism.storage.catalog import Portfolio, device_account, list_portfolios
from prism.storage.device_lake import open_device_lake
from prism.storage.engine import Database

__all__ = ["report"]

_ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])
_TOP_SECURITIES = 15
_TOP_GROUPS = 20
_SHOWN_UNPRICED = 5


class _Gathered(NamedTuple):
    title: str
    history: ValueHistory
    refresh: Refresh
    refresh_seconds: float
    exposures: list[ExposureReport]  # by the chosen dimension, then by security (unless that was chosen)


@click.command()
@click.option("--portfolio", "portfolio_ref", metavar="NAME_OR_ID", help="Only this portfolio (default: all together).")
@click.option("--start", type=_ISO_DATE, help="First day of the period (YYYY-MM-DD; default: the first day).")
@click.option("--end", type=_ISO_DATE, help="Last day of the period (YYYY-MM-DD; default: the last day).")
@click.option(
    "--cost-method",
    type=click.Choice([method.value for method in CostMethod]),
    default=CostMethod.FIFO.value,
    show_default=True,
    help="How sold units are matched against bought ones (for realised and unrealised gains).",
)
@click.option(
    "--charts",
    "charts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the charts into this folder (default: no charts).",
)
@click.option("--format", "chart_format", type=click.Choice(["png", "svg"]), default="png", show_default=True)
@click.option(
    "--by",
    type=click.Choice(get_args(Dimension)),
    default="country",
    show_default=True,
    help="Look-through exposure by this dimension (the top securities are shown too).",
)
@click.pass_obj
def report(  # noqa: PLR0917 - click passes each option positionally
    settings: Settings,
    portfolio_ref: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    cost_method: str,
    charts_dir: Path | None,
    chart_format: str,
    by: Dimension,
) -> None:
    """Performance, yearly figures and charts of the device's portfolios."""
    first, last = (start.date() if start else None), (end.date() if end else None)
    if first is not None and last is not None and last < first:
        raise click.BadParameter(f"{last} is before --start {first}", param_hint="'--end'")
    started = time.perf_counter()
    gathered = run_async(_gather(settings, portfolio_ref, first, last, by))
    history, method = gathered.history, CostMethod(cost_method)
    found = measure(
        history.days, history.opening, portfolio_id=history.portfolio_id, currency=history.currency, method=method
    )
    console.print(performance_table(found, gathered.title))
    if history.days:
        console.print(yearly_table(yearly_rows(history.days, history.opening), history.currency))
    if any(part.groups or part.unresolved_value for part in gathered.exposures):
        for part in gathered.exposures:
            _show_exposure(part)
    else:
        console.print("no securities held now (or none with a close): no look-through exposure to show")
    _show_unpriced(gathered.exposures[0])
    if charts_dir is not None:
        with console.status("drawing the charts"):
            written = _draw(gathered, charts_dir, chart_format)
        for path in written:
            console.print(f"wrote {path}", highlight=False)
    _footnote(gathered, time.perf_counter() - started)


async def _gather(
    settings: Settings, ref: str | None, start: dt.date | None, end: dt.date | None, by: Dimension
) -> _Gathered:
    async with upgraded_store(settings) as database:
        owner = await database.read(device_account)
        if owner is None:
            raise click.ClickException("no account yet: run `prism demo` to create a sample one")
        portfolio = await _pick(database, owner, ref)
        lake = open_device_lake(settings)
        try:
            with console.status("bringing the daily values up to date (the first run computes every day)"):
                began = time.perf_counter()
                refreshed = await refresh_snapshots(database, lake, settings.lake_lock_path, owner)
                seconds = time.perf_counter() - began
            portfolio_id = portfolio.id if portfolio is not None else None
            # The snapshots are current now, so this refresh is only a cheap check.
            history = await value_history(
                database, lake, settings.lake_lock_path, owner, portfolio_id, start=start, end=end
            )
            today = dt.datetime.now(dt.UTC).date()
            with console.status("looking through the funds"):
                exposures = [
                    await exposure(database, lake, owner, by=dimension, on=today, portfolio_id=portfolio_id)
                    for dimension in dict.fromkeys((by, "security"))
                ]
        finally:
            lake.close()
    title = f"{portfolio.name} ({history.currency})" if portfolio else f"All portfolios ({history.currency})"
    return _Gathered(title, history, refreshed, seconds, exposures)


async def _pick(database: Database, owner: uuid.UUID, ref: str | None) -> Portfolio | None:
    if ref is None:
        return None
    portfolios = await database.read(list_portfolios, owner)
    named = [portfolio for portfolio in portfolios if portfolio.name == ref]
    if len(named) > 1:
        ids = ", ".join(str(portfolio.id) for portfolio in named)
        raise click.ClickException(f"{len(named)} portfolios are named {ref!r}: give one's id ({ids})")
    if named:
        return named[0]
    try:
        wanted = uuid.UUID(ref)
    except ValueError:
        wanted = None
    for portfolio in portfolios:
        if portfolio.id == wanted:
            return portfolio
    known = ", ".join(repr(portfolio.name) for portfolio in portfolios) or "none"
    raise click.ClickException(f"no portfolio named or with the id {ref!r} (portfolios: {known})")


def _show_exposure(report: ExposureReport) -> None:
    dimension = report.by.replace("_", " ")
    limit = _TOP_SECURITIES if report.by == "security" else _TOP_GROUPS
    heading = f"top {limit} securities" if report.by == "security" else f"by {dimension}"
    priced = f", closes of {report.prices_to}" if report.prices_to else ""
    title = f"Look-through exposure of the securities held now, {heading} ({report.currency}{priced})"
    console.print(exposure_table(report, title, limit=limit))


def _show_unpriced(report: ExposureReport) -> None:
    if report.unpriced:
        names = ", ".join(f"{item.name} ({item.reason})" for item in report.unpriced[:_SHOWN_UNPRICED])
        more = f" and {len(report.unpriced) - _SHOWN_UNPRICED} more" if len(report.unpriced) > _SHOWN_UNPRICED else ""
        console.print(f"[yellow]not valued, so not shown: {names}{more}[/yellow]", highlight=False)


def _draw(gathered: _Gathered, folder: Path, extension: str) -> list[Path]:
    # matplotlib is imported only when charts are asked for: it adds half a second and
    # 45 MB to every start of the `prism` command otherwise (the server included).
    from prism.report_charts import drawdown_chart, value_history_chart  # noqa: PLC0415

    history, title = gathered.history, gathered.title
    days = daily_values(history.days)
    opening = history.opening.value if history.opening is not None else Decimal(0)
    return [
        value_history_chart(
            days, history.currency, folder / f"value-history.{extension}", opening=opening, title=f"{title}: value"
        ),
        drawdown_chart(days, folder / f"drawdown.{extension}", opening=opening, title=f"{title}: drawdown"),
        _exposure_chart(gathered.exposures[0], title, folder / f"exposure.{extension}"),
    ]


def _exposure_chart(report: ExposureReport, title: str, path: Path) -> Path:
    from prism.report_charts import exposure_chart  # noqa: PLC0415 - see _draw

    # A security's bar is labelled with its name; other groups' key is their label.
    groups = [(group.label if report.by == "security" else group.key, group.value) for group in report.groups]
    limit = _TOP_SECURITIES if report.by == "security" else _TOP_GROUPS
    dimension = report.by.replace("_", " ")
    return exposure_chart(
        groups, report.unresolved_value, report.currency, path, title=f"{title}: exposure by {dimension}", limit=limit
    )


def _footnote(gathered: _Gathered, seconds: float) -> None:
    refresh = gathered.refresh
    if refresh.recomputed_from is None:
        snapshots = "daily values were current"
    else:
        snapshots = (
            f"daily values recomputed from {refresh.recomputed_from} ({refresh.rows:,} rows, "
            f"{gathered.refresh_seconds:.1f} s)"
        )
    console.print(f"[dim]{snapshots}; report took {seconds:.1f} s[/dim]", highlight=False)
