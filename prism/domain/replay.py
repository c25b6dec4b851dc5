"""The whole derived state of one account's ledger, and its full recomputation.

:class:`LedgerState` is what the storage layer's positions projection keeps in
tables; :func:`replay` recomputes it from nothing. The projection applies the same
:meth:`LedgerState.apply` one entry at a time, so the two can only disagree if the
projection mishandles order (back-dated entries), edits or deletes: exactly what the
property tests check.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from prism.domain.ledger import LedgerEntry, TransactionType, cash_effects
from prism.domain.money import CONTEXT, canonical_value, divide
from prism.domain.positions import (
    Position,
    Quote,
    SortKey,
    apply_to_positions,
    quote_from_entry,
)

__all__ = ["FxQuote", "LedgerState", "fx_quote_from_entry", "replay", "replay_sorted", "split_quote"]


@dataclass(slots=True)
class FxQuote:
    """The latest known rate converting ``pair[0]`` into ``pair[1]``."""

    rate: Decimal
    key: SortKey


def fx_quote_from_entry(
    entry: LedgerEntry, base_currency: str, key: SortKey | None = None
) -> tuple[tuple[str, str], FxQuote] | None:
    """The FX rate an entry reveals: its currency into its portfolio's base currency."""
    if entry.fx_rate is None or entry.currency == base_currency:
        return None
    if entry.type is TransactionType.TRANSFER and entry.asset_id is not None:
        return None  # that rate is between two portfolios' base currencies
    return (entry.currency, base_currency), FxQuote(entry.fx_rate, key or entry.sort_key)


@dataclass(slots=True)
class LedgerState:
    """Positions, cash per currency, and the latest trade prices and FX rates."""

    base_currencies: dict[uuid.UUID, str]
    positions: dict[tuple[uuid.UUID, uuid.UUID], Position] = field(default_factory=dict)
    cash: dict[tuple[uuid.UUID, str], Decimal] = field(default_factory=dict)
    quotes: dict[uuid.UUID, Quote] = field(default_factory=dict)
    fx: dict[tuple[str, str], FxQuote] = field(default_factory=dict)

    def position(self, portfolio_id: uuid.UUID, asset_id: uuid.UUID) -> Position:
        """The position, created empty on first use."""
        key = (portfolio_id, asset_id)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = Position(portfolio_id, asset_id)
        return found

    def positions_of_asset(self, asset_id: uuid.UUID) -> list[Position]:
        """Every position of one asset, across portfolios."""
        return [p for (_, asset), p in self.positions.items() if asset == asset_id]

    def apply(self, entry: LedgerEntry, key: SortKey | None = None) -> None:
        """Fold one entry in; entries must arrive in ledger order (``key``: its sort key, if known)."""
        apply_to_positions(entry, self.position, self.positions_of_asset, key)
        cash = self.cash
        for portfolio, currency, delta in cash_effects(entry):
            at = (portfolio, currency)
            found = cash.get(at)
            cash[at] = canonical_value(delta if found is None else CONTEXT.add(found, delta))
        quote = quote_from_entry(entry)
        if quote is not None and entry.asset_id is not None:
            self.quotes[entry.asset_id] = quote
        if entry.type is TransactionType.SPLIT and entry.asset_id in self.quotes:
            self.quotes[entry.asset_id] = split_quote(self.quotes[entry.asset_id], entry)
        fx = fx_quote_from_entry(entry, self.base_currencies[entry.portfolio_id], key)
        if fx is not None:
            self.fx[fx[0]] = fx[1]


def split_quote(quote: Quote, entry: LedgerEntry) -> Quote:
    """A pre-split trade price restated in post-split units."""
    assert entry.ratio is not None
    return Quote(divide(quote.price, entry.ratio), quote.currency, quote.date)


def replay(entries: Iterable[LedgerEntry], base_currencies: dict[uuid.UUID, str]) -> LedgerState:
    """Recompute everything from the ledger, in ledger order."""
    return replay_sorted(sorted(((entry.sort_key, entry) for entry in entries), key=_first), base_currencies)


def _first(pair: tuple[SortKey, LedgerEntry]) -> SortKey:
    return pair[0]


def replay_sorted(keyed: Iterable[tuple[SortKey, LedgerEntry]], base_currencies: dict[uuid.UUID, str]) -> LedgerState:
    """Recompute everything from ``(sort_key, entry)`` pairs already in ledger order."""
    state = LedgerState(base_currencies)
    apply = state.apply
    for key, entry in keyed:
        apply(entry, key)
    return state
