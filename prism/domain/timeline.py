"""A ledger as a timeline (pure; no I/O): what each portfolio held, day by day.

The daily value of a portfolio needs, for every day, its quantity of each asset, its
cash in each currency, the money that flowed in or out, and running totals (gains,
dividends, fees, taxes). All of these change only on days with entries, so the
replay records *events*: the state at the end of each day something changed. A
query then carries each event forward to the following days.

Flows follow the TTWROR conventions of :mod:`prism.domain.returns`: deposits,
withdrawals, deliveries and transfers are flows; dividends and interest are return;
fees and taxes are negative return. A transfer between two portfolios of the same
owner is marked *internal*: it moves nothing in or out of the owner's total.
Realised gains and cost bases come from the same fold as the positions projection
(:func:`prism.domain.positions.apply_to_positions`), both cost methods at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from prism.domain.ledger import LedgerEntry, TransactionType, cash_effects, gross_amount
from prism.domain.money import CONTEXT, ZERO
from prism.domain.positions import Position, SortKey, apply_to_positions, quote_from_entry

__all__ = ["CashEvent", "Flow", "QuantityEvent", "Timeline", "TotalsEvent", "TradePrice", "build_timeline"]

T = TransactionType
_FLOWS_IN = frozenset({T.DEPOSIT, T.DELIVERY_IN})
_FLOWS_OUT = frozenset({T.WITHDRAWAL, T.DELIVERY_OUT})


class QuantityEvent(NamedTuple):
    """A portfolio's quantity of an asset at the end of ``date``."""

    portfolio_id: uuid.UUID
    asset_id: uuid.UUID
    date: dt.date
    quantity: Decimal


class CashEvent(NamedTuple):
    """A portfolio's cash balance in one currency at the end of ``date``."""

    portfolio_id: uuid.UUID
    currency: str
    date: dt.date
    balance: Decimal


class Flow(NamedTuple):
    """Money or securities moved into (``inflow``) or out of a portfolio on ``date``.

    Cash flows carry an amount in ``currency`` and, when the entry gave one, the
    rate into the portfolio's base currency (None: use the market rate of the day).
    Securities moved between portfolios carry the asset and quantity instead and
    are valued at the day's close.
    """

    portfolio_id: uuid.UUID
    date: dt.date
    inflow: bool
    currency: str | None
    amount: Decimal | None
    rate: Decimal | None
    asset_id: uuid.UUID | None
    quantity: Decimal | None
    internal: bool


class TotalsEvent(NamedTuple):
    """A portfolio's running totals in its base currency at the end of ``date``."""

    portfolio_id: uuid.UUID
    date: dt.date
    realized_fifo: Decimal
    realized_average: Decimal
    cost_fifo: Decimal
    cost_average: Decimal
    dividends: Decimal
    interest: Decimal
    fees: Decimal
    taxes: Decimal


class TradePrice(NamedTuple):
    """The price an entry traded at: the fallback for assets the lake has no close for."""

    asset_id: uuid.UUID
    date: dt.date
    price: Decimal
    currency: str


@dataclass(slots=True)
class Timeline:
    """Every event of a ledger, in date order within each kind."""

    quantities: list[QuantityEvent] = field(default_factory=list)
    cash: list[CashEvent] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    totals: list[TotalsEvent] = field(default_factory=list)
    trade_prices: list[TradePrice] = field(default_factory=list)
    first_date: dict[uuid.UUID, dt.date] = field(default_factory=dict)  # per portfolio


@dataclass(slots=True)
class _Totals:
    dividends: Decimal = ZERO
    interest: Decimal = ZERO
    fees: Decimal = ZERO
    taxes: Decimal = ZERO
    realized_fifo: Decimal = ZERO
    realized_average: Decimal = ZERO
    cost_fifo: Decimal = ZERO
    cost_average: Decimal = ZERO


def _flows(entry: LedgerEntry, bases: Mapping[uuid.UUID, str]) -> list[Flow]:
    kind, day, source = entry.type, entry.date, entry.portfolio_id

    def known_rate(portfolio: uuid.UUID) -> Decimal | None:
        if entry.currency == bases.get(portfolio):
            return Decimal(1)
        return entry.fx_rate if portfolio == source and kind is not T.TRANSFER else None

    if kind in _FLOWS_IN or kind in _FLOWS_OUT:
        amount = gross_amount(entry)
        return [Flow(source, day, kind in _FLOWS_IN, entry.currency, amount, known_rate(source), None, None, False)]
    if kind is not T.TRANSFER or entry.target_portfolio_id is None:
        return []
    target = entry.target_portfolio_id
    if entry.asset_id is None:
        amount = entry.amount or ZERO
        return [
            Flow(source, day, False, entry.currency, amount, known_rate(source), None, None, True),
            Flow(target, day, True, entry.currency, amount, known_rate(target), None, None, True),
        ]
    quantity = entry.quantity or ZERO
    return [
        Flow(source, day, False, None, None, None, entry.asset_id, quantity, True),
        Flow(target, day, True, None, None, None, entry.asset_id, quantity, True),
    ]


def _income(entry: LedgerEntry, totals: dict[uuid.UUID, _Totals]) -> None:
    t = totals[entry.portfolio_id]
    rate = entry.rate
    amount = CONTEXT.multiply(gross_amount(entry), rate)
    if entry.type is T.DIVIDEND:
        t.dividends = CONTEXT.add(t.dividends, amount)
    elif entry.type is T.INTEREST:
        t.interest = CONTEXT.add(t.interest, amount)
    elif entry.type is T.FEE:
        t.fees = CONTEXT.add(t.fees, amount)
    elif entry.type is T.TAX:
        t.taxes = CONTEXT.add(t.taxes, amount)
    if entry.fee:
        t.fees = CONTEXT.add(t.fees, CONTEXT.multiply(entry.fee, rate))
    if entry.tax:
        t.taxes = CONTEXT.add(t.taxes, CONTEXT.multiply(entry.tax, rate))


class _Book:
    """The replay's state: positions, cash and totals, and what changed today."""

    def __init__(self) -> None:
        self.positions: dict[tuple[uuid.UUID, uuid.UUID], Position] = {}
        self.by_asset: dict[uuid.UUID, list[Position]] = defaultdict(list)
        self.cash: dict[tuple[uuid.UUID, str], Decimal] = defaultdict(lambda: ZERO)
        self.totals: dict[uuid.UUID, _Totals] = defaultdict(_Totals)
        self.touched_positions: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self.touched_cash: set[tuple[uuid.UUID, str]] = set()
        self.touched_totals: set[uuid.UUID] = set()

    def position(self, portfolio: uuid.UUID, asset: uuid.UUID) -> Position:
        key = (portfolio, asset)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(portfolio, asset)
            self.by_asset[asset].append(found)
        self.touched_positions.add(key)
        return found

    def of_asset(self, asset: uuid.UUID) -> list[Position]:
        for held in self.by_asset[asset]:
            self.touched_positions.add((held.portfolio_id, held.asset_id))
        return self.by_asset[asset]

    def costs_before(self, keys: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> dict[tuple[uuid.UUID, uuid.UUID], Position]:
        return {key: self.positions[key] for key in keys if key in self.positions}


def _position_costs(position: Position) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return position.fifo_cost, position.average_cost, position.realized_fifo, position.realized_average


def build_timeline(
    entries: Iterable[tuple[SortKey, LedgerEntry]] | Iterable[LedgerEntry],
    bases: Mapping[uuid.UUID, str],
) -> Timeline:
    """Replay ``entries`` (in ledger order) into a :class:`Timeline`.

    ``bases`` maps each portfolio to its base currency (to recognise flows that need
    no conversion).
    """
    timeline, book = Timeline(), _Book()
    before: dict[tuple[uuid.UUID, uuid.UUID], tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    day: dt.date | None = None
    for item in entries:
        key, entry = item if isinstance(item, tuple) else (item.sort_key, item)
        if entry.date != day:
            if day is not None:
                _close_day(timeline, book, before, day)
            day = entry.date
        timeline.first_date.setdefault(entry.portfolio_id, entry.date)
        if entry.target_portfolio_id is not None:
            timeline.first_date.setdefault(entry.target_portfolio_id, entry.date)
        _apply(entry, key, book, before=before, timeline=timeline, bases=bases)
    if day is not None:
        _close_day(timeline, book, before, day)
    return timeline


def _apply(
    entry: LedgerEntry,
    key: SortKey,
    book: _Book,
    *,
    before: dict[tuple[uuid.UUID, uuid.UUID], tuple[Decimal, Decimal, Decimal, Decimal]],
    timeline: Timeline,
    bases: Mapping[uuid.UUID, str],
) -> None:
    if entry.moves_security and entry.asset_id is not None:
        affected = (
            [(p.portfolio_id, p.asset_id) for p in book.by_asset[entry.asset_id]]
            if entry.type is T.SPLIT
            else [(entry.portfolio_id, entry.asset_id)]
            + ([(entry.target_portfolio_id, entry.asset_id)] if entry.target_portfolio_id else [])
        )
        for held_key, held in book.costs_before(affected).items():
            before.setdefault(held_key, _position_costs(held))
        for held_key in affected:
            before.setdefault(held_key, (ZERO, ZERO, ZERO, ZERO))
        apply_to_positions(entry, book.position, book.of_asset, key)
        quote = quote_from_entry(entry)
        if quote is not None:
            timeline.trade_prices.append(TradePrice(entry.asset_id, entry.date, quote.price, quote.currency))
    elif entry.type is T.DIVIDEND and entry.asset_id is not None:
        book.position(entry.portfolio_id, entry.asset_id)
    for portfolio, currency, delta in cash_effects(entry):
        book.cash[(portfolio, currency)] = CONTEXT.add(book.cash[(portfolio, currency)], delta)
        book.touched_cash.add((portfolio, currency))
    _income(entry, book.totals)
    book.touched_totals.add(entry.portfolio_id)
    if entry.target_portfolio_id is not None:
        book.touched_totals.add(entry.target_portfolio_id)
    timeline.flows.extend(_flows(entry, bases))


def _close_day(
    timeline: Timeline,
    book: _Book,
    before: dict[tuple[uuid.UUID, uuid.UUID], tuple[Decimal, Decimal, Decimal, Decimal]],
    day: dt.date,
) -> None:
    for portfolio, asset in sorted(book.touched_positions):
        position = book.positions[(portfolio, asset)]
        timeline.quantities.append(QuantityEvent(portfolio, asset, day, position.quantity))
        old = before.get((portfolio, asset))
        if old is not None:
            new = _position_costs(position)
            t = book.totals[portfolio]
            t.cost_fifo = CONTEXT.add(t.cost_fifo, CONTEXT.subtract(new[0], old[0]))
            t.cost_average = CONTEXT.add(t.cost_average, CONTEXT.subtract(new[1], old[1]))
            t.realized_fifo = CONTEXT.add(t.realized_fifo, CONTEXT.subtract(new[2], old[2]))
            t.realized_average = CONTEXT.add(t.realized_average, CONTEXT.subtract(new[3], old[3]))
            book.touched_totals.add(portfolio)
    for portfolio, currency in sorted(book.touched_cash):
        timeline.cash.append(CashEvent(portfolio, currency, day, book.cash[(portfolio, currency)]))
    for portfolio in sorted(book.touched_totals):
        t = book.totals[portfolio]
        timeline.totals.append(
            TotalsEvent(
                portfolio,
                day,
                t.realized_fifo,
                t.realized_average,
                t.cost_fifo,
                t.cost_average,
                t.dividends,
                t.interest,
                t.fees,
                t.taxes,
            )
        )
    book.touched_positions.clear()
    book.touched_cash.clear()
    book.touched_totals.clear()
    before.clear()
