"""Prism's figures in the old frontend's shapes: totals, rounding, unpriced positions, allocations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from prism.analytics.days import DayRow
from prism.analytics.exposure import ExposureGroup, ExposureReport, Unpriced
from prism.errors import ValidationError
from prism.sidecar.book import Book, Line, portfolio_of
from prism.sidecar.shapes import (
    UNRESOLVED_LABEL,
    allocation_percentages,
    dashboard_data,
    instrument_type,
    positions_data,
    true_holdings_data,
)
from prism.sidecar.sources import Source, Through

D = Decimal
NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)


def _line(isin: str, value: str | None, cost: str, quantity: str = "10", kind: str = "stock") -> Line:
    return Line(
        asset_id=uuid.uuid4(),
        isin=isin,
        name=f"asset {isin}",
        ticker=None,
        kind=kind,
        asset_class=None,
        quantity=D(quantity),
        cost=D(cost),
        value=None if value is None else D(value),
        price=None,
        price_currency=None,
        price_date=dt.date(2026, 1, 2) if value is not None else None,
    )


def _day(day: int, value: str, inflow: str = "0") -> DayRow:
    zero = D(0)
    return DayRow(dt.date(2026, 1, day), D(value), D(value), zero, D(inflow), zero, 0, *([zero] * 8))


def _report(groups: list[tuple[str, str]], total: str, unresolved: str = "0") -> ExposureReport:
    return ExposureReport(
        by="sector",
        date=dt.date(2026, 1, 5),
        currency="EUR",
        total=D(total),
        groups=[ExposureGroup(key, key, D(value), D(0)) for key, value in groups],
        unresolved_value=D(unresolved),
        unresolved_weight=D(0),
        unpriced=[],
        prices_from=None,
        prices_to=None,
        compositions={},
    )


def test_positions_are_largest_first_with_weights_in_percent_and_exact_totals() -> None:
    book = Book("EUR", [_line("US0000000001", "100.005", "50"), _line("US0000000002", "300", "400")])
    data = positions_data(book, NOW)
    assert [p["isin"] for p in data["positions"]] == ["US0000000002", "US0000000001"]
    assert data["totalValue"] == D("400.00")  # 400.005 rounded half to even
    assert data["exact"]["totalValue"] == "400.005"
    assert data["positions"][0]["weight"] == D("75.00")
    assert data["positions"][0]["pnlPercent"] == D("-25.00")
    assert data["positions"][1]["avgBuyPrice"] == D("5.00")
    assert data["totalPnl"] == D("-50.00")


def test_an_unpriced_position_is_shown_at_its_cost_and_flagged() -> None:
    data = positions_data(Book("EUR", [_line("US0000000003", None, "80")]), NOW)
    position = data["positions"][0]
    assert (position["currentValue"], position["pnlEur"], position["priced"]) == (D("80.00"), D("0.00"), False)
    assert position["lastUpdated"] == "2026-01-05"


def test_an_empty_book_gives_the_empty_dashboard() -> None:
    data = dashboard_data(Book("EUR", []), [], None, None)
    assert data["isEmpty"] is True
    assert data["totalValue"] == D("0.00")
    assert data["gainPercentage"] == D("0.0")
    assert data["allocations"] == {"sector": {}, "region": {}, "assetClass": {}}
    assert data["topHoldings"] == []
    assert data["lastUpdated"] is None


def test_the_day_change_leaves_out_money_paid_in_that_day() -> None:
    days = [_day(1, "1000"), _day(2, "1600", inflow="500")]
    data = dashboard_data(Book("EUR", [_line("US0000000001", "1600", "1000")]), days, None, None)
    assert data["dayChange"] == D("100.00")
    assert data["dayChangePercent"] == D("10.00")
    assert [point["value"] for point in data["history"]] == [D("1000.00"), D("1600.00")]


def test_asset_classes_are_fractions_and_top_holdings_at_most_ten() -> None:
    lines = [_line(f"US00000000{n:02d}", "10", "5") for n in range(12)] + [
        _line("IE0000000001", "380", "300", kind="etf")
    ]
    data = dashboard_data(Book("EUR", lines), [], None, None)
    assert data["allocations"]["assetClass"] == {"ETF": D("0.7600"), "Equity": D("0.2400")}
    assert len(data["topHoldings"]) == 10
    assert data["topHoldings"][0]["weight"] == D("0.7600")
    assert data["positionCount"] == 13


def test_allocations_show_the_unresolved_share_instead_of_hiding_it() -> None:
    shares = allocation_percentages(_report([("Technology", "60"), ("Energy", "30")], "100", unresolved="10"))
    assert shares == {"Technology": D("60.00"), "Energy": D("30.00"), UNRESOLVED_LABEL: D("10.00")}
    assert sum(shares.values()) == D("100.00")


def test_true_holdings_count_name_only_constituents_as_unresolved() -> None:
    report = _report([("US0378331005", "70"), ("USD CASH", "20")], "100", unresolved="10")
    report = dataclasses.replace(report, unpriced=[Unpriced(uuid.uuid4(), None, "x", D(1), "no isin")])
    sources = {"US0378331005": [Source("IE00B4L5Y983", D("30.004"), D("0.0123456789"))]}
    data = true_holdings_data(report, Through(sources, {"US0378331005": ("Information Technology", None)}))
    assert [h["resolutionStatus"] for h in data["holdings"]] == ["resolved", "unresolved"]
    assert data["holdings"][0]["sources"] == [{"etf": "IE00B4L5Y983", "value": D("30.00"), "weight": D("0.012346")}]
    assert data["holdings"][1]["sources"] == []
    assert data["holdings"][0]["sector"] == "Information Technology"
    assert "geography" not in data["holdings"][0]
    assert "sector" not in data["holdings"][1]
    assert data["holdings"][1]["isin"] is None
    assert data["summary"]["healthScore"] == D("0.500")
    assert data["summary"]["unresolvedValue"] == D("10")
    assert data["summary"]["unpriced"][0]["reason"] == "no isin"


@pytest.mark.parametrize(("kind", "shown"), [("etf", "etf"), ("FUND", "etf"), ("stock", "stock"), ("cash", "other")])
def test_asset_kinds_map_to_the_frontends_instrument_types(kind: str, shown: str) -> None:
    assert instrument_type(kind) == shown


def test_a_legacy_portfolio_number_means_all_portfolios_and_a_uuid_one() -> None:
    ident = uuid.uuid4()
    assert portfolio_of({}) is None
    assert portfolio_of({"portfolioId": 1}) is None
    assert portfolio_of({"portfolioId": str(ident)}) == ident
    with pytest.raises(ValidationError) as refused:
        portfolio_of({"portfolioId": "one"})
    assert refused.value.field == "portfolioId"
