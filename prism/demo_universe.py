"""The demo's universe of assets: a thousand stocks and funds an investor could trade.

The core assets look real (Apple, Microsoft, an MSCI World ETF...); the rest are
generated, each with a valid ISIN, a listing currency, a country and a sector (for a
fund, its domicile and its focus). The universe is a pure function of the seed, and
its order is fixed: the demo ledger trades a prefix of it, and its funds are spread
evenly through it so every prefix holds a few.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from prism.domain.isin import is_valid_isin

__all__ = [
    "APPLE",
    "CORE_ASSETS",
    "SECTORS",
    "DemoAsset",
    "demo_universe",
    "fund_focuses",
    "synthetic_isin",
]

APPLE = "US0378331005"
SECTORS = (
    "Information Technology",
    "Financials",
    "Health Care",
    "Industrials",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Materials",
    "Utilities",
    "Communication Services",
    "Real Estate",
)


@dataclass(frozen=True, slots=True)
class DemoAsset:
    """An asset of the demo universe.

    ``country`` is where a stock is incorporated (a fund: its domicile); ``sector`` is a
    stock's; ``focus`` says what a fund tracks ("world", "em", "sector:Energy", "fof2"...).
    """

    isin: str
    name: str
    kind: str
    currency: str
    ticker: str
    start_price: Decimal
    dividend_yield: Decimal  # a year, paid quarterly (0: accumulating)
    country: str | None = None
    sector: str | None = None
    focus: str | None = None


def _etf(isin: str, name: str, *, ticker: str, price: str, dividend: str, focus: str) -> DemoAsset:
    return DemoAsset(isin, name, "etf", "EUR", ticker, Decimal(price), Decimal(dividend), "IE", None, focus)


CORE_ASSETS = (
    _etf(
        "IE00B4L5Y983", "iShares Core MSCI World UCITS ETF", ticker="EUNL", price="38.50", dividend="0", focus="world"
    ),
    _etf("IE00BKM4GZ66", "iShares Core MSCI EM IMI UCITS ETF", ticker="IS3N", price="19.10", dividend="0", focus="em"),
    _etf(
        "IE00B3RBWM25",
        "Vanguard FTSE All-World UCITS ETF (Dist)",
        ticker="VGWL",
        price="58.30",
        dividend="0.018",
        focus="allworld",
    ),
    DemoAsset(
        "DE0007236101", "Siemens AG", "stock", "EUR", "SIE", Decimal("86.00"), Decimal("0.035"), "DE", "Industrials"
    ),
    DemoAsset(
        "NL0010273215",
        "ASML Holding N.V.",
        "stock",
        "EUR",
        "ASML",
        Decimal("82.00"),
        Decimal("0.008"),
        "NL",
        "Information Technology",
    ),
    DemoAsset(
        APPLE, "Apple Inc.", "stock", "USD", "AAPL", Decimal("105.00"), Decimal("0.006"), "US", "Information Technology"
    ),
    DemoAsset(
        "US5949181045",
        "Microsoft Corporation",
        "stock",
        "USD",
        "MSFT",
        Decimal("55.00"),
        Decimal("0.009"),
        "US",
        "Information Technology",
    ),
)
_CORE_FUNDS = sum(1 for asset in CORE_ASSETS if asset.kind == "etf")

_FIRST = [
    "Northern",
    "Atlantic",
    "Alpine",
    "Baltic",
    "Crescent",
    "Summit",
    "Harbor",
    "Meridian",
    "Pioneer",
    "Granite",
    "Silver",
    "Evergreen",
    "Coastal",
    "Royal",
    "United",
    "Pacific",
    "Nordic",
    "Iberian",
    "Rhine",
    "Danube",
    "Aurora",
    "Falcon",
    "Orion",
    "Vector",
    "Horizon",
    "Beacon",
    "Sterling",
    "Cobalt",
    "Lakeside",
    "Continental",
]
# The second word of a name says the company's business, so its sector follows from it.
_BUSINESS = {
    "Energy": "Energy",
    "Petroleum": "Energy",
    "Logistics": "Industrials",
    "Aerospace": "Industrials",
    "Robotics": "Industrials",
    "Pharma": "Health Care",
    "Biotech": "Health Care",
    "Medical": "Health Care",
    "Semiconductors": "Information Technology",
    "Software": "Information Technology",
    "Insurance": "Financials",
    "Banking": "Financials",
    "Telecom": "Communication Services",
    "Media": "Communication Services",
    "Materials": "Materials",
    "Chemicals": "Materials",
    "Retail": "Consumer Discretionary",
    "Mobility": "Consumer Discretionary",
    "Foods": "Consumer Staples",
    "Beverages": "Consumer Staples",
    "Utilities": "Utilities",
    "Properties": "Real Estate",
}
_LISTINGS = (  # currency, share of the generated stocks, countries, lowest and highest start price
    ("USD", 0.45, ("US",), 10, 400),
    ("EUR", 0.35, ("DE", "FR", "NL", "IT", "ES", "FI", "BE", "AT", "IE"), 5, 300),
    ("GBP", 0.12, ("GB",), 1, 60),
    ("CHF", 0.08, ("CH",), 20, 500),
)
_SUFFIX = {
    "US": ("Inc.", "Corp.", "Holdings Inc.", "Group Inc."),
    "DE": ("AG", "SE"),
    "FR": ("S.A.", "SE"),
    "NL": ("N.V.",),
    "IT": ("S.p.A.",),
    "ES": ("S.A.",),
    "FI": ("Oyj",),
    "BE": ("N.V.", "S.A."),
    "AT": ("AG",),
    "IE": ("plc",),
    "GB": ("plc", "Group plc"),
    "CH": ("AG", "Holding AG"),
}
_ISSUERS = ("Northstar", "Helix", "Lumen", "Kestrel", "Meridian", "Aurora")
_FOCUS_NAMES = {
    "world": "Developed World Equity",
    "allworld": "All-World Equity",
    "em": "Emerging Markets Equity",
    "region:US": "USA Equity",
    "region:Europe": "Europe Equity",
    "region:GB": "UK Equity",
    "region:CH": "Switzerland Equity",
    "dividend": "Global High Dividend",
    "bond:govt": "Euro Government Bond",
    "bond:corp": "Global Corporate Bond",
    "fof1": "Multi-Asset Balanced Portfolio",
    "fof2": "Multi-Asset Strategy Portfolio",
}
# The mix of the generated funds, in the order they are handed out (funds of funds apart).
_FOCUS_CYCLE = (
    "world",
    "sector",
    "region",
    "sector",
    "bond:govt",
    "sector",
    "allworld",
    "sector",
    "em",
    "dividend",
    "sector",
    "region",
    "bond:corp",
    "sector",
)
_REGIONS = ("region:US", "region:Europe", "region:GB", "region:CH")


def synthetic_isin(country: str, number: int) -> str:
    """A valid ISIN of ``country`` made from ``number`` (unique per country and number)."""
    body = f"{country}{number:09d}"
    return next(body + str(digit) for digit in range(10) if is_valid_isin(body + str(digit)))


def fund_focuses(count: int) -> list[str]:
    """What ``count`` generated funds track: some funds of funds (two levels), the rest a mix.

    At least two first-level funds of funds (holding plain funds) and one second-level
    one (holding a first-level one), so a look-through always has to go two deep.
    """
    level_two = max(1, count // 25)
    level_one = max(2, count // 15)
    plain = max(0, count - level_one - level_two)
    found: list[str] = []
    sectors = regions = 0
    for number in range(plain):
        focus = _FOCUS_CYCLE[number % len(_FOCUS_CYCLE)]
        if focus == "sector":
            focus, sectors = f"sector:{SECTORS[sectors % len(SECTORS)]}", sectors + 1
        elif focus == "region":
            focus, regions = _REGIONS[regions % len(_REGIONS)], regions + 1
        found.append(focus)
    return [*found, *["fof1"] * level_one, *["fof2"] * level_two][:count]


def demo_universe(seed: int, *, size: int = 1000, funds: int = 50) -> list[DemoAsset]:
    """``size`` assets (at least the core), ``funds`` of them ETFs, the rest stocks."""
    size = max(size, len(CORE_ASSETS))
    generated = size - len(CORE_ASSETS)
    focuses = fund_focuses(max(0, min(funds - _CORE_FUNDS, generated)))
    # Funds spread evenly, so every prefix of the universe (what the ledger trades) has some.
    slots = {round((number + 0.5) * generated / len(focuses)): number for number in range(len(focuses))}
    rng = random.Random(f"prism-demo-universe:{seed}")
    names: set[str] = {asset.name for asset in CORE_ASSETS}
    found = list(CORE_ASSETS)
    for number in range(generated):
        if number in slots:
            found.append(_fund(rng, slots[number], focuses[slots[number]]))
        else:
            found.append(_stock(rng, number, names))
    return found


def _stock(rng: random.Random, number: int, names: set[str]) -> DemoAsset:
    currency, _, countries, low, high = rng.choices(_LISTINGS, weights=[listing[1] for listing in _LISTINGS])[0]
    country = rng.choice(countries)
    while True:
        business = rng.choice(sorted(_BUSINESS))
        name = f"{rng.choice(_FIRST)} {business} {rng.choice(_SUFFIX[country])}"
        if name not in names:
            break
    names.add(name)
    ticker = "".join(word[0] for word in name.split()[:2]).upper() + f"{number % 100:02d}"
    price = Decimal(rng.randrange(low * 100, high * 100)) / 100
    dividend = Decimal(rng.choice([0, 0, 0, 150, 250, 400])) / 10000
    return DemoAsset(
        synthetic_isin(country, 100_000 + number),
        name,
        "stock",
        currency,
        ticker,
        price,
        dividend,
        country,
        _BUSINESS[business],
    )


def _fund(rng: random.Random, number: int, focus: str) -> DemoAsset:
    issuer = _ISSUERS[number % len(_ISSUERS)]
    label = _FOCUS_NAMES.get(focus) or f"World {focus.removeprefix('sector:')} Sector"
    distributing = focus.startswith("bond") or focus == "dividend" or rng.random() < 0.3
    name = f"{issuer} {label} UCITS ETF ({'Dist' if distributing else 'Acc'})"
    domicile = "IE" if rng.random() < 0.7 else "LU"
    currency = "USD" if rng.random() < 0.15 else "EUR"
    dividend = Decimal(rng.choice([150, 200, 300])) / 10000 if distributing else Decimal(0)
    price = Decimal(rng.randrange(2000, 12000)) / 100
    ticker = f"{issuer[:2].upper()}{number:02d}"
    return DemoAsset(
        synthetic_isin(domicile, 200_000 + number),
        name,
        "etf",
        currency,
        ticker,
        price,
        dividend,
        domicile,
        None,
        focus,
    )
