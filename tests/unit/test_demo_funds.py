"""The demo's ETF compositions: exact weights, real-looking lines, funds of funds without cycles."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from prism.demo_funds import AS_OF, fund_compositions
from prism.demo_universe import DemoAsset, demo_universe
from prism.domain.exposure import Constituent, Security, look_through
from prism.domain.isin import is_valid_isin
from prism.storage.lake import ETF_HOLDINGS

LATEST = dt.date(2025, 12, 31)
ATTRIBUTES = ("country", "sector", "currency", "asset_class")


@pytest.fixture(scope="module")
def universe() -> list[DemoAsset]:
    return demo_universe(5, size=120, funds=12)


@pytest.fixture(scope="module")
def holdings(universe: list[DemoAsset]) -> pa.Table:
    return fund_compositions(universe, seed=5, max_constituents=300)


def _rows(holdings: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = holdings.to_pylist()
    return rows


def _compositions(holdings: pa.Table, day: dt.date) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(holdings):
        if row["as_of"] == day:
            found[str(row["fund_isin"])].append(row)
    return found


def test_compositions_fit_the_lake_and_the_same_seed_repeats_them(
    universe: list[DemoAsset], holdings: pa.Table
) -> None:
    assert holdings.schema == ETF_HOLDINGS.schema
    assert fund_compositions(universe, seed=5, max_constituents=300).equals(holdings)
    assert not fund_compositions(universe, seed=6, max_constituents=300).equals(holdings)


def test_every_fund_has_a_composition_on_every_date_weighing_exactly_one(
    universe: list[DemoAsset], holdings: pa.Table
) -> None:
    assert LATEST in AS_OF
    sums: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for row in _rows(holdings):
        assert isinstance(row["weight"], Decimal)
        assert row["weight"] > 0
        sums[(row["fund_isin"], row["as_of"])] += row["weight"]
    funds = {asset.isin for asset in universe if asset.kind == "etf"}
    assert set(sums) == {(fund, day) for fund in funds for day in AS_OF}
    assert all(abs(total - 1) <= Decimal("1e-9") for total in sums.values())


def test_lines_carry_attributes_some_only_a_name_and_a_cash_line(holdings: pa.Table) -> None:
    rows = _rows(holdings)
    assert all(row["currency"] and row["asset_class"] and row["constituent_name"] for row in rows)
    cash = [row for row in rows if row["asset_class"] == "cash"]
    assert cash
    assert all(row["constituent_isin"] is None and row["constituent_name"] == "Cash" for row in cash)
    unnamed = [row for row in rows if row["constituent_isin"] is None and row["asset_class"] != "cash"]
    assert unnamed  # as real fund files: a few lines without an ISIN
    securities = [row for row in rows if row["asset_class"] in {"equity", "bond"}]
    assert all(row["country"] and row["sector"] for row in securities)
    assert all(is_valid_isin(str(row["constituent_isin"])) for row in securities if row["constituent_isin"])
    assert {"equity", "bond", "etf", "cash"} <= {row["asset_class"] for row in rows}


def test_compositions_change_a_little_between_dates(holdings: pa.Table) -> None:
    first, latest = _compositions(holdings, AS_OF[0]), _compositions(holdings, LATEST)
    changed = [
        fund
        for fund, lines in latest.items()
        if {row["constituent_isin"] for row in lines} != {row["constituent_isin"] for row in first[fund]}
    ]
    assert changed
    weights = {fund: [row["weight"] for row in lines] for fund, lines in latest.items()}
    assert weights != {fund: [row["weight"] for row in lines] for fund, lines in first.items()}


def _depths(holdings: pa.Table) -> dict[str, int]:
    """How many fund levels each fund's composition goes down; a cycle fails the test."""
    held = {
        fund: [str(r["constituent_isin"]) for r in lines] for fund, lines in _compositions(holdings, LATEST).items()
    }
    depths: dict[str, int] = {}

    def depth(fund: str, path: tuple[str, ...]) -> int:
        assert fund not in path, f"cycle through {path}"
        if fund not in depths:
            inner = [depth(member, (*path, fund)) for member in held[fund] if member in held]
            depths[fund] = 1 + max(inner, default=0)
        return depths[fund]

    for fund in held:
        depth(fund, ())
    return depths


def test_funds_of_funds_nest_two_levels_deep_without_cycles(holdings: pa.Table) -> None:
    depths = _depths(holdings)
    assert sum(level >= 2 for level in depths.values()) >= 3
    assert max(depths.values()) >= 3  # a fund of funds of funds


def test_a_look_through_the_deepest_fund_accounts_for_every_euro(holdings: pa.Table) -> None:
    latest = _compositions(holdings, LATEST)
    compositions = {
        fund: [
            Constituent(
                Security(r["constituent_isin"] or r["constituent_name"], *(r[k] for k in ATTRIBUTES)),
                r["weight"],
            )
            for r in lines
        ]
        for fund, lines in latest.items()
    }
    deepest = max(_depths(holdings).items(), key=lambda item: item[1])[0]
    exposures = look_through([(Security(deepest), Decimal(1000))], compositions)
    assert all(e.security is not None for e in exposures)  # nothing unresolved: no cycle, no missing fund
    assert abs(sum((e.value for e in exposures), Decimal(0)) - 1000) < Decimal("1e-12")
    assert all(e.security.key not in latest for e in exposures if e.security)  # ends in securities, not funds


def test_the_full_demo_has_fifty_funds_from_sector_funds_to_three_thousand_lines() -> None:
    full = fund_compositions(demo_universe(2016), seed=2016)
    latest = full.filter(pa.compute.equal(full["as_of"], LATEST))
    sizes = latest.group_by("fund_isin").aggregate([("fund_isin", "count")])["fund_isin_count"].to_pylist()
    assert len(sizes) == 50
    assert max(sizes) <= 3000
    assert sum(size >= 1500 for size in sizes) >= 5
    assert sum(30 <= size <= 101 for size in sizes) >= 10
