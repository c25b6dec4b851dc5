"""The export layout, version 1: which tables, which columns in which order, and how
each value is written as text (``docs/export-format.md`` is the reference).

Only the account's own data is exported: the account row and the synced tables, live
rows and tombstones alike, so a restore is exact. Derived tables (the positions
projection, caches, the change log, sync state, tokens, alert events) are rebuilt or
belong to one device, and are left out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Table

from prism.domain.money import canonical, parse_decimal
from prism.errors import ValidationError
from prism.storage.tables import (
    accounts,
    alert_rules,
    assets,
    notes,
    portfolios,
    settings,
    taggings,
    tags,
    transactions,
)
from prism.storage.types import ExactDecimal, Id, UTCDateTime

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_TABLES",
    "EXPORT_VERSION",
    "FILE_FORMATS",
    "ColumnSpec",
    "TableSpec",
    "table_spec",
    "timestamp_text",
]

EXPORT_FORMAT = "prism-export"
EXPORT_VERSION = 1
FILE_FORMATS = ("json", "csv", "parquet")

_json_sorted = msgspec.json.Encoder(order="sorted")


def timestamp_text(value: dt.datetime) -> str:
    """A UTC timestamp as ISO 8601 with six fraction digits and ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_timestamp(text: str) -> dt.datetime:
    if not text.endswith("Z"):
        raise ValueError("a timestamp must be UTC, ending in Z")
    return dt.datetime.fromisoformat(text[:-1] + "+00:00").astimezone(dt.UTC)


def _parse_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, int):
        return value
    return int(str(value), 10)


def _parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in {"true", "false"}:
        return bool(value == "true")
    raise ValueError("must be true or false")


def _parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        return msgspec.json.decode(value)
    return value


def _decimal(value: Any) -> Decimal:
    return parse_decimal(_parse_text(value), field="value")


#: Per kind: (write: Python value -> text, int or bool; read: that -> Python value).
_KINDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "uuid": (str, lambda v: uuid.UUID(_parse_text(v))),
    "decimal": (canonical, _decimal),
    "timestamp": (timestamp_text, lambda v: _parse_timestamp(_parse_text(v))),
    "date": (dt.date.isoformat, lambda v: dt.date.fromisoformat(_parse_text(v))),
    "integer": (int, _parse_integer),
    "boolean": (bool, _parse_boolean),
    "text": (str, _parse_text),
    "json": (lambda v: _json_sorted.encode(v).decode(), _parse_json),
}


def _kind(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, Id):
        return "uuid"
    if isinstance(kind, ExactDecimal):
        return "decimal"
    if isinstance(kind, UTCDateTime):
        return "timestamp"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, BigInteger):
        return "integer"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, JSON):
        return "json"
    return "text"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One exported column: its name, kind and whether it may be null."""

    name: str
    kind: str
    nullable: bool

    def write(self, value: Any) -> Any:
        """The value's exported form (text, except integers and booleans); None stays None."""
        return None if value is None else _KINDS[self.kind][0](value)

    @property
    def writer(self) -> Callable[[Any], Any]:
        """What :meth:`write` applies to a value that is not None (for loops over many rows)."""
        return _KINDS[self.kind][0]

    def read(self, value: Any, where: str) -> Any:
        """The Python value of an exported form; a bad one is a :class:`ValidationError`."""
        if value is None:
            if not self.nullable:
                raise ValidationError(f"{where}: {self.name} must not be empty", field=self.name)
            return None
        try:
            return _KINDS[self.kind][1](value)
        except (ValueError, TypeError, ValidationError, msgspec.DecodeError) as error:
            raise ValidationError(
                f"{where}: {self.name} is not a valid {self.kind}: {error}", field=self.name
            ) from None


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported table: its columns in file order and its key (the row order)."""

    name: str
    table: Table
    columns: tuple[ColumnSpec, ...]
    key: str

    @property
    def names(self) -> tuple[str, ...]:
        """The column names in file order."""
        return tuple(c.name for c in self.columns)


def _spec(table: Table) -> TableSpec:
    # Plain ``str`` names: SQLAlchemy's are a subclass that not every encoder takes.
    columns = tuple(ColumnSpec(str(c.name), _kind(c), bool(c.nullable)) for c in table.columns if c.name != "owner_id")
    return TableSpec(str(table.name), table, columns, "key" if table is settings else "id")


#: In restore order: a row's references come before it.
EXPORT_TABLES: tuple[TableSpec, ...] = tuple(
    _spec(t) for t in (accounts, settings, portfolios, assets, tags, transactions, notes, taggings, alert_rules)
)


def table_spec(name: str) -> TableSpec:
    """The spec of an exported table by name."""
    for spec in EXPORT_TABLES:
        if spec.name == name:
            return spec
    raise ValidationError(f"{name!r} is not a table of the export", field="tables")
