"""The newer app's ``prism.db`` (SQLite), read-only: assets, portfolios, transactions, positions.

Tables (its ``schema.sql``): ``assets(isin, symbol, name, asset_class, sector, region,
country)``, ``portfolios(id, name, currency)``, ``transactions(id, portfolio_id, isin,
type, date, quantity, amount, currency, notes)`` with types Buy/Sell/Dividend/Interest/
Fee/Transfer, and ``positions(portfolio_id, isin, quantity, cost_basis, current_price)``.
Numbers are SQLite REALs: read as SQLite's 15-digit text, never as Python floats.
A position opens with a delivery only where its portfolio has no transactions of
that ISIN (its transactions already make the position); ``cost_basis`` is taken as
the unit cost, as the holdings upload it came from gave it.
The file is opened with ``mode=ro``: the import never changes it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from prism.domain.isin import parse_isin
from prism.domain.ledger import TransactionType
from prism.errors import ValidationError
from prism.imports.legacy.holdings import OpeningPosition
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.statements import StatementRow
from prism.imports.legacy.text import parse_date, parse_number
from prism.imports.legacy.universe import AssetFacts, asset_kind, is_placeholder

__all__ = ["NewerApp", "read_newer_app"]

_TYPES = {
    "buy": TransactionType.BUY,
    "sell": TransactionType.SELL,
    "dividend": TransactionType.DIVIDEND,
    "interest": TransactionType.INTEREST,
    "fee": TransactionType.FEE,
}


@dataclass(slots=True)
class NewerApp:
    """What one ``prism.db`` holds, keyed by its portfolio ids."""

    assets: list[AssetFacts] = field(default_factory=list)
    portfolios: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (name, currency)
    entries: list[tuple[int, StatementRow]] = field(default_factory=list)
    positions: list[tuple[int, OpeningPosition]] = field(default_factory=list)
    #: ``hive_contribution_enabled``, its only user setting (None: not stored). Nothing
    #: else in ``settings`` is read: session tokens and the like are never imported.
    hive_contribution: bool | None = None


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _assets(connection: sqlite3.Connection, report: FileReport, found: NewerApp) -> None:
    query = "SELECT isin, symbol, name, asset_class, sector, region, country FROM assets ORDER BY isin"
    for isin_text, symbol, name, asset_class, sector, region, country in connection.execute(query):
        try:
            isin = parse_isin(isin_text)
        except ValidationError as error:
            report.skip(f"assets {isin_text!r}", str(error))
            continue
        metadata = {
            key: value
            for key, value in (("sector", sector), ("region", region), ("country", country))
            if isinstance(value, str) and not is_placeholder(value)
        }
        found.assets.append(
            AssetFacts(
                isin,
                name=None if is_placeholder(name) else name,
                kind=asset_kind(asset_class),
                ticker=None if is_placeholder(symbol, isin) else symbol,
                metadata=metadata,
            )
        )


def _entry(row: tuple[object, ...], report: FileReport) -> tuple[int, StatementRow] | None:
    ident, portfolio, isin_text, kind_text, date_text, quantity_text, amount_text, currency = row
    where = f"transactions {ident}"
    date = parse_date(_text(date_text))
    quantity = parse_number(_text(quantity_text))
    amount = parse_number(_text(amount_text))
    if currency not in (None, "EUR"):
        report.skip(where, f"in {currency}: only euro transactions are imported (no FX rate is stored)")
        return None
    if date is None or amount is None:
        report.skip(where, f"date {date_text!r} or amount {amount_text!r} unreadable")
        return None
    text = str(kind_text).casefold()
    if text == "transfer":
        kind = TransactionType.DEPOSIT if amount > 0 else TransactionType.WITHDRAWAL
    elif text in _TYPES:
        kind = _TYPES[text]
    else:
        report.skip(where, f"unknown type {kind_text!r}")
        return None
    isin = None
    if kind in (TransactionType.BUY, TransactionType.SELL, TransactionType.DIVIDEND):
        try:
            isin = parse_isin(isin_text)
        except ValidationError as error:
            report.skip(where, str(error))
            return None
    trade = kind in (TransactionType.BUY, TransactionType.SELL)
    if trade and (quantity is None or quantity <= 0 or amount == 0):
        report.skip(where, f"a {kind_text} needs a positive quantity and an amount")
        return None
    if amount == 0:
        report.skip(where, "amount is zero")
        return None
    price = abs(amount) / quantity if trade and quantity else None
    return int(str(portfolio)), StatementRow(
        type=kind,
        date=date,
        key=str(ident),
        amount=abs(amount),
        isin=isin,
        quantity=quantity if trade else None,
        price=price,
    )


def _positions(connection: sqlite3.Connection, report: FileReport, found: NewerApp) -> None:
    traded = {(portfolio, row.isin) for portfolio, row in found.entries}
    query = (
        "SELECT portfolio_id, isin, CAST(quantity AS TEXT), CAST(cost_basis AS TEXT), CAST(current_price AS TEXT) "
        "FROM positions ORDER BY portfolio_id, isin"
    )
    for number, (portfolio, isin_text, quantity_text, cost_text, price_text) in enumerate(connection.execute(query), 1):
        where = f"positions {portfolio}/{isin_text}"
        try:
            isin = parse_isin(isin_text)
        except ValidationError as error:
            report.skip(where, str(error))
            continue
        quantity = parse_number(_text(quantity_text))
        if quantity is None or quantity <= 0:
            report.skip(where, "quantity is zero")
            continue
        if (portfolio, isin) in traded:
            report.unchanged += 1  # its transactions make this position
            continue
        cost = parse_number(_text(cost_text))
        price = parse_number(_text(price_text))
        unit, source = (cost, "cost_basis") if cost else (price, "current_price") if price else (None, "none")
        found.positions.append((portfolio, OpeningPosition(isin, quantity, unit, source, None, None, number)))


def _hive_contribution(connection: sqlite3.Connection) -> bool | None:
    try:
        row = connection.execute("SELECT value FROM settings WHERE key = 'hive_contribution_enabled'").fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] is None:
        return None
    return str(row[0]).strip().casefold() in {"1", "true", "yes", "on"}


def read_newer_app(path: Path, report: FileReport) -> NewerApp:
    """Everything importable from one ``prism.db``, opened read-only."""
    found = NewerApp()
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        report.skip("file", f"cannot be opened: {error}")
        return found
    try:
        tables = _tables(connection)
        if "assets" in tables:
            _assets(connection, report, found)
        if "portfolios" in tables:
            for ident, name, currency in connection.execute("SELECT id, name, currency FROM portfolios ORDER BY id"):
                found.portfolios[int(ident)] = (str(name or f"Portfolio {ident}"), str(currency or "EUR").upper())
        if "transactions" in tables:
            query = (
                "SELECT id, portfolio_id, isin, type, date, CAST(quantity AS TEXT), CAST(amount AS TEXT), currency "
                "FROM transactions ORDER BY date, id"
            )
            for row in connection.execute(query):
                entry = _entry(row, report)
                if entry is not None:
                    found.entries.append(entry)
        if "positions" in tables:
            _positions(connection, report, found)
        if "settings" in tables:
            found.hive_contribution = _hive_contribution(connection)
    except sqlite3.Error as error:
        report.skip("file", f"cannot be read: {error}")
        return NewerApp()
    finally:
        connection.close()
    return found


_ = Decimal  # Decimal arithmetic above; kept for readers of the type hints
