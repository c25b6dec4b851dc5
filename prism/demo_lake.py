"""The demo market, written into the analytics lake (``prism demo``, and benchmarks).

Closes go in a year at a time (one partition per write, so progress can be shown and
no write holds all 2.5 million rows twice), then the FX rates, then the ETF
compositions. Each is an ordinary lake write; the caller holds the writer lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NamedTuple

from prism.demo_funds import fund_compositions
from prism.demo_market import PAIRS, generate_market
from prism.demo_universe import demo_universe
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, Lake, write_rows

__all__ = ["MarketWritten", "lake_has_prices", "write_demo_market"]

#: Told what is being done, and how many of how many steps are done.
Progress = Callable[[str, int, int], None]


class MarketWritten(NamedTuple):
    """What :func:`write_demo_market` put into the lake."""

    assets: int
    closes: int
    first: dt.date
    last: dt.date
    pairs: tuple[str, ...]
    rates: int
    funds: int
    compositions: int  # one per fund and date
    holdings: int  # lines of all compositions


def lake_has_prices(lake: Lake) -> bool:
    """True when the lake's ``prices`` dataset already has committed rows."""
    return bool(lake.manifest(PRICES).files)


def write_demo_market(
    lake: Lake, *, seed: int = 2016, size: int = 1000, funds: int = 50, progress: Progress | None = None
) -> MarketWritten:
    """Generate the demo market of ``seed`` and write it into ``lake``; the caller holds the writer lease."""

    def step(description: str, done: int, total: int) -> None:
        if progress is not None:
            progress(description, done, total)

    step("generating the market", 0, 1)
    universe = demo_universe(seed, size=size, funds=funds)
    market = generate_market(universe, seed=seed)
    holdings = fund_compositions(universe, seed=seed)
    years = sorted({day.year for day in market.days})
    total, closes = len(years) + 2, 0
    for done, year in enumerate(years):
        step(f"writing {year}'s closes", done, total)
        closes += write_rows(lake, PRICES, market.prices_table(year)).rows
    step("writing FX rates", len(years), total)
    rates = write_rows(lake, FX, market.fx_table()).rows
    step("writing ETF compositions", len(years) + 1, total)
    write_rows(lake, ETF_HOLDINGS, holdings)
    step("written", total, total)
    return MarketWritten(
        assets=len(universe),
        closes=closes,
        first=market.days[0],
        last=market.days[-1],
        pairs=PAIRS,
        rates=rates,
        funds=len(holdings["fund_isin"].unique()),
        compositions=holdings.group_by(["fund_isin", "as_of"]).aggregate([]).num_rows,
        holdings=holdings.num_rows,
    )
