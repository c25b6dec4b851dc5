"""Exposure and overlap on both lakes and both databases, worked by hand.

1,000 EUR in fund A, which is 50% stock X and 50% fund B; fund B is 60% X, 30% Y
and 10% not listed. So X is 500 + 300 = 800, Y 150, and 50 is unresolved.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pytest
from sqlalchemy import Connection

from prism.analytics.exposure import exposure, overlap_report
from prism.storage.catalog import new_asset, save_asset
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, Lake, write_rows
from prism.storage.settings import put_setting
from tests.builders import D, entry, make_book, record

FUND_A, FUND_B, STOCK_X, STOCK_Y = "IE00B4L5Y983", "IE00B5BMR087", "US0378331005", "DE0007164600"
DAY = dt.date(2024, 3, 15)


def _prices(*rows: tuple[str, str, str, str]) -> pa.Table:
    return pa.table(
        {
            "isin": [r[0] for r in rows],
            "date": [dt.date.fromisoformat(r[1]) for r in rows],
            "close": [D(r[2]) for r in rows],
            "currency": [r[3] for r in rows],
        }
    )


def _composition(fund: str, as_of: str, *parts: tuple[str | None, str, str, str | None, str | None]) -> pa.Table:
    return pa.table(
        {
            "fund_isin": [fund] * len(parts),
            "as_of": [dt.date.fromisoformat(as_of)] * len(parts),
            "constituent_isin": [p[0] for p in parts],
            "constituent_name": [p[1] for p in parts],
            "weight": [D(p[2]) for p in parts],
            "country": [p[3] for p in parts],
            "sector": [p[4] for p in parts],
            "currency": ["USD" if p[3] == "US" else "EUR" for p in parts],
            "asset_class": ["Equity" if p[0] else None for p in parts],
        }
    )


def _nested_funds(lake: Lake) -> None:
    write_rows(
        lake,
        ETF_HOLDINGS,
        _composition(
            FUND_A, "2024-01-31", (STOCK_X, "X Corp", "0.5", "US", "Technology"), (FUND_B, "Fund B", "0.5", "IE", None)
        ),
    )
    write_rows(
        lake,
        ETF_HOLDINGS,
        _composition(
            FUND_B,
            "2024-02-29",
            (STOCK_X, "X Corp", "0.6", "US", "Technology"),
            (STOCK_Y, "Y AG", "0.3", "DE", "Industrials"),
        ),
    )
    # A later composition of A (all X) must not be used for a day before it.
    write_rows(lake, ETF_HOLDINGS, _composition(FUND_A, "2024-06-30", (STOCK_X, "X Corp", "1", "US", "Technology")))


async def _book_with_fund_a(db: Database, lake: Lake) -> tuple[uuid.UUID, uuid.UUID]:
    book = await make_book(db, assets=1)  # asset 0 is FUND_A (an ETF in EUR)
    portfolio = book.portfolios[0]
    await record(
        db, book.owner, entry(portfolio, "buy", "2024-01-02", asset_id=book.assets[0], quantity="10", price="90")
    )
    write_rows(lake, PRICES, _prices((FUND_A, "2024-03-14", "100", "EUR"), (FUND_A, "2024-03-18", "120", "EUR")))
    _nested_funds(lake)
    return book.owner, portfolio


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("security", {STOCK_X: "800.00", STOCK_Y: "150.00"}),
        ("country", {"US": "800.00", "DE": "150.00"}),
        ("sector", {"Technology": "800.00", "Industrials": "150.00"}),
        ("asset_class", {"Equity": "950.00"}),
    ],
)
async def test_a_fund_of_funds_is_looked_through_with_the_unlisted_share_unresolved(
    db: Database, lake: Lake, by: str, expected: dict[str, str]
) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    report = await exposure(db, lake, owner, by=by, on=DAY, portfolio_id=portfolio)  # type: ignore[arg-type]
    assert {g.key: str(g.value) for g in report.groups} == expected
    assert (report.total, report.unresolved_value, report.unresolved_weight) == (D(1000), D(50), D("0.05"))
    assert report.currency == "EUR"
    assert report.compositions == {FUND_A: dt.date(2024, 1, 31), FUND_B: dt.date(2024, 2, 29)}
    assert (report.prices_from, report.prices_to) == (dt.date(2024, 3, 14), dt.date(2024, 3, 14))
    if by == "security":
        assert [(g.label, g.weight) for g in report.groups] == [("X Corp", D("0.8")), ("Y AG", D("0.15"))]


async def test_the_latest_composition_and_close_on_or_before_the_day_are_used(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    report = await exposure(db, lake, owner, by="security", on=dt.date(2024, 7, 1), portfolio_id=portfolio)
    assert {g.key: g.value for g in report.groups} == {STOCK_X: D(1200)}
    assert report.unresolved_value == 0
    assert report.compositions == {FUND_A: dt.date(2024, 6, 30)}


async def test_holdings_without_a_close_are_listed_as_unpriced_not_dropped(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    report = await exposure(db, lake, owner, by="country", on=dt.date(2024, 3, 1), portfolio_id=portfolio)
    assert report.total == 0
    assert report.groups == []
    assert [(u.isin, u.quantity, u.reason) for u in report.unpriced] == [(FUND_A, D(10), "no close")]


async def test_all_portfolios_are_valued_in_the_owners_base_currency(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)

    stock = new_asset(owner, name="X Corp", kind="stock", currency="USD", isin=STOCK_X)

    def stock_in_usd(connection: Connection) -> None:
        save_asset(connection, owner, stock)
        put_setting(connection, owner, "base_currency", "currency", "USD")

    await db.write(stock_in_usd)
    bought = entry(
        portfolio, "buy", "2024-01-03", asset_id=stock.id, quantity="2", price="50", currency="USD", fx_rate="1.25"
    )
    await record(db, owner, bought)
    write_rows(lake, PRICES, _prices((STOCK_X, "2024-03-15", "100", "USD")))
    write_rows(lake, FX, pa.table({"pair": ["EURUSD"], "date": [dt.date(2024, 3, 1)], "rate": [D("1.25")]}))
    report = await exposure(db, lake, owner, by="currency", on=DAY)
    # The fund: 1,000 EUR = 1,250 USD (X 1,000 in USD, Y 187.50 in EUR, 62.50 unresolved); X directly 200 USD.
    assert report.currency == "USD"
    assert {g.key: g.value for g in report.groups} == {"USD": D(1200), "EUR": D("187.50")}
    assert (report.total, report.unresolved_value) == (D(1450), D("62.50"))


async def test_overlap_of_a_fund_and_the_fund_it_holds(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    fund_b = new_asset(owner, name="Fund B", kind="etf", currency="EUR", isin=FUND_B)
    await db.write(save_asset, owner, fund_b)
    await record(db, owner, entry(portfolio, "buy", "2024-01-03", asset_id=fund_b.id, quantity="5", price="40"))
    write_rows(lake, PRICES, _prices((FUND_B, "2024-03-14", "50", "EUR")))
    report = await overlap_report(db, lake, owner, on=DAY, portfolio_id=portfolio)
    # A is X 0.8, Y 0.15; B is X 0.6, Y 0.3: in common min(0.8, 0.6) + min(0.15, 0.3) = 0.75.
    assert [(p.first, p.second, p.share) for p in report.pairs] == [(FUND_A, FUND_B, D("0.75"))]
    # X: 800 through A and 150 through B; Y: 150 through A and 75 through B.
    assert [(s.key, s.funds, s.value) for s in report.securities] == [
        (STOCK_X, (FUND_A, FUND_B), D(950)),
        (STOCK_Y, (FUND_A, FUND_B), D(225)),
    ]


async def test_a_new_composition_import_is_used_by_the_very_next_request(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    before = await exposure(db, lake, owner, by="security", on=DAY, portfolio_id=portfolio)
    assert {g.key: g.value for g in before.groups} == {STOCK_X: D(800), STOCK_Y: D(150)}
    # B's composition of the same day is replaced: the day's selection of compositions is
    # unchanged, only the dataset's version tells the flattening that was cached is stale.
    write_rows(lake, ETF_HOLDINGS, _composition(FUND_B, "2024-02-29", (STOCK_Y, "Y AG", "1", "DE", "Industrials")))
    after = await exposure(db, lake, owner, by="security", on=DAY, portfolio_id=portfolio)
    assert {g.key: g.value for g in after.groups} == {STOCK_X: D(500), STOCK_Y: D(500)}
    assert after.unresolved_value == 0
    assert after.compositions == before.compositions


async def test_days_with_different_compositions_each_get_their_own_look_through(db: Database, lake: Lake) -> None:
    owner, portfolio = await _book_with_fund_a(db, lake)
    write_rows(lake, PRICES, _prices((FUND_A, "2024-07-01", "100", "EUR")))
    # Ten days, ten compositions of A: more selections than the cache keeps, asked twice over.
    days = [dt.date(2024, 7, n) for n in range(1, 11)]
    for n, day in enumerate(days, start=1):
        parts = [
            (STOCK_X, "X Corp", f"{n / 10}", "US", "Technology"),
            (STOCK_Y, "Y AG", f"{1 - n / 10:.1f}", "DE", None),
        ]
        write_rows(lake, ETF_HOLDINGS, _composition(FUND_A, day.isoformat(), *parts))
    for day in days * 2:
        report = await exposure(db, lake, owner, by="security", on=day, portfolio_id=portfolio)
        expected = {STOCK_X: D(100 * day.day), STOCK_Y: D(1000 - 100 * day.day)}
        assert {g.key: g.value for g in report.groups} == {k: v for k, v in expected.items() if v}, day
        assert report.compositions == {FUND_A: day}
