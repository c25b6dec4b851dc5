"""Prism's results in the shapes the old frontend reads (its zod schemas, camelCase).

The frontend validates money, weights and percentages with ``z.number()``: a JSON
string there fails validation, so these are JSON numbers. They are written from exact
``Decimal`` values with their digits as they are (never through a float) after the
old handlers' rounding: money to cents, percentages as the old handler rounded each.
Precision can only be lost in the frontend's ``JSON.parse`` (an IEEE double: about 15
significant digits, so amounts up to 10^13 with their cents are exact). Fields the
frontend does not read are added beside (zod objects drop unknown keys), among them the
currency of every amount and exact decimal strings of the totals (``exact``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from prism.analytics.days import DayRow
from prism.analytics.exposure import ExposureReport
from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.sidecar.book import Book, Line
from prism.sidecar.sources import Source, Through

__all__ = [
    "allocation_percentages",
    "dashboard_data",
    "instrument_type",
    "positions_data",
    "true_holdings_data",
]

_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")
_WEIGHT = Decimal("0.0001")
_SHARE = Decimal("0.000001")
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
_TOP = 10
_HISTORY_DAYS = 30
UNRESOLVED_LABEL = "Unresolved"
_INSTRUMENTS = {
    "etf": "etf",
    "fund": "etf",
    "stock": "stock",
    "crypto": "crypto",
    "bond": "bond",
    "derivative": "derivative",
    "option": "derivative",
    "warrant": "derivative",
}
_KIND_CLASSES = {"stock": "Equity", "etf": "ETF", "fund": "Fund", "bond": "Bond", "crypto": "Crypto", "cash": "Cash"}


def _round(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, context=_CONTEXT)


def _ratio(part: Decimal, whole: Decimal, places: Decimal, scale: Decimal = Decimal(1)) -> Decimal:
    if not whole:
        return _round(_ZERO, places)
    return _round(_CONTEXT.divide(_CONTEXT.multiply(part, scale), whole), places)


def instrument_type(kind: str) -> str:
    """The frontend's instrument type (stock, etf, crypto, bond, derivative, other) of an asset kind."""
    return _INSTRUMENTS.get(kind.lower(), "other")


def _asset_class(line: Line) -> str:
    return line.asset_class or _KIND_CLASSES.get(line.kind.lower(), "Other")


def _valued(line: Line) -> Decimal:
    """The line's value; the old app showed an unpriced position at its cost."""
    if line.value is not None:
        return line.value
    return line.cost if line.cost is not None else _ZERO


def _cost(line: Line) -> Decimal:
    return line.cost if line.cost is not None else _valued(line)


def _per_unit(amount: Decimal, quantity: Decimal) -> Decimal:
    return _round(_CONTEXT.divide(amount, quantity), _CENT) if quantity else _round(_ZERO, _CENT)


def positions_data(book: Book, now: dt.datetime) -> dict[str, Any]:
    """``get_positions``: every position, largest first, with totals."""
    total_value = sum((_valued(line) for line in book.lines), _ZERO)
    total_cost = sum((_cost(line) for line in book.lines), _ZERO)
    rows = []
    for line in sorted(book.lines, key=lambda item: (-_valued(item), item.isin or "", item.name)):
        value, cost = _valued(line), _cost(line)
        row: dict[str, Any] = {
            "isin": line.isin or "",
            "name": line.name or line.isin or "Unknown",
            "instrumentType": instrument_type(line.kind),
            "quantity": line.quantity,
            "avgBuyPrice": _per_unit(cost, line.quantity),
            "currentPrice": _per_unit(value, line.quantity),
            "currentValue": _round(value, _CENT),
            "totalCost": _round(cost, _CENT),
            "pnlEur": _round(value - cost, _CENT),
            "pnlPercent": _ratio(value - cost, cost, _CENT, _HUNDRED),
            "weight": _ratio(value, total_value, _CENT, _HUNDRED),
            "currency": book.currency,
            "lastUpdated": (line.price_date.isoformat() if line.price_date else now.date().isoformat()),
            "priced": line.value is not None,
        }
        if line.ticker:
            row["ticker"] = line.ticker
        rows.append(row)
    return {
        "positions": rows,
        "totalValue": _round(total_value, _CENT),
        "totalCost": _round(total_cost, _CENT),
        "totalPnl": _round(total_value - total_cost, _CENT),
        "totalPnlPercent": _ratio(total_value - total_cost, total_cost, _CENT, _HUNDRED),
        "currency": book.currency,
        "exact": {"totalValue": str(total_value), "totalCost": str(total_cost)},
    }


def allocation_percentages(report: ExposureReport | None) -> dict[str, Decimal]:
    """A look-through report's groups as percentages of its total, the unresolved share included."""
    if report is None or not report.total:
        return {}
    shares: dict[str, Decimal] = {}
    for group in report.groups:
        if group.value > 0:
            shares[group.label] = _ratio(group.value, report.total, _CENT, _HUNDRED)
    if report.unresolved_value > 0:
        shares[UNRESOLVED_LABEL] = _ratio(report.unresolved_value, report.total, _CENT, _HUNDRED)
    return shares


def _day_change(days: Sequence[DayRow]) -> tuple[Decimal, Decimal]:
    """The last day's change in value, money moved in or out that day left aside."""
    if len(days) < 2:
        return _round(_ZERO, _CENT), _round(_ZERO, _CENT)
    before, last = days[-2], days[-1]
    change = last.value - before.value - (last.inflow - last.outflow)
    return _round(change, _CENT), _ratio(change, before.value, _CENT, _HUNDRED)


def dashboard_data(
    book: Book,
    days: Sequence[DayRow],
    by_sector: ExposureReport | None,
    by_region: ExposureReport | None,
) -> dict[str, Any]:
    """``get_dashboard_data``: totals, gains, the day's change, allocations and top holdings."""
    total_value = sum((_valued(line) for line in book.lines), _ZERO)
    total_cost = sum((_cost(line) for line in book.lines), _ZERO)
    by_class: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for line in book.lines:
        by_class[_asset_class(line)] += _valued(line)
    ranked = sorted(book.lines, key=lambda item: (-_valued(item), item.isin or "", item.name))
    top = []
    for line in ranked[:_TOP]:
        value, cost = _valued(line), _cost(line)
        holding: dict[str, Any] = {
            "isin": line.isin or "",
            "name": line.name or line.isin or "Unknown",
            "value": _round(value, _CENT),
            "weight": _ratio(value, total_value, _WEIGHT),
            "pnl": _round(value - cost, _CENT),
            "pnlPercentage": _ratio(value - cost, cost, _TENTH, _HUNDRED),
            "quantity": line.quantity,
            "assetClass": _asset_class(line),
        }
        if line.ticker:
            holding["ticker"] = line.ticker
        top.append(holding)
    change, change_percent = _day_change(days)
    dated = [line.price_date for line in book.lines if line.price_date is not None]
    return {
        "totalValue": _round(total_value, _CENT),
        "totalGain": _round(total_value - total_cost, _CENT),
        "gainPercentage": _ratio(total_value - total_cost, total_cost, _TENTH, _HUNDRED),
        "dayChange": change,
        "dayChangePercent": change_percent,
        "history": [{"date": day.date.isoformat(), "value": _round(day.value, _CENT)} for day in days[-_HISTORY_DAYS:]],
        "allocations": {
            "sector": allocation_percentages(by_sector),
            "region": allocation_percentages(by_region),
            "assetClass": {name: _ratio(value, total_value, _WEIGHT) for name, value in sorted(by_class.items())},
        },
        "topHoldings": top,
        "lastUpdated": max(dated).isoformat() if dated else None,
        "isEmpty": not book.lines,
        "positionCount": len(book.lines),
        "currency": book.currency,
        "exact": {"totalValue": str(total_value), "totalCost": str(total_cost)},
    }


def _isin_or_none(key: str) -> str | None:
    try:
        return parse_isin(key)
    except ValidationError:
        return None


def _sources(found: Sequence[Source]) -> list[dict[str, Any]]:
    return [
        {"etf": source.fund, "value": _round(source.value, _CENT), "weight": _round(source.weight, _SHARE)}
        for source in found
    ]


def true_holdings_data(report: ExposureReport | None, through: Through) -> dict[str, Any]:
    """``get_true_holdings``: look-through exposure by security, with the unresolved share.

    ``through`` gives the held funds each security comes through and its sector and
    country (omitted when unknown: the frontend's schema takes a string or nothing).
    """
    holdings: list[dict[str, Any]] = []
    resolved = unresolved = 0
    for group in report.groups if report is not None else []:
        isin = _isin_or_none(group.key)
        if isin is not None:
            resolved += 1
        else:
            unresolved += 1
        sector, country = through.facts.get(group.key, (None, None))
        row: dict[str, Any] = {
            "stock": group.label,
            "ticker": group.key,
            "isin": isin,
            "totalValue": _round(group.value, _CENT),
            "weight": group.weight,
            "sources": _sources(through.sources.get(group.key, ())),
            "resolutionStatus": "resolved" if isin is not None else "unresolved",
            "resolutionSource": "provider",
            "resolutionConfidence": Decimal(1) if isin is not None else _ZERO,
            "resolutionDetail": "" if isin is not None else "listed by name only in its fund's composition",
        }
        if sector:
            row["sector"] = sector
        if country:
            row["geography"] = country
        holdings.append(row)
    counted = resolved + unresolved
    summary: dict[str, Any] = {
        "total": counted,
        "resolved": resolved,
        "unresolved": unresolved,
        "skipped": 0,
        "unknown": 0,
        "bySource": {"provider": counted} if counted else {},
        "healthScore": _ratio(Decimal(resolved), Decimal(counted), Decimal("0.001")) if counted else Decimal(1),
    }
    if report is not None:
        summary.update(
            {
                "currency": report.currency,
                "totalValue": report.total,
                "unresolvedValue": report.unresolved_value,
                "unresolvedWeight": report.unresolved_weight,
                "unpriced": [
                    {"isin": item.isin, "name": item.name, "quantity": item.quantity, "reason": item.reason}
                    for item in report.unpriced
                ],
                "date": report.date.isoformat(),
            }
        )
    return {"holdings": holdings, "summary": summary}
