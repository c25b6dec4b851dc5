"""Alert rules evaluated after a price import, on both databases and both lakes."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
from sqlalchemy import Connection

from prism.analytics.alerts import evaluate_alerts
from prism.domain.ids import new_id
from prism.storage.alert_events import AlertEvent, list_alert_events
from prism.storage.annotations import AlertCondition, AlertRule, save_alert_rule
from prism.storage.engine import Database
from prism.storage.lake import FX, PRICES, Lake, write_rows
from tests.builders import ISINS, D, entry, make_book, record

STOCK = ISINS[0]  # the book's first asset, in EUR


def _closes(*rows: tuple[str, str]) -> pa.Table:
    return pa.table(
        {
            "isin": [STOCK] * len(rows),
            "date": [dt.date.fromisoformat(day) for day, _ in rows],
            "close": [D(close) for _, close in rows],
            "currency": ["EUR"] * len(rows),
        }
    )


async def _rules(db: Database, owner: uuid.UUID, *rules: AlertRule) -> list[uuid.UUID]:
    def save(connection: Connection) -> list[uuid.UUID]:
        return [save_alert_rule(connection, owner, rule).id for rule in rules]

    return await db.write(save)


async def _events(db: Database, owner: uuid.UUID) -> list[AlertEvent]:
    return await db.read(list_alert_events, owner)


async def test_a_crossing_fires_once_per_rule_and_day_and_never_twice(db: Database, lake: Lake) -> None:
    book = await make_book(db, assets=1)
    asset = book.assets[0]
    above, below, jump, off = await _rules(
        db,
        book.owner,
        AlertRule(new_id(), AlertCondition.PRICE_ABOVE, D(100), asset_id=asset),
        AlertRule(new_id(), AlertCondition.PRICE_BELOW, D(80), asset_id=asset),
        AlertRule(new_id(), AlertCondition.DAILY_CHANGE_ABOVE_PCT, D(10), asset_id=asset),
        AlertRule(new_id(), AlertCondition.PRICE_ABOVE, D(50), asset_id=asset, enabled=False),
    )
    written = write_rows(lake, PRICES, _closes(("2024-03-01", "90"), ("2024-03-04", "110"), ("2024-03-05", "120")))
    assert written.earliest is not None
    assert await evaluate_alerts(db, lake, [STOCK], written.earliest) == 2
    found = {(e.rule_id, e.day): e.observed for e in await _events(db, book.owner)}
    # 90 -> 110 crosses 100 once (120 stays above); +22.2% on the 4th, +9.1% on the 5th.
    assert found == {
        (above, dt.date(2024, 3, 4)): D(110),
        (jump, dt.date(2024, 3, 4)): Decimal("22.222222222222"),
    }
    assert below not in {rule for rule, _ in found}
    assert off not in {rule for rule, _ in found}
    assert await evaluate_alerts(db, lake, [STOCK], written.earliest) == 0  # evaluated again: nothing new
    # The next import falls below and rises again: a second crossing, on its own day.
    later = write_rows(lake, PRICES, _closes(("2024-03-06", "95"), ("2024-03-07", "101")))
    assert later.earliest is not None
    assert await evaluate_alerts(db, lake, [STOCK], later.earliest) == 1
    newest = (await _events(db, book.owner))[0]
    assert (newest.rule_id, newest.day) == (above, dt.date(2024, 3, 7))


async def test_a_rule_in_another_currency_compares_the_converted_close(db: Database, lake: Lake) -> None:
    book = await make_book(db, assets=1)
    (rule,) = await _rules(
        db, book.owner, AlertRule(new_id(), AlertCondition.PRICE_ABOVE, D(120), asset_id=book.assets[0], currency="USD")
    )
    write_rows(lake, FX, pa.table({"pair": ["EURUSD"], "date": [dt.date(2024, 3, 1)], "rate": [D("1.25")]}))
    written = write_rows(lake, PRICES, _closes(("2024-03-01", "90"), ("2024-03-04", "100")))
    assert written.earliest is not None
    assert await evaluate_alerts(db, lake, [STOCK], written.earliest) == 1
    (event,) = await _events(db, book.owner)
    assert (event.rule_id, event.day, event.observed, event.currency) == (rule, dt.date(2024, 3, 4), D(125), "USD")


async def test_a_portfolio_value_rule_fires_when_the_latest_day_crosses(db: Database, lake: Lake) -> None:
    book = await make_book(db, assets=1)
    portfolio = book.portfolios[0]
    await record(
        db, book.owner, entry(portfolio, "buy", "2024-01-02", asset_id=book.assets[0], quantity="10", price="90")
    )
    (rule,) = await _rules(
        db, book.owner, AlertRule(new_id(), AlertCondition.VALUE_ABOVE, D(1000), portfolio_id=portfolio)
    )
    written = write_rows(lake, PRICES, _closes(("2024-03-04", "99"), ("2024-03-05", "101")))
    assert written.earliest is not None
    assert await evaluate_alerts(db, lake, [STOCK], written.earliest) == 1
    assert await evaluate_alerts(db, lake, [STOCK], written.earliest) == 0
    (event,) = await _events(db, book.owner)
    assert (event.rule_id, event.day, event.observed, event.currency) == (rule, dt.date(2024, 3, 5), D(1010), "EUR")
    assert event.portfolio_id == portfolio


async def test_isins_no_rule_is_about_fire_nothing(db: Database, lake: Lake) -> None:
    book = await make_book(db, assets=1)
    await _rules(db, book.owner, AlertRule(new_id(), AlertCondition.PRICE_ABOVE, D(1), asset_id=book.assets[0]))
    write_rows(lake, PRICES, _closes(("2024-03-01", "90")))
    assert await evaluate_alerts(db, lake, ["US0378331005"], dt.date(2024, 3, 1)) == 0
    assert await _events(db, book.owner) == []
