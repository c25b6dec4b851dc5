"""Reading transaction files as text: CSV records with line numbers, exact numbers, dates.

CSV files may start with a byte-order mark, separate fields with ``,``, ``;`` or tabs
(sniffed from the header, as :mod:`prism.analytics.market_files` does), quote fields,
contain blank lines, and write decimals with a comma. Numbers are read from their text
into ``Decimal``; nothing passes through a float.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from prism.domain.isin import parse_isin
from prism.domain.ledger import TransactionType
from prism.domain.money import canonical_value
from prism.errors import ValidationError
from prism.imports.formats.base import RowProblem, Source

__all__ = [
    "CsvRecord",
    "NumberStyle",
    "RowReader",
    "canonical_columns",
    "decode",
    "header_key",
    "parse_date",
    "parse_number",
    "read_bytes",
    "read_csv",
    "require_columns",
    "text_lines",
]

_SEPARATORS = re.compile(r"[^a-z0-9%]+")
_GROUPED_POINT = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(\.\d{3})+(,\d*)?$")
_PLAIN = re.compile(r"^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f'\u2019")


class NumberStyle(enum.Enum):
    """How a file writes decimals."""

    #: ``1,234.56`` (commas only group thousands).
    POINT = "point"
    #: ``1.234,56`` (points only group thousands), as a German locale writes.
    COMMA = "comma"
    #: A comma is the decimal mark when there is one (``1.234,56``, ``12,5``); else ``12.5``.
    MIXED = "mixed"


def decode(data: bytes) -> str:
    """UTF-8 text without its byte-order mark, or a :class:`ValidationError`."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationError(f"is not UTF-8 text (byte {error.start})", field="file") from None


def read_bytes(source: Source) -> bytes:
    """The whole file (for formats that cannot be read in a stream, like one JSON document)."""
    return source if isinstance(source, bytes) else source.read_bytes()


def text_lines(source: Source) -> Iterator[str]:
    """The file's lines as UTF-8 text without its byte-order mark, read as a stream."""
    raw = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        number = 0
        try:
            for number, line in enumerate(text, 1):  # noqa: B007 - the count names a bad line
                yield line
        except UnicodeDecodeError:
            raise ValidationError(f"is not UTF-8 text (near line {number + 1})", field="file") from None


def header_key(header: str) -> str:
    """A header compared loosely: lower case, runs of punctuation and spaces as ``_``."""
    return _SEPARATORS.sub("_", header.strip().lower()).strip("_")


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One data record: its first line's number and its fields by header."""

    line: int
    values: Mapping[str, str]

    @property
    def where(self) -> str:
        """How a person finds the record again."""
        return f"line {self.line}"


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A CSV file's delimiter, headers and records (read lazily)."""

    delimiter: str
    headers: Sequence[str]
    records: Iterator[CsvRecord | RowProblem]


def read_csv(text: str | Iterable[str], *, lenient: bool = False) -> CsvFile:
    """Records of ``text`` (or its lines, as :func:`text_lines` reads them): the first
    non-blank line is the header; blank lines are skipped. A record with more fields than
    the header is a :class:`RowProblem`, unless ``lenient`` (the extra fields are dropped)."""
    lines = iter(io.StringIO(text, newline="") if isinstance(text, str) else text)
    skipped = 0
    header_text = ""
    for raw in lines:
        skipped += 1
        if raw.strip():
            header_text = raw
            break
    if not header_text.strip():
        raise ValidationError("is empty: no header line", field="file")
    delimiter = max((",", ";", "\t"), key=header_text.count)
    headers = [name.strip() for name in next(csv.reader([header_text], delimiter=delimiter))]
    return CsvFile(delimiter, headers, _records(lines, headers, delimiter, skipped, lenient=lenient))


def _records(
    lines: Iterator[str], headers: list[str], delimiter: str, before: int, *, lenient: bool
) -> Iterator[CsvRecord | RowProblem]:
    reader = csv.reader(lines, delimiter=delimiter)
    last = 0
    for fields in reader:
        first, last = before + last + 1, reader.line_num
        if not any(value.strip() for value in fields):
            continue  # blank lines and ";;;" lines a spreadsheet leaves behind
        where = f"line {first}"
        if not lenient and len(fields) > len(headers) and any(value.strip() for value in fields[len(headers) :]):
            yield RowProblem(where, "", f"has {len(fields)} fields, the header {len(headers)}")
            continue
        yield CsvRecord(first, dict(zip(headers, fields, strict=False)))


def canonical_columns(headers: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Canonical column -> the file's header, by ``aliases`` (compared with :func:`header_key`)."""
    lookup = {header_key(alias): name for name, names in aliases.items() for alias in (name, *names)}
    found: dict[str, str] = {}
    for header in headers:
        name = lookup.get(header_key(header))
        if name is None:
            continue
        if name in found:
            raise ValidationError(f"columns {found[name]!r} and {header!r} both mean {name}", field="header")
        found[name] = header
    return found


def require_columns(found: Mapping[str, str], *names: str) -> None:
    """A :class:`ValidationError` naming the first of ``names`` the header lacks."""
    for name in names:
        if name not in found:
            raise ValidationError(f"the header has no {name!r} column", field="header")


def parse_number(text: str, style: NumberStyle, *, negative: bool = False) -> Decimal:
    """The exact decimal ``text`` writes in ``style``; a sign only when ``negative`` is allowed."""
    value = text.strip().translate(_SPACES)
    sign = ""
    if value[:1] in "+-" and value:
        sign, value = ("-" if value[0] == "-" else ""), value[1:]
    comma = style is NumberStyle.COMMA or (style is NumberStyle.MIXED and "," in value)
    if comma:
        if "." in value and not _GROUPED_COMMA.match(value):
            raise ValueError(f"{text!r} is not a number (decimal comma expected)")
        value = value.replace(".", "").replace(",", ".")
    elif "," in value:
        if not _GROUPED_POINT.match(value):
            raise ValueError(f"{text!r} is not a number (decimal point expected)")
        value = value.replace(",", "")
    if not _PLAIN.match(value):
        raise ValueError(f"{text!r} is not a number")
    try:
        number = Decimal(sign + value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if number < 0 and not negative:
        raise ValueError(f"must not be negative, not {text.strip()}")
    if number and not -30 <= number.adjusted() <= 30:
        raise ValueError(f"{text.strip()} is out of range")
    return canonical_value(number)


_DAY_FIRST = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def parse_date(text: str) -> dt.date:
    """A date as ``2024-03-01``, ``2024-03-01T00:00[...]`` or ``01.03.2024``."""
    value = text.strip()
    found = _DAY_FIRST.match(value)
    try:
        if found:
            return dt.date(int(found[3]), int(found[2]), int(found[1]))
        if len(value) > 10 and value[10] in "T ":
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return stamp.astimezone(dt.UTC).date() if stamp.tzinfo else stamp.date()
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)") from None


@dataclass(slots=True)
class RowReader:
    """Reads a record's fields by canonical name, collecting every problem of the row."""

    where: str
    values: Mapping[str, str | None]
    #: canonical name -> the file's column name
    names: Mapping[str, str]
    style: NumberStyle = NumberStyle.POINT
    problems: list[RowProblem] = field(default_factory=list)

    def column(self, name: str) -> str:
        """The file's name of canonical column ``name``."""
        return self.names.get(name, name)

    def fail(self, name: str, message: str) -> None:
        """Record a problem with column ``name``."""
        self.problems.append(RowProblem(self.where, self.column(name), message))

    def text(self, name: str) -> str | None:
        """The field's text, stripped; None when the column is absent or the field empty."""
        value = self.values.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def required(self, name: str) -> str | None:
        """The field's text, or None after recording that it is missing."""
        value = self.text(name)
        if value is None:
            self.fail(name, "is required")
        return value

    def number(self, name: str, *, negative: bool = False, required: bool = False) -> Decimal | None:
        """The field as an exact decimal (None when empty)."""
        value = self.required(name) if required else self.text(name)
        if value is None:
            return None
        try:
            return parse_number(value, self.style, negative=negative)
        except ValueError as error:
            self.fail(name, str(error))
            return None

    def isin(self, name: str = "isin") -> str | None:
        """The field as an ISIN (None when empty; a problem when malformed)."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_isin(value)
        except ValidationError as error:
            self.fail(name, error.message)
            return None

    def date(self, name: str) -> dt.date | None:
        """The field as a date (a problem when missing or malformed)."""
        value = self.required(name)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            self.fail(name, str(error))
            return None

    def choice(self, name: str, choices: Mapping[str, TransactionType]) -> TransactionType | None:
        """The field as a transaction type, compared loosely (``Delivery (Inbound)``)."""
        value = self.required(name)
        if value is None:
            return None
        found = choices.get(header_key(value))
        if found is None:
            self.fail(name, f"unknown type {value!r}")
        return found
