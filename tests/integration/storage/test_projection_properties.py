"""The maintained projection always equals a full recomputation from the ledger.

Random ledgers are written through the store one local write at a time, in a random
order of dates (so many entries are back-dated), with edits and deletes mixed in.
Writes the rules refuse (an oversell) must leave no trace. Runs on both databases.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism.domain.holdings import CostMethod
from prism.errors import InsufficientHoldingsError
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
        try:
            async with db.write() as c:
                if action == "add":
                    await record_transaction(c, owner, new)
                    continue
                existing = await list_transactions(c, owner)
                if not existing:
                    continue
                target = existing[pick % len(existing)].entry
                if action == "delete":
                    await delete_transaction(c, owner, target.id)
                else:
                    edited = dataclasses.replace(new, id=target.id, entry_order=target.entry_order)
                    await update_transaction(c, owner, edited, EntryDetails(note="edited"))
        except InsufficientHoldingsError:
            pass  # refused local write; rolled back
    async with db.read() as c:
        for method in CostMethod:
            for portfolio in [None, *book.portfolios]:
                kept = await read_holdings(c, owner, portfolio_id=portfolio, method=method, include_closed=True)
                fresh = await recompute_holdings(c, owner, portfolio_id=portfolio, method=method, include_closed=True)
                assert kept == fresh
                assert all(h.consistent for h in kept)  # local writes never leave an overdraft
        assert sorted(await read_cash(c, owner), key=str) == sorted(await recompute_cash(c, owner), key=str)
