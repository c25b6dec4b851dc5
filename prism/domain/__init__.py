"""Pure portfolio logic: money, ISINs, ids, the ledger and everything derived from it.

Nothing here performs I/O or imports another part of Prism (bar the leaf
``prism.errors``), so every rule can be tested in microseconds and reused by the
API, the sync engine and the importers alike.
"""

from prism.domain.holdings import Holding, value_holdings, value_position
from prism.domain.ledger import (
    LedgerEntry,
    TransactionType,
    cash_effects,
    validate_entry,
)
from prism.domain.positions import CostMethod, Lot, Position, Quote
from prism.domain.replay import FxQuote, LedgerState, replay

__all__ = [
    "CostMethod",
    "FxQuote",
    "Holding",
    "LedgerEntry",
    "LedgerState",
    "Lot",
    "Position",
    "Quote",
    "TransactionType",
    "cash_effects",
    "replay",
    "validate_entry",
    "value_holdings",
    "value_position",
]
