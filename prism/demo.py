"""A realistic sample portfolio, so a new user sees Prism working in one command.

Ten years of a European investor's life, at scale 1 about 200 assets and 10,000
transactions: a monthly ETF savings plan, single stocks bought in euros, dollars,
pounds and francs (with their FX rates and the currency exchange before), sales of
part of what is held, dividends (quarterly, half-yearly or yearly, as the listing's
custom is) with withholding tax, Apple's 4-for-1 split, and a dollar account. Every
trade is at the generated market's close of its day (:mod:`prism.demo_market`), at
that day's FX rate, so the ledger and the lake's prices agree; a seed always gives
the same ledger and market. Every entry goes through the ordinary ledger store, so
the demo obeys exactly the rules and keeps the projection a real ledger does.
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

from prism.demo_market import APPLE_SPLIT, START, DemoMarket, generate_market
from prism.demo_universe import APPLE, CORE_ASSETS, DemoAsset, demo_universe
from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.ledger import EntryDetails, record_transaction

__all__ = ["DemoAsset", "DemoBook", "create_demo_book", "demo_assets", "demo_entries"]

T = TransactionType
CENT = Decimal("0.01")
FX_PLACES = Decimal("0.000001")
BASES = {"Broker": "EUR", "Pension": "EUR", "US Account": "USD"}
# The savings plans: (portfolio, fund, monthly amount).
PLANS = (
    ("Broker", "IE00B4L5Y983", Decimal(300)),
    ("Broker", "IE00BKM4GZ66", Decimal(100)),
    ("Pension", "IE00B3RBWM25", Decimal(140)),
)


def demo_assets(count: int, seed: int) -> list[DemoAsset]:
    """The first ``count`` assets of the seed's universe (at least the core, at most all 1,000)."""
    return demo_universe(seed)[: max(len(CORE_ASSETS), count)]


@dataclass(frozen=True, slots=True)
class DemoBook:
    """What :func:`create_demo_book` made."""

    owner_id: uuid.UUID
    portfolios: dict[str, uuid.UUID]
    assets: int
    entries: int


class _Ledger:
    """Writes the demo's entries while tracking what is held, so sales never oversell."""

    def __init__(self, portfolios: dict[str, uuid.UUID], ids: dict[str, uuid.UUID], market: DemoMarket) -> None:
        self.portfolios, self.ids, self.market = portfolios, ids, market
        self.bases = {portfolios[name]: currency for name, currency in BASES.items()}
        self.clock = EntryClock()
        self.held: dict[tuple[uuid.UUID, str], Decimal] = {}
        # Cash per portfolio, in its currency (roughly: a tracker, not the ledger), so a
        # purchase is paid from savings, topped up by a deposit when they run short,
        # and the demo never invests on credit.
        self.cash: dict[uuid.UUID, Decimal] = dict.fromkeys(self.bases, Decimal(0))

    def make(
        self, portfolio: uuid.UUID, kind: TransactionType, day: dt.date, currency: str = "EUR", **fields: object
    ) -> LedgerEntry:
        return LedgerEntry(new_id(), portfolio, kind, day, self.clock.next(), currency, **fields)  # type: ignore[arg-type]

    def deposit(self, portfolio: uuid.UUID, day: dt.date, amount: Decimal) -> LedgerEntry:
        """Money paid into ``portfolio`` in its own currency."""
        self.cash[portfolio] += amount
        return self.make(portfolio, T.DEPOSIT, day, self.bases[portfolio], amount=amount)

    def _pay(self, portfolio: uuid.UUID, day: dt.date, cost: Decimal) -> Iterator[LedgerEntry]:
        """Take ``cost`` (in the portfolio's currency) from its cash, topping it up first if short."""
        short = cost - self.cash[portfolio]
        if short > 0:
            yield self.deposit(portfolio, day, Decimal(math.ceil(short / 500) * 500))
        self.cash[portfolio] -= cost

    def _per_euro(self, currency: str, day: dt.date) -> Decimal:
        return Decimal(1) if currency == "EUR" else self.market.fx_rate(f"EUR{currency}", day)

    def fx_for(self, portfolio: uuid.UUID, asset: DemoAsset, day: dt.date) -> Decimal | None:
        """Units of the portfolio's currency for one of the asset's on ``day`` (None: the same currency)."""
        base = self.bases[portfolio]
        if asset.currency == base:
            return None
        return (self._per_euro(base, day) / self._per_euro(asset.currency, day)).quantize(FX_PLACES)

    def buy(self, portfolio: uuid.UUID, asset: DemoAsset, day: dt.date, budget: Decimal) -> Iterator[LedgerEntry]:
        price = self.market.close(asset.isin, day)
        if price is None:  # its exchange is closed today
            return
        quantity = (budget / price).quantize(Decimal("0.001"))
        if quantity <= 0:
            return
        fx = self.fx_for(portfolio, asset, day)
        yield from self._pay(portfolio, day, ((quantity * price + 1) * (fx or 1)).quantize(CENT))
        if fx is not None:
            needed = (quantity * price + 1).quantize(CENT)
            # The broker changes euros into the currency the purchase needs.
            yield self.make(portfolio, T.WITHDRAWAL, day, amount=(needed * fx).quantize(CENT))
            yield self.make(portfolio, T.DEPOSIT, day, asset.currency, amount=needed, fx_rate=fx)
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
        price = self.market.close(asset.isin, day)
        if quantity <= 0 or quantity > held or price is None:
            return
        self.held[(portfolio, asset.isin)] = held - quantity
        fx = self.fx_for(portfolio, asset, day)
        fee = Decimal("4.90")
        self.cash[portfolio] += ((quantity * price - fee) * (fx or 1)).quantize(CENT)
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
        if fx is not None:  # and the proceeds go back into euros
            proceeds = (quantity * price - fee).quantize(CENT)
            yield self.make(portfolio, T.WITHDRAWAL, day, asset.currency, amount=proceeds, fx_rate=fx)
            yield self.make(portfolio, T.DEPOSIT, day, amount=(proceeds * fx).quantize(CENT))

    def dividends(self, asset: DemoAsset, day: dt.date, payments: int) -> Iterator[LedgerEntry]:
        """One of ``asset``'s ``payments`` a year to every portfolio holding it, at today's close."""
        price = self.market.close(asset.isin, day)
        if price is None or not asset.dividend_yield:
            return
        for portfolio in self.bases:
            quantity = self.held.get((portfolio, asset.isin), Decimal(0))
            gross = (quantity * price * asset.dividend_yield / payments).quantize(CENT)
            if gross <= 0:
                continue
            withholding = (gross * Decimal("0.15")).quantize(CENT) if asset.currency == "USD" else Decimal(0)
            self.cash[portfolio] += ((gross - withholding) * (self.fx_for(portfolio, asset, day) or 1)).quantize(CENT)
            yield self.make(
                portfolio,
                T.DIVIDEND,
                day,
                asset.currency,
                asset_id=self.ids[asset.isin],
                amount=gross,
                tax=withholding,
                fx_rate=self.fx_for(portfolio, asset, day),
            )

    def split(self, isin: str, ratio: int, day: dt.date) -> LedgerEntry:
        for key in [k for k in self.held if k[1] == isin]:
            self.held[key] *= ratio
        return self.make(
            self.portfolios["US Account"], T.SPLIT, day, "USD", asset_id=self.ids[isin], ratio=Decimal(ratio)
        )


def demo_entries(
    portfolios: dict[str, uuid.UUID],
    ids: dict[str, uuid.UUID],
    assets: list[DemoAsset],
    *,
    transactions: int,
    seed: int,
    market: DemoMarket | None = None,
) -> Iterator[LedgerEntry]:
    """About ``transactions`` ledger entries over ten years, in date order, at ``market``'s closes."""
    market = market or generate_market(assets, seed=seed)
    rng = random.Random(seed + 1)
    ledger = _Ledger(portfolios, ids, market)
    by_isin = {a.isin: a for a in assets}
    broker, pension, dollars = portfolios["Broker"], portfolios["Pension"], portfolios["US Account"]
    trades_a_day = transactions * 0.3 / len(market.days)
    # Enough saved each month for the trades the broker account makes on average.
    monthly_saving = Decimal(max(1000, round(trades_a_day * 21 * 150, -2)))
    made = [
        ledger.deposit(broker, START, Decimal(20_000)),
        ledger.deposit(pension, START, Decimal(5000)),
        ledger.deposit(dollars, START, Decimal(10_000) * max(1, len(assets) // 100)),
    ]
    yield from made
    count, month, plans, paying = len(made), 0, list[tuple[str, str, Decimal]](), list[DemoAsset]()
    for number, day in enumerate(market.days, start=1):
        made = []
        if day == APPLE_SPLIT and APPLE in ids:  # effective at the open: today's close is already split
            made.append(ledger.split(APPLE, 4, day))
        if day.month != month:
            month = day.month
            made.append(ledger.deposit(broker, day, monthly_saving))
            made.append(ledger.deposit(pension, day, Decimal(150)))
            plans = [plan for plan in PLANS if plan[1] in by_isin]
            paying = [asset for asset in assets if asset.dividend_yield and month in _paid_in(asset)]
        # A plan buys, and a dividend is paid, on the asset's first trading day of the month.
        for plan in [p for p in plans if market.close(p[1], day) is not None]:
            made += ledger.buy(portfolios[plan[0]], by_isin[plan[1]], day, plan[2])
            plans.remove(plan)
        for asset in [a for a in paying if market.close(a.isin, day) is not None]:
            made += ledger.dividends(asset, day, len(_paid_in(asset)))
            paying.remove(asset)
        # Trades fill what plans and dividends leave of the day's share of ``transactions``
        # (a trade is two entries on average, with its currency exchange).
        behind = transactions * number / len(market.days) - count - len(made)
        for _ in range(_poisson(rng, min(3 * trades_a_day, max(0.2 * trades_a_day, behind / 2)))):
            made += _random_trade(ledger, rng, assets, day)
        count += len(made)
        yield from made


def _paid_in(asset: DemoAsset) -> tuple[int, ...]:
    """The months ``asset`` pays its dividend in: American shares and funds quarterly,
    British shares twice a year, continental ones once, after their annual meeting."""
    if asset.kind == "etf" or asset.currency == "USD":
        return (3, 6, 9, 12)
    return (4, 10) if asset.currency == "GBP" else (5,)


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, math.exp(-mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _random_trade(ledger: _Ledger, rng: random.Random, assets: list[DemoAsset], day: dt.date) -> Iterator[LedgerEntry]:
    asset = rng.choice(assets)
    if ledger.market.close(asset.isin, day) is None:  # closed today: trade something that is not
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
    number of assets (benchmarks use 1,000 assets at 100,000 transactions). The assets
    are a prefix of the 1,000 of :func:`prism.demo_universe.demo_universe`, never more.
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
        # Country and sector travel with the asset, as a broker or the hive would give them,
        # so what is held directly has them in a look-through exposure too.
        details = {key: value for key, value in (("country", item.country), ("sector", item.sector)) if value}
        asset = new_asset(
            owner,
            name=item.name,
            kind=item.kind,
            currency=item.currency,
            isin=item.isin,
            ticker=item.ticker,
            metadata=details,
        )
        ids[item.isin] = save_asset(connection, owner, asset).id
    count = 0
    for entry in demo_entries(portfolios, ids, assets, transactions=round(10_000 * scale), seed=seed):
        record_transaction(connection, owner, entry, EntryDetails(source="demo"))
        count += 1
        if progress is not None and count % 100 == 0:
            progress(count)
    return DemoBook(owner, portfolios, len(assets), count)
