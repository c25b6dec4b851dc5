"""Reading the stored days of a portfolio from the owner's ``snapshots`` dataset."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import NamedTuple

from prism.analytics.valuation import ALL_PORTFOLIOS
from prism.storage.lake import SNAPSHOTS, Lake

__all__ = ["DayRow", "read_history"]


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


_COLUMNS = ", ".join(DayRow._fields)


def read_history(
    lake: Lake, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None, start: dt.date | None, end: dt.date | None
) -> tuple[list[DayRow], DayRow | None]:
    """The stored days of one portfolio (None: the owner's total) from ``start`` to ``end``."""
    key = str(portfolio_id) if portfolio_id is not None else ALL_PORTFOLIOS
    # The day before ``start`` holds the opening values (none before the first date there is).
    first = start - dt.timedelta(days=1) if start is not None and start > dt.date.min else dt.date.min
    rows = lake.query(
        f"""SELECT {_COLUMNS} FROM {lake.scan(SNAPSHOTS, owner_id)}
            WHERE portfolio_id = $key AND date >= $first AND date <= $end ORDER BY date""",
        {"key": key, "first": first, "end": end or dt.date.max},
    )
    columns = [rows.column(name).to_pylist() for name in DayRow._fields]
    days = [DayRow(*values) for values in zip(*columns, strict=True)]
    opening = days.pop(0) if days and start is not None and days[0].date < start else None
    return days, opening
