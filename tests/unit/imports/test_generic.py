"""The generic CSV: aliases, separators, decimal commas, and every bad field named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prism.domain.ledger import TransactionType
from prism.errors import ValidationError
from prism.imports.formats import FormatOptions, ImportRow, Parsed, RowProblem, get_format


def parse(text: str, options: FormatOptions | None = None) -> list[Parsed]:
    return list(get_format("generic").parse(text.encode(), options or FormatOptions()))


def test_a_semicolon_file_with_bom_aliases_and_decimal_commas() -> None:
    rows = parse(
        "\ufeffTrade Date;Action;ISIN;Security;Qty;Unit Price;Commission;Taxes;CCY;ID\r\n"
        '2024-01-02;Buy;ie00b4l5y983;"iShares; Core";1,5;80,12;1,00;0;eur;T-1\r\n'
        "\r\n"
        "03.01.2024;dividend;IE00B4L5Y983;;;;;0,30;EUR;T-2\r\n"
    )
    first, second = rows
    assert isinstance(first, ImportRow)
    assert isinstance(second, ImportRow)
    assert (first.where, first.type, first.date) == ("line 2", TransactionType.BUY, dt.date(2024, 1, 2))
    assert (first.quantity, first.price, first.fee, first.tax) == (Decimal("1.5"), Decimal("80.12"), 1, 0)
    assert (first.name, first.external_id, first.currency) == ("iShares; Core", "T-1", "eur")
    assert (second.where, second.type, second.tax, second.amount) == (
        "line 4",
        TransactionType.DIVIDEND,
        Decimal("0.3"),
        None,
    )


def test_each_bad_field_of_a_row_is_named_with_the_files_column() -> None:
    rows = parse("Date,Type,Shares,Price\n2024-13-01,swap,ten,-1\n")
    assert rows == [
        RowProblem("line 2", "Type", "unknown type 'swap'"),
        RowProblem("line 2", "Date", "'2024-13-01' is not a date (YYYY-MM-DD or DD.MM.YYYY)"),
        RowProblem("line 2", "Shares", "'ten' is not a number"),
        RowProblem("line 2", "Price", "must not be negative, not -1"),
    ]


def test_a_file_without_a_type_column_is_refused_as_a_whole() -> None:
    with pytest.raises(ValidationError, match="no 'type' column"):
        parse("date,isin\n2024-01-01,IE00B4L5Y983\n")


def test_two_columns_meaning_the_same_are_refused() -> None:
    with pytest.raises(ValidationError, match="both mean quantity"):
        parse("date,type,qty,shares\n")


def test_the_default_currency_fills_rows_without_one() -> None:
    (row,) = parse("date,type,amount\n2024-01-01,deposit,100\n", FormatOptions(currency="USD"))
    assert isinstance(row, ImportRow)
    assert row.currency == "USD"
    assert row.amount == 100
