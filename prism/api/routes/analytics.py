"""Value history and performance: ``/portfolios/{id}/value-history``, ``/performance``,
and the same without the prefix for all of an owner's portfolios."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.types import ControllerRouterHandler

from prism.analytics.days import DayRow
from prism.analytics.history import performance, value_history
from prism.analytics.performance import Performance
from prism.api.schemas import DecimalText, decimal_text
from prism.api.state import owner_of, state_of
from prism.domain.money import canonical
from prism.domain.positions import CostMethod

__all__ = ["ANALYTICS_ROUTES", "DayOut", "PerformanceOut", "ValueHistoryOut"]


class DayOut(msgspec.Struct, kw_only=True):
    """One day: the value at its end and the money that flowed in and out during it."""

    date: dt.date
    value: DecimalText
    securities: DecimalText
    cash: DecimalText
    inflow: DecimalText
    outflow: DecimalText
    unpriced: int  # positions or balances that had no price or FX rate that day


class ValueHistoryOut(msgspec.Struct, kw_only=True):
    """Daily values in the portfolio's base currency (all portfolios: the account's)."""

    portfolio_id: uuid.UUID | None
    currency: str
    days: list[DayOut]


class PerformanceOut(msgspec.Struct, kw_only=True):
    """Returns, gains, income and risk over a period (rates as fractions: 0.05 is 5%)."""

    portfolio_id: uuid.UUID | None
    currency: str
    start: dt.date | None
    end: dt.date | None
    cost_method: CostMethod
    start_value: DecimalText
    end_value: DecimalText
    ttwror: DecimalText
    ttwror_annualized: DecimalText | None
    irr: DecimalText | None
    realized_gain: DecimalText
    unrealized_gain: DecimalText
    dividends: DecimalText
    dividend_yield: DecimalText
    interest: DecimalText
    fees: DecimalText
    taxes: DecimalText
    volatility: DecimalText
    max_drawdown: DecimalText
    max_drawdown_duration_days: int
    recovery_date: dt.date | None
    unpriced_days: int


def _day(row: DayRow) -> DayOut:
    return DayOut(
        date=row.date,
        value=canonical(row.value),
        securities=canonical(row.securities),
        cash=canonical(row.cash),
        inflow=canonical(row.inflow),
        outflow=canonical(row.outflow),
        unpriced=row.unpriced,
    )


def _performance(p: Performance) -> PerformanceOut:
    return PerformanceOut(
        portfolio_id=p.portfolio_id,
        currency=p.currency,
        start=p.start,
        end=p.end,
        cost_method=p.method,
        start_value=canonical(p.start_value),
        end_value=canonical(p.end_value),
        ttwror=canonical(p.ttwror),
        ttwror_annualized=decimal_text(p.ttwror_annualized),
        irr=decimal_text(p.irr),
        realized_gain=canonical(p.realized_gain),
        unrealized_gain=canonical(p.unrealized_gain),
        dividends=canonical(p.dividends),
        dividend_yield=canonical(p.dividend_yield),
        interest=canonical(p.interest),
        fees=canonical(p.fees),
        taxes=canonical(p.taxes),
        volatility=canonical(p.volatility),
        max_drawdown=canonical(p.max_drawdown),
        max_drawdown_duration_days=p.max_drawdown_duration_days,
        recovery_date=p.recovery_date,
        unpriced_days=p.unpriced_days,
    )


async def _history(
    request: Request[Any, Any, Any], portfolio_id: uuid.UUID | None, start: dt.date | None, end: dt.date | None
) -> ValueHistoryOut:
    state = state_of(request)
    found = await value_history(
        state.database,
        state.lake,
        state.settings.lake_lock_path,
        owner_of(request),
        portfolio_id,
        start=start,
        end=end,
    )
    return ValueHistoryOut(portfolio_id=portfolio_id, currency=found.currency, days=[_day(d) for d in found.days])


async def _measured(
    request: Request[Any, Any, Any],
    portfolio_id: uuid.UUID | None,
    start: dt.date | None,
    end: dt.date | None,
    method: CostMethod,
) -> PerformanceOut:
    state = state_of(request)
    found = await performance(
        state.database,
        state.lake,
        state.settings.lake_lock_path,
        owner_of(request),
        portfolio_id,
        start=start,
        end=end,
        method=method,
    )
    return _performance(found)


@get("/portfolios/{portfolio_id:uuid}/value-history", tags=["analytics"], summary="Daily values of a portfolio")
async def portfolio_value_history(
    request: Request[Any, Any, Any],
    portfolio_id: FromPath[uuid.UUID],
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
) -> ValueHistoryOut:
    """Each day's value (securities at the day's close, plus cash; FX of the day) and net flows."""
    return await _history(request, portfolio_id, start, end)


@get("/value-history", tags=["analytics"], summary="Daily values of all portfolios")
async def all_value_history(
    request: Request[Any, Any, Any],
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
) -> ValueHistoryOut:
    """The account's total per day, in its base currency; transfers between its portfolios are not flows."""
    return await _history(request, None, start, end)


@get("/portfolios/{portfolio_id:uuid}/performance", tags=["analytics"], summary="Performance of a portfolio")
async def portfolio_performance(
    request: Request[Any, Any, Any],
    portfolio_id: FromPath[uuid.UUID],
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
    cost_method: FromQuery[CostMethod] = CostMethod.FIFO,
) -> PerformanceOut:
    """TTWROR (daily), IRR (XIRR, Act/365), gains, income, volatility and maximum drawdown."""
    return await _measured(request, portfolio_id, start, end, cost_method)


@get("/performance", tags=["analytics"], summary="Performance of all portfolios")
async def all_performance(
    request: Request[Any, Any, Any],
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
    cost_method: FromQuery[CostMethod] = CostMethod.FIFO,
) -> PerformanceOut:
    """The account's performance over all portfolios, in its base currency."""
    return await _measured(request, None, start, end, cost_method)


ANALYTICS_ROUTES: list[ControllerRouterHandler] = [
    portfolio_value_history,
    all_value_history,
    portfolio_performance,
    all_performance,
]
