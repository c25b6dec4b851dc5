"""Reading a portfolio's daily values, after bringing its snapshots up to date.

Every read first runs the incremental snapshots job (cheap when nothing changed),
then reads the owner's ``snapshots`` rows for the period: so a value history never
shows a day computed from an older ledger than the one the caller just wrote.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from prism.analytics.snapshots import refresh_snapshots
from prism.analytics.valuation import ALL_PORTFOLIOS
from prism.errors import ValidationError
from prism.storage.catalog import get_portfolio
from prism.storage.engine import Database
from prism.storage.lake import SNAPSHOTS, Lake
from prism.storage.settings import get_setting

__all__ = ["DayRow", "ValueHistory", "read_history", "value_history"]


class DayRow(NamedTuple):
    """One day of a portfolio (all amounts in the history's currency)."""

    date: dt.date
    value: Decimal
    securities: Decimal
    cash: Decimal
    inflow: Decimal
    outflow: Decimal
    unpriced: int
    realized_fifo: Decimal
    realized_average: Decimal
    cost_fifo: Decimal
    cost_average: Decimal
    dividends: Decimal
    interest: Decimal
    fees: Decimal
    taxes: Decimal


class ValueHistory(NamedTuple):
    """A portfolio's (or all portfolios') days in a period, and the day before it."""

    portfolio_id: uuid.UUID | None
    currency: str
    days: list[DayRow]
    opening: DayRow | None  # the day before the first one shown, when there is one


_COLUMNS = ", ".join(DayRow._fields)


def read_history(
    lake: Lake, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None, start: dt.date | None, end: dt.date | None
) -> tuple[list[DayRow], DayRow | None]:
    """The stored days of one portfolio (None: the owner's total) from ``start`` to ``end``."""
    key = str(portfolio_id) if portfolio_id is not None else ALL_PORTFOLIOS
    first = start - dt.timedelta(days=1) if start is not None else dt.date.min
    rows = lake.query(
        f"""SELECT {_COLUMNS} FROM {lake.scan(SNAPSHOTS, owner_id)}
            WHERE portfolio_id = $key AND date >= $first AND date <= $end ORDER BY date""",
        {"key": key, "first": first, "end": end or dt.date.max},
    )
    columns = [rows.column(name).to_pylist() for name in DayRow._fields]
    days = [DayRow(*values) for values in zip(*columns, strict=True)]
    opening = days.pop(0) if days and start is not None and days[0].date < start else None
    return days, opening


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    """Refuse a period that ends before it starts."""
    if start is not None and end is not None and end < start:
        raise ValidationError("must not be before start", field="end")


async def value_history(
    database: Database,
    lake: Lake,
    lock_path: Path,
    owner_id: uuid.UUID,
    portfolio_id: uuid.UUID | None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ValueHistory:
    """The daily values of a portfolio of ``owner_id`` (None: all of them) in a period.

    Raises :class:`~prism.errors.NotFoundError` for a portfolio the owner does not have.
    """
    check_period(start, end)
    if portfolio_id is not None:
        currency = (await database.read(get_portfolio, owner_id, portfolio_id)).base_currency
    else:
        currency = str((await database.read(get_setting, owner_id, "base_currency")).value)
    await refresh_snapshots(database, lake, lock_path, owner_id)
    days, opening = await asyncio.to_thread(read_history, lake, owner_id, portfolio_id, start, end)
    return ValueHistory(portfolio_id, currency, days, opening)
