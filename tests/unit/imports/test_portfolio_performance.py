"""Portfolio Performance's CSV export, German and English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from prism.domain.ledger import TransactionType
from prism.imports.formats import FormatOptions, ImportRow, Parsed, RowProblem, get_format

GERMAN = (
    "\ufeffDatum;Typ;Wert;Buchungswährung;Bruttobetrag;Währung Bruttobetrag;Wechselkurs;Gebühren;Steuern;"
    "Stück;ISIN;WKN;Ticker-Symbol;Wertpapiername;Notiz\r\n"
    "2024-01-15T00:00;Kauf;-1.001,50;EUR;;;;1,50;;1.000;IE00B4L5Y983;A0RPWH;EUNL.DE;iShares Core MSCI World;\r\n"
    "2024-03-01T00:00;Dividende;8,50;EUR;;;;;1,50;;IE00B4L5Y983;;;iShares Core MSCI World;Q1\r\n"
    "2024-04-01T00:00;Einlage;500,00;EUR;;;;;;;;;;;\r\n"
    "2024-04-02T00:00;Umbuchung (Eingang);500,00;EUR;;;;;;;;;;;\r\n"
)
ENGLISH = (
    "Date,Type,Value,Transaction Currency,Gross Amount,Currency Gross Amount,Exchange Rate,Fees,Taxes,Shares,"
    "ISIN,WKN,Ticker Symbol,Security Name,Note\r\n"
    '2024-05-02T00:00,Sell,"1,198.00",EUR,,,,2.00,,10,US0378331005,,AAPL,Apple,\r\n'
    "2024-05-03T00:00,Delivery (Inbound),100.00,EUR,,,,,,1,US0378331005,,AAPL,Apple,\r\n"
)


def parse(text: str) -> list[Parsed]:
    return list(get_format("portfolio-performance").parse(text.encode(), FormatOptions()))


def test_a_german_export_reads_grouped_shares_and_puts_costs_back() -> None:
    buy, dividend, deposit, transfer = parse(GERMAN)
    assert isinstance(buy, ImportRow)
    assert isinstance(dividend, ImportRow)
    assert isinstance(deposit, ImportRow)
    assert (buy.type, buy.date, buy.quantity) == (TransactionType.BUY, dt.date(2024, 1, 15), 1000)
    assert (buy.amount, buy.fee, buy.isin) == (1000, Decimal("1.5"), "IE00B4L5Y983")
    assert (dividend.amount, dividend.tax, dividend.quantity, dividend.note) == (10, Decimal("1.5"), None, "Q1")
    assert (deposit.type, deposit.amount, deposit.isin) == (TransactionType.DEPOSIT, 500, None)
    assert transfer == RowProblem("line 5", "Typ", "'Umbuchung (Eingang)' has no Prism equivalent (import it by hand)")


def test_an_english_export_with_grouped_thousands() -> None:
    sell, delivery = parse(ENGLISH)
    assert isinstance(sell, ImportRow)
    assert isinstance(delivery, ImportRow)
    assert (sell.type, sell.amount, sell.fee, sell.quantity) == (TransactionType.SELL, 1200, 2, 10)
    assert (delivery.type, delivery.amount, delivery.symbol) == (TransactionType.DELIVERY_IN, 100, "AAPL")


def test_a_bad_value_is_named_with_the_german_column() -> None:
    rows = parse(GERMAN.splitlines()[0] + "\n2024-01-15;Kauf;viel;EUR;;;;;;1;IE00B4L5Y983;;;X;\n")
    assert rows == [RowProblem("line 2", "Wert", "'viel' is not a number")]
