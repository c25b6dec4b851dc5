"""Which held funds each security comes through: the ``sources`` of ``get_true_holdings``.

The look-through service sums a security over every path to it; the X-ray view also
lists the funds it comes through, with the value through each and the security's
weight in that fund (funds of funds flattened). This values the held funds exactly as
the look-through does (the lake's last close on or before the day, converted with the
rates of that day) and multiplies them with the same flattened compositions, in DuckDB
on the same cached tables; only (security, fund) pairs come back to Python.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb

from prism.analytics.compositions import current_compositions
from prism.analytics.exposure import HeldAsset
from prism.analytics.flattening import Listing
from prism.analytics.look_through import Holding, load_held
from prism.analytics.prices import closes_as_of, rates_as_of
from prism.storage.lake import Lake

__all__ = ["Source", "Through", "fund_sources"]

_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_VALUE_PLACES = Decimal("1e-10")
_BATCH = 2048


class Source(NamedTuple):
    """One fund a security is held through: the value through it, the security's weight in it."""

    fund: str
    value: Decimal
    weight: Decimal


class Through(NamedTuple):
    """By security key: the funds it comes through, and its (sector, country) where known."""

    sources: dict[str, list[Source]]
    facts: dict[str, tuple[str | None, str | None]]


def _priced_funds(lake: Lake, funds: Sequence[HeldAsset], currency: str, on: dt.date) -> list[Holding]:
    closes = closes_as_of(lake, [fund.isin for fund in funds if fund.isin], on)
    rates = rates_as_of(lake, {close.currency for close in closes.values()}, currency, on)
    priced = []
    for fund in funds:
        close = closes.get(fund.isin) if fund.isin else None
        rate = rates.get(close.currency) if close is not None else None
        if close is None or rate is None or not fund.isin:
            continue  # the look-through lists it as unpriced
        value = _CONTEXT.multiply(_CONTEXT.multiply(fund.quantity, close.close), rate)
        priced.append(Holding(Listing(fund.isin), value.quantize(_VALUE_PLACES, context=_CONTEXT)))
    return priced


def _fetched(cursor: duckdb.DuckDBPyConnection) -> list[Any]:
    """Every row, fetched in batches: one fetch of tens of thousands of rows would hold the
    GIL for milliseconds, and the event loop answering health checks would wait for it."""
    rows: list[Any] = []
    while batch := cursor.fetchmany(_BATCH):
        rows += batch
    return rows


def _facts(
    held: Sequence[HeldAsset], listed: list[tuple[str, str | None, str | None]]
) -> dict[str, tuple[str | None, str | None]]:
    # As in the look-through, a security held directly is described by its own asset.
    facts = {key: (sector, country) for key, sector, country in listed}
    for asset in held:
        if asset.isin and (asset.sector or asset.country):
            facts[asset.isin] = (asset.sector, asset.country)
    return facts


def fund_sources(lake: Lake, held: Sequence[HeldAsset], currency: str, on: dt.date) -> Through:
    """The held funds each security comes through, largest value first (blocking: run on a thread)."""
    with current_compositions(lake, on) as found:
        funds = [asset for asset in held if asset.isin and asset.isin in found.tables.fund_ids]
        holdings = _priced_funds(lake, funds, currency, on)
        if not holdings:
            return Through({}, _facts(held, []))
        cursor = lake.cursor()
        try:
            load_held(cursor, found.tables, holdings)
            cursor.execute(
                f"""SELECT l.key, h.key, CAST(sum(h.value * f.weight) AS VARCHAR), CAST(sum(f.weight) AS VARCHAR)
                    FROM held h JOIN {found.tables.flat} f ON f.fid = h.fid
                    JOIN {found.tables.listings} l ON l.rid = f.rid
                    WHERE f.weight <> 0 AND h.value <> 0
                    GROUP BY l.key, h.key"""
            )
            rows = _fetched(cursor)
            cursor.execute(
                f"""SELECT key, arg_min(sector, rid) FILTER (WHERE sector <> ''),
                           arg_min(country, rid) FILTER (WHERE country <> '')
                    FROM {found.tables.listings} GROUP BY key"""
            )
            listed = _fetched(cursor)
        finally:
            cursor.close()
    sources: dict[str, list[Source]] = defaultdict(list)
    for key, fund, value, weight in rows:
        sources[key].append(Source(fund, Decimal(value), Decimal(weight)))
    for through in sources.values():
        through.sort(key=lambda source: (-source.value, source.fund))
    return Through(dict(sources), _facts(held, listed))
