"""Reading the old app's text: numbers, dates, CSV files and mis-decoded names.

The old app wrote numbers through Python floats (``0.18407099999999998``), German
spreadsheets (``1.234,56``) and statements (``1.234,56 €``), and dates as German
statement text (``02 Okt. 2025``). Every number here becomes a :class:`Decimal`
from its text, never through a float.

Rounding rule for float artefacts: a number written with more than 15 significant
digits is a float64 printed in full (a double holds 15 reliable decimal digits), so
it is rounded to 15 significant digits and trailing zeros are dropped:
``0.18407099999999998`` is ``0.184071``. Shorter numbers are kept exactly.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from pathlib import Path

from prism.errors import ValidationError
from prism.imports.formats.text import CsvRecord, read_csv

__all__ = [
    "FLOAT_DIGITS",
    "CsvRows",
    "fix_mojibake",
    "parse_date",
    "parse_number",
    "read_csv_rows",
]

#: Significant digits a float64 carries reliably; longer numbers are float artefacts.
FLOAT_DIGITS = 15
_FLOAT_CONTEXT = Context(prec=FLOAT_DIGITS, rounding=ROUND_HALF_EVEN)
_CURRENCY_MARKS = re.compile(r"[€$£\s\u00a0%]|EUR|USD")
_GERMAN_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mär": 3,
    "mar": 3,
    "mrz": 3,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "okt": 10,
    "oct": 10,
    "nov": 11,
    "dez": 12,
    "dec": 12,
}
_WORD_DATE = re.compile(r"^(\d{1,2})\.?\s+([^\W\d_]+)\.?\s+(\d{4})$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_number(text: str | None, *, decimal_comma: bool = False) -> Decimal | None:
    """The number ``text`` spells, or None when it is empty or not a number.

    Both ``1.234,56`` and ``1,234.56`` are read (the later separator is the decimal
    one); a lone comma is a decimal comma; a lone ``.`` before three digits is a
    thousands separator only in a ``decimal_comma`` (``;``-separated) file.
    """
    if text is None:
        return None
    value = _CURRENCY_MARKS.sub("", text.strip())
    if not value:
        return None
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        value = value.replace(",", ".") if value.count(",") == 1 else value.replace(",", "")
    elif decimal_comma and _GERMAN_THOUSANDS.match(value):
        value = value.replace(".", "")
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if len(number.as_tuple().digits) > FLOAT_DIGITS:
        number = _FLOAT_CONTEXT.plus(number).normalize()
        # normalize() may give exponent notation (1E+2); keep plain integers plain.
        if number == number.to_integral_value():
            number = number.quantize(Decimal(1))
    return number


def parse_date(text: str | None) -> dt.date | None:
    """A date in ISO (``2025-10-02``), German (``02.10.2025``) or statement (``02 Okt. 2025``) form."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        pass
    try:
        dotted = _DOTTED_DATE.match(value)
        if dotted:
            return dt.date(int(dotted[3]), int(dotted[2]), int(dotted[1]))
        worded = _WORD_DATE.match(value)
        if worded:
            month = _MONTHS.get(worded[2].casefold()[:3])
            if month is not None:
                return dt.date(int(worded[3]), month, int(worded[1]))
    except ValueError:
        return None
    return None


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Latin-1 (``GroÃbritannien`` is ``Großbritannien``); else unchanged."""
    if not any(mark in text for mark in ("Ã", "Â", "â€")):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    # A lost byte (Latin-1 control characters dropped) is the usual reason: repair what decodes.
    try:
        return text.encode("latin-1", errors="ignore").decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return text


class CsvRows:
    """A CSV file's rows as dicts keyed by lower-case header, with their line numbers."""

    def __init__(self, header: list[str], rows: list[tuple[int, dict[str, str]]], delimiter: str) -> None:
        self.header = header
        self.rows = rows
        self.delimiter = delimiter

    @property
    def decimal_comma(self) -> bool:
        """A ``;``-separated file writes decimals with a comma."""
        return self.delimiter == ";"


def read_csv_rows(path: Path) -> CsvRows:
    """Read a CSV file with the transaction importer's reader
    (:func:`prism.imports.formats.text.read_csv`: BOM dropped, delimiter sniffed from the
    header, quoted fields, blank lines skipped), but as the old app's files need: text
    that is not UTF-8 is read as Windows-1252, headers are compared in lower case, and
    fields past the header's are ignored rather than refused."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        csv_file = read_csv(text, lenient=True)
    except ValidationError:  # no header line: an empty file
        return CsvRows([], [], ",")
    header = [name.lower() for name in csv_file.headers]
    rows: list[tuple[int, dict[str, str]]] = []
    for record in csv_file.records:
        if isinstance(record, CsvRecord):
            values = record.values
            rows.append(
                (
                    record.line,
                    {name: values.get(raw, "").strip() for raw, name in zip(csv_file.headers, header, strict=True)},
                )
            )
    return CsvRows(header, rows, csv_file.delimiter)
