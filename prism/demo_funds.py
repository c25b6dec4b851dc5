"""What the demo's ETFs hold: generated compositions, as a fund's holdings file lists them.

Each fund of the universe gets a composition on a few dates: broad funds hold the
largest companies of their region by market value (1,500 to 3,000 lines for the world
and all-cap funds), sector funds 30 to 100, bond funds government or corporate bonds.
Constituents are the universe's stocks plus a long tail of companies the demo does not
price (Japanese, Chinese, Indian...), a few listed by name only, as real files do.
Weights sum to exactly 1, a small cash line (no ISIN) included. Funds of funds hold
other funds of the universe, a second level holding a first, never in a cycle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from prism.demo_market import decimal_column
from prism.demo_universe import CORE_ASSETS, SECTORS, DemoAsset, synthetic_isin
from prism.storage.lake.datasets import ETF_HOLDINGS

__all__ = ["AS_OF", "fund_compositions"]

#: The dates each fund's composition is published for (the latest last).
AS_OF = (dt.date(2024, 12, 31), dt.date(2025, 6, 30), dt.date(2025, 12, 31))
_WHOLE = 10**12  # a weight of 1 at the lake's scale of 12 decimals
_FUND_ASSET_CLASS = "etf"
_DEVELOPED = {  # country: (currency, share of the developed tail)
    "US": ("USD", 0.40),
    "JP": ("JPY", 0.12),
    "GB": ("GBP", 0.05),
    "CA": ("CAD", 0.05),
    "FR": ("EUR", 0.04),
    "DE": ("EUR", 0.04),
    "AU": ("AUD", 0.04),
    "CH": ("CHF", 0.03),
    "SE": ("SEK", 0.03),
    "NL": ("EUR", 0.02),
    "DK": ("DKK", 0.02),
    "IT": ("EUR", 0.02),
    "ES": ("EUR", 0.02),
    "HK": ("HKD", 0.02),
    "SG": ("SGD", 0.01),
    "FI": ("EUR", 0.01),
    "BE": ("EUR", 0.01),
    "NO": ("NOK", 0.01),
    "IL": ("ILS", 0.01),
    "NZ": ("NZD", 0.01),
    "AT": ("EUR", 0.005),
    "PT": ("EUR", 0.005),
}
_EMERGING = {
    "CN": ("HKD", 0.28),
    "IN": ("INR", 0.20),
    "TW": ("TWD", 0.17),
    "KR": ("KRW", 0.11),
    "BR": ("BRL", 0.05),
    "SA": ("SAR", 0.04),
    "ZA": ("ZAR", 0.03),
    "MX": ("MXN", 0.02),
    "ID": ("IDR", 0.02),
    "TH": ("THB", 0.02),
    "MY": ("MYR", 0.02),
    "AE": ("AED", 0.02),
    "PL": ("PLN", 0.01),
    "TR": ("TRY", 0.01),
    "CL": ("CLP", 0.02),
}
_EUROPE = {"DE", "FR", "NL", "IT", "ES", "FI", "BE", "AT", "IE", "PT", "GB", "CH", "SE", "DK", "NO"}
_SECTOR_SHARES = (0.20, 0.16, 0.11, 0.11, 0.10, 0.07, 0.05, 0.05, 0.03, 0.08, 0.04)
_WORDS = [
    "Sun",
    "Golden",
    "Pearl",
    "Dragon",
    "Lotus",
    "Eagle",
    "Harbour",
    "Crown",
    "Delta",
    "Star",
    "Prime",
    "Unity",
    "Apex",
    "Zenith",
    "Jade",
    "Nova",
]
_KINDS = [
    "Electric",
    "Motors",
    "Holdings",
    "Industries",
    "Bank",
    "Steel",
    "Foods",
    "Semiconductor",
    "Telecom",
    "Realty",
    "Pharma",
    "Trading",
]
_GOVERNMENTS = (
    ("DE", "Bundesrepublik Deutschland"),
    ("FR", "French Republic OAT"),
    ("IT", "Republic of Italy BTP"),
    ("ES", "Kingdom of Spain Bonos"),
    ("NL", "Kingdom of the Netherlands"),
    ("BE", "Kingdom of Belgium"),
)


# constituent_isin, constituent_name, country, sector, currency, asset_class
_Row = tuple[str | None, str, str | None, str | None, str, str]


@dataclass(frozen=True, slots=True)
class _Pool:
    """Every security a fund may hold, column by column (a row: one security)."""

    table: pa.Table  # constituent_isin, constituent_name, country, sector, currency, asset_class
    cap: npt.NDArray[np.float64]  # market value (bonds: issue size), in billions
    country: npt.NDArray[np.str_]
    sector: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]  # "developed", "emerging", "govt", "corp"
    dividend: npt.NDArray[np.bool_]  # pays a high dividend (eligible for dividend funds)


def _rng(seed: int, *labels: object) -> np.random.Generator:
    digest = hashlib.blake2b(":".join(map(str, labels)).encode(), digest_size=8).digest()
    return np.random.default_rng([seed, 5, int.from_bytes(digest)])


def _tail(rng: np.random.Generator, regions: dict[str, tuple[str, float]], count: int, first: int) -> list[_Row]:
    countries = list(regions)
    shares = np.array([regions[c][1] for c in countries])
    picked = rng.choice(len(countries), size=count, p=shares / shares.sum())
    sectors = rng.choice(len(SECTORS), size=count, p=np.array(_SECTOR_SHARES) / sum(_SECTOR_SHARES))
    words, kinds = rng.integers(0, len(_WORDS), count), rng.integers(0, len(_KINDS), count)
    unlisted = rng.random(count) < 0.01  # some lines of a real file carry only a name
    rows: list[_Row] = []
    for n in range(count):
        country = countries[picked[n]]
        isin = None if unlisted[n] else synthetic_isin(country, first + n)
        name = f"{_WORDS[words[n]]} {_KINDS[kinds[n]]} {country} {n % 97 + 1}"
        rows.append((isin, name, country, SECTORS[sectors[n]], regions[country][0], "equity"))
    return rows


def _pool(universe: Sequence[DemoAsset], seed: int, max_constituents: int) -> _Pool:
    rng = _rng(seed, "pool")
    stocks = [a for a in universe if a.kind == "stock"]
    rows: list[_Row] = [(a.isin, a.name, a.country, a.sector, a.currency, "equity") for a in stocks]
    big = {"US0378331005": 3000.0, "US5949181045": 2800.0, "NL0010273215": 300.0, "DE0007236101": 150.0}
    caps = [big.get(a.isin, float(rng.lognormal(np.log(30), 1.0))) for a in stocks]
    kinds = ["developed"] * len(stocks)
    developed, emerging = round(max_constituents * 4 / 3), round(max_constituents * 1.1)
    rows += _tail(rng, _DEVELOPED, developed, 500_000)
    caps += list(rng.lognormal(np.log(5), 1.3, developed))
    rows += _tail(rng, _EMERGING, emerging, 600_000)
    caps += list(rng.lognormal(np.log(3), 1.3, emerging))
    kinds += ["developed"] * developed + ["emerging"] * emerging
    bonds = max(60, max_constituents // 3)
    for n in range(bonds):
        coupon, year = rng.integers(0, 40) / 8, 2026 + int(rng.integers(0, 30))
        if n % 3 == 0:  # a government bond of the euro area
            country, issuer = _GOVERNMENTS[n // 3 % len(_GOVERNMENTS)]
            isin, name, sector, currency, kind = (
                synthetic_isin(country, 800_000 + n),
                issuer,
                "Government",
                "EUR",
                "govt",
            )
        else:
            country = str(rng.choice(["US", "DE", "FR", "GB", "NL", "JP"]))
            currency = "USD" if country in {"US", "JP"} else "EUR"
            name, sector, kind = f"{_WORDS[n % len(_WORDS)]} {_KINDS[n % len(_KINDS)]}", "Corporate", "corp"
            isin = synthetic_isin("XS", 800_000 + n)
        rows.append((isin, f"{name} {coupon:.3f}% {year}", country, sector, currency, "bond"))
        kinds.append(kind)
        caps.append(float(rng.uniform(0.5, 5.0)))
    names = ("constituent_isin", "constituent_name", "country", "sector", "currency", "asset_class")
    table = pa.table({name: pa.array([row[k] for row in rows], pa.string()) for k, name in enumerate(names)})
    return _Pool(
        table,
        np.array(caps),
        np.array([row[2] for row in rows]),
        np.array([row[3] for row in rows]),
        np.array(kinds),
        rng.random(len(rows)) < 0.3,
    )


def _eligible(pool: _Pool, focus: str) -> tuple[npt.NDArray[np.bool_], tuple[float, float]]:
    """Which securities a fund with ``focus`` may hold, and its size (lines, as a share of the maximum)."""
    developed, emerging = pool.kind == "developed", pool.kind == "emerging"
    if focus == "world":
        return developed, (0.5, 0.55)
    if focus == "allworld":
        return developed | emerging, (0.83, 1.0)
    if focus == "em":
        return emerging, (0.3, 1.0)
    if focus == "dividend":
        return developed & pool.dividend, (0.04, 0.1)
    if focus == "bond:govt":
        return pool.kind == "govt", (0.05, 0.1)
    if focus == "bond:corp":
        return pool.kind == "corp", (0.15, 0.27)
    if focus.startswith("sector:"):
        return developed & (pool.sector == focus.removeprefix("sector:")), (0.01, 0.034)
    country = focus.removeprefix("region:")
    if country == "Europe":
        return developed & np.isin(pool.country, sorted(_EUROPE)), (0.12, 0.15)
    sizes = {"US": (0.15, 0.2), "GB": (0.02, 0.033), "CH": (0.01, 0.02)}
    return developed & (pool.country == country), sizes.get(country, (0.01, 0.03))


def _weights(values: npt.NDArray[np.float64], total: int) -> npt.NDArray[np.int64]:
    """``values`` as positive integer weights summing to exactly ``total``."""
    units: npt.NDArray[np.int64] = np.maximum(np.floor(values / values.sum() * total), 1).astype(np.int64)
    units[int(np.argmax(units))] += total - int(units.sum())
    return units


def _lines(fund: DemoAsset, day: dt.date, lines: pa.Table, units: npt.NDArray[np.int64]) -> pa.Table:
    count = lines.num_rows
    return (
        lines.append_column("weight", decimal_column(units, 12))
        .append_column("fund_isin", pa.array([fund.isin] * count, pa.string()))
        .append_column("as_of", pa.array([day] * count, pa.date32()))
    )


def _cash(fund: DemoAsset) -> pa.Table:
    return pa.table(
        {
            "constituent_isin": pa.array([None], pa.string()),
            "constituent_name": ["Cash"],
            "country": pa.array([None], pa.string()),
            "sector": pa.array([None], pa.string()),
            "currency": [fund.currency],
            "asset_class": ["cash"],
        }
    )


def _direct(fund: DemoAsset, pool: _Pool, seed: int, max_constituents: int, as_of: Sequence[dt.date]) -> list[pa.Table]:
    rng = _rng(seed, "fund", fund.isin)
    eligible, (low, high) = _eligible(pool, fund.focus or "world")
    share = 1.0 if fund.isin == CORE_ASSETS[1].isin else rng.uniform(low, high)  # the EM IMI fund holds them all
    cash = int(rng.uniform(0.001, 0.008) * _WHOLE) if rng.random() < 0.8 else 0
    lines = min(int(eligible.sum()), max(30, round(share * max_constituents)), max_constituents - (cash > 0))
    found = []
    for day in as_of:
        # Market values move between publication dates, so the smallest names come and go.
        moved = pool.cap * _rng(seed, "caps", day).lognormal(0.0, 0.1, pool.cap.size)
        candidates = np.flatnonzero(eligible)
        chosen = np.sort(candidates[np.argsort(-moved[candidates], kind="stable")[:lines]])
        table = pool.table.take(pa.array(chosen))
        units = _weights(moved[chosen], _WHOLE - cash)
        if cash:
            table, units = pa.concat_tables([table, _cash(fund)]), np.append(units, cash)
        found.append(_lines(fund, day, table, units))
    return found


def _of_funds(fund: DemoAsset, held: list[DemoAsset], seed: int, as_of: Sequence[dt.date]) -> list[pa.Table]:
    rng = _rng(seed, "fund", fund.isin)
    shares = rng.dirichlet(np.full(len(held), 2.0))
    table = pa.table(
        {
            "constituent_isin": [a.isin for a in held],
            "constituent_name": [a.name for a in held],
            "country": [a.country for a in held],
            "sector": pa.array([None] * len(held), pa.string()),
            "currency": [a.currency for a in held],
            "asset_class": [_FUND_ASSET_CLASS] * len(held),
        }
    )
    with_cash = pa.concat_tables([table, _cash(fund)])
    found = []
    for day in as_of:
        drifted = shares * _rng(seed, "drift", fund.isin, day).lognormal(0.0, 0.03, len(held))
        cash = int(rng.uniform(0.005, 0.02) * _WHOLE)
        found.append(_lines(fund, day, with_cash, np.append(_weights(drifted, _WHOLE - cash), cash)))
    return found


def _holdings_of(fund: DemoAsset, funds: list[DemoAsset], seed: int) -> list[DemoAsset]:
    """The funds a fund of funds holds: first level only plain funds, second level a first-level one too."""
    rng = _rng(seed, "members", fund.isin)
    plain = [f for f in funds if not (f.focus or "").startswith("fof")]
    broad = [f for f in plain if f.focus in {"world", "allworld", "em"}] or plain
    bonds = [f for f in plain if (f.focus or "").startswith("bond")]
    picked = [broad[int(rng.integers(len(broad)))]]
    if bonds:
        picked.append(bonds[int(rng.integers(len(bonds)))])
    extra = [f for f in plain if f not in picked]
    picked += [
        extra[int(k)] for k in rng.choice(len(extra), size=min(len(extra), int(rng.integers(1, 4))), replace=False)
    ]
    if fund.focus == "fof2":
        first_level = [f for f in funds if f.focus == "fof1"]
        picked.insert(0, first_level[int(rng.integers(len(first_level)))])
    return picked


def fund_compositions(
    universe: Sequence[DemoAsset],
    *,
    seed: int,
    max_constituents: int = 3000,
    as_of: Sequence[dt.date] = AS_OF,
) -> pa.Table:
    """The composition of every fund of ``universe`` on each ``as_of`` date (``etf_holdings`` rows).

    ``max_constituents`` is the size of the largest fund; the others scale with it.
    """
    pool = _pool(universe, seed, max_constituents)
    funds = [asset for asset in universe if asset.kind == "etf"]
    parts: list[pa.Table] = []
    for fund in funds:
        if (fund.focus or "").startswith("fof"):
            parts += _of_funds(fund, _holdings_of(fund, funds, seed), seed, as_of)
        else:
            parts += _direct(fund, pool, seed, max_constituents, as_of)
    return pa.concat_tables(parts).select(ETF_HOLDINGS.schema.names)
