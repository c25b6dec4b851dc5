"""The ledger store on SQLite and PostgreSQL: writes, the projection, the rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prism.domain.holdings import CostMethod
from prism.domain.ledger import TransactionType
from prism.errors import ConflictError, InsufficientHoldingsError, NotFoundError, ValidationError
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings, recompute_cash, recompute_holdings
from prism.storage.ledger import (
    EntryDetails,
    TransactionFilter,
    delete_transaction,
    get_transaction,
    list_transactions,
    update_transaction,
)
from tests.builders import D, entry, make_book, record


async def test_buy_then_sell_updates_holdings_and_cash(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    await record(
        db,
        book.owner,
        entry(p, "deposit", "2024-01-01", amount="5000"),
        entry(p, "buy", "2024-01-02", asset_id=a, quantity="10", price="100", fee="5"),
        entry(p, "sell", "2024-02-01", asset_id=a, quantity="4", price="120", fee="2"),
    )
    [holding] = await db.read(read_holdings, book.owner, portfolio_id=p)
    cash = await db.read(read_cash, book.owner, portfolio_id=p)
    assert holding.quantity == D(6)
    assert holding.cost_basis == D("603")  # 6/10 of 1005
    assert holding.realized_gain == D("76")  # 478 - 402
    assert holding.market_value == D("720")  # latest trade price 120
    assert holding.unrealized_gain == D("117")
    assert [(b.currency, b.balance) for b in cash] == [("EUR", D("4473"))]  # 5000 - 1005 + 478


async def test_sell_more_than_held_is_rejected_and_writes_nothing(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    await record(db, book.owner, entry(p, "buy", "2024-01-02", asset_id=a, quantity="3", price="10"))
    with pytest.raises(InsufficientHoldingsError) as raised:
        await record(db, book.owner, entry(p, "sell", "2024-01-03", asset_id=a, quantity="5", price="10"))
    assert raised.value.field == "quantity"
    assert len(await db.read(list_transactions, book.owner)) == 1
    [holding] = await db.read(read_holdings, book.owner)
    assert holding.quantity == 3


async def test_a_rejected_write_rolls_back_the_whole_unit(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    with pytest.raises(InsufficientHoldingsError):
        await record(
            db,
            book.owner,
            entry(p, "deposit", "2024-01-01", amount="100"),
            entry(p, "sell", "2024-01-03", asset_id=a, quantity="5", price="10"),
        )
    assert await db.read(list_transactions, book.owner) == []
    assert await db.read(read_cash, book.owner) == []


async def test_backdated_sell_before_the_buy_is_rejected(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    await record(db, book.owner, entry(p, "buy", "2024-03-01", asset_id=a, quantity="3", price="10"))
    with pytest.raises(InsufficientHoldingsError):
        await record(db, book.owner, entry(p, "sell", "2024-02-01", asset_id=a, quantity="1", price="10"))


async def test_deleting_a_buy_that_a_later_sell_needs_is_rejected(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    buy = entry(p, "buy", "2024-01-01", asset_id=a, quantity="3", price="10")
    await record(db, book.owner, buy, entry(p, "sell", "2024-02-01", asset_id=a, quantity="2", price="12"))
    with pytest.raises(InsufficientHoldingsError):
        await db.write(delete_transaction, book.owner, buy.id)


async def test_backdated_buy_replays_fifo_order(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    await record(
        db,
        book.owner,
        entry(p, "buy", "2024-02-01", asset_id=a, quantity="1", price="20"),
        entry(p, "sell", "2024-03-01", asset_id=a, quantity="1", price="25"),
        # Entered last, dated first: FIFO must now sell this cheaper lot.
        entry(p, "buy", "2024-01-01", asset_id=a, quantity="1", price="10"),
    )
    [holding] = await db.read(read_holdings, book.owner, portfolio_id=p)
    assert holding.realized_gain == D(15)
    assert holding.cost_basis == D(20)
    assert await db.read(read_holdings, book.owner) == await db.read(recompute_holdings, book.owner)


async def test_update_and_delete_keep_projection_equal_to_recomputation(db: Database) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"))
    p, q = book.portfolios
    a, b = book.assets
    first = entry(p, "buy", "2024-01-01", asset_id=a, quantity="10", price="10")
    dividend = entry(p, "dividend", "2024-06-01", asset_id=a, amount="7", tax="1.05")
    transfer = entry(p, "transfer", "2024-07-01", asset_id=a, quantity="4", target_portfolio_id=q)
    await record(db, book.owner, first, dividend, transfer)
    moved = entry(
        q, "buy", "2023-12-01", asset_id=b, quantity="2", price="50", id=first.id, entry_order=first.entry_order
    )
    with pytest.raises(InsufficientHoldingsError):  # the transfer needs what the first buy bought
        await db.write(update_transaction, book.owner, moved, EntryDetails(note="moved"))
    bigger = entry(
        p, "buy", "2024-01-01", asset_id=a, quantity="12", price="11", id=first.id, entry_order=first.entry_order
    )
    await db.write(update_transaction, book.owner, bigger, EntryDetails())
    await db.write(delete_transaction, book.owner, dividend.id)
    for method in CostMethod:
        for portfolio in (p, q, None):
            stored = await db.read(read_holdings, book.owner, portfolio_id=portfolio, method=method)
            assert stored == await db.read(recompute_holdings, book.owner, portfolio_id=portfolio, method=method)
    assert await db.read(read_cash, book.owner) == await db.read(recompute_cash, book.owner)
    [in_q] = await db.read(read_holdings, book.owner, portfolio_id=q)
    assert in_q.quantity == 4
    assert in_q.cost_basis == D(44)
    assert in_q.dividends == 0


async def test_decimals_survive_the_round_trip_exactly(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    tiny = entry(p, "buy", "2024-01-01", asset_id=a, quantity="0.000000012345678901", price="98765432109.123456789")
    await record(db, book.owner, tiny)
    stored = await db.read(get_transaction, book.owner, tiny.id)
    [holding] = await db.read(read_holdings, book.owner)
    assert stored.entry == tiny
    assert holding.cost_basis == Decimal("0.000000012345678901") * Decimal("98765432109.123456789")


async def test_foreign_currency_needs_an_fx_rate(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    with pytest.raises(ValidationError) as raised:
        await record(
            db, book.owner, entry(p, "buy", "2024-01-01", currency="USD", asset_id=a, quantity="1", price="10")
        )
    assert raised.value.field == "fx_rate"
    usd_buy = entry(p, "buy", "2024-01-01", currency="USD", asset_id=a, quantity="2", price="10", fx_rate="0.9")
    await record(db, book.owner, usd_buy)
    [holding] = await db.read(read_holdings, book.owner)
    cash = await db.read(read_cash, book.owner)
    assert holding.cost_basis == D(18)
    assert holding.market_value == D(18)  # 2 x 10 USD at the latest known USD->EUR rate
    assert [(b.currency, b.balance) for b in cash] == [("USD", D(-20))]


async def test_unknown_portfolio_and_asset_name_the_field(db: Database) -> None:
    book = await make_book(db)
    other = await make_book(db)
    with pytest.raises(ValidationError) as raised:
        await record(db, book.owner, entry(other.portfolios[0], "deposit", "2024-01-01", amount="1"))
    assert raised.value.field == "portfolio_id"
    foreign_asset = entry(book.portfolios[0], "buy", "2024-01-01", asset_id=other.assets[0], quantity="1", price="1")
    with pytest.raises(ValidationError) as raised:
        await record(db, book.owner, foreign_asset)
    assert raised.value.field == "asset_id"


async def test_owners_never_see_each_others_ledger(db: Database) -> None:
    mine, theirs = await make_book(db), await make_book(db)
    secret = entry(theirs.portfolios[0], "deposit", "2024-01-01", amount="1000000")
    await record(db, theirs.owner, secret)
    assert await db.read(list_transactions, mine.owner) == []
    assert await db.read(read_cash, mine.owner) == []
    with pytest.raises(NotFoundError):
        await db.read(get_transaction, mine.owner, secret.id)
    with pytest.raises(NotFoundError):
        await db.write(delete_transaction, mine.owner, secret.id)


async def test_recording_the_same_id_twice_is_a_conflict(db: Database) -> None:
    book = await make_book(db)
    deposit = entry(book.portfolios[0], "deposit", "2024-01-01", amount="10")
    await record(db, book.owner, deposit)
    with pytest.raises(ConflictError):
        await record(db, book.owner, deposit)


async def test_transactions_list_filters_and_pages(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    buys = [entry(p, "buy", f"2024-01-0{day}", asset_id=a, quantity="1", price="1") for day in range(1, 6)]
    await record(db, book.owner, *buys, entry(p, "deposit", "2024-01-03", amount="9"))
    where = TransactionFilter(type=TransactionType.BUY, start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 4))
    found = await db.read(list_transactions, book.owner, where)
    assert [t.entry.date.day for t in found] == [2, 3, 4]
    first = await db.read(list_transactions, book.owner, limit=2)
    last = first[-1].entry
    rest = await db.read(list_transactions, book.owner, after=(last.date, last.entry_order, last.id))
    assert len(first) + len(rest) == 6
    assert {t.entry.id for t in first} & {t.entry.id for t in rest} == set()


async def test_a_split_rescales_every_portfolio_and_the_price(db: Database) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"))
    p, q = book.portfolios
    a = book.assets[0]
    await record(
        db,
        book.owner,
        entry(p, "buy", "2024-01-01", asset_id=a, quantity="3", price="90"),
        entry(q, "buy", "2024-01-02", asset_id=a, quantity="1", price="99"),
        entry(p, "split", "2024-02-01", asset_id=a, ratio="3"),
    )
    with pytest.raises(ConflictError):
        await record(db, book.owner, entry(q, "split", "2024-02-01", asset_id=a, ratio="3"))
    [in_p] = await db.read(read_holdings, book.owner, portfolio_id=p)
    [in_q] = await db.read(read_holdings, book.owner, portfolio_id=q)
    assert await db.read(read_holdings, book.owner) == await db.read(recompute_holdings, book.owner)
    assert in_p.quantity == 9
    assert in_p.cost_basis == 270
    assert in_q.quantity == 3
    assert in_q.price == 33
    assert in_q.market_value == 99
