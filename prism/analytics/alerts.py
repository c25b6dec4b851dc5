"""Alert rules evaluated when prices arrive: what crossed a threshold, once per rule and day.

Called after a market price import with the ISINs it wrote and the earliest day it
touched. For every owner with enabled rules about those ISINs:

* ``price_above`` / ``price_below`` (a rule on an asset) fire on each day from
  ``earliest`` whose close is beyond the threshold while the close before it was not
  (or there was none): a crossing, not every day spent beyond it. A rule with its own
  currency compares the close converted into it (FX as of that day).
* ``daily_change_above_pct`` / ``daily_change_below_pct`` (on an asset) fire on each
  such day whose change from the previous close, in percent of the close's own
  currency, is beyond the threshold (``below -5`` fires on a fall of more than 5%).
* ``value_above`` / ``value_below`` (on a portfolio holding one of the ISINs) compare
  the portfolio's value on the latest day imported (current quantities x closes x
  rates, in the rule's currency or the portfolio's) with the day before, and fire
  on a crossing. Holdings without a close are left out of the value.

Events are stored once per (rule, day) (:mod:`prism.storage.alert_events`), so
evaluating the same import twice adds nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import decimal
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Connection, and_, select

from prism.analytics.exposure import HeldAsset, held_assets
from prism.analytics.prices import Close, closes_as_of, conversion_series, rates_as_of
from prism.domain.money import divide
from prism.storage.alert_events import AlertEvent, record_alert_events
from prism.storage.annotations import AlertCondition
from prism.storage.engine import Database
from prism.storage.lake import PRICES, Lake
from prism.storage.tables import alert_rules, assets, portfolios, positions

__all__ = ["evaluate_alerts"]

_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_PRICE = frozenset({AlertCondition.PRICE_ABOVE, AlertCondition.PRICE_BELOW})
_CHANGE = frozenset({AlertCondition.DAILY_CHANGE_ABOVE_PCT, AlertCondition.DAILY_CHANGE_BELOW_PCT})
_VALUE = frozenset({AlertCondition.VALUE_ABOVE, AlertCondition.VALUE_BELOW})
_ABOVE = frozenset({AlertCondition.PRICE_ABOVE, AlertCondition.DAILY_CHANGE_ABOVE_PCT, AlertCondition.VALUE_ABOVE})
_HUNDRED = Decimal(100)


class _Rule(NamedTuple):
    owner_id: uuid.UUID
    rule_id: uuid.UUID
    condition: AlertCondition
    threshold: Decimal
    currency: str | None
    asset_id: uuid.UUID | None
    portfolio_id: uuid.UUID | None
    isin: str | None  # of an asset rule


def _rules_touching(connection: Connection, isins: list[str]) -> list[_Rule]:
    r, a, p, c = alert_rules.c, assets.c, portfolios.c, positions.c
    live = and_(r.enabled.is_(True), r.deleted_at.is_(None))
    on_assets = (
        select(r.owner_id, r.id, r.condition, r.threshold, r.currency, r.asset_id, r.portfolio_id, a.isin)
        .join(assets, and_(a.owner_id == r.owner_id, a.id == r.asset_id))
        .where(live, a.isin.in_(isins), r.condition.in_([str(x) for x in _PRICE | _CHANGE]))
    )
    holding = (
        select(c.portfolio_id)
        .join(assets, and_(a.owner_id == c.owner_id, a.id == c.asset_id))
        .where(c.owner_id == r.owner_id, c.portfolio_id == r.portfolio_id, c.quantity != 0, a.isin.in_(isins))
        .exists()
    )
    on_portfolios = (
        select(r.owner_id, r.id, r.condition, r.threshold, r.currency, r.asset_id, r.portfolio_id)
        .join(portfolios, and_(p.owner_id == r.owner_id, p.id == r.portfolio_id, p.deleted_at.is_(None)))
        .where(live, r.condition.in_([str(x) for x in _VALUE]), holding)
    )
    found = [
        _Rule(o, i, AlertCondition(k), t, ccy, asset, pf, isin)
        for o, i, k, t, ccy, asset, pf, isin in connection.execute(on_assets)
    ]
    found += [
        _Rule(o, i, AlertCondition(k), t, ccy, asset, pf, None)
        for o, i, k, t, ccy, asset, pf in connection.execute(on_portfolios)
    ]
    return found


def _beyond(condition: AlertCondition, observed: Decimal, threshold: Decimal) -> bool:
    return observed > threshold if condition in _ABOVE else observed < threshold


def _event(rule: _Rule, day: dt.date, observed: Decimal, currency: str | None, now: dt.datetime) -> AlertEvent:
    return AlertEvent(
        rule.owner_id,
        rule.rule_id,
        day,
        rule.condition.value,
        rule.threshold,
        observed,
        currency,
        rule.asset_id,
        rule.portfolio_id,
        now,
    )


class _Series(NamedTuple):
    """Closes of one ISIN: the one before ``earliest`` (if any), then every one from it."""

    before: Close | None
    closes: list[Close]


def _closes_from(lake: Lake, isins: list[str], earliest: dt.date) -> dict[str, _Series]:
    before = closes_as_of(lake, isins, earliest - dt.timedelta(days=1))
    rows = lake.query(
        f"""SELECT isin, date, close, currency FROM {lake.scan(PRICES)}
            WHERE isin IN (SELECT unnest($isins)) AND date >= $earliest ORDER BY isin, date""",
        {"isins": isins, "earliest": earliest},
    ).to_pylist()
    found: dict[str, list[Close]] = defaultdict(list)
    for row in rows:
        found[row["isin"]].append(Close(row["close"], row["currency"], row["date"]))
    return {isin: _Series(before.get(isin), found.get(isin, [])) for isin in isins}


class _Rates:
    """Daily rates into one currency, looked up as of a day."""

    def __init__(self, lake: Lake, currencies: set[str], base: str, end: dt.date) -> None:
        series = conversion_series(lake, currencies, base, end).to_pylist()
        self._days: dict[str, list[dt.date]] = defaultdict(list)
        self._rates: dict[str, list[Decimal]] = defaultdict(list)
        for row in series:
            self._days[row["currency"]].append(row["date"])
            self._rates[row["currency"]].append(row["rate"])

    def on(self, currency: str, day: dt.date) -> Decimal | None:
        at = bisect.bisect_right(self._days.get(currency, []), day)
        return self._rates[currency][at - 1] if at else None


def _in_currency(close: Close, target: str | None, rates: dict[str, _Rates]) -> tuple[Decimal, str] | None:
    if target is None or target == close.currency:
        return close.close, close.currency
    rate = rates[target].on(close.currency, close.date)
    return None if rate is None else (_CONTEXT.multiply(close.close, rate), target)


def _asset_events(lake: Lake, rules: Sequence[_Rule], earliest: dt.date, now: dt.datetime) -> list[AlertEvent]:
    isins = sorted({rule.isin for rule in rules if rule.isin})
    series = _closes_from(lake, isins, earliest)
    end = max((s.closes[-1].date for s in series.values() if s.closes), default=earliest)
    currencies = {close.currency for s in series.values() for close in [*s.closes, *([s.before] if s.before else [])]}
    rates = {
        target: _Rates(lake, currencies, target, end)
        for target in {rule.currency for rule in rules if rule.currency and rule.condition in _PRICE}
    }
    events: list[AlertEvent] = []
    for rule in rules:
        found = series.get(rule.isin or "")
        if found is None:
            continue
        previous = found.before
        for close in found.closes:
            if rule.condition in _CHANGE:
                if previous is not None and previous.close and previous.currency == close.currency:
                    change = divide(_CONTEXT.multiply(close.close - previous.close, _HUNDRED), previous.close)
                    if _beyond(rule.condition, change, rule.threshold):
                        events.append(_event(rule, close.date, change, None, now))
            else:
                now_in = _in_currency(close, rule.currency, rates)
                before_in = _in_currency(previous, rule.currency, rates) if previous is not None else None
                crossed = now_in is not None and _beyond(rule.condition, now_in[0], rule.threshold)
                if (
                    now_in is not None
                    and crossed
                    and (before_in is None or not _beyond(rule.condition, before_in[0], rule.threshold))
                ):
                    events.append(_event(rule, close.date, now_in[0], now_in[1], now))
            previous = close
    return events


def _value_on(lake: Lake, held: Sequence[HeldAsset], currency: str, day: dt.date) -> Decimal | None:
    closes = closes_as_of(lake, [h.isin for h in held if h.isin], day)
    rates = rates_as_of(lake, {close.currency for close in closes.values()}, currency, day)
    total: Decimal | None = None
    for asset in held:
        close = closes.get(asset.isin or "")
        rate = rates.get(close.currency) if close is not None else None
        if close is not None and rate is not None:
            amount = _CONTEXT.multiply(_CONTEXT.multiply(asset.quantity, close.close), rate)
            total = amount if total is None else _CONTEXT.add(total, amount)
    return total


def _value_events(
    lake: Lake, rules: Sequence[tuple[_Rule, str, list[HeldAsset]]], day: dt.date, now: dt.datetime
) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for rule, base, held in rules:
        currency = rule.currency or base
        value = _value_on(lake, held, currency, day)
        if value is None or not _beyond(rule.condition, value, rule.threshold):
            continue
        before = _value_on(lake, held, currency, day - dt.timedelta(days=1))
        if before is None or not _beyond(rule.condition, before, rule.threshold):
            events.append(_event(rule, day, value.quantize(Decimal("1e-10"), context=_CONTEXT), currency, now))
    return events


def _latest_day(lake: Lake, isins: list[str], earliest: dt.date) -> dt.date | None:
    rows = lake.query(
        f"SELECT max(date) FROM {lake.scan(PRICES)} WHERE isin IN (SELECT unnest($isins)) AND date >= $earliest",
        {"isins": isins, "earliest": earliest},
    )
    latest: dt.date | None = rows.column(0)[0].as_py()
    return latest


def _portfolio_holdings(connection: Connection, rules: list[_Rule]) -> list[tuple[_Rule, str, list[HeldAsset]]]:
    found = []
    for rule in rules:
        if rule.portfolio_id is not None:
            base, held = held_assets(connection, rule.owner_id, rule.portfolio_id)
            found.append((rule, base, held))
    return found


async def evaluate_alerts(database: Database, lake: Lake, isins: Collection[str], earliest: dt.date) -> int:
    """Evaluate every enabled rule about ``isins`` from ``earliest`` on; how many events are new."""
    wanted = sorted(set(isins))
    if not wanted:
        return 0
    rules = await database.read(_rules_touching, wanted)
    if not rules:
        return 0
    now = dt.datetime.now(dt.UTC)
    on_assets = [rule for rule in rules if rule.isin is not None]
    on_portfolios = [rule for rule in rules if rule.portfolio_id is not None and rule.condition in _VALUE]
    events: list[AlertEvent] = []
    if on_assets:
        events += await asyncio.to_thread(_asset_events, lake, on_assets, earliest, now)
    if on_portfolios:
        latest = await asyncio.to_thread(_latest_day, lake, wanted, earliest)
        if latest is not None:
            holdings = await database.read(_portfolio_holdings, on_portfolios)
            events += await asyncio.to_thread(_value_events, lake, holdings, latest, now)
    if not events:
        return 0
    return await database.write(record_alert_events, events)
