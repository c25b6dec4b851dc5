"""Ledger -> lots -> positions: the fold at the heart of Prism.

A :class:`Position` is one asset in one portfolio. It keeps two books side by side,
so either cost method can be shown without replaying history:

* the FIFO book, a list of :class:`Lot` (oldest first), and
* the moving-average book, a quantity and one total cost.

Both books see the same signed flows. An entry brings a signed quantity ``dq`` and
a signed value ``dv`` in the portfolio's base currency (a buy: ``+q``, ``+cost``; a
sell: ``-q``, ``-proceeds``). The part of ``dq`` that closes existing lots realises
``-dv_share - cost_share``; the rest opens a lot. A sale of more than is held thus
opens a negative lot instead of failing: merged data is never rejected, only flagged
(:attr:`Position.overdrafts`). Because every division is rounded once and its
remainder kept (``cost - share``), realised + unrealised gain is exactly
``sum(proceeds) + market value - sum(costs)`` under both methods.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from prism.domain.ledger import LedgerEntry, TransactionType, gross_amount
from prism.domain.money import CONTEXT, ZERO, canonical_value, divide

__all__ = [
    "CostMethod",
    "Lot",
    "Position",
    "PositionFigures",
    "Quote",
    "SortKey",
    "apply_to_positions",
    "positions_touched",
    "quote_from_entry",
]

T = TransactionType
SortKey = tuple[dt.date, int, str]


class CostMethod(StrEnum):
    """How sold units are matched against bought ones."""

    FIFO = "fifo"
    AVERAGE = "average"


@dataclass(slots=True)
class Lot:
    """Units bought (or, when negative, sold short by merged data) together."""

    quantity: Decimal
    cost: Decimal
    opened: dt.date


@dataclass(slots=True)
class Position:
    """One asset in one portfolio, derived from the ledger."""

    portfolio_id: uuid.UUID
    asset_id: uuid.UUID
    quantity: Decimal = ZERO
    lots: list[Lot] = field(default_factory=list)
    average_cost: Decimal = ZERO
    realized_fifo: Decimal = ZERO
    realized_average: Decimal = ZERO
    dividends: Decimal = ZERO
    overdrafts: list[uuid.UUID] = field(default_factory=list)
    last_key: SortKey | None = None

    @property
    def fifo_cost(self) -> Decimal:
        """Cost basis of the open lots under FIFO."""
        return canonical_value(sum((lot.cost for lot in self.lots), ZERO))

    @property
    def is_consistent(self) -> bool:
        """False when merged data took out more than was held."""
        return not self.overdrafts

    def figures(self, method: CostMethod | str) -> PositionFigures:
        """The numbers a holding shows under one cost method, without the lots."""
        fifo = CostMethod(method) is CostMethod.FIFO
        return PositionFigures(
            portfolio_id=self.portfolio_id,
            asset_id=self.asset_id,
            quantity=self.quantity,
            cost_basis=self.fifo_cost if fifo else self.average_cost,
            realized_gain=self.realized_fifo if fifo else self.realized_average,
            dividends=self.dividends,
            consistent=self.is_consistent,
        )


class PositionFigures(NamedTuple):
    """A position's totals under one cost method: all a holding needs.

    A named tuple, not a dataclass: reading holdings builds one per position straight
    from a database row, and that construction is much of a read's cost.
    """

    portfolio_id: uuid.UUID
    asset_id: uuid.UUID
    quantity: Decimal
    cost_basis: Decimal
    realized_gain: Decimal
    dividends: Decimal
    consistent: bool


class Quote(NamedTuple):
    """The latest known price of an asset (a trade price until market data exists)."""

    price: Decimal
    currency: str
    date: dt.date


def _sign(value: Decimal) -> int:
    return 1 if value > 0 else -1


def _share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """The part of ``total`` that belongs to ``part`` out of ``whole`` units."""
    return total if part == whole else divide(CONTEXT.multiply(total, part), whole)


def _trade_fifo(position: Position, dq: Decimal, dv: Decimal, opened: dt.date) -> None:
    lots = position.lots
    while dq != 0 and lots and _sign(lots[0].quantity) != _sign(dq):
        lot = lots[0]
        close = min(abs(dq), abs(lot.quantity))
        value_part = _share(dv, close, abs(dq))
        cost_part = _share(lot.cost, close, abs(lot.quantity))
        if close == abs(lot.quantity):
            lots.pop(0)
        else:
            lot.quantity = canonical_value(CONTEXT.add(lot.quantity, _sign(dq) * close))
            lot.cost = canonical_value(CONTEXT.subtract(lot.cost, cost_part))
        position.realized_fifo = CONTEXT.subtract(position.realized_fifo, CONTEXT.add(value_part, cost_part))
        dq = CONTEXT.subtract(dq, _sign(dq) * close)
        dv = CONTEXT.subtract(dv, value_part)
    if dq != 0:
        lots.append(Lot(canonical_value(dq), canonical_value(dv), opened))


def _trade_average(position: Position, dq: Decimal, dv: Decimal) -> None:
    held = position.quantity
    if held != 0 and _sign(held) != _sign(dq):
        close = min(abs(dq), abs(held))
        value_part = _share(dv, close, abs(dq))
        cost_part = _share(position.average_cost, close, abs(held))
        position.average_cost = CONTEXT.subtract(position.average_cost, cost_part)
        position.realized_average = CONTEXT.subtract(position.realized_average, CONTEXT.add(value_part, cost_part))
        dv = CONTEXT.subtract(dv, value_part)
    position.average_cost = CONTEXT.add(position.average_cost, dv)


def _trade(position: Position, entry: LedgerEntry, dq: Decimal, dv: Decimal) -> None:
    if dq < 0 and position.quantity < -dq:
        position.overdrafts.append(entry.id)
    _trade_fifo(position, dq, dv, entry.date)
    _trade_average(position, dq, dv)
    position.quantity = CONTEXT.add(position.quantity, dq)
    _tidy(position)


def _tidy(position: Position) -> None:
    # Lots are made canonical where they are opened or changed: re-canonicalizing every
    # open lot after each trade made a long history quadratic. canonical_value depends
    # only on a value, and Decimal results only on their operands' values, so where it
    # is applied changes no digit.
    position.quantity = canonical_value(position.quantity)
    position.average_cost = canonical_value(position.average_cost)
    position.realized_fifo = canonical_value(position.realized_fifo)
    position.realized_average = canonical_value(position.realized_average)


def _take(position: Position, entry: LedgerEntry, quantity: Decimal) -> tuple[list[Lot], Decimal]:
    """Remove ``quantity`` units at cost (a transfer out): the FIFO lots and average cost taken."""
    if position.quantity < quantity:
        position.overdrafts.append(entry.id)
    taken: list[Lot] = []
    remaining = quantity
    lots = position.lots
    while remaining > 0 and lots and lots[0].quantity > 0:
        lot = lots[0]
        part = min(remaining, lot.quantity)
        cost = _share(lot.cost, part, lot.quantity)
        taken.append(Lot(part, cost, lot.opened))
        if part == lot.quantity:
            lots.pop(0)
        else:
            lot.quantity = canonical_value(CONTEXT.subtract(lot.quantity, part))
            lot.cost = canonical_value(CONTEXT.subtract(lot.cost, cost))
        remaining = CONTEXT.subtract(remaining, part)
    held = max(position.quantity, ZERO)
    from_held = min(quantity, held)
    average_taken = _share(position.average_cost, from_held, held) if from_held else ZERO
    position.average_cost = CONTEXT.subtract(position.average_cost, average_taken)
    if remaining > 0:
        # Merged data moved more than was held: the source goes short at no cost
        # and the target receives the excess at no cost, so nothing is invented.
        _trade_fifo(position, -remaining, ZERO, entry.date)
        taken.append(Lot(remaining, ZERO, entry.date))
    position.quantity = CONTEXT.subtract(position.quantity, quantity)
    _tidy(position)
    return taken, average_taken


def _give(position: Position, lots: list[Lot], average_cost: Decimal, rate: Decimal) -> None:
    total = canonical_value(sum((lot.quantity for lot in lots), ZERO))
    for lot in lots:
        _trade_fifo(position, lot.quantity, CONTEXT.multiply(lot.cost, rate), lot.opened)
    _trade_average(position, total, CONTEXT.multiply(average_cost, rate))
    position.quantity = CONTEXT.add(position.quantity, total)
    _tidy(position)


def _split(position: Position, ratio: Decimal) -> None:
    for lot in position.lots:
        lot.quantity = canonical_value(CONTEXT.multiply(lot.quantity, ratio))
    position.quantity = CONTEXT.multiply(position.quantity, ratio)
    _tidy(position)


def positions_touched(entry: LedgerEntry) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The (portfolio, asset) positions an entry changes; a split touches them all."""
    if entry.asset_id is None:
        return []
    keys = [(entry.portfolio_id, entry.asset_id)]
    if entry.type is T.TRANSFER and entry.target_portfolio_id is not None:
        keys.append((entry.target_portfolio_id, entry.asset_id))
    return keys


def apply_to_positions(
    entry: LedgerEntry,
    position_for: Callable[[uuid.UUID, uuid.UUID], Position],
    all_positions_of_asset: Callable[[uuid.UUID], Iterable[Position]],
    key: SortKey | None = None,
) -> None:
    """Fold one entry into the positions it touches (fetched through the callables).

    ``key``: the entry's ``sort_key`` when the caller has it already (a replay sorted
    by it), sparing its text form of the id.
    """
    asset = entry.asset_id
    if asset is None:
        return
    kind = entry.type
    rate = entry.rate
    key = key or entry.sort_key
    if kind is T.SPLIT:
        assert entry.ratio is not None
        for position in all_positions_of_asset(asset):
            _split(position, entry.ratio)
            position.last_key = max(position.last_key or key, key)
        return
    position = position_for(entry.portfolio_id, asset)
    quantity = entry.quantity or ZERO
    costs = CONTEXT.add(entry.fee, entry.tax)
    amount = gross_amount(entry)
    if kind in (T.BUY, T.DELIVERY_IN):
        _trade(
            position,
            entry,
            quantity,
            CONTEXT.multiply(CONTEXT.add(amount, costs), rate),
        )
    elif kind in (T.SELL, T.DELIVERY_OUT):
        _trade(
            position,
            entry,
            -quantity,
            -CONTEXT.multiply(CONTEXT.subtract(amount, costs), rate),
        )
    elif kind is T.DIVIDEND:
        position.dividends = canonical_value(CONTEXT.add(position.dividends, CONTEXT.multiply(amount, rate)))
    elif kind is T.TRANSFER and entry.target_portfolio_id is not None:
        lots, average = _take(position, entry, quantity)
        target = position_for(entry.target_portfolio_id, asset)
        _give(target, lots, average, rate)
        target.last_key = key
    position.last_key = key


def quote_from_entry(entry: LedgerEntry) -> Quote | None:
    """The trade price an entry reveals, if it is a priced trade or delivery."""
    if entry.type not in (T.BUY, T.SELL, T.DELIVERY_IN, T.DELIVERY_OUT):
        return None
    quantity = entry.quantity
    if not quantity:
        return None
    price = entry.price if entry.price is not None else divide(gross_amount(entry), quantity)
    return Quote(canonical_value(price), entry.currency, entry.date)
