"""Look-through exposure and fund overlap of a portfolio (or of all an owner's portfolios).

Holdings are the current quantities of the positions projection, priced with the
lake's last close on or before the day and converted with the FX rates as of that day
(:mod:`prism.analytics.prices`). Priced holdings are expanded through the latest fund
compositions on or before the day (``etf_holdings``), funds of funds included: the
compositions are flattened once per import and day's selection
(:mod:`prism.analytics.compositions`), and a request multiplies and groups its
holdings against them in DuckDB (:mod:`prism.analytics.look_through`), which is the
domain's :func:`~prism.domain.exposure.look_through` at scale. What no composition
accounts for is *unresolved*; holdings without a close (or without an ISIN, or a
rate) are listed as *unpriced* with their quantity, never dropped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb
from sqlalchemy import Connection, and_, select

from prism.analytics.compositions import current_compositions
from prism.analytics.flattening import Listing
from prism.analytics.look_through import (
    VALUE_SCALE,
    Group,
    Holding,
    group_exposure_sql,
    overlap_shares,
    shared_securities,
)
from prism.analytics.prices import closes_as_of, rates_as_of
from prism.domain.exposure import Dimension
from prism.errors import StorageError, ValidationError
from prism.storage.catalog import get_portfolio
from prism.storage.engine import Database
from prism.storage.lake import Lake
from prism.storage.settings import get_setting
from prism.storage.tables import assets, portfolios, positions

__all__ = [
    "ExposureGroup",
    "ExposureReport",
    "FundOverlap",
    "HeldAsset",
    "OverlapReport",
    "SharedSecurity",
    "Unpriced",
    "exposure",
    "held_assets",
    "overlap_report",
]

#: Places of the amounts a report gives (its groups, totals, unresolved value).
VALUE_PLACES = Decimal("0.01")
#: Places of a report's weights and overlap shares (fractions of one).
SHARE_PLACES = Decimal("1e-6")
_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_HELD_VALUE = Decimal(1).scaleb(-VALUE_SCALE)
# An asset's kind says its asset class when its metadata does not.
_KIND_CLASSES = {"stock": "Equity", "bond": "Fixed Income", "cash": "Cash", "crypto": "Crypto", "etc": "Commodity"}


class HeldAsset(NamedTuple):
    """One asset held (summed over the portfolios asked for), with what the catalog says of it."""

    asset_id: uuid.UUID
    isin: str | None
    name: str
    currency: str
    quantity: Decimal
    country: str | None
    sector: str | None
    asset_class: str | None


class Unpriced(NamedTuple):
    """A holding the report could not value: its quantity and why."""

    asset_id: uuid.UUID
    isin: str | None
    name: str
    quantity: Decimal
    reason: str  # "no isin", "no close", "no rate"


class ExposureGroup(NamedTuple):
    """Value in one security, country, sector, currency or asset class."""

    key: str
    label: str
    value: Decimal
    weight: Decimal


@dataclass(frozen=True, slots=True)
class ExposureReport:
    """Exposure by one dimension on one day, in one currency."""

    by: Dimension
    date: dt.date
    currency: str
    total: Decimal
    groups: list[ExposureGroup]
    unresolved_value: Decimal
    unresolved_weight: Decimal
    unpriced: list[Unpriced]
    prices_from: dt.date | None  # the oldest close used
    prices_to: dt.date | None  # the newest close used
    compositions: dict[str, dt.date]  # fund ISIN -> the as_of of the composition used


class FundOverlap(NamedTuple):
    """The share two held funds hold in common (sum over securities of the smaller weight)."""

    first: str
    second: str
    share: Decimal


class SharedSecurity(NamedTuple):
    """A security held through several held funds, and its value through all of them."""

    key: str
    name: str | None
    funds: tuple[str, ...]
    value: Decimal


@dataclass(frozen=True, slots=True)
class OverlapReport:
    """Overlap of the held funds that have a composition."""

    date: dt.date
    currency: str
    funds: list[str]
    pairs: list[FundOverlap]
    securities: list[SharedSecurity]
    unpriced: list[Unpriced]
    compositions: dict[str, dt.date]


def _text(metadata: Mapping[str, Any], key: str) -> str | None:
    found = metadata.get(key)
    return found if isinstance(found, str) and found else None


def held_assets(
    connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None = None
) -> tuple[str, list[HeldAsset]]:
    """The base currency and the assets held now, by ISIN (a foreign portfolio id is not found).

    One portfolio is valued in its base currency; all of them in the owner's
    ``base_currency`` setting.
    """
    if portfolio_id is not None:
        currency = get_portfolio(connection, owner_id, portfolio_id).base_currency
    else:
        currency = str(get_setting(connection, owner_id, "base_currency").value)
    c, a, p = positions.c, assets.c, portfolios.c
    query = (
        select(c.asset_id, c.quantity, a.isin, a.name, a.kind, a.currency, a.metadata)
        .join(portfolios, and_(p.owner_id == c.owner_id, p.id == c.portfolio_id, p.deleted_at.is_(None)))
        .join(assets, and_(a.owner_id == c.owner_id, a.id == c.asset_id))
        .where(c.owner_id == owner_id, c.quantity != Decimal(0))
    )
    if portfolio_id is not None:
        query = query.where(c.portfolio_id == portfolio_id)
    found: dict[uuid.UUID, HeldAsset] = {}
    for asset_id, quantity, isin, name, kind, asset_currency, metadata in connection.execute(query):
        held = found.get(asset_id)
        if held is not None:
            found[asset_id] = held._replace(quantity=_CONTEXT.add(held.quantity, quantity))
            continue
        details = metadata or {}
        found[asset_id] = HeldAsset(
            asset_id,
            isin,
            name,
            asset_currency,
            quantity,
            _text(details, "country"),
            _text(details, "sector"),
            _text(details, "asset_class") or _KIND_CLASSES.get(kind),
        )
    held_now = [h for h in found.values() if h.quantity != 0]
    return currency, sorted(held_now, key=lambda h: (h.isin is None, h.isin or "", str(h.asset_id)))


class _Valued(NamedTuple):
    priced: list[tuple[HeldAsset, Decimal]]
    unpriced: list[Unpriced]
    oldest: dt.date | None
    newest: dt.date | None


def _value(lake: Lake, held: Sequence[HeldAsset], currency: str, on: dt.date) -> _Valued:
    closes = closes_as_of(lake, [h.isin for h in held if h.isin], on)
    rates = rates_as_of(lake, {close.currency for close in closes.values()}, currency, on)
    priced: list[tuple[HeldAsset, Decimal]] = []
    unpriced: list[Unpriced] = []
    days: list[dt.date] = []
    for asset in held:
        close = closes.get(asset.isin) if asset.isin else None
        rate = rates.get(close.currency) if close is not None else None
        if close is None or rate is None:
            reason = "no isin" if not asset.isin else "no close" if close is None else "no rate"
            unpriced.append(Unpriced(asset.asset_id, asset.isin, asset.name, asset.quantity, reason))
            continue
        amount = _CONTEXT.multiply(_CONTEXT.multiply(asset.quantity, close.close), rate)
        priced.append((asset, amount.quantize(_HELD_VALUE, context=_CONTEXT)))
        days.append(close.date)
    return _Valued(priced, unpriced, min(days, default=None), max(days, default=None))


def _holdings(priced: Sequence[tuple[HeldAsset, Decimal]]) -> list[Holding]:
    return [
        Holding(Listing(a.isin or "", a.name, a.country, a.sector, a.currency, a.asset_class), value)
        for a, value in priced
    ]


def _share(value: Decimal, total: Decimal) -> Decimal:
    if not total:
        return Decimal(0).quantize(SHARE_PLACES)
    return _CONTEXT.divide(value, total).quantize(SHARE_PLACES, context=_CONTEXT)


def _money(value: Decimal) -> Decimal:
    return value.quantize(VALUE_PLACES, context=_CONTEXT)


def _groups(found: Sequence[Group], total: Decimal) -> list[ExposureGroup]:
    """The report's groups, largest first (then by key).

    Up to tens of thousands of them (by security), so the rounding is inlined, and
    the rows, which come largest first, are only sorted when they are not in order.
    """
    quantize, divide, context = Decimal.quantize, _CONTEXT.divide, _CONTEXT
    zero = Decimal(0).quantize(SHARE_PLACES)
    groups = [
        ExposureGroup(
            label,
            name or label,
            quantize(value, VALUE_PLACES, context=context),
            quantize(divide(value, total), SHARE_PLACES, context=context) if total else zero,
        )
        for label, name, value in found
    ]
    if any(a.value < b.value or (a.value == b.value and a.key > b.key) for a, b in itertools.pairwise(groups)):
        groups.sort(key=lambda g: (-g.value, g.key))
    return groups


def _in_lake(work: Any, *args: Any) -> Any:
    try:
        return work(*args)
    except duckdb.Error as error:
        raise StorageError(f"the lake query failed: {error}") from None
    except OverflowError as error:
        raise ValidationError(str(error)) from None


def _exposure_in_lake(lake: Lake, held: list[HeldAsset], currency: str, by: Dimension, on: dt.date) -> ExposureReport:
    valued = _value(lake, held, currency, on)
    total = sum((value for _, value in valued.priced), Decimal(0))
    holdings = _holdings(valued.priced)
    with current_compositions(lake, on) as found:
        cursor = lake.cursor()
        try:
            grouped = group_exposure_sql(cursor, found.tables, holdings, by)
        finally:
            cursor.close()
        compositions = found.reached(h.listing.key for h in holdings)
    groups = _groups(grouped.groups, total)
    return ExposureReport(
        by=by,
        date=on,
        currency=currency,
        total=_money(total),
        groups=groups,
        unresolved_value=_money(grouped.unresolved),
        unresolved_weight=_share(grouped.unresolved, total),
        unpriced=valued.unpriced,
        prices_from=valued.oldest,
        prices_to=valued.newest,
        compositions=compositions,
    )


async def exposure(
    database: Database,
    lake: Lake,
    owner_id: uuid.UUID,
    *,
    by: Dimension,
    on: dt.date,
    portfolio_id: uuid.UUID | None = None,
) -> ExposureReport:
    """Look-through exposure ``by`` one dimension on ``on``, of one portfolio or of all."""
    currency, held = await database.read(held_assets, owner_id, portfolio_id)
    report: ExposureReport = await asyncio.to_thread(_in_lake, _exposure_in_lake, lake, held, currency, by, on)
    return report


def _overlap_in_lake(lake: Lake, held: list[HeldAsset], currency: str, on: dt.date, limit: int) -> OverlapReport:
    valued = _value(lake, held, currency, on)
    with current_compositions(lake, on) as found:
        funds = [asset for asset in held if asset.isin in found.tables.fund_ids]
        keys = [fund.isin or "" for fund in funds]
        priced = [(asset, value) for asset, value in valued.priced if asset.isin in found.tables.fund_ids]
        cursor = lake.cursor()
        try:
            pairs = [
                FundOverlap(keys[first], keys[second], share.quantize(SHARE_PLACES, context=_CONTEXT))
                for first, second, share in overlap_shares(cursor, found.tables, keys)
            ]
            rows = shared_securities(cursor, found.tables, _holdings(priced), limit)
        finally:
            cursor.close()
        compositions = found.reached(keys)
    securities = [
        SharedSecurity(key, name, tuple(priced[root][0].isin or "" for root in roots), _money(value))
        for key, name, roots, value in rows
    ]
    return OverlapReport(
        date=on,
        currency=currency,
        funds=keys,
        pairs=sorted(pairs, key=lambda p: (-p.share, p.first, p.second)),
        securities=securities,
        unpriced=valued.unpriced,
        compositions=compositions,
    )


async def overlap_report(
    database: Database,
    lake: Lake,
    owner_id: uuid.UUID,
    *,
    on: dt.date,
    portfolio_id: uuid.UUID | None = None,
    limit: int = 100,
) -> OverlapReport:
    """Pairwise overlap of the held funds, and the ``limit`` largest securities held through several."""
    currency, held = await database.read(held_assets, owner_id, portfolio_id)
    report: OverlapReport = await asyncio.to_thread(_in_lake, _overlap_in_lake, lake, held, currency, on, limit)
    return report
