"""The maintained projection always equals a full recomputation from the ledger.

Random ledgers are written through the store one local write at a time, in a random
order of dates (so many entries are back-dated), with edits and deletes mixed in.
Writes the rules refuse (an oversell) must leave no trace. Runs on both databases.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from prism.domain.holdings import CostMethod
from prism.domain.ledger import LedgerEntry
from prism.errors import ConflictError, InsufficientHoldingsError
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings, recompute_cash, recompute_holdings
from prism.storage.ledger import (
    EntryDetails,
    delete_transaction,
    list_transactions,
    record_transaction,
    update_transaction,
)
from tests.builders import make_book
from tests.ledger_strategies import BASES, ops, rates, to_entry

steps = st.lists(
    st.tuples(st.sampled_from(["add", "add", "add", "add", "edit", "delete"]), ops(), rates, st.integers(0, 1000)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
async def test_projection_equals_recomputation(db: Database, plan: list) -> None:  # type: ignore[type-arg]
    book = await make_book(db, portfolios=BASES, assets=3)
    owner = book.owner
    for action, op, rate, pick in plan:
        new = to_entry(op, book.portfolios, book.assets, rate)
        with contextlib.suppress(InsufficientHoldingsError, ConflictError):  # a refused local write rolls back
            await db.write(_step, owner, action, new, pick)
    for method in CostMethod:
        for portfolio in [None, *book.portfolios]:
            kept = await db.read(read_holdings, owner, portfolio_id=portfolio, method=method, include_closed=True)
            fresh = await db.read(recompute_holdings, owner, portfolio_id=portfolio, method=method, include_closed=True)
            assert kept == fresh
            assert all(h.consistent for h in kept)  # local writes never leave an overdraft
    assert await db.read(read_cash, owner) == await db.read(recompute_cash, owner)


def _step(connection: Connection, owner: uuid.UUID, action: str, new: LedgerEntry, pick: int) -> None:
    if action == "add":
        record_transaction(connection, owner, new)
        return
    existing = list_transactions(connection, owner)
    if not existing:
        return
    target = existing[pick % len(existing)].entry
    if action == "delete":
        delete_transaction(connection, owner, target.id)
    else:
        edited = dataclasses.replace(new, id=target.id, entry_order=target.entry_order)
        update_transaction(connection, owner, edited, EntryDetails(note="edited"))
