"""The newer app's ``prism.db``, read read-only."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

from prism.domain.ledger import TransactionType
from prism.imports.legacy.newer_db import read_newer_app
from prism.imports.legacy.report import FileReport
from tests.fixtures.legacy import ASML, MICROSOFT, SAP, write_newer_app_db

T = TransactionType


def test_assets_portfolios_and_transactions_are_read_with_exact_numbers(tmp_path: Path) -> None:
    report = FileReport("prism.db", "test")
    found = read_newer_app(write_newer_app_db(tmp_path / "prism.db"), report)
    assert [(a.isin, a.name, a.kind, a.ticker, a.metadata) for a in found.assets] == [
        (SAP, "SAP SE", "stock", "SAP", {"sector": "Technology", "country": "Germany"}),
        (MICROSOFT, "Microsoft", "stock", None, {"country": "United States"}),  # the ticker was the ISIN
    ]
    assert found.portfolios == {1: ("Main Portfolio", "EUR"), 2: ("Dollar account", "USD")}
    assert [(p, r.type, r.date, r.isin, r.quantity, r.price, r.amount) for p, r in found.entries] == [
        (1, T.DEPOSIT, dt.date(2025, 1, 2), None, None, None, Decimal("500.0")),
        (1, T.BUY, dt.date(2025, 1, 3), SAP, Decimal("10.0"), Decimal("120.05"), Decimal("1200.5")),
        (1, T.SELL, dt.date(2025, 2, 3), SAP, Decimal("4.0"), Decimal("130"), Decimal("520.0")),
        (1, T.DIVIDEND, dt.date(2025, 5, 15), SAP, None, None, Decimal("15.2")),
        (1, T.INTEREST, dt.date(2025, 6, 1), None, None, None, Decimal("2.5")),
        (1, T.FEE, dt.date(2025, 6, 2), None, None, None, Decimal("1.0")),
    ]
    # SAP's position is made by its transactions; Microsoft's opens with a delivery.
    assert [(p, o.isin, o.quantity, o.unit_cost) for p, o in found.positions] == [
        (1, MICROSOFT, Decimal("0.3"), Decimal("350.0"))
    ]
    assert report.unchanged == 1
    assert found.hive_contribution is True
    skipped = "\n".join(report.notes)
    assert "in USD" in skipped
    assert ASML in skipped  # zero quantity
    assert report.skipped == 3  # bad ISIN, USD transaction, zero position


def test_the_database_file_is_not_changed(tmp_path: Path) -> None:
    path = write_newer_app_db(tmp_path / "prism.db")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    read_newer_app(path, FileReport("prism.db", "test"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prism.db"]
