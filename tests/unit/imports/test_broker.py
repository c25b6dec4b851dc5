"""The old app's broker export: positions as opening deliveries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from prism.domain.ledger import TransactionType
from prism.imports.formats import FormatOptions, ImportRow, Parsed, RowNote, RowProblem, get_format

EXPORT = (
    "\ufeffName;ISIN;quantity;avgCost;netValue\n"
    '"Apple Inc.";US0378331005;10;150,25;1.850,00\n'
    "iShares Core MSCI World;IE00B4L5Y983;0,18407099999999998;80,5;15,2\n"
    "Sold out;DE0007164600;0;0;0\n"
    "\n"
)


def parse(text: str, day: dt.date | None = dt.date(2024, 12, 31)) -> list[Parsed]:
    return list(get_format("broker").parse(text.encode(), FormatOptions(date=day)))


def test_positions_become_deliveries_at_their_average_cost_on_the_given_date() -> None:
    apple, world, sold = parse(EXPORT)
    assert isinstance(apple, ImportRow)
    assert isinstance(world, ImportRow)
    assert (apple.type, apple.date, apple.currency) == (TransactionType.DELIVERY_IN, dt.date(2024, 12, 31), "EUR")
    assert (apple.isin, apple.name, apple.quantity, apple.price) == (
        "US0378331005",
        "Apple Inc.",
        10,
        Decimal("150.25"),
    )
    assert world.quantity == Decimal("0.18407099999999998")  # exactly as written: no float on the way
    assert sold == RowNote("line 4", "DE0007164600: a zero quantity, nothing to open")


def test_the_identity_ignores_the_date_and_the_days_value() -> None:
    today = parse(EXPORT)[0]
    later = parse(EXPORT.replace("1.850,00", "1.999,00"), dt.date(2025, 6, 1))[0]
    assert isinstance(today, ImportRow)
    assert isinstance(later, ImportRow)
    assert today.identity == later.identity


def test_without_a_date_positions_open_today() -> None:
    (row, *_) = parse(EXPORT, None)
    assert isinstance(row, ImportRow)
    assert row.date == dt.datetime.now(dt.UTC).date()


def test_a_missing_cost_is_named() -> None:
    assert parse("Name;ISIN;quantity;avgCost;netValue\nX;US0378331005;1;;\n") == [
        RowProblem("line 2", "avgCost", "is required")
    ]
