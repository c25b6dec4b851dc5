"""Reading transaction files as text: numbers, dates, CSV records and their line numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prism.errors import ValidationError
from prism.imports.formats import RowProblem
from prism.imports.formats.text import CsvRecord, NumberStyle, decode, parse_date, parse_number, read_csv


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        ("1.234,56", NumberStyle.COMMA, "1234.56"),
        ("1.000", NumberStyle.COMMA, "1000"),  # a German export's 1,000 shares
        ("0,119274", NumberStyle.COMMA, "0.119274"),
        ("1,234.56", NumberStyle.POINT, "1234.56"),
        ("12,5", NumberStyle.MIXED, "12.5"),
        ("12.5", NumberStyle.MIXED, "12.5"),
        ("1.234,5", NumberStyle.MIXED, "1234.5"),
        ("0.18407099999999998", NumberStyle.POINT, "0.18407099999999998"),
        (" 1 234,50 ", NumberStyle.COMMA, "1234.5"),
        ("1e3", NumberStyle.POINT, "1000"),
    ],
)
def test_numbers_are_read_exactly_in_each_style(text: str, style: NumberStyle, expected: str) -> None:
    assert parse_number(text, style) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "style"),
    [
        ("1,2,3", NumberStyle.POINT),
        ("12.5,3", NumberStyle.COMMA),
        ("abc", NumberStyle.POINT),
        ("NaN", NumberStyle.POINT),
    ],
)
def test_malformed_numbers_are_refused(text: str, style: NumberStyle) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text, style)


def test_a_negative_number_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_number("-5", NumberStyle.POINT)
    assert parse_number("-1.234,50", NumberStyle.COMMA, negative=True) == Decimal("-1234.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", dt.date(2024, 3, 1)),
        ("01.03.2024", dt.date(2024, 3, 1)),
        ("2024-03-01T00:00", dt.date(2024, 3, 1)),
        ("2024-03-01T10:00:00Z", dt.date(2024, 3, 1)),
    ],
)
def test_dates_in_the_usual_spellings(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


def test_an_impossible_date_is_refused() -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_date("31.02.2024")


def test_bom_blank_lines_and_quoted_fields_keep_true_line_numbers() -> None:
    text = decode('\ufeffa;b\r\n\r\n1;"x;\ny"\r\n;;\r\n2;z\r\n'.encode())
    csv_file = read_csv(text)
    records = [r for r in csv_file.records if isinstance(r, CsvRecord)]
    assert csv_file.delimiter == ";"
    assert [(r.line, dict(r.values)) for r in records] == [(3, {"a": "1", "b": "x;\ny"}), (6, {"a": "2", "b": "z"})]


def test_a_line_with_extra_fields_is_a_problem_naming_the_line() -> None:
    records = list(read_csv("a,b\n1,2\n1,2,3\n").records)
    assert records[1] == RowProblem("line 3", "", "has 3 fields, the header 2")


def test_an_empty_or_non_utf8_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        read_csv("\n\n")
    with pytest.raises(ValidationError, match="UTF-8"):
        decode(b"date\n\xff\xfe")
