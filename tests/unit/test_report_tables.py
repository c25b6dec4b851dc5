"""The report's figures as printed, and its years, worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from rich.console import Console

from prism.analytics.days import DayRow
from prism.report_tables import money, percent, yearly_rows, yearly_table
from tests.builders import D


def _day(date: str, value: str, inflow: str = "0", outflow: str = "0") -> DayRow:
    zero = Decimal(0)
    return DayRow(
        dt.date.fromisoformat(date), D(value), D(value), zero, D(inflow), D(outflow), 0, *(zero,) * 8
    )  # fmt: skip


def test_rates_are_percentages_with_two_decimals_and_money_has_separators() -> None:
    assert percent(D("0.123456")) == "12.35 %"
    assert percent(D("-0.00004")) == "-0.00 %"
    assert percent(None) == "n/a"
    assert money(D("1234567.891"), "EUR") == "1,234,567.89 EUR"


def test_each_year_returns_from_the_last_value_of_the_year_before() -> None:
    days = [
        _day("2023-12-30", "1000", inflow="1000"),
        _day("2023-12-31", "1100"),
        _day("2024-01-01", "1320", inflow="100"),  # 1100 + 100 in, grown 10%
        _day("2024-01-02", "1152", outflow="300"),  # 1320 grown to 1452, then 300 out
    ]
    years = yearly_rows(days, opening=None)
    assert [(y.year, y.value, y.inflow, y.outflow) for y in years] == [
        (2023, D(1100), D(1000), D(0)),
        (2024, D(1152), D(100), D(300)),
    ]
    assert years[0].ttwror == D("0.1")
    assert years[1].ttwror == D("1.1") * D("1.1") - 1


def test_a_period_starting_mid_year_returns_from_the_opening_day() -> None:
    years = yearly_rows([_day("2024-06-02", "110")], opening=_day("2024-06-01", "100"))
    assert years[0].ttwror == D("0.1")
    assert (years[0].first, years[0].last) == (dt.date(2024, 6, 2), dt.date(2024, 6, 2))


def test_a_partial_year_is_labelled_with_its_days() -> None:
    console = Console(width=120, record=True)
    console.print(yearly_table(yearly_rows([_day("2024-06-02", "110", inflow="110")], None), "EUR"))
    text = console.export_text()
    assert "2024 (06-02 to 06-02)" in text
    assert "110.00 EUR" in text
