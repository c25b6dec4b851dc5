"""Loading an owner's whole ledger for a rebuild, and pausing the cycle collector in bulk work.

A rebuild reads every live entry once. On SQLite the rows are fetched by the DB-API
cursor and each column's stored form is converted by that column's own result
processor (what a Core select would run), memoized per distinct stored value: a
ledger repeats a few portfolios, assets, dates, fees and quantities endlessly, and
SQLAlchemy's per-row, per-column work cost more than SQLite's read. PostgreSQL
(asyncpg) already returns ``uuid``, ``date`` and ``Decimal`` and takes the Core path.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Dialect, select

from prism.domain.ledger import LedgerEntry, TransactionType
from prism.domain.positions import SortKey
from prism.storage.stored_rows import Memo
from prism.storage.tables import transactions

__all__ = ["ENTRY_COLUMNS", "gc_paused", "load_ledger"]

#: The ``transactions`` columns an entry is made of, in :class:`LedgerEntry`'s field
#: order: reading only these halves the cost of loading a whole ledger (no timestamps).
ENTRY_COLUMNS = [
    transactions.c[name]
    for name in (
        *("id", "portfolio_id", "type", "date", "entry_order", "currency", "asset_id", "quantity", "price"),
        *("amount", "fee", "tax", "fx_rate", "ratio", "target_portfolio_id"),
    )
]
_TYPES = {kind.value: kind for kind in TransactionType}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run a block with the cycle collector off (it is switched back on after, if it was on).

    Loading and replaying a ledger, or merging a page of a catch-up, allocates millions
    of container objects that all stay alive and form no cycles; each allocation burst
    set off full collections that walked the whole growing heap again, so a rebuild of
    200,000 entries spent a third of its time collecting nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _same(value: Any) -> Any:
    return value


def _memo(column: Column[Any], dialect: Dialect) -> Memo:
    processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return Memo(processor or _same)


def _entry_id(value: str) -> uuid.UUID:
    # What the Id column's SQLite processor returns, without its memo: every entry id
    # is distinct, so a memo of them would only evict the portfolio and asset ids.
    return uuid.UUID(hex=value)


def load_ledger(connection: Connection, owner_id: uuid.UUID) -> list[tuple[SortKey, LedgerEntry]]:
    """Every live entry of an owner with its sort key, in ledger order (``load_entries``'s)."""
    t = transactions.c
    query = select(*ENTRY_COLUMNS).where(t.owner_id == owner_id, t.deleted_at.is_(None))
    dialect = connection.dialect
    keyed = []
    if dialect.name == "sqlite":
        compiled = query.compile(dialect=dialect)
        owner = t.owner_id.type.dialect_impl(dialect).bind_processor(dialect)
        params = [owner(owner_id) if owner else owner_id]
        # Every column but the id repeats: one memo per column, as the database stores it.
        memos = [_memo(column, dialect) for column in ENTRY_COLUMNS[1:]]
        portfolio, _kind, date, _order, _currency, asset, *amounts, target = memos
        quantity, price, amount, fee, tax, fx_rate, ratio = amounts
        rows = connection.exec_driver_sql(str(compiled), tuple(params)).fetchall()
        for ident, pf, kind, day, order, currency, a, q, p, am, f, tx, fx, r, tp in rows:
            entry_id = _entry_id(ident)
            entry = LedgerEntry(
                entry_id,
                portfolio[pf],
                _TYPES[kind],
                date[day],
                order,
                currency,
                asset[a],
                quantity[q],
                price[p],
                amount[am],
                fee[f],
                tax[tx],
                fx_rate[fx],
                ratio[r],
                target[tp],
            )
            keyed.append(((entry.date, order, str(entry_id)), entry))
    else:
        for ident, pf, kind, day, order, *rest in connection.execute(query).all():
            entry = LedgerEntry(ident, pf, _TYPES[kind], day, order, *rest)
            keyed.append(((day, order, str(ident)), entry))
    keyed.sort(key=_first)
    return keyed


def _first(pair: tuple[SortKey, LedgerEntry]) -> SortKey:
    return pair[0]
