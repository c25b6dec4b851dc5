"""A realistic sample portfolio, so a new user sees Prism working in one command.

Ten years of a European investor's life, at scale 1 about 200 assets and 10,000
transactions: a monthly ETF savings plan, single stocks bought in euros and in
dollars (with their FX rates and the currency exchange before), sales of part of
what is held, quarterly dividends with withholding tax, Apple's 4-for-1 split, and a
dollar account. Prices follow a seeded random walk, so a seed always gives the same
ledger. Every entry goes through the ordinary ledger store, so the demo obeys exactly
the rules and keeps the projection a real ledger does.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection

from prism.domain.ids import EntryClock, new_id
from prism.domain.isin import is_valid_isin
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.ledger import EntryDetails, record_transaction

__all__ = ["DemoAsset", "DemoBook", "create_demo_book", "demo_assets", "demo_entries"]

T = TransactionType
CENT = Decimal("0.01")
START = dt.date(2016, 1, 4)
END = dt.date(2025, 12, 31)
APPLE = "US0378331005"
APPLE_SPLIT = dt.date(2020, 8, 31)


@dataclass(frozen=True, slots=True)
class DemoAsset:
    """An asset the demo trades."""

    isin: str
    name: str
    kind: str
    currency: str
    ticker: str
    start_price: Decimal
    dividend_yield: Decimal  # a year, paid quarterly (0: accumulating)


CORE_ASSETS = (
    DemoAsset("IE00B4L5Y983", "iShares Core MSCI World UCITS ETF", "etf", "EUR", "EUNL", Decimal("38.50"), Decimal(0)),
    DemoAsset("IE00BKM4GZ66", "iShares Core MSCI EM IMI UCITS ETF", "etf", "EUR", "IS3N", Decimal("19.10"), Decimal(0)),
    DemoAsset(
        "IE00B3RBWM25",
        "Vanguard FTSE All-World UCITS ETF (Dist)",
        "etf",
        "EUR",
        "VGWL",
        Decimal("58.30"),
        Decimal("0.018"),
    ),
    DemoAsset("DE0007236101", "Siemens AG", "stock", "EUR", "SIE", Decimal("86.00"), Decimal("0.035")),
    DemoAsset("NL0010273215", "ASML Holding N.V.", "stock", "EUR", "ASML", Decimal("82.00"), Decimal("0.008")),
    DemoAsset(APPLE, "Apple Inc.", "stock", "USD", "AAPL", Decimal("105.00"), Decimal("0.006")),
    DemoAsset("US5949181045", "Microsoft Corporation", "stock", "USD", "MSFT", Decimal("55.00"), Decimal("0.009")),
)
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
]
_SECOND = [
    "Energy",
    "Logistics",
    "Pharma",
    "Robotics",
    "Foods",
    "Semiconductors",
    "Insurance",
    "Telecom",
    "Materials",
    "Software",
    "Retail",
    "Utilities",
    "Aerospace",
    "Chemicals",
    "Banking",
    "Mobility",
]
_SUFFIX = {"EUR": ["AG", "SE", "N.V.", "S.A.", "plc"], "USD": ["Inc.", "Corp.", "Holdings Inc.", "Group Inc."]}


def _synthetic_isin(country: str, number: int) -> str:
    body = f"{country}{number:09d}"
    return next(body + str(digit) for digit in range(10) if is_valid_isin(body + str(digit)))


def demo_assets(count: int, seed: int) -> list[DemoAsset]:
    """The core assets plus generated ones, ``count`` in all (at least the core)."""
    rng = random.Random(seed)
    found = list(CORE_ASSETS)
    for number in range(max(0, count - len(found))):
        currency = "USD" if rng.random() < 0.3 else "EUR"
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX[currency])}"
        kind = "etf" if rng.random() < 0.1 else "stock"
        price = Decimal(rng.randrange(500, 40000)) / 100
        dividend = Decimal(rng.choice([0, 0, 0, 150, 250, 400])) / 10000
        country = "US" if currency == "USD" else rng.choice(["DE", "FR", "NL", "IE"])
        ticker = "".join(word[0] for word in name.split()[:2]).upper() + f"{number % 100:02d}"
        found.append(
            DemoAsset(_synthetic_isin(country, 100_000 + number), name, kind, currency, ticker, price, dividend)
        )
    return found


class _Market:
    """Seeded prices (a lazy random walk per asset) and a EUR-per-USD rate."""

    def __init__(self, assets: list[DemoAsset], seed: int) -> None:
        self._rng = random.Random(seed)
        self._walk = {a.isin: (START, a.start_price) for a in assets}
        self.usd_in_eur = Decimal("0.90")

    def price(self, isin: str, day: dt.date) -> Decimal:
        last_day, last_price = self._walk[isin]
        days = (day - last_day).days
        if days > 0:
            move = self._rng.gauss(0.00035 * days, 0.016 * math.sqrt(days))
            last_price = max(Decimal(1), (last_price * Decimal(math.exp(move))).quantize(CENT))
            self._walk[isin] = (day, last_price)
        return last_price

    def split(self, isin: str, ratio: int) -> None:
        day, price = self._walk[isin]
        self._walk[isin] = (day, (price / ratio).quantize(CENT))

    def step_fx(self) -> None:
        move = Decimal(self._rng.gauss(0, 0.003)).quantize(Decimal("0.0001"))
        rate = (self.usd_in_eur * (1 + move)).quantize(Decimal("0.0001"))
        self.usd_in_eur = min(Decimal("1.05"), max(Decimal("0.80"), rate))


@dataclass(frozen=True, slots=True)
class DemoBook:
    """What :func:`create_demo_book` made."""

    owner_id: uuid.UUID
    portfolios: dict[str, uuid.UUID]
    assets: int
    entries: int


class _Ledger:
    """Writes the demo's entries while tracking what is held, so sales never oversell."""

    def __init__(self, portfolios: dict[str, uuid.UUID], ids: dict[str, uuid.UUID], market: _Market) -> None:
        self.portfolios, self.ids, self.market = portfolios, ids, market
        self.clock = EntryClock()
        self.held: dict[tuple[uuid.UUID, str], Decimal] = {}

    def make(
        self, portfolio: uuid.UUID, kind: TransactionType, day: dt.date, currency: str = "EUR", **fields: object
    ) -> LedgerEntry:
        return LedgerEntry(new_id(), portfolio, kind, day, self.clock.next(), currency, **fields)  # type: ignore[arg-type]

    def fx_for(self, portfolio: uuid.UUID, asset: DemoAsset) -> Decimal | None:
        """The EUR-per-USD rate when a dollar asset is booked in a euro portfolio, else None."""
        if asset.currency == "USD" and portfolio != self.portfolios["US Account"]:
            return self.market.usd_in_eur
        return None

    def buy(self, portfolio: uuid.UUID, asset: DemoAsset, day: dt.date, budget: Decimal) -> Iterator[LedgerEntry]:
        price = self.market.price(asset.isin, day)
        quantity = (budget / price).quantize(Decimal("0.001"))
        if quantity <= 0:
            return
        fx = self.fx_for(portfolio, asset)
        if fx is not None:
            dollars = (quantity * price + 1).quantize(CENT)
            # The broker changes euros into the dollars the purchase needs.
            yield self.make(portfolio, T.WITHDRAWAL, day, amount=(dollars * fx).quantize(CENT))
            yield self.make(portfolio, T.DEPOSIT, day, "USD", amount=dollars, fx_rate=fx)
        self.held[(portfolio, asset.isin)] = self.held.get((portfolio, asset.isin), Decimal(0)) + quantity
        yield self.make(
            portfolio,
            T.BUY,
            day,
            asset.currency,
            asset_id=self.ids[asset.isin],
            quantity=quantity,
            price=price,
            fee=Decimal("1.00"),
            fx_rate=fx,
        )

    def sell(self, portfolio: uuid.UUID, asset: DemoAsset, day: dt.date, share: Decimal) -> Iterator[LedgerEntry]:
        held = self.held.get((portfolio, asset.isin), Decimal(0))
        quantity = (held * share).quantize(Decimal("0.001"))
        if quantity <= 0 or quantity > held:
            return
        self.held[(portfolio, asset.isin)] = held - quantity
        price = self.market.price(asset.isin, day)
        fx = self.fx_for(portfolio, asset)
        fee = Decimal("4.90")
        yield self.make(
            portfolio,
            T.SELL,
            day,
            asset.currency,
            asset_id=self.ids[asset.isin],
            quantity=quantity,
            price=price,
            fee=fee,
            fx_rate=fx,
        )
        if fx is not None:  # and the dollars go back into euros
            dollars = (quantity * price - fee).quantize(CENT)
            yield self.make(portfolio, T.WITHDRAWAL, day, "USD", amount=dollars, fx_rate=fx)
            yield self.make(portfolio, T.DEPOSIT, day, amount=(dollars * fx).quantize(CENT))

    def dividends(self, assets: dict[str, DemoAsset], day: dt.date) -> Iterator[LedgerEntry]:
        for (portfolio, isin), quantity in sorted(self.held.items(), key=lambda item: (str(item[0][0]), item[0][1])):
            asset = assets[isin]
            if not asset.dividend_yield or quantity <= 0:
                continue
            gross = (quantity * self.market.price(isin, day) * asset.dividend_yield / 4).quantize(CENT)
            if gross <= 0:
                continue
            withholding = (gross * Decimal("0.15")).quantize(CENT) if asset.currency == "USD" else Decimal(0)
            yield self.make(
                portfolio,
                T.DIVIDEND,
                day,
                asset.currency,
                asset_id=self.ids[isin],
                amount=gross,
                tax=withholding,
                fx_rate=self.fx_for(portfolio, asset),
            )


def demo_entries(
    portfolios: dict[str, uuid.UUID],
    ids: dict[str, uuid.UUID],
    assets: list[DemoAsset],
    *,
    transactions: int,
    seed: int,
) -> Iterator[LedgerEntry]:
    """About ``transactions`` ledger entries over ten years, in date order."""
    market, rng = _Market(assets, seed), random.Random(seed + 1)
    ledger = _Ledger(portfolios, ids, market)
    by_isin = {a.isin: a for a in assets}
    broker, pension, dollars = portfolios["Broker"], portfolios["Pension"], portfolios["US Account"]
    trading_days = sum(1 for n in range((END - START).days + 1) if (START + dt.timedelta(n)).weekday() < 5)
    # Savings plans and dividends make about a third of the entries; trades the rest.
    trades_a_day = max(0.0, transactions * 0.62 / trading_days / 1.3)
    # Enough saved each month for the trades the broker account makes on average.
    monthly_saving = Decimal(max(1000, round(trades_a_day * 21 * 150, -2)))
    yield ledger.make(broker, T.DEPOSIT, START, amount=Decimal(20_000))
    yield ledger.make(pension, T.DEPOSIT, START, amount=Decimal(5000))
    yield ledger.make(dollars, T.DEPOSIT, START, "USD", amount=Decimal(10_000) * max(1, len(assets) // 100))
    day, month = START, 0
    while day <= END:
        if day.weekday() < 5:
            market.step_fx()
            if day.month != month:
                month = day.month
                yield ledger.make(broker, T.DEPOSIT, day, amount=monthly_saving)
                yield ledger.make(pension, T.DEPOSIT, day, amount=Decimal(150))
                yield from ledger.buy(broker, by_isin["IE00B4L5Y983"], day, Decimal(300))
                yield from ledger.buy(broker, by_isin["IE00BKM4GZ66"], day, Decimal(100))
                yield from ledger.buy(pension, by_isin["IE00B3RBWM25"], day, Decimal(140))
                if month in (3, 6, 9, 12):
                    yield from ledger.dividends(by_isin, day)
            for _ in range(_poisson(rng, trades_a_day)):
                yield from _random_trade(ledger, rng, assets, day)
        if day == APPLE_SPLIT:
            yield ledger.make(dollars, T.SPLIT, day, "USD", asset_id=ids[APPLE], ratio=Decimal(4))
            for key in [k for k in ledger.held if k[1] == APPLE]:
                ledger.held[key] *= 4
            market.split(APPLE, 4)
        day += dt.timedelta(days=1)


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, math.exp(-mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _random_trade(ledger: _Ledger, rng: random.Random, assets: list[DemoAsset], day: dt.date) -> Iterator[LedgerEntry]:
    asset = rng.choice(assets)
    portfolio = (
        ledger.portfolios["US Account"]
        if asset.currency == "USD" and rng.random() < 0.5
        else (ledger.portfolios["Broker"])
    )
    if rng.random() < 0.25 and ledger.held.get((portfolio, asset.isin)):
        yield from ledger.sell(portfolio, asset, day, Decimal(rng.choice([25, 50, 100])) / 100)
    else:
        yield from ledger.buy(portfolio, asset, day, Decimal(rng.choice([250, 500, 1000, 2000])))


def create_demo_book(
    connection: Connection,
    *,
    scale: float = 1.0,
    seed: int = 2016,
    progress: Callable[[int], None] | None = None,
    assets_count: int | None = None,
) -> DemoBook:
    """Create the demo account, its portfolios, assets and ledger, in the caller's transaction.

    ``scale`` 1 is ~200 assets and ~10,000 transactions; ``assets_count`` overrides the
    number of assets (benchmarks use 1,000 assets at 100,000 transactions).
    """
    assets = demo_assets(max(len(CORE_ASSETS), assets_count or round(200 * scale)), seed)
    owner = create_account(connection, "Demo investor")
    portfolios = {
        "Broker": create_portfolio(connection, owner, "Broker", "EUR").id,
        "Pension": create_portfolio(connection, owner, "Pension", "EUR").id,
        "US Account": create_portfolio(connection, owner, "US Account", "USD").id,
    }
    ids = {}
    for item in assets:
        asset = new_asset(
            owner, name=item.name, kind=item.kind, currency=item.currency, isin=item.isin, ticker=item.ticker
        )
        ids[item.isin] = save_asset(connection, owner, asset).id
    count = 0
    for entry in demo_entries(portfolios, ids, assets, transactions=round(10_000 * scale), seed=seed):
        record_transaction(connection, owner, entry, EntryDetails(source="demo"))
        count += 1
        if progress is not None and count % 100 == 0:
            progress(count)
    return DemoBook(owner, portfolios, len(assets), count)
