"""Market data as it arrives: CSV or Parquet files, or API rows, read into raw Arrow text.

Every kind of market data (:class:`MarketKind`) is read into a :class:`RawRows`: one
text column per canonical column (whatever the source called it), plus ``_row``, the
number a person would use to find the row again (the file's line, the Parquet row,
the index in the request). Numbers stay text here, so nothing passes through a float;
:mod:`prism.analytics.market_rules` parses and checks them, all rows at once.

CSV files may start with a byte-order mark, separate fields with ``,``, ``;`` or tabs
(sniffed from the header), contain blank lines, and, when ``;``-separated, write
decimals with a comma.
"""

from __future__ import annotations

import codecs
import csv
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from prism.errors import ValidationError

__all__ = [
    "COLUMNS",
    "Finding",
    "MarketDataError",
    "MarketKind",
    "RawRows",
    "raw_from_records",
    "read_market_file",
]

#: How many problems an error lists (it counts them all).
MAX_LISTED = 100


class MarketKind(enum.StrEnum):
    """The kinds of market data the lake takes."""

    PRICES = "prices"
    FX = "fx"
    ETF_HOLDINGS = "etf-holdings"


#: Canonical columns of each kind and the headers read as them (compared lower-case,
#: with runs of other characters than letters, digits and ``%`` read as ``_``).
COLUMNS: dict[MarketKind, dict[str, tuple[str, ...]]] = {
    MarketKind.PRICES: {
        "isin": ("isin",),
        "date": ("date", "day"),
        "close": ("close", "price", "closing_price", "last"),
        "currency": ("currency", "ccy"),
    },
    MarketKind.FX: {
        "pair": ("pair", "currency_pair"),
        "base": ("base", "base_currency", "from"),
        "quote": ("quote", "quote_currency", "to"),
        "date": ("date", "day"),
        "rate": ("rate", "close", "fx_rate"),
    },
    MarketKind.ETF_HOLDINGS: {
        "fund_isin": ("fund_isin", "fund"),
        "as_of": ("as_of", "asof", "date"),
        "constituent_isin": ("constituent_isin", "isin"),
        "constituent_name": ("constituent_name", "name"),
        "weight": ("weight",),
        "weight_pct": ("weight_pct", "weight_percent", "weight_%"),
        "country": ("country", "location"),
        "sector": ("sector",),
        "currency": ("currency", "ccy"),
        "asset_class": ("asset_class",),
    },
}
_SEPARATORS = re.compile(r"[^a-z0-9%]+")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or warning: where (``field``, which names the row) and what."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, str]:
        """The finding as problem details list it."""
        return {"field": self.field, "message": self.message}


class MarketDataError(ValidationError):
    """Market data that breaks a rule; ``problems`` lists them (the first is the message)."""

    code = "invalid-market-data"

    def __init__(self, problems: Sequence[Finding], *, total: int | None = None) -> None:
        first = problems[0]
        super().__init__(first.message, field=first.field)
        self.problems = list(problems[:MAX_LISTED])
        self.total = total if total is not None else len(problems)


@dataclass(frozen=True, slots=True)
class RawRows:
    """Rows as text in canonical columns, with ``_row`` saying where each came from."""

    kind: MarketKind
    table: pa.Table
    #: "line" (a CSV file), "row" (a Parquet file) or "api" (``rows[i]`` of a request).
    style: Literal["line", "row", "api"]
    #: Decimals may use a comma (a ``;``-separated CSV file).
    decimal_comma: bool = False
    #: How the source spelled each canonical column.
    names: Mapping[str, str] = field(default_factory=dict)
    #: Warnings found while reading (ignored columns, floating-point columns).
    notes: tuple[Finding, ...] = ()

    def where(self, row: int) -> str:
        """How the source names ``row``: ``line 14``, ``row 14`` or ``rows[14]``."""
        return f"rows[{row}]" if self.style == "api" else f"{self.style} {row}"

    def locate(self, row: int | None, column: str) -> str:
        """The field name of ``column`` in ``row``, as the source would call it."""
        if self.style == "api":
            return column if row is None else f"rows[{row}].{column}"
        name = self.names.get(column, column)
        return name if row is None else f"{self.style} {row}: {name}"


def _canonical(kind: MarketKind, header: str) -> str | None:
    key = _SEPARATORS.sub("_", header.strip().lower()).strip("_")
    return next((name for name, aliases in COLUMNS[kind].items() if key in aliases), None)


def _renamed(kind: MarketKind, headers: Sequence[str], where: str) -> tuple[dict[str, str], list[str]]:
    """Canonical column -> source header, and the headers that mean nothing here."""
    found: dict[str, str] = {}
    ignored: list[str] = []
    for header in headers:
        name = _canonical(kind, header)
        if name is None:
            ignored.append(header)
        elif name in found:
            problem = Finding(where, f"columns {found[name]!r} and {header!r} both mean {name}")
            raise MarketDataError([problem])
        else:
            found[name] = header
    return found, ignored


def _ignored_note(ignored: Sequence[str]) -> tuple[Finding, ...]:
    if not ignored:
        return ()
    return (Finding("columns", f"ignored column(s) {', '.join(map(repr, ignored))}"),)


def read_market_file(path: Path, kind: MarketKind) -> RawRows:
    """Read a CSV or Parquet file of ``kind`` (Parquet by its ``.parquet``/``.pq`` suffix or magic)."""
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as error:
        raise ValidationError(f"cannot read {path}: {error.strerror}", field="file") from None
    if magic == b"PAR1" or path.suffix.lower() in {".parquet", ".pq"}:
        return _read_parquet(path, kind)
    return _read_csv(path.read_bytes(), kind)


def _line_numbers(data: bytes, start: int) -> list[int] | None:
    """Line numbers of the non-blank lines after byte ``start``; None if none is blank."""
    body = data[start:]
    if b"\n\n" not in body and b"\n\r\n" not in body and not body.startswith((b"\n", b"\r\n")):
        return None
    first = data.count(b"\n", 0, start) + 1
    return [first + n for n, line in enumerate(body.split(b"\n")) if line.strip(b"\r")]


def _header(data: bytes) -> tuple[int, int, str]:
    """(line number, byte offset after it, text) of the first non-blank line."""
    offset = 0
    number = 1
    while offset < len(data):
        end = data.find(b"\n", offset)
        end = len(data) if end < 0 else end
        line = data[offset:end].strip(b"\r")
        if line.strip():
            try:
                return number, end + 1, line.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError("is not UTF-8 text", field="file") from None
        offset, number = end + 1, number + 1
    raise ValidationError("is empty: no header line", field="file")


def _read_csv(data: bytes, kind: MarketKind) -> RawRows:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    header_line, body_start, header_text = _header(data)
    delimiter = max((",", ";", "\t"), key=header_text.count)
    headers = [name.strip() for name in next(csv.reader([header_text], delimiter=delimiter))]
    found, ignored = _renamed(kind, headers, f"line {header_line}")
    numbers = _line_numbers(data, body_start)
    try:
        table, invalid = _parse_csv(memoryview(data)[body_start:], headers, delimiter, threads=True)
        if invalid:  # again on one thread: only then does Arrow count the rows it refuses
            table, invalid = _parse_csv(memoryview(data)[body_start:], headers, delimiter, threads=False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise ValidationError(f"could not be read as CSV: {error}", field="file") from None

    def line_of(number: int) -> int:
        if numbers is not None and 0 < number <= len(numbers):
            return numbers[number - 1]
        return header_line + number

    if invalid:
        raise MarketDataError(
            [
                Finding(
                    f"line {line_of(row.number or 0)}",
                    f"has {row.actual_columns} fields, the header {row.expected_columns}",
                )
                for row in invalid
            ]
        )
    rows = pa.array(
        numbers
        if numbers is not None and len(numbers) == table.num_rows
        else range(header_line + 1, header_line + 1 + table.num_rows),
        pa.int64(),
    )
    renamed = _select(table, found).append_column("_row", rows)
    return RawRows(
        kind,
        _without_empty_rows(renamed),
        "line",
        decimal_comma=delimiter == ";",
        names=found,
        notes=_ignored_note(ignored),
    )


def _parse_csv(
    body: memoryview, headers: list[str], delimiter: str, *, threads: bool
) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
    invalid: list[pacsv.InvalidRow] = []

    def refuse(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(body)),
        read_options=pacsv.ReadOptions(column_names=headers, block_size=1 << 24, use_threads=threads),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=refuse),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(headers, pa.string())),
    )
    return table, invalid


def _select(table: pa.Table, found: Mapping[str, str]) -> pa.Table:
    return pa.table({name: table.column(header) for name, header in found.items()})


def _without_empty_rows(table: pa.Table) -> pa.Table:
    """Drop rows with every field empty (``;;;`` lines a spreadsheet leaves behind)."""
    empty = None
    for name in table.column_names:
        if name == "_row":
            continue
        column = pc.utf8_trim_whitespace(table.column(name))
        blank = pc.or_kleene(pc.is_null(column), pc.equal(column, ""))
        empty = blank if empty is None else pc.and_(empty, blank)
    if empty is None:
        return table
    return table.filter(pc.invert(pc.fill_null(empty, True)))


def _read_parquet(path: Path, kind: MarketKind) -> RawRows:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ValidationError(f"could not be read as Parquet: {error}", field="file") from None
    found, ignored = _renamed(kind, table.column_names, "columns")
    notes = list(_ignored_note(ignored))
    columns: dict[str, pa.ChunkedArray] = {}
    for name, header in found.items():
        column = table.column(header)
        if pa.types.is_floating(column.type):
            notes.append(Finding(header, "is stored as floating point: read as each value's shortest decimal text"))
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.date32())
        columns[name] = column.cast(pa.string())
    columns["_row"] = pa.chunked_array([pa.array(range(1, table.num_rows + 1), pa.int64())])
    return RawRows(kind, pa.table(columns), "row", names=found, notes=tuple(notes))


def _plain(value: str | None) -> str | None:
    """An exponent-notation decimal ("1.5e3") in plain notation; anything else unchanged."""
    if value is None or ("e" not in value and "E" not in value):
        return value
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    # Huge exponents stay as they are (and are refused as malformed), never expanded.
    return format(number, "f") if number.is_finite() and abs(number.adjusted()) <= 40 else value


def raw_from_records(kind: MarketKind, records: Sequence[Mapping[str, str | None]]) -> RawRows:
    """Rows of a request (values as text; decimals as the API's decimal strings)."""
    columns = {name: pa.array([_plain(record.get(name)) for record in records], pa.string()) for name in COLUMNS[kind]}
    columns["_row"] = pa.array(range(len(records)), pa.int64())
    return RawRows(kind, pa.table(columns), "api")
