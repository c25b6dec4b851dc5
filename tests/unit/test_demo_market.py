"""The demo market: a seeded universe, daily closes with holidays and crashes, and EUR rates.

Most tests use a small universe over 14 months around 2020 (the crash and Apple's
split); one checks the full size the demo writes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pyarrow.compute as pc
import pytest

from prism.demo_market import APPLE_SPLIT, PAIRS, DemoMarket, exchange_holidays, generate_market
from prism.demo_universe import APPLE, CORE_ASSETS, DemoAsset, demo_universe
from prism.domain.isin import is_valid_isin

FIRST, LAST = dt.date(2019, 12, 2), dt.date(2021, 1, 29)
WORLD_ETF, SIEMENS = "IE00B4L5Y983", "DE0007236101"


def _closes(market: DemoMarket, isin: str, *days: dt.date) -> list[Decimal]:
    found = [market.close(isin, day) for day in days]
    assert None not in found
    return [close for close in found if close is not None]


@pytest.fixture(scope="module")
def universe() -> list[DemoAsset]:
    return demo_universe(11, size=120, funds=12)


@pytest.fixture(scope="module")
def market(universe: list[DemoAsset]) -> DemoMarket:
    return generate_market(universe, seed=11, start=FIRST, end=LAST)


def test_the_same_seed_gives_the_same_market_and_another_seed_another(market: DemoMarket) -> None:
    again = generate_market(demo_universe(11, size=120, funds=12), seed=11, start=FIRST, end=LAST)
    other = generate_market(demo_universe(12, size=120, funds=12), seed=12, start=FIRST, end=LAST)
    assert again.prices_table().equals(market.prices_table())
    assert again.fx_table().equals(market.fx_table())
    assert not other.prices_table().equals(market.prices_table())
    assert other.fx_table() != market.fx_table()


def test_an_assets_closes_do_not_depend_on_the_assets_generated_with_it(
    universe: list[DemoAsset], market: DemoMarket
) -> None:
    # The ledger prices a few assets; the lake holds all: they must agree.
    few = generate_market(universe[:5], seed=11, start=FIRST, end=LAST)
    for asset in universe[:5]:
        assert [few.close(asset.isin, day) for day in few.days] == [market.close(asset.isin, day) for day in few.days]


def test_the_universe_keeps_the_core_and_has_valid_distinct_isins(universe: list[DemoAsset]) -> None:
    assert universe[: len(CORE_ASSETS)] == list(CORE_ASSETS)
    assert len(universe) == 120
    assert Counter(asset.kind for asset in universe) == {"stock": 108, "etf": 12}
    assert len({asset.isin for asset in universe}) == 120
    assert all(is_valid_isin(asset.isin) for asset in universe)
    stocks = [asset for asset in universe if asset.kind == "stock"]
    assert {asset.currency for asset in stocks} == {"EUR", "USD", "GBP", "CHF"}
    assert all(asset.country and asset.sector for asset in stocks)
    assert all(asset.isin[:2] in {"IE", "LU"} and asset.focus for asset in universe if asset.kind == "etf")


def test_the_full_universe_is_a_thousand_assets_with_ten_years_of_closes() -> None:
    full = demo_universe(2016)
    assert len(full) == 1000
    assert sum(asset.kind == "etf" for asset in full) == 50
    market = generate_market(full, seed=2016)
    assert market.days[0] == dt.date(2016, 1, 4)
    assert market.days[-1] == dt.date(2025, 12, 31)
    # Every weekday less about nine holidays a year, less up to three random gaps.
    assert 1000 * (len(market.days) - 105) <= market.price_rows <= 1000 * (len(market.days) - 40)


def test_exchange_holidays_follow_each_calendar() -> None:
    assert exchange_holidays("EU", 2020) == {
        dt.date(2020, 1, 1),
        dt.date(2020, 4, 10),  # Good Friday
        dt.date(2020, 4, 13),  # Easter Monday
        dt.date(2020, 12, 25),
    }  # Boxing Day 2020 is a Saturday
    us = exchange_holidays("US", 2021)
    assert dt.date(2021, 7, 5) in us  # Independence Day, a Sunday, made up on Monday
    assert dt.date(2021, 12, 24) in us  # Christmas, a Saturday, on the Friday before
    assert dt.date(2021, 12, 31) not in us  # a Saturday New Year's Day is not made up
    assert dt.date(2021, 4, 5) not in us  # no Easter Monday in New York
    assert dt.date(2022, 6, 20) in exchange_holidays("US", 2022)  # Juneteenth, from 2022
    assert dt.date(2025, 1, 9) in exchange_holidays("US", 2025)  # a national day of mourning


def test_closes_are_missing_on_the_listings_holidays_and_a_few_random_days(
    universe: list[DemoAsset], market: DemoMarket
) -> None:
    euro = [a for a in universe if a.currency == "EUR"]
    dollar = [a for a in universe if a.currency == "USD"]
    for day in (dt.date(2019, 12, 26), dt.date(2020, 1, 1), dt.date(2020, 4, 10), dt.date(2020, 4, 13)):
        assert all(market.close(a.isin, day) is None for a in euro)
    for day in (dt.date(2020, 1, 1), dt.date(2020, 4, 10), dt.date(2020, 11, 26), dt.date(2020, 7, 3)):
        assert all(market.close(a.isin, day) is None for a in dollar)
    assert all(market.close(a.isin, dt.date(2020, 11, 26)) is not None for a in euro[:5])  # Thanksgiving
    assert all(market.close(a.isin, dt.date(2020, 4, 13)) is not None for a in dollar[:5])  # Easter Monday
    # Beyond the holidays, some assets have a day without a close (as real feeds do).
    holidays = {"EUR": 6, "GBP": 6, "CHF": 6, "USD": 12}  # weekdays closed from Dec 2019 to Jan 2021
    closes = Counter(pc.filter(market.prices_table()["isin"], pc.is_valid(market.prices_table()["close"])).to_pylist())
    gaps = [len(market.days) - holidays[a.currency] - closes[a.isin] for a in universe]
    assert min(gaps) == 0
    assert 0 < sum(gaps) <= 3 * len(universe)
    assert market.close(APPLE, APPLE_SPLIT) is not None  # never a gap on the split day


def test_closes_are_positive_exact_decimals_of_two_to_four_places(market: DemoMarket) -> None:
    prices = market.prices_table()
    assert pc.min(prices["close"]).as_py() > 0
    for close in prices["close"].to_pylist()[::97]:
        assert close == close.quantize(Decimal("0.0001"))
    (siemens,) = _closes(market, SIEMENS, dt.date(2020, 6, 2))
    assert siemens == siemens.quantize(Decimal("0.01"))


def test_the_market_crashes_in_march_2020_and_recovers_by_the_summer(market: DemoMarket) -> None:
    before, bottom, summer = _closes(
        market, WORLD_ETF, dt.date(2020, 2, 19), dt.date(2020, 3, 23), dt.date(2020, 8, 31)
    )
    assert bottom / before < Decimal("0.75")
    assert summer / bottom > Decimal("1.3")


def test_apples_close_quarters_on_its_split_day(market: DemoMarket) -> None:
    friday, split, after = _closes(market, APPLE, dt.date(2020, 8, 28), APPLE_SPLIT, dt.date(2020, 9, 1))
    assert Decimal("0.85") < split * 4 / friday < Decimal("1.15")  # quantity x close stays continuous
    assert Decimal("0.85") < after / split < Decimal("1.15")


def test_fx_rates_exist_every_weekday_near_their_historical_levels(market: DemoMarket) -> None:
    rates = market.fx_table()
    assert rates.num_rows == len(PAIRS) * len(market.days)
    bounds = {"EURUSD": ("0.9", "1.35"), "EURGBP": ("0.7", "1.0"), "EURCHF": ("0.85", "1.25")}
    for pair, rate in zip(rates["pair"].to_pylist(), rates["rate"].to_pylist(), strict=True):
        low, high = bounds[pair]
        assert Decimal(low) < rate < Decimal(high)
    saturday = dt.date(2020, 5, 16)
    assert market.fx_rate("EURUSD", saturday) == market.fx_rate("EURUSD", dt.date(2020, 5, 15))
    assert market.fx_rate("EURUSD", dt.date(2020, 5, 15)) == market.fx_rate("EURUSD", dt.date(2020, 5, 15)).quantize(
        Decimal("0.0001")
    )
