"""Terminal tables of ``prism report`` (rich): performance, years, exposure.

Every figure is formatted from its :class:`~decimal.Decimal`: rates as percentages with
two decimals, money with thousands separators and its currency.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from rich.table import Table

from prism.analytics.days import DayRow
from prism.analytics.exposure import ExposureReport
from prism.analytics.performance import Performance
from prism.domain.returns import DailyValue, ttwror

__all__ = [
    "YearRow",
    "daily_values",
    "exposure_table",
    "money",
    "percent",
    "performance_table",
    "yearly_rows",
    "yearly_table",
]

_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_DAYS_PER_YEAR = Decimal(365)


def percent(rate: Decimal | None) -> str:
    """``Decimal("0.12345")`` as ``12.35 %``; None as ``n/a``."""
    if rate is None:
        return "n/a"
    return f"{_CONTEXT.multiply(rate, _HUNDRED):,.2f} %"


def money(value: Decimal, currency: str) -> str:
    """``Decimal("1234.5")`` as ``1,234.50 EUR``."""
    return f"{value:,.2f} {currency}"


def _signed(text: str, value: Decimal | None) -> str:
    if value is None or value == 0:
        return text
    return f"[green]{text}[/green]" if value > 0 else f"[red]{text}[/red]"


def daily_values(days: Sequence[DayRow]) -> list[DailyValue]:
    """The days as the return measures read them (value and flows)."""
    return [DailyValue(day.date, day.value, day.inflow, day.outflow) for day in days]


def _period(performance: Performance) -> str:
    if performance.start is None or performance.end is None:
        return "no days"
    length = (performance.end - performance.start).days + 1
    return f"{performance.start} to {performance.end} ({length:,} day{'' if length == 1 else 's'})"


def _drawdown(performance: Performance) -> str:
    if performance.max_drawdown == 0:
        return percent(_ZERO)
    recovered = f"recovered {performance.recovery_date}" if performance.recovery_date else "not recovered yet"
    return (
        f"{_signed(percent(performance.max_drawdown), performance.max_drawdown)}, "
        f"{performance.max_drawdown_duration_days:,} days, {recovered}"
    )


def performance_table(performance: Performance, title: str) -> Table:
    """The period's returns, gains, income and risk, one measure per line."""
    p, currency = performance, performance.currency
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    yearly_volatility = _CONTEXT.multiply(p.volatility, _DAYS_PER_YEAR.sqrt(_CONTEXT))
    rows = [
        ("period", _period(p)),
        ("value at start", money(p.start_value, currency)),
        ("value at end", money(p.end_value, currency)),
        ("TTWROR", _signed(percent(p.ttwror), p.ttwror)),
        ("TTWROR, annualised", _signed(percent(p.ttwror_annualized), p.ttwror_annualized)),
        ("IRR (money-weighted, annual)", _signed(percent(p.irr), p.irr)),
        (f"realised gains ({p.method.value})", _signed(money(p.realized_gain, currency), p.realized_gain)),
        (f"unrealised gains ({p.method.value})", _signed(money(p.unrealized_gain, currency), p.unrealized_gain)),
        ("dividends", money(p.dividends, currency)),
        ("dividend yield (annual)", percent(p.dividend_yield)),
        ("interest", money(p.interest, currency)),
        ("fees", money(p.fees, currency)),
        ("taxes", money(p.taxes, currency)),
        ("volatility (daily returns)", percent(p.volatility)),
        ("volatility, annualised (x sqrt 365)", percent(yearly_volatility)),
        ("maximum drawdown", _drawdown(p)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    if p.unpriced_days:
        table.add_row("[yellow]days with a holding unpriced[/yellow]", f"[yellow]{p.unpriced_days:,}[/yellow]")
    return table


class YearRow(NamedTuple):
    """One calendar year of a history (the first and last may be partial)."""

    year: int
    first: dt.date
    last: dt.date
    value: Decimal  # at the last day of the year in the history
    ttwror: Decimal
    inflow: Decimal
    outflow: Decimal


def yearly_rows(days: Sequence[DayRow], opening: DayRow | None) -> list[YearRow]:
    """Each year's end value, TTWROR (from the year before's last value) and flows."""
    found: list[YearRow] = []
    start_value = opening.value if opening is not None else _ZERO
    for year, grouped in groupby(days, key=lambda day: day.date.year):
        in_year = list(grouped)
        found.append(
            YearRow(
                year=year,
                first=in_year[0].date,
                last=in_year[-1].date,
                value=in_year[-1].value,
                ttwror=ttwror(daily_values(in_year), start_value),
                inflow=sum((day.inflow for day in in_year), _ZERO),
                outflow=sum((day.outflow for day in in_year), _ZERO),
            )
        )
        start_value = in_year[-1].value
    return found


def yearly_table(rows: Sequence[YearRow], currency: str) -> Table:
    """One line per calendar year; a partial year names its days."""
    table = Table(title="By year", title_justify="left")
    table.add_column("year")
    for column in ("value at year end", "TTWROR", "flows in", "flows out"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        whole = row.first == dt.date(row.year, 1, 1) and row.last == dt.date(row.year, 12, 31)
        label = str(row.year) if whole else f"{row.year} [dim]({row.first:%m-%d} to {row.last:%m-%d})[/dim]"
        table.add_row(
            label,
            money(row.value, currency),
            _signed(percent(row.ttwror), row.ttwror),
            money(row.inflow, currency),
            money(row.outflow, currency),
        )
    return table


def exposure_table(report: ExposureReport, title: str, *, limit: int | None = None) -> Table:
    """Value and share per group (the ``limit`` largest, the rest summed), unresolved last."""
    shown = report.groups if limit is None else report.groups[:limit]
    rest = report.groups[len(shown) :]
    currency = report.currency
    named = report.by == "security"
    table = Table(title=title, title_justify="left")
    table.add_column(report.by.replace("_", " "), overflow="fold")
    if named:
        table.add_column("name", ratio=1, overflow="fold")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)

    def add(key: str, label: str, value: Decimal, share: Decimal) -> None:
        cells = [key, label] if named else [key]
        table.add_row(*cells, money(value, currency), percent(share))

    for group in shown:
        add(group.key, group.label, group.value, group.weight)
    if rest:
        add(
            f"[dim]{len(rest):,} more[/dim]",
            "",
            sum((group.value for group in rest), _ZERO),
            sum((group.weight for group in rest), _ZERO),
        )
    if report.unresolved_value:
        add(
            "[yellow]unresolved[/yellow]",
            "no composition accounts for it",
            report.unresolved_value,
            report.unresolved_weight,
        )
    table.add_section()
    add("total", "", report.total, Decimal(1) if report.total else _ZERO)
    return table
