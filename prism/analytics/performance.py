"""A portfolio's performance over a period, from its daily values (``docs/analytics.md``).

Returns and risk come from :mod:`prism.domain.returns` over the period's days, the
gains and income from the differences of the running totals between the day before
the period and its last day:

* ``realized_gain``: gains realised by sales in the period (FIFO or moving average);
* ``unrealized_gain``: the change in unrealised gain (market value less cost basis
  of what is held) over the period, so that for a whole history it is the
  unrealised gain at its end;
* ``dividends``, ``interest``, ``fees``, ``taxes``: received or paid in the period;
* ``dividend_yield``: the period's dividends over the average value of the
  securities held, per year (Act/365).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from decimal import Decimal
from typing import NamedTuple

from prism.analytics.days import DayRow
from prism.domain.positions import CostMethod
from prism.domain.returns import DailyValue, annualize, daily_returns, max_drawdown, ttwror, volatility, xirr

__all__ = ["Performance", "measure"]

_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_ZERO = Decimal(0)
_MONEY = Decimal("1e-10")
_RATE = Decimal("1e-12")


class Performance(NamedTuple):
    """Returns, gains, income and risk of one portfolio (or all) over a period."""

    portfolio_id: uuid.UUID | None
    currency: str
    start: dt.date | None  # None: the portfolio has no days in the period
    end: dt.date | None
    method: CostMethod
    start_value: Decimal
    end_value: Decimal
    ttwror: Decimal
    ttwror_annualized: Decimal | None  # None: beyond any meaningful figure (see annualize)
    irr: Decimal | None  # None: no money went both in and out
    realized_gain: Decimal
    unrealized_gain: Decimal
    dividends: Decimal
    dividend_yield: Decimal
    interest: Decimal
    fees: Decimal
    taxes: Decimal
    volatility: Decimal
    max_drawdown: Decimal
    max_drawdown_duration_days: int
    recovery_date: dt.date | None
    unpriced_days: int  # days on which something held had no price or rate


def _money(value: Decimal) -> Decimal:
    return value.quantize(_MONEY, context=_CONTEXT)


def _delta(end: DayRow, opening: DayRow | None, name: str) -> Decimal:
    before = getattr(opening, name) if opening is not None else _ZERO
    return _money(_CONTEXT.subtract(getattr(end, name), before))


def _unrealized(day: DayRow | None, method: CostMethod) -> Decimal:
    if day is None:
        return _ZERO
    cost = day.cost_fifo if method is CostMethod.FIFO else day.cost_average
    return _CONTEXT.subtract(day.securities, cost)


def _irr(days: list[DayRow], opening: DayRow | None) -> Decimal | None:
    first = days[0].date - dt.timedelta(days=1)
    flows: list[tuple[dt.date, Decimal]] = []
    if opening is not None and opening.value:
        flows.append((first, -opening.value))
    for day in days:
        # Inflows count at the start of their day (the end of the one before), outflows at its end.
        if day.inflow:
            flows.append((day.date - dt.timedelta(days=1), -day.inflow))
        if day.outflow:
            flows.append((day.date, day.outflow))
    flows.append((days[-1].date, days[-1].value))
    if not any(a < 0 for _, a in flows) or not any(a > 0 for _, a in flows):
        return None
    return xirr(flows)


def measure(
    days: list[DayRow],
    opening: DayRow | None,
    *,
    portfolio_id: uuid.UUID | None,
    currency: str,
    method: CostMethod = CostMethod.FIFO,
) -> Performance:
    """The performance of ``days`` (in date order; ``opening`` is the day before them)."""
    if not days:
        zero = _ZERO
        return Performance(
            portfolio_id, currency, None, None, method, zero, zero, zero, zero, None,
            *(zero,) * 7, zero, zero, 0, None, 0,
        )  # fmt: skip
    series = [DailyValue(d.date, d.value, d.inflow, d.outflow) for d in days]
    start_value = opening.value if opening is not None else _ZERO
    returns = daily_returns(series, start_value)  # once for the return, drawdown and volatility
    period = ttwror(series, returns=returns)
    length = (days[-1].date - days[0].date).days + 1
    drawdown = max_drawdown(series, returns=returns)
    last = days[-1]
    realized = "realized_fifo" if method is CostMethod.FIFO else "realized_average"
    dividends = _delta(last, opening, "dividends")
    average_held = _CONTEXT.divide(sum((d.securities for d in days), _ZERO), Decimal(len(days)))
    dividend_yield = (
        _CONTEXT.divide(_CONTEXT.multiply(dividends, Decimal(365)), _CONTEXT.multiply(average_held, Decimal(length)))
        if average_held > 0
        else _ZERO
    )
    return Performance(
        portfolio_id=portfolio_id,
        currency=currency,
        start=days[0].date,
        end=last.date,
        method=method,
        start_value=_money(start_value),
        end_value=_money(last.value),
        ttwror=period,
        ttwror_annualized=annualize(period, length),
        irr=_irr(days, opening),
        realized_gain=_delta(last, opening, realized),
        unrealized_gain=_money(_CONTEXT.subtract(_unrealized(last, method), _unrealized(opening, method))),
        dividends=dividends,
        dividend_yield=dividend_yield.quantize(_RATE, context=_CONTEXT),
        interest=_delta(last, opening, "interest"),
        fees=_delta(last, opening, "fees"),
        taxes=_delta(last, opening, "taxes"),
        volatility=volatility(returns),
        max_drawdown=drawdown.depth,
        max_drawdown_duration_days=drawdown.duration_days,
        recovery_date=drawdown.recovery,
        unpriced_days=sum(1 for d in days if d.unpriced),
    )
