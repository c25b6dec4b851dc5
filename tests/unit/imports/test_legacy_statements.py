"""Statement-parser files: trades, cash entries, and the integer-quantity defect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from prism.domain.ledger import TransactionType
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.statements import read_cash, read_trades
from tests.fixtures.legacy import APPLE, MSCI_WORLD, SAP, write_statement_cash, write_statement_trades


def test_trades_read_german_dates_and_amounts_and_derive_the_fee(tmp_path: Path) -> None:
    report = FileReport("trades.csv", "test")
    rows = read_trades(write_statement_trades(tmp_path / "trades.csv"), report)
    assert [(r.type, r.isin, r.date, r.quantity, r.price, r.fee) for r in rows] == [
        (TransactionType.BUY, APPLE, dt.date(2025, 10, 2), Decimal("2.0"), Decimal("150.00"), Decimal("1.000")),
        (TransactionType.SELL, APPLE, dt.date(2025, 11, 15), Decimal("1.0"), Decimal("160.00"), Decimal("1.000")),
        (TransactionType.SELL, SAP, dt.date(2025, 11, 16), Decimal(5), Decimal("120.00"), Decimal(0)),
    ]


def test_an_integer_written_fractional_quantity_is_reported_and_not_imported(tmp_path: Path) -> None:
    report = FileReport("trades.csv", "test")
    rows = read_trades(write_statement_trades(tmp_path / "trades.csv"), report)
    assert MSCI_WORLD not in {r.isin for r in rows}
    (corrupted,) = [note for note in report.notes if "corrupted quantity" in note]
    assert corrupted.startswith("line 3:")
    assert "119274.0 x 83.84" in corrupted
    assert report.skipped == 2  # the defect and a bad check digit


def test_cash_entries_map_types_and_keep_identical_rows_apart(tmp_path: Path) -> None:
    report = FileReport("transactions.csv", "test")
    rows = read_cash(write_statement_cash(tmp_path / "transactions.csv"), report)
    assert [(r.type, r.amount, r.isin) for r in rows] == [
        (TransactionType.DEPOSIT, Decimal("2000.00"), None),
        (TransactionType.INTEREST, Decimal("3.12"), None),
        (TransactionType.DIVIDEND, Decimal("0.48"), APPLE),
        (TransactionType.DEPOSIT, Decimal("1.50"), None),
        (TransactionType.DEPOSIT, Decimal("1.50"), None),
        (TransactionType.WITHDRAWAL, Decimal("100.00"), None),
    ]
    assert len({r.key for r in rows}) == len(rows)
    assert report.skipped == 2  # the trade (in trades.csv) and a dividend naming no ISIN
