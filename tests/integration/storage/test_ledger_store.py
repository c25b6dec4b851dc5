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
    record_transaction,
    update_transaction,
)
from tests.builders import D, entry, make_book


async def test_buy_then_sell_updates_holdings_and_cash(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    async with db.write() as c:
        await record_transaction(c, book.owner, entry(p, "deposit", "2024-01-01", amount="5000"))
        await record_transaction(
            c, book.owner, entry(p, "buy", "2024-01-02", asset_id=a, quantity="10", price="100", fee="5")
        )
        await record_transaction(
            c, book.owner, entry(p, "sell", "2024-02-01", asset_id=a, quantity="4", price="120", fee="2")
        )
    async with db.read() as c:
        [holding] = await read_holdings(c, book.owner, portfolio_id=p)
        cash = await read_cash(c, book.owner, portfolio_id=p)
    assert holding.quantity == D(6)
    assert holding.cost_basis == D("603")  # 6/10 of 1005
    assert holding.realized_gain == D("76")  # 478 - 402
    assert holding.market_value == D("720")  # latest trade price 120
    assert holding.unrealized_gain == D("117")
    assert [(b.currency, b.balance) for b in cash] == [("EUR", D("4473"))]  # 5000 - 1005 + 478


async def test_sell_more_than_held_is_rejected_and_writes_nothing(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    async with db.write() as c:
        await record_transaction(c, book.owner, entry(p, "buy", "2024-01-02", asset_id=a, quantity="3", price="10"))
    with pytest.raises(InsufficientHoldingsError) as raised:
        async with db.write() as c:
            await record_transaction(
                c, book.owner, entry(p, "sell", "2024-01-03", asset_id=a, quantity="5", price="10")
            )
    assert raised.value.field == "quantity"
    async with db.read() as c:
        assert len(await list_transactions(c, book.owner)) == 1
        [holding] = await read_holdings(c, book.owner)
    assert holding.quantity == 3


async def test_backdated_sell_before_the_buy_is_rejected(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    async with db.write() as c:
        await record_transaction(c, book.owner, entry(p, "buy", "2024-03-01", asset_id=a, quantity="3", price="10"))
    with pytest.raises(InsufficientHoldingsError):
        async with db.write() as c:
            await record_transaction(
                c, book.owner, entry(p, "sell", "2024-02-01", asset_id=a, quantity="1", price="10")
            )


async def test_deleting_a_buy_that_a_later_sell_needs_is_rejected(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    buy = entry(p, "buy", "2024-01-01", asset_id=a, quantity="3", price="10")
    async with db.write() as c:
        await record_transaction(c, book.owner, buy)
        await record_transaction(c, book.owner, entry(p, "sell", "2024-02-01", asset_id=a, quantity="2", price="12"))
    with pytest.raises(InsufficientHoldingsError):
        async with db.write() as c:
            await delete_transaction(c, book.owner, buy.id)


async def test_backdated_buy_replays_fifo_order(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    async with db.write() as c:
        await record_transaction(c, book.owner, entry(p, "buy", "2024-02-01", asset_id=a, quantity="1", price="20"))
        await record_transaction(c, book.owner, entry(p, "sell", "2024-03-01", asset_id=a, quantity="1", price="25"))
        # Entered last, dated first: FIFO must now sell this cheaper lot.
        await record_transaction(c, book.owner, entry(p, "buy", "2024-01-01", asset_id=a, quantity="1", price="10"))
    async with db.read() as c:
        [holding] = await read_holdings(c, book.owner, portfolio_id=p)
        assert holding.realized_gain == D(15)
        assert holding.cost_basis == D(20)
        assert await read_holdings(c, book.owner) == await recompute_holdings(c, book.owner)


async def test_update_and_delete_keep_projection_equal_to_recomputation(db: Database) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"))
    p, q = book.portfolios
    a, b = book.assets
    first = entry(p, "buy", "2024-01-01", asset_id=a, quantity="10", price="10")
    dividend = entry(p, "dividend", "2024-06-01", asset_id=a, amount="7", tax="1.05")
    async with db.write() as c:
        await record_transaction(c, book.owner, first)
        await record_transaction(c, book.owner, dividend)
        await record_transaction(
            c, book.owner, entry(p, "transfer", "2024-07-01", asset_id=a, quantity="4", target_portfolio_id=q)
        )
    moved = entry(
        q, "buy", "2023-12-01", asset_id=b, quantity="2", price="50", id=first.id, entry_order=first.entry_order
    )
    with pytest.raises(InsufficientHoldingsError):  # the transfer needs what the first buy bought
        async with db.write() as c:
            await update_transaction(c, book.owner, moved, EntryDetails(note="moved"))
    async with db.write() as c:
        await update_transaction(
            c,
            book.owner,
            entry(
                p,
                "buy",
                "2024-01-01",
                asset_id=a,
                quantity="12",
                price="11",
                id=first.id,
                entry_order=first.entry_order,
            ),
            EntryDetails(),
        )
        await delete_transaction(c, book.owner, dividend.id)
    async with db.read() as c:
        for method in CostMethod:
            for portfolio in (p, q, None):
                stored = await read_holdings(c, book.owner, portfolio_id=portfolio, method=method)
                assert stored == await recompute_holdings(c, book.owner, portfolio_id=portfolio, method=method)
        assert sorted(await read_cash(c, book.owner), key=str) == sorted(await recompute_cash(c, book.owner), key=str)
        [in_q] = await read_holdings(c, book.owner, portfolio_id=q)
    assert in_q.quantity == 4
    assert in_q.cost_basis == D(44)
    assert in_q.dividends == 0


async def test_decimals_survive_the_round_trip_exactly(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    tiny = entry(p, "buy", "2024-01-01", asset_id=a, quantity="0.000000012345678901", price="98765432109.123456789")
    async with db.write() as c:
        await record_transaction(c, book.owner, tiny)
    async with db.read() as c:
        stored = await get_transaction(c, book.owner, tiny.id)
        [holding] = await read_holdings(c, book.owner)
    assert stored.entry == tiny
    assert holding.cost_basis == Decimal("0.000000012345678901") * Decimal("98765432109.123456789")


async def test_foreign_currency_needs_an_fx_rate(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    with pytest.raises(ValidationError) as raised:
        async with db.write() as c:
            await record_transaction(
                c, book.owner, entry(p, "buy", "2024-01-01", currency="USD", asset_id=a, quantity="1", price="10")
            )
    assert raised.value.field == "fx_rate"
    async with db.write() as c:
        await record_transaction(
            c,
            book.owner,
            entry(p, "buy", "2024-01-01", currency="USD", asset_id=a, quantity="2", price="10", fx_rate="0.9"),
        )
    async with db.read() as c:
        [holding] = await read_holdings(c, book.owner)
        cash = await read_cash(c, book.owner)
    assert holding.cost_basis == D(18)
    assert holding.market_value == D(18)  # 2 x 10 USD at the latest known USD->EUR rate
    assert [(b.currency, b.balance) for b in cash] == [("USD", D(-20))]


async def test_unknown_portfolio_and_asset_name_the_field(db: Database) -> None:
    book = await make_book(db)
    other = await make_book(db)
    with pytest.raises(ValidationError) as raised:
        async with db.write() as c:
            await record_transaction(c, book.owner, entry(other.portfolios[0], "deposit", "2024-01-01", amount="1"))
    assert raised.value.field == "portfolio_id"
    with pytest.raises(ValidationError) as raised:
        async with db.write() as c:
            await record_transaction(
                c,
                book.owner,
                entry(book.portfolios[0], "buy", "2024-01-01", asset_id=other.assets[0], quantity="1", price="1"),
            )
    assert raised.value.field == "asset_id"


async def test_owners_never_see_each_others_ledger(db: Database) -> None:
    mine, theirs = await make_book(db), await make_book(db)
    secret = entry(theirs.portfolios[0], "deposit", "2024-01-01", amount="1000000")
    async with db.write() as c:
        await record_transaction(c, theirs.owner, secret)
    async with db.read() as c:
        assert await list_transactions(c, mine.owner) == []
        assert await read_cash(c, mine.owner) == []
        with pytest.raises(NotFoundError):
            await get_transaction(c, mine.owner, secret.id)
    with pytest.raises(NotFoundError):
        async with db.write() as c:
            await delete_transaction(c, mine.owner, secret.id)


async def test_recording_the_same_id_twice_is_a_conflict(db: Database) -> None:
    book = await make_book(db)
    deposit = entry(book.portfolios[0], "deposit", "2024-01-01", amount="10")
    async with db.write() as c:
        await record_transaction(c, book.owner, deposit)
    with pytest.raises(ConflictError):
        async with db.write() as c:
            await record_transaction(c, book.owner, deposit)


async def test_transactions_list_filters_and_pages(db: Database) -> None:
    book = await make_book(db)
    p, a = book.portfolios[0], book.assets[0]
    async with db.write() as c:
        for day in range(1, 6):
            await record_transaction(
                c, book.owner, entry(p, "buy", f"2024-01-0{day}", asset_id=a, quantity="1", price="1")
            )
        await record_transaction(c, book.owner, entry(p, "deposit", "2024-01-03", amount="9"))
    async with db.read() as c:
        buys = await list_transactions(
            c,
            book.owner,
            TransactionFilter(type=TransactionType("buy"), start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 4)),
        )
        assert [t.entry.date.day for t in buys] == [2, 3, 4]
        first = await list_transactions(c, book.owner, limit=2)
        last = first[-1].entry
        rest = await list_transactions(c, book.owner, after=(last.date, last.entry_order, last.id))
    assert len(first) + len(rest) == 6


async def test_a_split_rescales_every_portfolio_and_the_price(db: Database) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"))
    p, q = book.portfolios
    a = book.assets[0]
    async with db.write() as c:
        await record_transaction(c, book.owner, entry(p, "buy", "2024-01-01", asset_id=a, quantity="3", price="90"))
        await record_transaction(c, book.owner, entry(q, "buy", "2024-01-02", asset_id=a, quantity="1", price="99"))
        await record_transaction(c, book.owner, entry(p, "split", "2024-02-01", asset_id=a, ratio="3"))
    with pytest.raises(ConflictError):
        async with db.write() as c:
            await record_transaction(c, book.owner, entry(q, "split", "2024-02-01", asset_id=a, ratio="3"))
    async with db.read() as c:
        holdings = {h.portfolio_id: h for h in await read_holdings(c, book.owner, portfolio_id=p)}
        holdings |= {h.portfolio_id: h for h in await read_holdings(c, book.owner, portfolio_id=q)}
        assert await read_holdings(c, book.owner) == await recompute_holdings(c, book.owner)
    assert holdings[p].quantity == 9
    assert holdings[p].cost_basis == 270
    assert holdings[q].quantity == 3
    assert holdings[q].price == 33
    assert holdings[q].market_value == 99
