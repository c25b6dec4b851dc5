"""``calculated_holdings.csv``: the old app's positions, read as opening positions.

Two generations: ``ISIN,Quantity`` and ``ISIN,Quantity,AvgCost,CurrentPrice,NetValue,TR_Name``
(variants add ``Asset_Class`` or say ``avg_cost,tr_price,tr_value``); the broker
export it came from (``Name;ISIN;quantity;avgCost;netValue``) reads the same way.
Quantities are floats printed in full (see :mod:`~prism.imports.legacy.text` for the
rounding rule); zero quantities are skipped. The unit cost is ``AvgCost`` when known,
else ``CurrentPrice`` (or ``NetValue / Quantity``), else none.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.text import fix_mojibake, parse_number, read_csv_rows
from prism.imports.legacy.universe import asset_kind, is_placeholder

__all__ = ["OpeningPosition", "read_holdings"]

_AVG_COST = ("avgcost", "avg_cost")
_PRICE = ("currentprice", "current_price", "tr_price")
_VALUE = ("netvalue", "net_value", "tr_value")
_NAME = ("tr_name", "name")


@dataclass(frozen=True, slots=True)
class OpeningPosition:
    """A position to open with one delivery: quantity and, when known, unit cost in EUR."""

    isin: str
    quantity: Decimal
    unit_cost: Decimal | None
    cost_from: str  # "AvgCost", "CurrentPrice", "NetValue/Quantity" or "none"
    name: str | None
    kind: str | None
    line: int


def _first(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((row[name] for name in names if row.get(name)), None)


def _cost(row: dict[str, str], quantity: Decimal, comma: bool) -> tuple[Decimal | None, str]:
    avg = parse_number(_first(row, _AVG_COST), decimal_comma=comma)
    if avg is not None and avg > 0:
        return avg, "AvgCost"
    price = parse_number(_first(row, _PRICE), decimal_comma=comma)
    if price is not None and price > 0:
        return price, "CurrentPrice"
    value = parse_number(_first(row, _VALUE), decimal_comma=comma)
    if value is not None and value > 0:
        return (value / quantity).quantize(Decimal("0.000001")), "NetValue/Quantity"
    return None, "none"


def read_holdings(path: Path, report: FileReport) -> list[OpeningPosition]:
    """The non-zero positions of one holdings file, with skips reported."""
    table = read_csv_rows(path)
    if "isin" not in table.header or "quantity" not in table.header:
        report.skip("header", "needs ISIN and Quantity columns")
        return []
    found: dict[str, OpeningPosition] = {}
    for line, row in table.rows:
        where = f"line {line}"
        try:
            isin = parse_isin(row.get("isin", ""))
        except ValidationError as error:
            report.skip(where, str(error))
            continue
        quantity = parse_number(row.get("quantity"), decimal_comma=table.decimal_comma)
        if quantity is None:
            report.skip(where, f"quantity {row.get('quantity')!r} is not a number")
            continue
        if quantity == 0:
            report.skip(where, f"{isin} has quantity zero")
            continue
        if quantity < 0:
            report.skip(where, f"{isin} has a negative quantity {quantity}")
            continue
        if isin in found:
            report.skip(where, f"{isin} repeats line {found[isin].line}")
            continue
        cost, source = _cost(row, quantity, table.decimal_comma)
        name = _first(row, _NAME)
        found[isin] = OpeningPosition(
            isin=isin,
            quantity=quantity,
            unit_cost=cost,
            cost_from=source,
            name=None if is_placeholder(name) else fix_mojibake(name or ""),
            kind=asset_kind(row.get("asset_class")),
            line=line,
        )
    return list(found.values())
