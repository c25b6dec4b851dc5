"""``/transactions``: the ledger, flat, filtered and paged in ledger order."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.pagination import check_limit, decode_cursor, encode_cursor, page_of
from prism.api.schemas import ChangeOut, ChangePage, TransactionIn, TransactionOut, TransactionPage, decimal_text
from prism.api.state import ApiState, owner_of, state_of
from prism.domain.ids import imported_transaction_id, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.domain.money import canonical, parse_currency, parse_decimal
from prism.errors import ValidationError
from prism.storage.ledger import (
    EntryDetails,
    StoredTransaction,
    TransactionFilter,
    delete_transaction,
    get_transaction,
    list_transactions,
    record_transaction,
    transaction_history,
    update_transaction,
)

__all__ = ["TransactionController"]


def _out(stored: StoredTransaction) -> TransactionOut:
    e, d = stored.entry, stored.details
    return TransactionOut(
        id=e.id,
        portfolio_id=e.portfolio_id,
        type=e.type,
        date=e.date,
        currency=e.currency,
        asset_id=e.asset_id,
        quantity=decimal_text(e.quantity),
        price=decimal_text(e.price),
        amount=decimal_text(e.amount),
        fee=canonical(e.fee),
        tax=canonical(e.tax),
        fx_rate=decimal_text(e.fx_rate),
        ratio=decimal_text(e.ratio),
        target_portfolio_id=e.target_portfolio_id,
        source=d.source,
        external_id=d.external_id,
        note=d.note,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def _decimal(value: Any, field: str) -> Any:
    return None if value is None else parse_decimal(value, field=field)


def _entry(state: ApiState, owner_id: uuid.UUID, data: TransactionIn, transaction_id: uuid.UUID | None) -> LedgerEntry:
    if (data.source is None) != (data.external_id is None):
        raise ValidationError("source and external_id come together", field="external_id")
    if transaction_id is None:
        transaction_id = (
            imported_transaction_id(owner_id, data.source, data.external_id)
            if data.source is not None and data.external_id is not None
            else new_id()
        )
    return LedgerEntry(
        id=transaction_id,
        portfolio_id=data.portfolio_id,
        type=data.type,
        date=data.date,
        entry_order=state.clock.next(),
        currency=parse_currency(data.currency),
        asset_id=data.asset_id,
        quantity=_decimal(data.quantity, "quantity"),
        price=_decimal(data.price, "price"),
        amount=_decimal(data.amount, "amount"),
        fee=parse_decimal(data.fee, field="fee"),
        tax=parse_decimal(data.tax, field="tax"),
        fx_rate=_decimal(data.fx_rate, "fx_rate"),
        ratio=_decimal(data.ratio, "ratio"),
        target_portfolio_id=data.target_portfolio_id,
    )


def _details(data: TransactionIn) -> EntryDetails:
    return EntryDetails(source=data.source, external_id=data.external_id, note=data.note)


class TransactionController(Controller):
    """Ledger entries; every write keeps the positions projection in the same transaction."""

    path = "/transactions"
    tags = ["transactions"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Record a transaction")
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[TransactionIn]) -> TransactionOut:
        state = state_of(request)
        entry = _entry(state, owner_of(request), data, None)
        return _out(await state.database.write(record_transaction, owner_of(request), entry, _details(data)))

    @get("/", summary="List transactions in ledger order, filtered")
    async def list(
        self,
        request: Request[Any, Any, Any],
        *,
        portfolio_id: FromQuery[uuid.UUID | None] = None,
        asset_id: FromQuery[uuid.UUID | None] = None,
        type: FromQuery[TransactionType | None] = None,
        start: FromQuery[dt.date | None] = None,
        end: FromQuery[dt.date | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> TransactionPage:
        state = state_of(request)
        where = TransactionFilter(portfolio_id=portfolio_id, asset_id=asset_id, type=type, start=start, end=end)
        after = _after(decode_cursor(cursor))
        found = await state.database.read(
            list_transactions, owner_of(request), where, after=after, limit=check_limit(limit) + 1
        )
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            last = page[-1].entry
            next_cursor = encode_cursor([last.date.isoformat(), last.entry_order, str(last.id)])
        return TransactionPage(items=[_out(t) for t in page], next_cursor=next_cursor)

    @get("/{transaction_id:uuid}", summary="Read a transaction")
    async def read(self, request: Request[Any, Any, Any], transaction_id: FromPath[uuid.UUID]) -> TransactionOut:
        state = state_of(request)
        return _out(await state.database.read(get_transaction, owner_of(request), transaction_id))

    @get("/{transaction_id:uuid}/history", summary="The audit trail of a transaction")
    async def history(
        self,
        request: Request[Any, Any, Any],
        transaction_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> ChangePage:
        state = state_of(request)
        found = await state.database.read(transaction_history, owner_of(request), transaction_id)
        items, next_cursor = page_of(found, cursor, limit)
        changes = [ChangeOut(at=c.at, hlc=c.hlc, device_id=c.device_id, op=c.op, columns=c.columns) for c in items]
        return ChangePage(items=changes, next_cursor=next_cursor)

    @put("/{transaction_id:uuid}", summary="Replace a transaction")
    async def replace(
        self, request: Request[Any, Any, Any], transaction_id: FromPath[uuid.UUID], data: JSONBody[TransactionIn]
    ) -> TransactionOut:
        state = state_of(request)
        entry = _entry(state, owner_of(request), data, transaction_id)
        return _out(await state.database.write(update_transaction, owner_of(request), entry, _details(data)))

    @delete("/{transaction_id:uuid}", summary="Delete a transaction")
    async def remove(self, request: Request[Any, Any, Any], transaction_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_transaction, owner_of(request), transaction_id)


def _after(position: list[Any] | None) -> tuple[dt.date, int, uuid.UUID] | None:
    if position is None:
        return None
    try:
        day, order, ident = position
        return dt.date.fromisoformat(day), int(order), uuid.UUID(ident)
    except (TypeError, ValueError):
        raise ValidationError("is not a cursor this server issued", field="cursor") from None
