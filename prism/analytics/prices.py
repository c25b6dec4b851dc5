"""Prices and FX rates as of a day, from the lake.

A close "as of" a day is the last one on or before it, so weekends and exchange
holidays carry the previous close forward. FX conversions into a base currency use
the stored pair in either direction, or a cross through one other currency; the
division an inverted or crossed rate needs is done in :class:`~decimal.Decimal`
(DuckDB would divide decimals in floating point) and kept to 12 places.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

import pyarrow as pa

from prism.storage.lake import FX, PRICES, Lake
from prism.storage.lake.datasets import RATE
from prism.storage.lake.lake import version_of
from prism.storage.lake.manifest import Manifest

__all__ = ["Close", "closes_as_of", "conversion_series", "rates_as_of"]

_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_PLACES = Decimal("1e-12")
_ONE = Decimal(1)


class Close(NamedTuple):
    """The last close of an asset on or before a day."""

    close: Decimal
    currency: str
    date: dt.date


def closes_as_of(lake: Lake, isins: Iterable[str], on: dt.date) -> dict[str, Close]:
    """The last close on or before ``on`` of each of ``isins`` that has one.

    Answers are remembered per committed version of ``prices``: a dashboard asking
    again for the same day costs a manifest read.
    """
    wanted = tuple(sorted(set(isins)))
    if not wanted:
        return {}
    manifest = lake.manifest(PRICES)
    key = ("closes", version_of(manifest), wanted, on)
    return dict(lake.remember(key, lambda: _closes(lake, manifest, wanted, on)))


def _closes(lake: Lake, manifest: Manifest, wanted: tuple[str, ...], on: dt.date) -> dict[str, Close]:
    rows = lake.query(
        f"""SELECT isin, arg_max(close, date) AS close, arg_max(currency, date) AS currency, max(date) AS date
            FROM {lake.scan(PRICES, manifest=manifest)} WHERE isin IN (SELECT unnest($isins)) AND date <= $on
            GROUP BY isin""",
        {"isins": list(wanted), "on": on},
    ).to_pylist()
    return {row["isin"]: Close(row["close"], row["currency"], row["date"]) for row in rows}


def _pairs(lake: Lake, currencies: set[str], end: dt.date) -> dict[str, list[tuple[dt.date, Decimal]]]:
    manifest = lake.manifest(FX)
    key = ("pairs", version_of(manifest), tuple(sorted(currencies)), end)
    return lake.remember(key, lambda: _read_pairs(lake, manifest, currencies, end))


def _read_pairs(
    lake: Lake, manifest: Manifest, currencies: set[str], end: dt.date
) -> dict[str, list[tuple[dt.date, Decimal]]]:
    rows = lake.query(
        f"""SELECT pair, date, rate FROM {lake.scan(FX, manifest=manifest)}
            WHERE (substr(pair, 1, 3) IN (SELECT unnest($c)) OR substr(pair, 4, 3) IN (SELECT unnest($c)))
              AND date <= $end ORDER BY pair, date""",
        {"c": sorted(currencies), "end": end},
    )
    series: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for pair, day, rate in zip(*(rows.column(i).to_pylist() for i in range(3)), strict=True):
        series[pair].append((day, rate))
    return dict(series)


def _route(currency: str, base: str, pairs: Mapping[str, object]) -> list[tuple[str, bool]] | None:
    """The stored pairs (and whether each is inverted) that convert ``currency`` into ``base``."""
    if f"{currency}{base}" in pairs:
        return [(f"{currency}{base}", False)]
    if f"{base}{currency}" in pairs:
        return [(f"{base}{currency}", True)]
    middles = {pair[:3] for pair in pairs} | {pair[3:] for pair in pairs}
    for middle in sorted(middles - {currency, base}):
        first = _route(currency, middle, {p: 0 for p in pairs if middle in p and currency in p})
        second = _route(middle, base, {p: 0 for p in pairs if middle in p and base in p})
        if first and second:
            return first + second
    return None


def _step(rate: Decimal, inverted: bool) -> Decimal:
    return _CONTEXT.divide(_ONE, rate).quantize(_PLACES, context=_CONTEXT) if inverted else rate


def conversion_series(lake: Lake, currencies: Iterable[str], base: str, end: dt.date) -> pa.Table:
    """Daily rates (``currency``, ``date``, ``rate``) turning one unit of each currency into ``base``.

    The base currency itself converts at 1 from the first day on. A currency the lake
    cannot convert is simply absent: valuations report what they could not price.
    """
    wanted = {currency for currency in currencies if currency != base}
    out_currency: list[str] = [base]
    out_date: list[dt.date] = [dt.date(1900, 1, 1)]
    out_rate: list[Decimal] = [_ONE]
    pairs = _pairs(lake, wanted | {base}, end) if wanted else {}
    for currency in sorted(wanted):
        route = _route(currency, base, pairs)
        if route is None:
            continue
        legs = [dict(pairs[pair]) for pair, _ in route]
        days = sorted(set().union(*(leg.keys() for leg in legs)))
        current: list[Decimal | None] = [None] * len(route)
        for day in days:
            for index, (leg, (_, inverted)) in enumerate(zip(legs, route, strict=True)):
                if day in leg:
                    current[index] = _step(leg[day], inverted)
            if all(value is not None for value in current):
                rate = _ONE
                for value in current:
                    assert value is not None
                    rate = _CONTEXT.multiply(rate, value)
                out_currency.append(currency)
                out_date.append(day)
                out_rate.append(rate.quantize(_PLACES, context=_CONTEXT))
    return pa.table(
        {
            "currency": pa.array(out_currency, pa.string()),
            "date": pa.array(out_date, pa.date32()),
            "rate": pa.array(out_rate, RATE),
        }
    )


def rates_as_of(lake: Lake, currencies: Iterable[str], base: str, on: dt.date) -> dict[str, Decimal]:
    """The rate turning one unit of each currency into ``base`` on ``on`` (last known)."""
    series = conversion_series(lake, currencies, base, on)
    found: dict[str, Decimal] = {}
    for currency, rate in zip(series.column("currency").to_pylist(), series.column("rate").to_pylist(), strict=True):
        found[currency] = rate  # rows are in date order per currency: the last one wins
    return found
