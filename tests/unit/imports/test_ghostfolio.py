"""Ghostfolio's activities: its JSON export and the CSV its importer reads."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from prism.domain.ledger import TransactionType
from prism.errors import ValidationError
from prism.imports.formats import FormatOptions, ImportRow, Parsed, RowProblem, get_format

EXPORT = {
    "meta": {"date": "2024-03-01T10:00:00.000Z", "version": "2.50.0"},
    "assetProfiles": [
        {
            "symbol": "VWRL",
            "dataSource": "MANUAL",
            "isin": "IE00B3RBWM25",
            "name": "Vanguard FTSE All-World",
            "assetSubClass": "ETF",
            "currency": "EUR",
        }
    ],
    "activities": [
        {
            "id": "a1",
            "accountId": "x",
            "comment": None,
            "fee": 1.5,
            "quantity": 12.13273,
            "type": "BUY",
            "unitPrice": 0.1788,
            "currency": "USD",
            "dataSource": "YAHOO",
            "date": "2023-10-04T23:00:00.000Z",
            "symbol": "AAPL",
        },
        {
            "id": "a2",
            "fee": 0,
            "quantity": 3,
            "type": "DIVIDEND",
            "unitPrice": 0.25,
            "currency": "EUR",
            "dataSource": "MANUAL",
            "date": "2023-11-01T00:00:00.000Z",
            "symbol": "VWRL",
        },
        {
            "id": "a3",
            "fee": 2,
            "quantity": 0,
            "type": "FEE",
            "unitPrice": 0,
            "currency": "EUR",
            "dataSource": "MANUAL",
            "date": "2023-12-01T00:00:00.000Z",
            "symbol": "5b1c-uuid",
        },
        {
            "id": "a4",
            "fee": 0,
            "quantity": 1,
            "type": "ITEM",
            "unitPrice": 500,
            "currency": "EUR",
            "dataSource": "MANUAL",
            "date": "2023-12-02T00:00:00.000Z",
            "symbol": "Car",
        },
        {
            "id": "a5",
            "fee": 0,
            "quantity": 2,
            "type": "SELL",
            "unitPrice": 190,
            "currency": "USD",
            "dataSource": "YAHOO",
            "date": "2023-12-05",
            "symbol": "US0378331005",
        },
    ],
}


def parse(data: bytes) -> list[Parsed]:
    return list(get_format("ghostfolio").parse(data, FormatOptions()))


def test_the_json_export_is_read_exactly_with_its_ids() -> None:
    buy, dividend, fee, item, sell = parse(json.dumps(EXPORT).encode())
    assert isinstance(buy, ImportRow)
    assert isinstance(dividend, ImportRow)
    assert isinstance(fee, ImportRow)
    assert (buy.type, buy.external_id, buy.symbol, buy.isin) == (TransactionType.BUY, "a1", "AAPL", None)
    assert (buy.quantity, buy.price, buy.fee) == (Decimal("12.13273"), Decimal("0.1788"), Decimal("1.5"))
    # Local midnight in Berlin, stored as 23:00 UTC the day before.
    assert buy.date == dt.date(2023, 10, 5)
    assert (dividend.isin, dividend.amount, dividend.kind, dividend.name) == (
        "IE00B3RBWM25",
        Decimal("0.75"),
        "etf",
        "Vanguard FTSE All-World",
    )
    assert (fee.type, fee.amount, fee.fee, fee.symbol) == (TransactionType.FEE, 2, None, None)
    assert item == RowProblem("activities[3]", "type", "ITEM activities have no Prism equivalent")
    assert isinstance(sell, ImportRow)
    assert (sell.isin, sell.date) == ("US0378331005", dt.date(2023, 12, 5))


def test_the_csv_with_ghostfolio_headers() -> None:
    text = (
        "Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note\n"
        "01-09-2021,MSFT,YAHOO,USD,298.580,5,buy,19.00,My first order\n"
    )
    (row,) = parse(text.encode())
    assert isinstance(row, ImportRow)
    assert (row.date, row.symbol, row.price, row.quantity, row.fee, row.note) == (
        dt.date(2021, 9, 1),
        "MSFT",
        Decimal("298.58"),
        5,
        19,
        "My first order",
    )


def test_a_document_without_activities_is_refused() -> None:
    with pytest.raises(ValidationError, match="no list of activities"):
        parse(b'{"meta": {}}')
