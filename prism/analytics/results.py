"""Standard results, kept in the lake: each portfolio's performance over fixed periods.

After the snapshots job has brought an owner's days up to date, it stores the
performance of every portfolio (and of all of them) over the whole history, the year
to date and the last year in the owner's ``results`` dataset, so a dashboard reads a
handful of rows instead of recomputing. Values are text: decimals in canonical form,
days in ISO form, absent values as empty strings.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping

import pyarrow as pa

from prism.analytics.days import read_history
from prism.analytics.performance import Performance, measure
from prism.analytics.valuation import ALL_PORTFOLIOS
from prism.domain.money import canonical
from prism.storage.lake import RESULTS, Lake

__all__ = ["PERIODS", "period_start", "standard_results"]

#: The periods stored for every portfolio.
PERIODS = ("all", "ytd", "1y")
_SKIPPED = frozenset({"portfolio_id", "currency", "method"})


def period_start(period: str, end: dt.date) -> dt.date | None:
    """The first day of ``period`` ending on ``end`` (None: from the beginning)."""
    if period == "ytd":
        return dt.date(end.year, 1, 1)
    if period == "1y":
        return end - dt.timedelta(days=364)
    return None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):
        return canonical(value)  # type: ignore[arg-type]
    return str(value)


def _rows(key: str, period: str, found: Performance, now: dt.datetime) -> Iterable[dict[str, object]]:
    for metric in Performance._fields:
        if metric not in _SKIPPED:
            yield {
                "portfolio_id": key,
                "period": period,
                "metric": metric,
                "value": _text(getattr(found, metric)),
                "computed_at": now,
                "date": found.end,
            }


def standard_results(
    lake: Lake, owner_id: uuid.UUID, bases: Mapping[uuid.UUID, str], owner_base: str, end: dt.date
) -> pa.Table:
    """The standard results of the portfolios in ``bases`` (and of all of them) up to ``end``."""
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, object]] = []
    for portfolio in [*sorted(bases), None]:
        key = str(portfolio) if portfolio is not None else ALL_PORTFOLIOS
        currency = bases[portfolio] if portfolio is not None else owner_base
        for period in PERIODS:
            days, opening = read_history(lake, owner_id, portfolio, period_start(period, end), end)
            if days:
                found = measure(days, opening, portfolio_id=portfolio, currency=currency)
                rows.extend(_rows(key, period, found, now))
    return pa.Table.from_pylist(rows, schema=RESULTS.schema) if rows else RESULTS.schema.empty_table()
