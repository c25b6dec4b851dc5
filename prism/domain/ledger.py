"""The ledger's entries, the rules a local write must satisfy, and cash effects.

Conventions (see ``docs/architecture.md``, "Ledger rules"):

* ``amount`` is the gross value in ``currency``: quantity x price for trades and
  deliveries (given explicitly when a broker rounds), the gross payment otherwise.
* ``fee`` and ``tax`` are separate, never negative, in ``currency``. On a buy or a
  delivery in they are part of the cost; on a sell, a delivery out and income they
  reduce the proceeds.
* ``fx_rate`` converts ``currency`` into the portfolio's base currency; it is 1 when
  the two are the same. On a security transfer it converts the source portfolio's
  base currency into the target's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from prism.domain.money import CONTEXT, CURRENCIES, ZERO
from prism.errors import ValidationError

__all__ = [
    "CASH_ONLY_TYPES",
    "SECURITY_TYPES",
    "LedgerEntry",
    "TransactionType",
    "cash_effects",
    "gross_amount",
    "validate_entry",
]

ONE = Decimal(1)


class TransactionType(StrEnum):
    """What a ledger entry records."""

    BUY = "buy"
    SELL = "sell"
    DIVIDEND = "dividend"
    INTEREST = "interest"
    FEE = "fee"
    TAX = "tax"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    DELIVERY_IN = "delivery_in"
    DELIVERY_OUT = "delivery_out"
    SPLIT = "split"


T = TransactionType
#: Types that always name an asset and move or rescale its quantity.
SECURITY_TYPES = frozenset({T.BUY, T.SELL, T.DELIVERY_IN, T.DELIVERY_OUT, T.SPLIT})
#: Types that never name an asset.
CASH_ONLY_TYPES = frozenset({T.DEPOSIT, T.WITHDRAWAL})
_PRICED = frozenset({T.BUY, T.SELL, T.DELIVERY_IN, T.DELIVERY_OUT})
_INFLOWS = frozenset({T.SELL, T.DIVIDEND, T.INTEREST, T.DEPOSIT})
_OUTFLOWS = frozenset({T.BUY, T.WITHDRAWAL, T.FEE, T.TAX})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One transaction as the domain sees it: validated values, no storage detail."""

    id: uuid.UUID
    portfolio_id: uuid.UUID
    type: TransactionType
    date: dt.date
    entry_order: int
    currency: str
    asset_id: uuid.UUID | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    fee: Decimal = ZERO
    tax: Decimal = ZERO
    fx_rate: Decimal | None = None
    ratio: Decimal | None = None
    target_portfolio_id: uuid.UUID | None = None

    @property
    def rate(self) -> Decimal:
        """The FX rate to apply: ``fx_rate``, or 1 when none was given."""
        return ONE if self.fx_rate is None else self.fx_rate

    @property
    def sort_key(self) -> tuple[dt.date, int, str]:
        """Ledger order: by date, then in the order entries were made."""
        return (self.date, self.entry_order, str(self.id))

    @property
    def moves_security(self) -> bool:
        """True when the entry changes an asset's quantity or lots."""
        if self.type is T.TRANSFER:
            return self.asset_id is not None
        return self.type in SECURITY_TYPES


def gross_amount(entry: LedgerEntry) -> Decimal:
    """``amount``, or quantity x price when only those were given."""
    if entry.amount is not None:
        return entry.amount
    if entry.quantity is not None and entry.price is not None:
        return CONTEXT.multiply(entry.quantity, entry.price)
    return ZERO


def cash_effects(entry: LedgerEntry) -> list[tuple[uuid.UUID, str, Decimal]]:
    """Every change the entry makes to cash, as (portfolio, currency, signed delta)."""
    amount = gross_amount(entry)
    costs = CONTEXT.add(entry.fee, entry.tax)
    kind = entry.type
    if kind in _INFLOWS:
        return [(entry.portfolio_id, entry.currency, CONTEXT.subtract(amount, costs))]
    if kind in _OUTFLOWS:
        return [(entry.portfolio_id, entry.currency, -CONTEXT.add(amount, costs))]
    if kind is T.TRANSFER:
        assert entry.target_portfolio_id is not None
        if entry.asset_id is not None:
            return [(entry.portfolio_id, entry.currency, -costs)] if costs else []
        return [
            (entry.portfolio_id, entry.currency, -CONTEXT.add(amount, costs)),
            (entry.target_portfolio_id, entry.currency, amount),
        ]
    return []  # deliveries and splits move no cash


def _require(condition: bool, message: str, field: str) -> None:
    if not condition:
        raise ValidationError(message, field=field)


def _positive(value: Decimal | None, field: str) -> None:
    _require(value is not None, "is required for this transaction type", field)
    assert value is not None
    _require(value > 0, "must be greater than zero", field)


def validate_entry(entry: LedgerEntry, base_currencies: dict[uuid.UUID, str]) -> None:
    """Check the rules every entry obeys on its own (no other rows involved).

    ``base_currencies`` maps the portfolios the entry names to their currency.
    Holdings-dependent rules (selling more than held) are checked by the store.
    """
    kind = entry.type
    _require(entry.currency in CURRENCIES, f"unknown currency {entry.currency!r}", "currency")
    for name in ("quantity", "price", "amount", "fee", "tax"):
        value = getattr(entry, name)
        _require(value is None or value >= 0, "must not be negative", name)
    _require(
        entry.fx_rate is None or entry.fx_rate > 0,
        "must be greater than zero",
        "fx_rate",
    )
    needs_asset = kind in SECURITY_TYPES or kind is T.DIVIDEND
    if needs_asset:
        _require(
            entry.asset_id is not None,
            "is required for this transaction type",
            "asset_id",
        )
    if kind in CASH_ONLY_TYPES:
        _require(
            entry.asset_id is None,
            "must be empty for this transaction type",
            "asset_id",
        )
    if kind in _PRICED:
        _positive(entry.quantity, "quantity")
        _require(
            entry.price is not None or entry.amount is not None,
            "a price or an amount is required for this transaction type",
            "price",
        )
    elif kind is T.SPLIT:
        _positive(entry.ratio, "ratio")
        _require(entry.fee == 0 and entry.tax == 0, "a split carries no fee or tax", "fee")
    elif kind is T.TRANSFER:
        _validate_transfer(entry, base_currencies)
    else:
        _positive(entry.amount, "amount")
    if kind is not T.SPLIT:
        _require(entry.ratio is None, "only a split has a ratio", "ratio")
    if kind is not T.TRANSFER:
        _require(
            entry.target_portfolio_id is None,
            "only a transfer has a target portfolio",
            "target_portfolio_id",
        )
        _check_fx(entry, base_currencies[entry.portfolio_id])


def _check_fx(entry: LedgerEntry, base: str) -> None:
    if entry.currency == base:
        _require(
            entry.rate == 1,
            f"must be 1 when the currency is the portfolio's ({base})",
            "fx_rate",
        )
    elif entry.fx_rate is None and (entry.type is not T.SPLIT):
        _require(
            False,
            f"is required: {entry.currency} is not the portfolio's currency ({base})",
            "fx_rate",
        )


def _validate_transfer(entry: LedgerEntry, base_currencies: dict[uuid.UUID, str]) -> None:
    target = entry.target_portfolio_id
    _require(target is not None, "a transfer needs a target portfolio", "target_portfolio_id")
    _require(
        target != entry.portfolio_id,
        "must differ from portfolio_id",
        "target_portfolio_id",
    )
    if entry.asset_id is None:
        _positive(entry.amount, "amount")
        _require(entry.quantity is None, "a cash transfer has no quantity", "quantity")
        _require(
            entry.rate == 1,
            "a cash transfer moves one currency; fx_rate must be 1",
            "fx_rate",
        )
        return
    _positive(entry.quantity, "quantity")
    assert target is not None
    if base_currencies[entry.portfolio_id] == base_currencies[target]:
        _require(entry.rate == 1, "must be 1 between portfolios of one currency", "fx_rate")
    else:
        _require(
            entry.fx_rate is not None,
            "is required between portfolios of different currencies",
            "fx_rate",
        )
