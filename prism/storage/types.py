"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, Uuid
from sqlalchemy.types import TypeDecorator, TypeEngine

from prism.domain.money import canonical, canonical_value

__all__ = ["ExactDecimal", "Id", "UTCDateTime"]


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, canonical text on SQLite.

    SQLite's ``NUMERIC`` affinity would turn values into doubles, so on SQLite the
    canonical decimal string is stored instead. Both read back as the same
    canonical ``Decimal`` (no trailing zeros). SQL must not compare or sum these
    columns on SQLite; Prism does arithmetic in Python.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return canonical_value(value)
        return canonical(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        # Values are canonicalised on the way in, and NUMERIC keeps the scale it was
        # given, so both databases hand back the canonical digits unchanged.
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Decimal | None] | None:
        # Reads of holdings parse thousands of these: skip TypeDecorator's layers.
        if dialect.name == "postgresql":
            return None  # asyncpg already returns Decimal for NUMERIC
        return _text_to_decimal


def _text_to_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stamp: dt.datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; we stored UTC
        return stamp.astimezone(dt.UTC)


class Id(TypeDecorator[uuid.UUID]):
    """A row id: native ``uuid`` on PostgreSQL, 32 hex characters on SQLite.

    On SQLite, reading ids back is a large share of a holdings read; a device sees
    a bounded set of ids, so parsed ids are memoised.
    """

    impl = Uuid
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], uuid.UUID | None] | None:
        if dialect.name == "sqlite":
            return _uuid_from_hex
        return super().result_processor(dialect, coltype)


@lru_cache(maxsize=1 << 16)
def _uuid_from_hex(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(hex=value)
