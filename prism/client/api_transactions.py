"""``/api/v1/transactions``: the ledger, filtered and paged in ledger order."""

from __future__ import annotations

import datetime as dt
import uuid
from types import NoneType

from prism.api.schemas import ChangePage, TransactionIn, TransactionOut, TransactionPage
from prism.client._operations import Area, Call, M, operation, paged
from prism.domain.ledger import TransactionType

__all__ = ["Transactions"]


class Transactions(Area[M]):
    """Ledger entries; see docs/ledger.md for what each type needs."""

    @operation("POST", "/api/v1/transactions")
    def create(self, body: TransactionIn) -> Call[TransactionOut]:
        """Record a transaction."""
        return Call(TransactionOut, body=body)

    @operation("GET", "/api/v1/transactions")
    def list(
        self,
        *,
        portfolio_id: uuid.UUID | None = None,
        asset_id: uuid.UUID | None = None,
        type: TransactionType | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Call[TransactionPage]:
        """One page of transactions in ledger order (date, then entry order), filtered."""
        query = {"portfolio_id": portfolio_id, "asset_id": asset_id, "type": type, "start": start, "end": end}
        return Call(TransactionPage, query={**query, "cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/transactions/{transaction_id}")
    def get(self, transaction_id: uuid.UUID) -> Call[TransactionOut]:
        """Read a transaction."""
        return Call(TransactionOut, path={"transaction_id": transaction_id})

    @operation("GET", "/api/v1/transactions/{transaction_id}/history")
    def history(self, transaction_id: uuid.UUID, *, cursor: str | None = None, limit: int = 100) -> Call[ChangePage]:
        """One page of a transaction's audit trail, oldest first."""
        return Call(ChangePage, path={"transaction_id": transaction_id}, query={"cursor": cursor, "limit": limit})

    iter_history = paged(history)

    @operation("PUT", "/api/v1/transactions/{transaction_id}")
    def replace(self, transaction_id: uuid.UUID, body: TransactionIn) -> Call[TransactionOut]:
        """Replace a transaction."""
        return Call(TransactionOut, path={"transaction_id": transaction_id}, body=body)

    @operation("DELETE", "/api/v1/transactions/{transaction_id}")
    def delete(self, transaction_id: uuid.UUID) -> Call[None]:
        """Delete a transaction."""
        return Call(NoneType, path={"transaction_id": transaction_id})
