"""A portfolio's daily values and performance, after bringing its snapshots up to date.

Every read first runs the incremental snapshots job (cheap when nothing changed),
then reads the owner's ``snapshots`` rows for the period: so a value history never
shows a day computed from an older ledger than the one the caller just wrote.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import NamedTuple

from prism.analytics.days import DayRow, read_history
from prism.analytics.performance import Performance, measure
from prism.analytics.snapshots import refresh_snapshots
from prism.domain.positions import CostMethod
from prism.errors import ValidationError
from prism.storage.catalog import get_portfolio
from prism.storage.engine import Database
from prism.storage.lake import Lake
from prism.storage.settings import get_setting

__all__ = ["ValueHistory", "check_period", "performance", "value_history"]


class ValueHistory(NamedTuple):
    """A portfolio's (or all portfolios') days in a period, and the day before it."""

    portfolio_id: uuid.UUID | None
    currency: str
    days: list[DayRow]
    opening: DayRow | None  # the day before the first one shown, when there is one


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


async def performance(
    database: Database,
    lake: Lake,
    lock_path: Path,
    owner_id: uuid.UUID,
    portfolio_id: uuid.UUID | None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    method: CostMethod = CostMethod.FIFO,
) -> Performance:
    """The performance of a portfolio of ``owner_id`` (None: all of them) in a period."""
    history = await value_history(database, lake, lock_path, owner_id, portfolio_id, start=start, end=end)
    return measure(history.days, history.opening, portfolio_id=portfolio_id, currency=history.currency, method=method)
