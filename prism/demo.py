"""A realistic sample portfolio, so a new user sees Prism working in one command.

Seven years of a European investor's life: a monthly ETF savings plan, single
stocks bought in euros and in dollars (with their FX rates), dividends with
withholding tax, a partial sale, Apple's 4-for-1 split, and a dollar account.
Prices follow a seeded random walk: the same seed always gives the same ledger.
Every entry goes through the ordinary ledger store, so the demo exercises exactly
the rules and the projection a real ledger does.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection

from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.ledger import EntryDetails, record_transaction

__all__ = ["DEMO_ASSETS", "DemoBook", "create_demo_book", "demo_entries"]

T = TransactionType
CENT = Decimal("0.01")
START = dt.date(2019, 1, 2)
END = dt.date(2025, 12, 31)


@dataclass(frozen=True, slots=True)
class DemoAsset:
    """An asset the demo trades: real ISIN, plausible starting price."""

    isin: str
    name: str
    kind: str
    currency: str
    ticker: str
    start_price: Decimal
    dividend_yield: Decimal  # a year, paid quarterly (0: accumulating)


DEMO_ASSETS = (
    DemoAsset("IE00B4L5Y983", "iShares Core MSCI World UCITS ETF", "etf", "EUR", "EUNL", Decimal("48.50"), Decimal(0)),
    DemoAsset("IE00BKM4GZ66", "iShares Core MSCI EM IMI UCITS ETF", "etf", "EUR", "IS3N", Decimal("24.10"), Decimal(0)),
    DemoAsset(
        "IE00B3RBWM25",
        "Vanguard FTSE All-World UCITS ETF (Dist)",
        "etf",
        "EUR",
        "VGWL",
        Decimal("72.30"),
        Decimal("0.018"),
    ),
    DemoAsset("DE0007236101", "Siemens AG", "stock", "EUR", "SIE", Decimal("96.00"), Decimal("0.035")),
    DemoAsset("NL0010273215", "ASML Holding N.V.", "stock", "EUR", "ASML", Decimal("140.00"), Decimal("0.008")),
    DemoAsset("US0378331005", "Apple Inc.", "stock", "USD", "AAPL", Decimal("157.00"), Decimal("0.006")),
    DemoAsset("US5949181045", "Microsoft Corporation", "stock", "USD", "MSFT", Decimal("101.00"), Decimal("0.009")),
)


@dataclass(frozen=True, slots=True)
class DemoBook:
    """What :func:`create_demo_book` made."""

    owner_id: uuid.UUID
    portfolios: dict[str, uuid.UUID]
    entries: int


class _Market:
    """Seeded daily prices and a EUR/USD rate."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.prices = {a.isin: a.start_price for a in DEMO_ASSETS}
        self.usd_in_eur = Decimal("0.87")

    def step(self) -> None:
        for isin, price in self.prices.items():
            drift = Decimal(self._rng.gauss(0.0004, 0.015)).quantize(Decimal("0.0001"))
            self.prices[isin] = max(Decimal(1), (price * (1 + drift)).quantize(CENT))
        move = Decimal(self._rng.gauss(0, 0.003)).quantize(Decimal("0.0001"))
        self.usd_in_eur = min(
            Decimal("1.05"), max(Decimal("0.80"), (self.usd_in_eur * (1 + move)).quantize(Decimal("0.0001")))
        )


def demo_entries(
    portfolios: dict[str, uuid.UUID], assets: dict[str, uuid.UUID], *, seed: int = 2019
) -> Iterator[LedgerEntry]:
    """The demo ledger, in date order."""
    market, clock, rng = _Market(seed), EntryClock(), random.Random(seed + 1)
    broker, pension, dollars = portfolios["Broker"], portfolios["Pension"], portfolios["US Account"]
    held: dict[tuple[uuid.UUID, str], Decimal] = {}

    def make(
        portfolio: uuid.UUID, kind: TransactionType, day: dt.date, currency: str = "EUR", **fields: object
    ) -> LedgerEntry:
        return LedgerEntry(new_id(), portfolio, kind, day, clock.next(), currency, **fields)  # type: ignore[arg-type]

    def buy(
        portfolio: uuid.UUID,
        isin: str,
        day: dt.date,
        budget: Decimal,
        *,
        currency: str = "EUR",
        fx: Decimal | None = None,
    ) -> LedgerEntry:
        price = market.prices[isin]
        quantity = (budget / price).quantize(Decimal("0.001"))
        held[(portfolio, isin)] = held.get((portfolio, isin), Decimal(0)) + quantity
        return make(
            portfolio,
            T.BUY,
            day,
            currency,
            asset_id=assets[isin],
            quantity=quantity,
            price=price,
            fee=Decimal("1.00"),
            fx_rate=fx,
        )

    day = START
    yield make(broker, T.DEPOSIT, day, amount=Decimal("10000"))
    yield make(pension, T.DEPOSIT, day, amount=Decimal("5000"))
    yield make(dollars, T.DEPOSIT, day, "USD", amount=Decimal("8000"))
    while day <= END:
        market.step()
        if (day.day == 2 and day.weekday() < 5) or (day.day == 4 and day.weekday() == 0):
            yield make(broker, T.DEPOSIT, day, amount=Decimal("500"))
            yield make(pension, T.DEPOSIT, day, amount=Decimal("150"))
            yield buy(broker, "IE00B4L5Y983", day, Decimal("300"))
            yield buy(broker, "IE00BKM4GZ66", day, Decimal("100"))
            yield buy(pension, "IE00B3RBWM25", day, Decimal("150"))
        if day.month in (3, 6, 9, 12) and day.day == 15:
            yield from _dividends(make, held, market, day, assets=assets, dollar_portfolio=dollars)
        if day.weekday() == 2 and rng.random() < 0.04:
            isin = rng.choice(["DE0007236101", "NL0010273215"])
            yield buy(broker, isin, day, Decimal(rng.choice([500, 1000, 1500])))
        if day.weekday() == 3 and rng.random() < 0.03:
            isin = rng.choice(["US0378331005", "US5949181045"])
            budget = Decimal(rng.choice([400, 800]))
            if rng.random() < 0.5:
                yield buy(dollars, isin, day, budget, currency="USD")
            else:
                # The broker changes euros into the dollars the purchase needs.
                euros = ((budget + 1) * market.usd_in_eur).quantize(CENT)
                yield make(broker, T.WITHDRAWAL, day, amount=euros)
                yield make(broker, T.DEPOSIT, day, "USD", amount=budget + 1, fx_rate=market.usd_in_eur)
                yield buy(broker, isin, day, budget, currency="USD", fx=market.usd_in_eur)
        if day == dt.date(2020, 8, 31):
            yield make(dollars, T.SPLIT, day, "USD", asset_id=assets["US0378331005"], ratio=Decimal(4))
            for key in [k for k in held if k[1] == "US0378331005"]:
                held[key] *= 4
            market.prices["US0378331005"] = (market.prices["US0378331005"] / 4).quantize(CENT)
        if day == dt.date(2023, 7, 12) and held.get((broker, "NL0010273215")):
            sold = (held[(broker, "NL0010273215")] / 2).quantize(Decimal("0.001"))
            held[(broker, "NL0010273215")] -= sold
            yield make(
                broker,
                T.SELL,
                day,
                asset_id=assets["NL0010273215"],
                quantity=sold,
                price=market.prices["NL0010273215"],
                fee=Decimal("4.90"),
                tax=Decimal("12.35"),
            )
        day += dt.timedelta(days=1)


def _dividends(
    make: Callable[..., LedgerEntry],
    held: dict[tuple[uuid.UUID, str], Decimal],
    market: _Market,
    day: dt.date,
    *,
    assets: dict[str, uuid.UUID],
    dollar_portfolio: uuid.UUID,
) -> Iterator[LedgerEntry]:
    by_isin = {a.isin: a for a in DEMO_ASSETS}
    for (portfolio, isin), quantity in sorted(held.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        asset = by_isin[isin]
        if not asset.dividend_yield or quantity <= 0:
            continue
        gross = (quantity * market.prices[isin] * asset.dividend_yield / 4).quantize(CENT)
        if gross <= 0:
            continue
        withholding = (gross * Decimal("0.15")).quantize(CENT) if asset.currency == "USD" else Decimal(0)
        currency = asset.currency
        fx = market.usd_in_eur if currency == "USD" and portfolio != dollar_portfolio else None
        yield make(
            portfolio, T.DIVIDEND, day, currency, asset_id=assets[isin], amount=gross, tax=withholding, fx_rate=fx
        )


def create_demo_book(
    connection: Connection, *, seed: int = 2019, progress: Callable[[int], None] | None = None
) -> DemoBook:
    """Create the demo account, its portfolios, assets and ledger (one transaction)."""
    owner = create_account(connection, "Demo investor")
    portfolios = {
        "Broker": create_portfolio(connection, owner, "Broker", "EUR").id,
        "Pension": create_portfolio(connection, owner, "Pension", "EUR").id,
        "US Account": create_portfolio(connection, owner, "US Account", "USD").id,
    }
    assets = {}
    for item in DEMO_ASSETS:
        asset = new_asset(
            owner, name=item.name, kind=item.kind, currency=item.currency, isin=item.isin, ticker=item.ticker
        )
        assets[item.isin] = save_asset(connection, owner, asset).id
    count = 0
    for entry in demo_entries(portfolios, assets, seed=seed):
        record_transaction(connection, owner, entry, EntryDetails(source="demo"))
        count += 1
        if progress is not None:
            progress(count)
    return DemoBook(owner, portfolios, count)
