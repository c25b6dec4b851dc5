"""Numbers, dates and names as the old app wrote them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from prism.imports.legacy.text import fix_mojibake, parse_date, parse_number, read_csv_rows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.18407099999999998", "0.184071"),
        ("12.345678000000001", "12.345678"),
        ("2.0000000000000004", "2"),
        ("0.119274", "0.119274"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("50,5", "50.5"),
        ("1.234,56 €", "1234.56"),
        ("-12,00 €", "-12.00"),
        ("4.5%", "4.5"),
    ],
)
def test_numbers_are_read_exactly_and_float_artefacts_rounded(text: str, expected: str) -> None:
    assert parse_number(text) == Decimal(expected)
    assert str(parse_number(text)) == expected


def test_a_dotted_thousands_number_is_read_as_thousands_only_in_a_semicolon_file() -> None:
    assert parse_number("1.234", decimal_comma=True) == Decimal(1234)
    assert parse_number("1.234") == Decimal("1.234")


@pytest.mark.parametrize("text", ["", "  ", "n/a", "abc", "NaN", "inf", None])
def test_non_numbers_are_none(text: str | None) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02 Okt. 2025", dt.date(2025, 10, 2)),
        ("1 März 2024", dt.date(2024, 3, 1)),
        ("15 Dez. 2023", dt.date(2023, 12, 15)),
        ("02.10.2025", dt.date(2025, 10, 2)),
        ("2025-10-02T08:00:00", dt.date(2025, 10, 2)),
    ],
)
def test_german_statement_dates_are_read(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31 Feb. 2025", "02 Foo 2025", "yesterday", ""])
def test_impossible_or_unknown_dates_are_none(text: str) -> None:
    assert parse_date(text) is None


def test_utf8_read_as_latin1_is_repaired_and_clean_text_is_kept() -> None:
    assert fix_mojibake("Großbritannien".encode().decode("latin-1")) == "Großbritannien"
    assert fix_mojibake("Gro\u00c3\u009fbritannien") == "Großbritannien"
    assert fix_mojibake("Großbritannien") == "Großbritannien"
    assert fix_mojibake("Ärzte") == "Ärzte"


def test_csv_with_bom_semicolons_and_blank_lines_keeps_file_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes('\ufeff\nISIN;Name\r\n\r\nA;"x; y"\r\nB;z\r\n'.encode())
    table = read_csv_rows(path)
    assert table.header == ["isin", "name"]
    assert table.decimal_comma
    assert table.rows == [(4, {"isin": "A", "name": "x; y"}), (5, {"isin": "B", "name": "z"})]
