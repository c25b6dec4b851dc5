"""Importing transaction files into a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from prism.domain.ids import asset_id
from prism.imports.formats import FormatOptions, RowProblem
from prism.imports.transactions import ImportRejectedError, ImportRequest, import_transactions
from prism.storage.catalog import create_account, create_portfolio, list_assets
from prism.storage.changes import history
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.tables import transactions

WORLD, APPLE = "IE00B4L5Y983", "US0378331005"
#: BOM, ";", decimal commas, a quoted name, a blank line, two identical rows, dates out of order.
FILE = (
    "\ufeffdate;type;isin;name;quantity;price;fee;currency;amount\r\n"
    "2024-01-02;deposit;;;;;;EUR;5000\r\n"
    f'2024-01-03;buy;{WORLD};"iShares Core MSCI World";10;80,50;1,00;EUR;\r\n'
    f"2024-01-03;buy;{WORLD};iShares Core MSCI World;10;80,50;1,00;EUR;\r\n"
    "\r\n"
    f"2024-02-01;sell;{WORLD};iShares Core MSCI World;5;90;1;EUR;\r\n"
    f"2024-01-10;buy;{APPLE};Apple;2;150;;EUR;\r\n"
).encode()


async def _book(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    def create(connection: Connection) -> tuple[uuid.UUID, uuid.UUID]:
        owner = create_account(connection, "importer")
        return owner, create_portfolio(connection, owner, "Main", "EUR").id

    return await db.write(create)


async def _count(db: Database, owner: uuid.UUID) -> int:
    t = transactions.c
    return int(await db.read(lambda c: c.scalar(select(func.count()).where(t.owner_id == owner))))


async def test_a_file_imports_with_the_expected_holdings_and_cash(db: Database) -> None:
    owner, portfolio = await _book(db)
    report = await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio))
    assert (report.rows, report.imported, report.assets_created, report.problems) == (5, 5, 2, [])
    assert report.by_type == {"deposit": 1, "buy": 3, "sell": 1}
    held = {h.asset_id: h.quantity for h in await db.read(read_holdings, owner, portfolio_id=portfolio)}
    assert held == {asset_id(owner, WORLD): Decimal(15), asset_id(owner, APPLE): Decimal(2)}
    (cash,) = await db.read(read_cash, owner, portfolio_id=portfolio)
    # 5000 - 2 x 806 - 300 + (450 - 1)
    assert cash.balance == Decimal("3537")
    names = {a.isin: a.name for a in await db.read(list_assets, owner)}
    assert names == {WORLD: "iShares Core MSCI World", APPLE: "Apple"}


async def test_importing_the_same_file_again_adds_nothing(db: Database) -> None:
    owner, portfolio = await _book(db)
    await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio))
    again = await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio))
    assert (again.imported, again.already_imported, again.assets_created) == (0, 5, 0)
    assert await _count(db, owner) == 5


async def test_imports_are_captured_for_sync(db: Database) -> None:
    owner, portfolio = await _book(db)
    await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio))
    ids = await db.read(lambda c: list(c.scalars(select(transactions.c.id).where(transactions.c.owner_id == owner))))
    logged = await db.read(history, owner, "transactions", ids[0])
    assert [change.op for change in logged] == ["insert"]


async def test_one_bad_row_imports_nothing_and_is_named(db: Database) -> None:
    owner, portfolio = await _book(db)
    bad = FILE.replace(b"2;150", b"2;1x0").replace(APPLE.encode(), b"US0378331006")
    with pytest.raises(ImportRejectedError) as caught:
        await import_transactions(db, owner, ImportRequest(bad, "generic", portfolio))
    assert caught.value.problems == [
        RowProblem("line 7", "isin", "'US0378331006' has a wrong check digit"),
        RowProblem("line 7", "price", "'1x0' is not a number"),
    ]
    assert await _count(db, owner) == 0
    assert await db.read(list_assets, owner) == []


async def test_an_oversell_is_a_bad_row_and_skip_invalid_imports_the_rest(db: Database) -> None:
    owner, portfolio = await _book(db)
    oversold = FILE.replace(b"sell;IE00B4L5Y983;iShares Core MSCI World;5", b"sell;IE00B4L5Y983;x;50")
    with pytest.raises(ImportRejectedError) as caught:
        await import_transactions(db, owner, ImportRequest(oversold, "generic", portfolio))
    (problem,) = caught.value.problems
    assert (problem.where, problem.column) == ("line 6", "quantity")
    assert "holds 20" in problem.message
    report = await import_transactions(db, owner, ImportRequest(oversold, "generic", portfolio, skip_invalid=True))
    assert (report.imported, report.skipped) == (4, 1)
    assert await _count(db, owner) == 4


async def test_a_dry_run_reports_and_writes_nothing(db: Database) -> None:
    owner, portfolio = await _book(db)
    report = await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio, dry_run=True))
    assert (report.dry_run, report.imported, report.assets_created) == (True, 5, 2)
    assert await _count(db, owner) == 0
    assert await db.read(list_assets, owner) == []


async def test_the_broker_export_opens_positions_once(db: Database) -> None:
    owner, portfolio = await _book(db)
    export = f"Name;ISIN;quantity;avgCost;netValue\nWorld;{WORLD};12,5;80,10;1.100,00\nGone;{APPLE};0;0;0\n".encode()
    first = await import_transactions(db, owner, ImportRequest(export, "broker", portfolio))
    later = export.replace(b"1.100,00", b"1.250,00")
    again = await import_transactions(db, owner, ImportRequest(later, "broker", portfolio, FormatOptions()))
    assert (first.imported, len(first.notes), again.already_imported) == (1, 1, 1)
    (holding,) = await db.read(read_holdings, owner, portfolio_id=portfolio)
    assert (holding.quantity, holding.cost_basis) == (Decimal("12.5"), Decimal("1001.25"))


async def test_a_foreign_currency_row_without_a_rate_is_named(db: Database) -> None:
    owner, portfolio = await _book(db)
    data = f"date,type,isin,quantity,price,currency\n2024-01-03,buy,{APPLE},1,150,USD\n".encode()
    with pytest.raises(ImportRejectedError) as caught:
        await import_transactions(db, owner, ImportRequest(data, "generic", portfolio))
    assert caught.value.problems[0].field == "line 2: fx_rate"


async def test_another_owners_portfolio_is_not_found(db: Database) -> None:
    owner, _ = await _book(db)
    _, theirs = await _book(db)
    data = b"date,type,amount,currency\n2024-01-02,deposit,1,EUR\n"
    with pytest.raises(Exception, match="no portfolio") as caught:
        await import_transactions(db, owner, ImportRequest(data, "generic", theirs))
    assert getattr(caught.value, "field", None) == "portfolio_id"


async def test_ghostfolio_tickers_find_or_create_one_asset(db: Database) -> None:
    owner, portfolio = await _book(db)
    export = (
        b'{"activities": ['
        b'{"id": "b1", "type": "BUY", "date": "2024-01-02", "symbol": "AAPL", "dataSource": "YAHOO",'
        b' "quantity": 3, "unitPrice": 150.5, "fee": 0, "currency": "EUR"},'
        b'{"id": "b2", "type": "SELL", "date": "2024-02-02", "symbol": "aapl", "dataSource": "YAHOO",'
        b' "quantity": 1, "unitPrice": 160, "fee": 0.5, "currency": "EUR"}]}'
    )
    first = await import_transactions(db, owner, ImportRequest(export, "ghostfolio", portfolio))
    again = await import_transactions(db, owner, ImportRequest(export, "ghostfolio", portfolio))
    assert (first.imported, first.assets_created, again.already_imported) == (2, 1, 2)
    (asset,) = await db.read(list_assets, owner)
    assert (asset.ticker, asset.isin) == ("AAPL", None)
    (holding,) = await db.read(read_holdings, owner, portfolio_id=portfolio)
    assert holding.quantity == Decimal(2)


async def test_a_german_portfolio_performance_export_gives_its_holdings(db: Database) -> None:
    owner, portfolio = await _book(db)
    export = (
        "Datum;Typ;Wert;Buchungswährung;Bruttobetrag;Währung Bruttobetrag;Wechselkurs;Gebühren;Steuern;"
        "Stück;ISIN;WKN;Ticker-Symbol;Wertpapiername;Notiz\r\n"
        "2024-01-02T00:00;Einlage;20.000,00;EUR;;;;;;;;;;;\r\n"
        f"2024-01-15T00:00;Kauf;-16.101,50;EUR;;;;1,50;;200;{WORLD};;;iShares Core MSCI World;\r\n"
        f"2024-03-01T00:00;Verkauf;8.498,00;EUR;;;;2,00;;100;{WORLD};;;iShares Core MSCI World;\r\n"
    ).encode()
    report = await import_transactions(db, owner, ImportRequest(export, "portfolio-performance", portfolio))
    assert report.imported == 3
    (holding,) = await db.read(read_holdings, owner, portfolio_id=portfolio)
    assert (holding.quantity, holding.cost_basis) == (Decimal(100), Decimal("8050.75"))
    (cash,) = await db.read(read_cash, owner, portfolio_id=portfolio)
    assert cash.balance == Decimal("12396.5")  # 20000 - 16101.50 + 8498


async def test_identical_rows_in_a_file_out_of_date_order_are_kept_apart_and_found_again(db: Database) -> None:
    owner, portfolio = await _book(db)
    data = (
        "date,type,isin,quantity,price,currency,amount\n"
        "2024-01-02,deposit,,,,EUR,9000\n"
        f"2024-03-01,buy,{WORLD},1,80,EUR,\n"
        f"2024-01-05,buy,{WORLD},1,80,EUR,\n"  # the dates go backwards here
        f"2024-01-05,buy,{WORLD},1,80,EUR,\n"
        f"2024-03-01,buy,{WORLD},1,80,EUR,\n"
    ).encode()
    first = await import_transactions(db, owner, ImportRequest(data, "generic", portfolio))
    again = await import_transactions(db, owner, ImportRequest(data, "generic", portfolio))
    assert (first.imported, again.imported, again.already_imported) == (5, 0, 5)
    (holding,) = await db.read(read_holdings, owner, portfolio_id=portfolio)
    assert holding.quantity == Decimal(4)


async def test_a_file_read_from_its_path_imports_as_its_bytes_do(db: Database, tmp_path: Path) -> None:
    owner, portfolio = await _book(db)
    path = tmp_path / "trades.csv"
    path.write_bytes(FILE)
    report = await import_transactions(db, owner, ImportRequest(path, "generic", portfolio))
    again = await import_transactions(db, owner, ImportRequest(FILE, "generic", portfolio))
    assert (report.imported, again.already_imported) == (5, 5)


async def test_a_skipped_row_leaves_no_asset_of_its_own_behind(db: Database) -> None:
    owner, portfolio = await _book(db)
    data = (
        "date,type,isin,name,quantity,price,currency,amount\n"
        "2024-01-02,deposit,,,,,EUR,1000\n"
        f"2024-01-03,buy,{WORLD},World,1,80,EUR,\n"
        f"2024-01-04,sell,{APPLE},Apple,5,150,EUR,\n"  # never held: skipped
    ).encode()
    request = ImportRequest(data, "generic", portfolio, skip_invalid=True)
    report = await import_transactions(db, owner, request)
    assert (report.imported, report.skipped, report.assets_created) == (2, 1, 1)
    assert [a.isin for a in await db.read(list_assets, owner)] == [WORLD]
