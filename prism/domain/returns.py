"""Performance measures over a portfolio's daily values (pure; no I/O).

* **TTWROR** (true time-weighted rate of return), computed daily: a day's return is
  ``(value at end + outflows) / (value at start + inflows) - 1``, inflows counted at the
  start of the day and outflows at its end; the period's is the product of ``1 + r``
  less one. Deposits, withdrawals, transfers and deliveries are flows; interest and
  dividends are return; fees and taxes are negative return (they are simply not flows).
* **IRR**, money-weighted (XIRR, Act/365): the rate at which the discounted flows, seen
  from the investor, sum to zero.
* **Volatility**: the sample standard deviation of the daily returns.
* **Maximum drawdown** over the TTWROR index (so flows do not count as losses), its
  duration in days from the peak to the recovery, and the recovery date.

Rates are :class:`~decimal.Decimal`, like money, so that reports add up digit for digit.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from prism.errors import ValidationError

__all__ = [
    "DailyValue",
    "Drawdown",
    "annualize",
    "daily_returns",
    "max_drawdown",
    "ttwror",
    "volatility",
    "xirr",
]

#: Rates are computed in this context and given to 12 decimal places.
RATE_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_PLACES = Decimal("1e-12")
_ZERO = Decimal(0)
_ONE = Decimal(1)


class DailyValue(NamedTuple):
    """A portfolio at the end of one day, with the flows of that day."""

    date: dt.date
    value: Decimal  # at the end of the day, in the base currency
    inflow: Decimal = _ZERO  # deposits, transfers and deliveries in: counted at the start of the day
    outflow: Decimal = _ZERO  # withdrawals, transfers and deliveries out: counted at the end


def _rate(value: Decimal) -> Decimal:
    return value.quantize(_PLACES, context=RATE_CONTEXT)


def daily_returns(days: Sequence[DailyValue], opening: Decimal = _ZERO) -> list[Decimal]:
    """Each day's return; ``opening`` is the value at the end of the day before the first.

    A day that starts with nothing and receives nothing has a return of zero.
    """
    found = []
    start = opening
    c = RATE_CONTEXT
    for day in days:
        base = c.add(start, day.inflow)
        found.append(_ZERO if base == 0 else c.subtract(c.divide(c.add(day.value, day.outflow), base), _ONE))
        start = day.value
    return found


def _index(returns: Sequence[Decimal]) -> list[Decimal]:
    level, found = _ONE, []
    for r in returns:
        level = RATE_CONTEXT.multiply(level, RATE_CONTEXT.add(_ONE, r))
        found.append(level)
    return found


def ttwror(
    days: Sequence[DailyValue], opening: Decimal = _ZERO, *, returns: Sequence[Decimal] | None = None
) -> Decimal:
    """The period's true time-weighted return (``returns``: the days' :func:`daily_returns`, if known)."""
    index = _index(daily_returns(days, opening) if returns is None else returns)
    return _rate(RATE_CONTEXT.subtract(index[-1], _ONE)) if index else _ZERO


#: The largest yearly rate given (10**27, i.e. 10**29 percent): a few days' gain raised
#: to the year can exceed any meaningful figure, and what the rate context can hold.
_LARGEST = Decimal("1e27")


def annualize(rate: Decimal, days: int) -> Decimal | None:
    """``rate`` earned over ``days`` calendar days as a yearly rate (Act/365), or None when
    that figure is beyond :data:`_LARGEST` (a large gain over a few days)."""
    if days <= 0:
        raise ValidationError("the period must last at least a day", field="end")
    growth = RATE_CONTEXT.add(_ONE, rate)
    if growth <= 0:
        return Decimal(-1)
    yearly = RATE_CONTEXT.subtract(RATE_CONTEXT.power(growth, Decimal(365) / Decimal(days)), _ONE)
    return None if yearly > _LARGEST else _rate(yearly)


def volatility(returns: Sequence[Decimal]) -> Decimal:
    """The sample standard deviation of daily returns (zero for fewer than two)."""
    if len(returns) < 2:
        return _ZERO
    c = RATE_CONTEXT
    mean = c.divide(sum(returns, _ZERO), Decimal(len(returns)))
    squares = sum((c.power(c.subtract(r, mean), 2) for r in returns), _ZERO)
    return _rate(c.sqrt(c.divide(squares, Decimal(len(returns) - 1))))


class Drawdown(NamedTuple):
    """The deepest fall of the return index from a peak, and how long it took to recover."""

    depth: Decimal  # e.g. -0.25 for a fall of a quarter; zero when it never fell
    peak: dt.date | None
    trough: dt.date | None
    recovery: dt.date | None  # None while still below the peak
    duration_days: int  # peak to recovery (to the last day while not recovered)


def max_drawdown(
    days: Sequence[DailyValue], opening: Decimal = _ZERO, *, returns: Sequence[Decimal] | None = None
) -> Drawdown:
    """The maximum drawdown of the TTWROR index over ``days`` (the index starts at 1;
    ``returns``: the days' :func:`daily_returns`, if known)."""
    index = _index(daily_returns(days, opening) if returns is None else returns)
    best, best_peak_level = Drawdown(_ZERO, None, None, None, 0), _ONE
    peak_level, peak_day = _ONE, days[0].date if days else None
    for day, level in zip(days, index, strict=True):
        if level >= peak_level:
            peak_level, peak_day = level, day.date
            continue
        depth = _rate(RATE_CONTEXT.subtract(RATE_CONTEXT.divide(level, peak_level), _ONE))
        if depth < best.depth:
            best, best_peak_level = Drawdown(depth, peak_day, day.date, None, 0), peak_level
    if best.peak is None or best.trough is None:
        return best
    trough = best.trough
    later = (d.date for d, level in zip(days, index, strict=True) if d.date > trough and level >= best_peak_level)
    recovery = next(later, None)
    return best._replace(recovery=recovery, duration_days=((recovery or days[-1].date) - best.peak).days)


def xirr(flows: Sequence[tuple[dt.date, Decimal]]) -> Decimal:
    """The money-weighted annual return (Act/365) of ``flows`` seen from the investor:
    money put in is negative, money taken out (and the end value) positive.

    Newton's method, kept inside a bracket that bisection shrinks whenever a step
    would leave it, so it converges in a handful of evaluations and never diverges.
    Each evaluation raises the daily growth factor ``(1 + r) ** (1/365)`` to whole
    numbers of days, one multiplication per day that has a flow.
    """
    if not any(amount < 0 for _, amount in flows) or not any(amount > 0 for _, amount in flows):
        raise ValidationError("an IRR needs money both put in and taken out", field="flows")
    first = min(when for when, _ in flows)
    by_day: dict[int, Decimal] = {}
    for when, amount in flows:
        offset = (when - first).days
        by_day[offset] = RATE_CONTEXT.add(by_day.get(offset, _ZERO), amount)
    days = sorted(by_day.items())
    low, high = Decimal("-0.999999"), Decimal(1)
    while _present_value(days, high)[0] > 0 and high < Decimal(1_000_000):
        low, high = high, high * 2
    rate = RATE_CONTEXT.divide(RATE_CONTEXT.add(low, high), Decimal(2))
    for _ in range(200):
        value, slope = _present_value(days, rate)
        if value > 0:
            low = rate
        else:
            high = rate
        step = RATE_CONTEXT.divide(value, slope) if slope != 0 else None
        candidate = None if step is None else RATE_CONTEXT.subtract(rate, step)
        if candidate is None or not low < candidate < high:
            candidate = RATE_CONTEXT.divide(RATE_CONTEXT.add(low, high), Decimal(2))
        if abs(candidate - rate) < Decimal("1e-20") or high - low < Decimal("1e-20"):
            rate = candidate
            break
        rate = candidate
    return _rate(rate)


def _present_value(days: Sequence[tuple[int, Decimal]], rate: Decimal) -> tuple[Decimal, Decimal]:
    """The flows' present value at ``rate`` and its derivative by the rate."""
    c = RATE_CONTEXT
    growth = c.add(_ONE, rate)
    daily = c.power(growth, c.divide(_ONE, Decimal(365)))
    factor, previous = _ONE, 0
    value = slope = _ZERO
    for day, amount in days:
        factor = c.multiply(factor, c.power(daily, day - previous)) if day != previous else factor
        previous = day
        discounted = c.divide(amount, factor)
        value = c.add(value, discounted)
        # d/dr of a * g^(-t) is -t * a * g^(-t-1), with t = day / 365.
        slope = c.subtract(slope, c.divide(c.multiply(Decimal(day), discounted), c.multiply(Decimal(365), growth)))
    return value, slope
