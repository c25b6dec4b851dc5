"""``ghostfolio``: Ghostfolio's activities, as its JSON export or as the CSV it imports.

The JSON export is ``{"meta": ..., "assetProfiles": [...], "activities": [{"id", "type",
"date", "symbol", "dataSource", "quantity", "unitPrice", "fee", "currency", "comment"}]}``;
numbers are read from their JSON text, never as floats. A symbol that is an ISIN (or whose
asset profile names one) finds its asset by ISIN; any other symbol by ticker.

Ghostfolio stores a day as the user's local midnight in UTC (``2023-10-04T23:00:00.000Z``
is 5 October in Berlin): a timestamp is read as the date of its nearest midnight.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from prism.domain.isin import is_valid_isin
from prism.domain.ledger import TransactionType
from prism.errors import ValidationError
from prism.imports.formats.base import FormatOptions, ImportFormat, ImportRow, Parsed, RowProblem, Source, register
from prism.imports.formats.text import (
    NumberStyle,
    RowReader,
    canonical_columns,
    decode,
    parse_date,
    read_bytes,
    read_csv,
)

__all__ = ["GHOSTFOLIO"]

_T = TransactionType
_TYPES = {
    "buy": _T.BUY,
    "sell": _T.SELL,
    "dividend": _T.DIVIDEND,
    "interest": _T.INTEREST,
    "fee": _T.FEE,
}
_UNSUPPORTED = {"item", "liability"}
_CSV_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("id",),
    "note": ("comment",),
    "currency": ("ccy", "currencyprimary"),
    "data_source": ("datasource",),
    "date": ("tradedate",),
    "fee": ("commission", "ibcommission"),
    "quantity": ("qty", "shares", "units"),
    "symbol": ("code", "ticker"),
    "type": ("action", "buy/sell", "buy_sell"),
    "price": ("unitprice", "tradeprice", "value"),
}
_KIND_OF_SUBCLASS = {"ETF": "etf", "STOCK": "stock", "MUTUALFUND": "fund", "BOND": "bond", "CRYPTOCURRENCY": "crypto"}


def _day(text: str) -> dt.date:
    value = text.strip()
    if len(value) > 10 and value[10] == "T":
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if stamp.tzinfo is not None:
            return (stamp.astimezone(dt.UTC) + dt.timedelta(hours=12)).date()
        return stamp.date()
    return parse_date(value)


def _activity(reader: RowReader, profiles: Mapping[str, Mapping[str, Any]]) -> Parsed | list[RowProblem]:
    kind_text = (reader.required("type") or "").lower()
    if kind_text in _UNSUPPORTED:
        reader.fail("type", f"{kind_text.upper()} activities have no Prism equivalent")
    elif kind_text and kind_text not in _TYPES:
        reader.fail("type", f"unknown type {kind_text.upper()!r}")
    day = None
    if (raw_day := reader.required("date")) is not None:
        try:
            day = _day(raw_day)
        except ValueError:
            reader.fail("date", f"{raw_day!r} is not a date")
    quantity = reader.number("quantity", negative=True)
    price = reader.number("price", negative=True)
    fee = reader.number("fee")
    if reader.problems or day is None:
        return reader.problems
    kind = _TYPES[kind_text]
    quantity, price = abs(quantity or Decimal(0)), abs(price or Decimal(0))
    symbol = reader.text("symbol")
    profile = profiles.get((symbol or "").upper(), {})
    isin = symbol.upper() if symbol and is_valid_isin(symbol.upper()) else profile.get("isin") or None
    fields: dict[str, Any] = {"quantity": quantity, "price": price, "fee": fee}
    if kind in {_T.DIVIDEND, _T.INTEREST, _T.FEE}:
        amount = quantity * price
        if kind is _T.FEE and fee:
            amount, fee = fee, None  # a FEE activity carries its value as the fee
        fields = {"amount": amount, "fee": fee}
        if kind is not _T.DIVIDEND and isin is None:
            symbol = None  # account-level interest or fee: no asset
    return ImportRow(
        where=reader.where,
        type=kind,
        date=day,
        currency=reader.text("currency") or profile.get("currency"),
        isin=isin,
        symbol=None if isin else symbol,
        name=profile.get("name") or symbol,
        kind=_KIND_OF_SUBCLASS.get(str(profile.get("assetSubClass") or "")),
        external_id=reader.text("external_id"),
        note=reader.text("note"),
        columns=dict(reader.names),
        **fields,
    )


def _emit(result: Parsed | list[RowProblem]) -> Iterator[Parsed]:
    if isinstance(result, list):
        yield from result
    else:
        yield result


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _parse_json(text: str) -> Iterator[Parsed]:
    try:
        # Numbers stay text (parse_float/parse_int): no float ever holds an amount.
        document = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as error:
        raise ValidationError(f"is not JSON: {error.msg} at line {error.lineno}", field="file") from None
    activities = document.get("activities") if isinstance(document, dict) else document
    if not isinstance(activities, list):
        raise ValidationError("has no list of activities", field="activities")
    profiles = {
        str(p.get("symbol", "")).upper(): p
        for p in (document.get("assetProfiles") or [] if isinstance(document, dict) else [])
        if isinstance(p, dict)
    }
    names = {
        "external_id": "id",
        "note": "comment",
        "price": "unitPrice",
        "data_source": "dataSource",
    }
    for index, item in enumerate(activities):
        where = f"activities[{index}]"
        if not isinstance(item, dict):
            yield RowProblem(where, "", "is not an object")
            continue
        values = {name: _text(item.get(names.get(name, name))) for name in (*_CSV_ALIASES, "symbol", "type")}
        yield from _emit(_activity(RowReader(where, values, names, NumberStyle.POINT), profiles))


def _parse_csv(text: str) -> Iterator[Parsed]:
    csv_file = read_csv(text)
    names = canonical_columns(csv_file.headers, _CSV_ALIASES)
    style = NumberStyle.MIXED if csv_file.delimiter == ";" else NumberStyle.POINT
    for record in csv_file.records:
        if isinstance(record, RowProblem):
            yield record
            continue
        values = {name: record.values.get(header) for name, header in names.items()}
        yield from _emit(_activity(RowReader(record.where, values, names, style), {}))


def _parse(data: Source, options: FormatOptions) -> Iterator[Parsed]:
    del options
    text = decode(read_bytes(data))
    if text.lstrip()[:1] in {"{", "["}:
        return _parse_json(text)
    return _parse_csv(text)


GHOSTFOLIO = register(ImportFormat("ghostfolio", "Ghostfolio's activities export (JSON) or import CSV", _parse))
