"""Value history and performance against figures worked out by hand.

Every test runs on SQLite and PostgreSQL, each with the lake in a folder and on S3.
The worked example (portfolio P1, base EUR; stock S closes 100, 110, 99, 121, then
no close on the 5th, so 121 carries forward):

======  =====================================  ======  =====  ======  ========
day     entries                                 S held  cash   value   return
======  =====================================  ======  =====  ======  ========
01-01   deposit 2000; buy 5 @ 100                  5   1500    2000   0 (2000 in)
01-02   buy 5 @ 110                               10    950    2050   2050/2000 - 1
01-03   sell 4 @ 99, fee 1                         6   1345    1939   1939/2050 - 1
01-04   withdraw 100                               6   1245    1971   2071/1939 - 1
01-05   dividend 6, tax 1                          6   1250    1976   1976/1971 - 1
======  =====================================  ======  =====  ======  ========

FIFO sells the 100-lot: realised 395 - 400 = -5, 650 of cost left (unrealised 726 - 650
= 76). Moving average sells at 105: realised 395 - 420 = -25, 630 left (unrealised 96).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pytest

from prism.analytics.history import performance, value_history
from prism.analytics.snapshots import refresh_snapshots
from prism.domain.positions import CostMethod
from prism.errors import NotFoundError, ValidationError
from prism.storage.engine import Database
from prism.storage.lake import FX, PRICES, RESULTS, Lake, write_rows
from prism.storage.ledger import delete_transaction
from tests.builders import D, entry, make_book, record

S, U = "IE00B4L5Y983", "US0378331005"


def day(n: int) -> dt.date:
    return dt.date(2024, 1, n)


def closes(isin: str, currency: str, values: dict[int, str]) -> pa.Table:
    return pa.table(
        {
            "isin": [isin] * len(values),
            "date": [day(n) for n in values],
            "close": [Decimal(v) for v in values.values()],
            "currency": [currency] * len(values),
        }
    )


def fraction(value: Decimal) -> Fraction:
    return Fraction(value)


def close_to(value: Decimal, expected: Fraction, places: int = 12) -> bool:
    return abs(fraction(value) - expected) <= Fraction(1, 10**places)


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return tmp_path / "lake.lock"


async def worked_example(db: Database, lake: Lake) -> tuple[uuid.UUID, uuid.UUID]:
    book = await make_book(db, portfolios=("EUR",), assets=1)
    p, s = book.portfolios[0], book.assets[0]
    write_rows(lake, PRICES, closes(S, "EUR", {1: "100", 2: "110", 3: "99", 4: "121"}))
    await record(
        db,
        book.owner,
        entry(p, "deposit", day(1), amount="2000"),
        entry(p, "buy", day(1), asset_id=s, quantity="5", price="100"),
        entry(p, "buy", day(2), asset_id=s, quantity="5", price="110"),
        entry(p, "sell", day(3), asset_id=s, quantity="4", price="99", fee="1"),
        entry(p, "withdrawal", day(4), amount="100"),
        entry(p, "dividend", day(5), asset_id=s, amount="6", tax="1"),
    )
    return book.owner, p


async def test_daily_values_carry_closes_over_days_without_one(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    history = await value_history(db, lake, lock, owner, p)
    assert history.currency == "EUR"
    got = [(d.date, d.value, d.securities, d.cash, d.inflow, d.outflow) for d in history.days]
    assert got == [
        (day(1), D(2000), D(500), D(1500), D(2000), D(0)),
        (day(2), D(2050), D(1100), D(950), D(0), D(0)),
        (day(3), D(1939), D(594), D(1345), D(0), D(0)),
        (day(4), D(1971), D(726), D(1245), D(0), D(100)),
        (day(5), D(1976), D(726), D(1250), D(0), D(0)),
    ]


async def test_performance_matches_the_hand_computed_figures(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    fifo = await performance(db, lake, lock, owner, p)
    assert close_to(fifo.ttwror, Fraction(2071, 2000) * Fraction(1976, 1971) - 1)
    assert (fifo.realized_gain, fifo.unrealized_gain) == (D(-5), D(76))
    assert (fifo.dividends, fifo.taxes, fifo.fees) == (D(6), D(1), D(1))
    average = await performance(db, lake, lock, owner, p, method=CostMethod.AVERAGE)
    assert (average.realized_gain, average.unrealized_gain) == (D(-25), D(96))
    # The deepest fall: from the 2nd (index 2050/2000) to the 3rd (1939/2000), recovered on the 4th.
    assert close_to(fifo.max_drawdown, Fraction(1939, 2050) - 1)
    assert (fifo.max_drawdown_duration_days, fifo.recovery_date) == (2, day(4))
    # IRR: -2000 at the start of the 1st, +100 and +1976 later; it must zero the present value.
    assert fifo.irr is not None
    growth = 1 + float(fifo.irr)
    present = -2000 + 100 / growth ** (4 / 365) + 1976 / growth ** (5 / 365)
    assert abs(present) < 1e-6


async def test_a_period_starts_from_the_day_before_it(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    found = await performance(db, lake, lock, owner, p, start=day(3), end=day(4))
    assert found.start_value == D(2050)
    assert close_to(found.ttwror, Fraction(2071, 2050) - 1)
    assert (found.realized_gain, found.fees, found.dividends) == (D(-5), D(1), D(0))


async def test_foreign_currency_delivery_and_split(db: Database, lake: Lake, lock: Path) -> None:
    """10 U delivered at 50 USD (rate 0.8 into EUR), a 2-for-1 split on the 3rd; EURUSD 1.25 then 1.6."""
    book = await make_book(db, portfolios=("EUR",), assets=2, asset_currency="USD")
    p, u = book.portfolios[0], book.assets[1]
    write_rows(lake, PRICES, closes(U, "USD", {1: "50", 2: "60", 3: "30"}))
    write_rows(lake, FX, pa.table({"pair": ["EURUSD"] * 2, "date": [day(1), day(3)], "rate": [D("1.25"), D("1.6")]}))
    await record(
        db,
        book.owner,
        entry(p, "delivery_in", day(1), currency="USD", asset_id=u, quantity="10", price="50", fx_rate="0.8"),
        entry(p, "split", day(3), currency="USD", asset_id=u, ratio="2"),
        entry(p, "deposit", day(4), amount="1"),
    )
    history = await value_history(db, lake, lock, book.owner, p)
    assert [(d.value, d.inflow) for d in history.days] == [
        (D(400), D(400)),  # 10 x 50 x 0.8, delivered in
        (D(480), D(0)),  # 10 x 60 x 0.8
        (D(375), D(0)),  # 20 x 30 x 0.625 after the split
        (D(376), D(1)),
    ]
    found = await performance(db, lake, lock, book.owner, p)
    assert close_to(found.ttwror, Fraction(480, 400) * Fraction(375, 480) * Fraction(376, 376) - 1)
    assert found.unrealized_gain == D(-25)  # 375 worth, 400 cost (in euros at the delivery's rate)


async def test_a_dollar_purchase_is_valued_at_each_days_rate(db: Database, lake: Lake, lock: Path) -> None:
    """5 U bought at 100 USD (fee 1, rate 0.8 into EUR) with euros deposited; EURUSD 1.25, then 1.6 on the 3rd.

    The dollars owed (-501 USD) are cash too, valued at the day's rate like the shares.
    """
    book = await make_book(db, portfolios=("EUR",), assets=2, asset_currency="USD")
    p, u = book.portfolios[0], book.assets[1]
    write_rows(lake, PRICES, closes(U, "USD", {1: "100", 2: "110"}))
    write_rows(lake, FX, pa.table({"pair": ["EURUSD"] * 2, "date": [day(1), day(3)], "rate": [D("1.25"), D("1.6")]}))
    await record(
        db,
        book.owner,
        entry(p, "deposit", day(1), amount="1000"),
        entry(p, "buy", day(1), currency="USD", asset_id=u, quantity="5", price="100", fee="1", fx_rate="0.8"),
        entry(p, "deposit", day(3), amount="0.01"),
    )
    history = await value_history(db, lake, lock, book.owner, p)
    assert [(d.securities, d.cash, d.value) for d in history.days] == [
        (D(400), D("599.2"), D("999.2")),  # 5 x 100 x 0.8; 1000 - 501 x 0.8
        (D(440), D("599.2"), D("1039.2")),  # 5 x 110 x 0.8
        (D("343.75"), D("686.885"), D("1030.635")),  # 5 x 110 x 0.625; 1000.01 - 501 x 0.625
    ]
    found = await performance(db, lake, lock, book.owner, p)
    assert found.fees == D("0.8")  # the 1 USD fee at the purchase's rate
    assert found.unrealized_gain == D("343.75") - D("400.8")  # cost: (500 + 1) x 0.8


async def test_a_back_dated_entry_recomputes_from_its_day(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    first = await refresh_snapshots(db, lake, lock, owner)
    assert first.recomputed_from == day(1)
    again = await refresh_snapshots(db, lake, lock, owner)
    assert again.recomputed_from is None  # nothing changed: nothing recomputed
    await record(db, owner, entry(p, "deposit", day(3), amount="10"))
    later = await refresh_snapshots(db, lake, lock, owner)
    assert later.recomputed_from == day(3)
    history = await value_history(db, lake, lock, owner, p)
    assert [d.value for d in history.days] == [D(2000), D(2050), D(1949), D(1981), D(1986)]


async def test_deleting_an_entry_recomputes_from_its_day(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    bonus = entry(p, "deposit", day(4), amount="50")
    await record(db, owner, bonus)
    await refresh_snapshots(db, lake, lock, owner)
    await db.write(delete_transaction, owner, bonus.id)
    assert (await refresh_snapshots(db, lake, lock, owner)).recomputed_from == day(4)
    history = await value_history(db, lake, lock, owner, p)
    assert [d.value for d in history.days] == [D(2000), D(2050), D(1939), D(1971), D(1976)]


async def test_a_corrected_close_recomputes_from_its_day_only(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    await refresh_snapshots(db, lake, lock, owner)
    undone = entry(p, "deposit", day(2), amount="50")  # recorded and deleted again: the ledger is as it was
    await record(db, owner, undone)
    await db.write(delete_transaction, owner, undone.id)
    write_rows(lake, PRICES, closes(S, "EUR", {4: "120"}))
    assert (await refresh_snapshots(db, lake, lock, owner)).recomputed_from == day(4)
    history = await value_history(db, lake, lock, owner, p)
    assert [d.value for d in history.days] == [D(2000), D(2050), D(1939), D(1965), D(1970)]


async def test_all_portfolios_leave_out_transfers_between_them(db: Database, lake: Lake, lock: Path) -> None:
    book = await make_book(db, portfolios=("EUR", "EUR"), assets=1)
    first, second = book.portfolios
    await record(
        db,
        book.owner,
        entry(first, "deposit", day(1), amount="1000"),
        entry(first, "transfer", day(2), amount="400", target_portfolio_id=second),
    )
    total = await value_history(db, lake, lock, book.owner, None)
    assert [(d.value, d.inflow, d.outflow) for d in total.days] == [(D(1000), D(1000), D(0)), (D(1000), D(0), D(0))]
    target = await value_history(db, lake, lock, book.owner, second)
    assert [(d.date, d.value, d.inflow) for d in target.days] == [(day(2), D(400), D(400))]


async def test_another_owners_portfolio_is_not_found(db: Database, lake: Lake, lock: Path) -> None:
    _, p = await worked_example(db, lake)
    stranger = await make_book(db, portfolios=("EUR",), assets=0)
    with pytest.raises(NotFoundError):
        await value_history(db, lake, lock, stranger.owner, p)


async def test_a_period_ending_before_it_starts_is_refused(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    with pytest.raises(ValidationError) as raised:
        await value_history(db, lake, lock, owner, p, start=day(4), end=day(2))
    assert raised.value.field == "end"


async def test_the_job_stores_standard_results_per_owner(db: Database, lake: Lake, lock: Path) -> None:
    owner, p = await worked_example(db, lake)
    await refresh_snapshots(db, lake, lock, owner)
    rows = lake.query(
        f"SELECT portfolio_id, period, metric, value FROM {lake.scan(RESULTS, owner)} WHERE metric = 'ttwror'"
    ).to_pylist()
    stored = {(row["portfolio_id"], row["period"]): row["value"] for row in rows}
    whole = await performance(db, lake, lock, owner, p)
    assert stored[(str(p), "all")] == str(whole.ttwror)
    assert stored[("all", "all")] == str(whole.ttwror)
    assert {period for _, period in stored} == {"all", "ytd", "1y"}
    stranger = uuid.uuid4()
    assert lake.query(f"SELECT * FROM {lake.scan(RESULTS, stranger)}").num_rows == 0


async def test_a_recompute_that_starts_after_the_last_close_carries_it_forward(
    db: Database, lake: Lake, lock: Path
) -> None:
    owner, p = await worked_example(db, lake)
    await value_history(db, lake, lock, owner, p)  # computed through the 5th
    await record(db, owner, entry(p, "deposit", day(7), amount="4"))  # recomputed from the 6th on

    history = await value_history(db, lake, lock, owner, p)

    got = [(d.date, d.value, d.securities, d.cash) for d in history.days[-3:]]
    assert got == [
        (day(5), D(1976), D(726), D(1250)),
        (day(6), D(1976), D(726), D(1250)),
        (day(7), D(1980), D(726), D(1254)),
    ]
