"""The positions projection, kept current in the same transaction as each ledger write.

Tables ``positions``, ``cash_balances``, ``asset_states`` and ``fx_rates`` hold
:class:`~prism.domain.replay.LedgerState` for every owner, so reading holdings
costs time in proportion to the holdings, not to the history.

* An entry dated at or after everything already applied for its asset is folded in
  incrementally: only the positions it touches are read and written.
* A back-dated entry, an edit or a delete replays that one asset's history (all
  portfolios: transfers and splits couple them). Cash is a sum, so it takes deltas.
* :func:`rebuild_owner` recomputes everything from the ledger.

Local writes pass ``check=True``: a write that would take out more than is held
raises :class:`~prism.errors.InsufficientHoldingsError` and the caller's
transaction rolls back. Merged writes pass ``check=False`` and are only flagged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, delete, select

from prism.domain.ledger import LedgerEntry, TransactionType, cash_effects
from prism.domain.money import CONTEXT, ZERO, canonical, canonical_value
from prism.domain.positions import (
    Lot,
    Position,
    Quote,
    SortKey,
    apply_to_positions,
    quote_from_entry,
)
from prism.domain.replay import FxQuote, LedgerState, fx_quote_from_entry, replay_sorted, split_quote
from prism.errors import InsufficientHoldingsError
from prism.storage.engine import lock_owner
from prism.storage.entries import load_base_currencies, load_entries
from prism.storage.ledger_load import gc_paused, load_ledger
from prism.storage.statements import upsert
from prism.storage.tables import (
    accounts,
    asset_states,
    cash_balances,
    fx_rates,
    maintenance_tasks,
    portfolios,
    positions,
    transactions,
)

__all__ = [
    "REBUILD_POSITIONS",
    "add_cash",
    "apply_entry",
    "load_state",
    "position_from_row",
    "quote_from_row",
    "rebuild_asset",
    "rebuild_owner",
    "refresh_fx",
    "retract_cash",
    "save_state",
    "mark_stale",
    "rebuild_stale",
    "run_maintenance",
]

#: Maintenance task recorded by a revision that needs the projection rebuilt.
REBUILD_POSITIONS = "rebuild_positions"
#: Maintenance task of one owner whose projection a merge left stale (then its id).
_STALE = "rebuild-positions:"
_TAKES_OUT = frozenset({TransactionType.SELL, TransactionType.DELIVERY_OUT, TransactionType.TRANSFER})


def _key(date: dt.date | None, order: int | None, ident: str | None) -> SortKey | None:
    if date is None or order is None or ident is None:
        return None
    return (date, order, ident)


def position_from_row(row: RowMapping) -> Position:
    """A position as stored in the projection."""
    return Position(
        portfolio_id=row["portfolio_id"],
        asset_id=row["asset_id"],
        quantity=row["quantity"],
        lots=[Lot(Decimal(q), Decimal(c), dt.date.fromisoformat(d)) for q, c, d in row["lots"]],
        average_cost=row["average_cost"],
        realized_fifo=row["realized_fifo"],
        realized_average=row["realized_average"],
        dividends=row["dividends"],
        overdrafts=[uuid.UUID(i) for i in row["overdrafts"]],
        last_key=_key(row["last_date"], row["last_order"], row["last_id"]),
    )


def _position_values(owner_id: uuid.UUID, position: Position) -> dict[str, Any]:
    key = position.last_key
    return {
        "owner_id": owner_id,
        "portfolio_id": position.portfolio_id,
        "asset_id": position.asset_id,
        "quantity": position.quantity,
        "lots": [[canonical(lot.quantity), canonical(lot.cost), lot.opened.isoformat()] for lot in position.lots],
        "fifo_cost": position.fifo_cost,
        "average_cost": position.average_cost,
        "realized_fifo": position.realized_fifo,
        "realized_average": position.realized_average,
        "dividends": position.dividends,
        "overdrafts": [str(i) for i in position.overdrafts],
        "consistent": not position.overdrafts,
        "last_date": key[0] if key else None,
        "last_order": key[1] if key else None,
        "last_id": key[2] if key else None,
    }


def quote_from_row(row: RowMapping) -> Quote | None:
    """The latest trade price kept in an ``asset_states`` row, if any."""
    if row["price"] is None:
        return None
    return Quote(row["price"], row["price_currency"], row["price_date"])


def _asset_state_values(owner_id: uuid.UUID, asset_id: uuid.UUID, last: SortKey, quote: Quote | None) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "asset_id": asset_id,
        "last_date": last[0],
        "last_order": last[1],
        "last_id": last[2],
        "price": quote.price if quote else None,
        "price_currency": quote.currency if quote else None,
        "price_date": quote.date if quote else None,
    }


def _save_positions(connection: Connection, owner_id: uuid.UUID, changed: Iterable[Position]) -> None:
    rows = [_position_values(owner_id, p) for p in changed]
    upsert(connection, positions, rows, ["owner_id", "portfolio_id", "asset_id"])


def _load_positions(
    connection: Connection,
    owner_id: uuid.UUID,
    asset_id: uuid.UUID,
    portfolio_ids: list[uuid.UUID] | None,
) -> dict[tuple[uuid.UUID, uuid.UUID], Position]:
    c = positions.c
    query = select(positions).where(c.owner_id == owner_id, c.asset_id == asset_id)
    if portfolio_ids is not None:
        query = query.where(c.portfolio_id.in_(portfolio_ids))
    result = connection.execute(query)
    loaded = (position_from_row(row) for row in result.mappings())
    return {(p.portfolio_id, p.asset_id): p for p in loaded}


def add_cash(
    connection: Connection,
    owner_id: uuid.UUID,
    effects: list[tuple[uuid.UUID, str, Decimal]],
) -> None:
    """Add signed deltas to cash balances (cash is a sum: order does not matter)."""
    c = cash_balances.c
    for portfolio_id, currency, delta in effects:
        where = (c.owner_id == owner_id, c.portfolio_id == portfolio_id, c.currency == currency)
        found = connection.scalar(select(c.balance).where(*where))
        # In the ledger's 60-digit context: Python's default 28 digits made a maintained
        # balance differ from a rebuilt one from the 29th digit on.
        balance = canonical_value(CONTEXT.add(found or ZERO, delta))
        row = {"owner_id": owner_id, "portfolio_id": portfolio_id, "currency": currency, "balance": balance}
        upsert(connection, cash_balances, [row], ["owner_id", "portfolio_id", "currency"])


def retract_cash(connection: Connection, owner_id: uuid.UUID, entry: LedgerEntry) -> None:
    """Undo an entry's effect on cash (before an edit or a delete)."""
    add_cash(connection, owner_id, [(p, c, -d) for p, c, d in cash_effects(entry)])


def _apply_fx(connection: Connection, owner_id: uuid.UUID, entry: LedgerEntry, base: str) -> None:
    found = fx_quote_from_entry(entry, base)
    if found is None:
        return
    (source, target), quote = found
    c = fx_rates.c
    row = (
        connection.execute(
            select(c.last_date, c.last_order, c.last_id).where(
                c.owner_id == owner_id, c.source == source, c.target == target
            )
        )
    ).first()
    if row is not None and (row.last_date, row.last_order, row.last_id) > entry.sort_key:
        return
    _save_fx(connection, owner_id, source=source, target=target, rate=quote.rate, key=entry.sort_key)


def _save_fx(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    source: str,
    target: str,
    rate: Decimal,
    key: SortKey,
) -> None:
    values = {
        "owner_id": owner_id,
        "source": source,
        "target": target,
        "rate": rate,
        "last_date": key[0],
        "last_order": key[1],
        "last_id": key[2],
    }
    upsert(connection, fx_rates, [values], ["owner_id", "source", "target"])


def refresh_fx(connection: Connection, owner_id: uuid.UUID, source: str, target: str) -> None:
    """Recompute the latest rate of one currency pair from the ledger (after an edit or delete)."""
    t, p = transactions.c, portfolios.c
    query = (
        select(t.fx_rate, t.date, t.entry_order, t.id)
        .join(portfolios, and_(p.owner_id == t.owner_id, p.id == t.portfolio_id))
        .where(
            t.owner_id == owner_id,
            t.deleted_at.is_(None),
            t.currency == source,
            p.base_currency == target,
            t.fx_rate.is_not(None),
            ~and_(t.type == TransactionType.TRANSFER.value, t.asset_id.is_not(None)),
        )
        .order_by(t.date.desc(), t.entry_order.desc(), t.id.desc())
        .limit(1)
    )
    row = (connection.execute(query)).first()
    if row is None:
        c = fx_rates.c
        connection.execute(delete(fx_rates).where(c.owner_id == owner_id, c.source == source, c.target == target))
        return
    key = (row.date, row.entry_order, str(row.id))
    _save_fx(connection, owner_id, source=source, target=target, rate=row.fx_rate, key=key)


def apply_entry(
    connection: Connection,
    owner_id: uuid.UUID,
    entry: LedgerEntry,
    base_currency: str,
    *,
    check: bool,
) -> None:
    """Fold a newly stored entry into the projection (``base_currency``: its portfolio's)."""
    add_cash(connection, owner_id, cash_effects(entry))
    _apply_fx(connection, owner_id, entry, base_currency)
    asset_id = entry.asset_id
    if asset_id is None:
        return
    state = (
        (
            connection.execute(
                select(asset_states).where(
                    asset_states.c.owner_id == owner_id,
                    asset_states.c.asset_id == asset_id,
                )
            )
        )
        .mappings()
        .first()
    )
    if state is not None and (state["last_date"], state["last_order"], state["last_id"]) > entry.sort_key:
        rebuild_asset(connection, owner_id, asset_id, check=check)
        return
    _fold_in(connection, owner_id, entry, asset_id, state, check=check)


def _fold_in(
    connection: Connection,
    owner_id: uuid.UUID,
    entry: LedgerEntry,
    asset_id: uuid.UUID,
    state: RowMapping | None,
    *,
    check: bool,
) -> None:
    touched = None if entry.type is TransactionType.SPLIT else [entry.portfolio_id]
    if touched is not None and entry.target_portfolio_id is not None:
        touched.append(entry.target_portfolio_id)
    loaded = _load_positions(connection, owner_id, asset_id, touched)
    if check and entry.type in _TAKES_OUT and entry.quantity is not None:
        held = loaded.get((entry.portfolio_id, asset_id))
        held_quantity = held.quantity if held else ZERO
        if entry.quantity > held_quantity:
            raise InsufficientHoldingsError(
                f"cannot take out {canonical(entry.quantity)} units: the portfolio holds "
                f"{canonical(held_quantity)} on {entry.date.isoformat()}",
                field="quantity",
            )

    def position_for(portfolio_id: uuid.UUID, asset: uuid.UUID) -> Position:
        key = (portfolio_id, asset)
        if key not in loaded:
            loaded[key] = Position(portfolio_id, asset)
        return loaded[key]

    apply_to_positions(entry, position_for, lambda _asset: list(loaded.values()))
    _save_positions(connection, owner_id, loaded.values())
    quote = quote_from_entry(entry) or (quote_from_row(state) if state is not None else None)
    if quote is not None and entry.type is TransactionType.SPLIT:
        quote = split_quote(quote, entry)
    upsert(
        connection,
        asset_states,
        [_asset_state_values(owner_id, asset_id, entry.sort_key, quote)],
        ["owner_id", "asset_id"],
    )


def rebuild_asset(
    connection: Connection,
    owner_id: uuid.UUID,
    asset_id: uuid.UUID,
    *,
    check: bool,
) -> None:
    """Replay one asset's history into its positions and price (all portfolios)."""
    before = _load_positions(connection, owner_id, asset_id, None)
    known = {i for p in before.values() for i in p.overdrafts}
    bases = load_base_currencies(connection, owner_id)
    entries = load_entries(connection, owner_id, asset_id)
    state = LedgerState(bases)
    for entry in entries:
        state.apply(entry)
    fresh = {i for p in state.positions.values() for i in p.overdrafts}
    if check and fresh - known:
        culprit = next(e for e in entries if e.id in fresh - known)
        raise InsufficientHoldingsError(
            f"this write would leave the {culprit.type.value} of {culprit.date.isoformat()} "
            "taking out more units than the portfolio holds",
            field="quantity",
        )
    p = positions.c
    connection.execute(delete(positions).where(p.owner_id == owner_id, p.asset_id == asset_id))
    _save_positions(connection, owner_id, state.positions.values())
    a = asset_states.c
    if not entries:
        connection.execute(delete(asset_states).where(a.owner_id == owner_id, a.asset_id == asset_id))
        return
    values = _asset_state_values(owner_id, asset_id, entries[-1].sort_key, state.quotes.get(asset_id))
    upsert(connection, asset_states, [values], ["owner_id", "asset_id"])


def rebuild_owner(connection: Connection, owner_id: uuid.UUID) -> None:
    """Recompute an owner's whole projection from the ledger."""
    lock_owner(connection, owner_id)
    for table in (positions, cash_balances, asset_states, fx_rates):
        connection.execute(delete(table).where(table.c.owner_id == owner_id))
    with gc_paused():
        _rebuild_from(connection, owner_id, load_ledger(connection, owner_id))


def _rebuild_from(connection: Connection, owner_id: uuid.UUID, keyed: list[tuple[SortKey, LedgerEntry]]) -> None:
    state = replay_sorted(keyed, load_base_currencies(connection, owner_id))
    last = {entry.asset_id: key for key, entry in keyed if entry.asset_id is not None}
    save_state(connection, owner_id, state, last)


def save_state(
    connection: Connection, owner_id: uuid.UUID, state: LedgerState, last: Mapping[uuid.UUID, SortKey]
) -> None:
    """Write ``state`` over the owner's projection; ``last``: the newest entry key of each
    asset whose ``asset_states`` row is (re)written (the others are left as they are)."""
    _save_positions(connection, owner_id, state.positions.values())
    cash_rows = [
        {"owner_id": owner_id, "portfolio_id": pf, "currency": ccy, "balance": balance}
        for (pf, ccy), balance in state.cash.items()
    ]
    upsert(connection, cash_balances, cash_rows, ["owner_id", "portfolio_id", "currency"])
    state_rows = [_asset_state_values(owner_id, a, key, state.quotes.get(a)) for a, key in last.items()]
    upsert(connection, asset_states, state_rows, ["owner_id", "asset_id"])
    for (source, target), fx in state.fx.items():
        _save_fx(connection, owner_id, source=source, target=target, rate=fx.rate, key=fx.key)


def load_state(connection: Connection, owner_id: uuid.UUID) -> LedgerState:
    """The owner's projection as a :class:`LedgerState`: what a replay of the whole ledger
    would give, so entries newer than every stored one fold onto it as they would onto
    the replay."""
    state = LedgerState(load_base_currencies(connection, owner_id))
    for row in connection.execute(select(positions).where(positions.c.owner_id == owner_id)).mappings():
        position = position_from_row(row)
        state.positions[(position.portfolio_id, position.asset_id)] = position
    c = cash_balances.c
    for pf, ccy, balance in connection.execute(
        select(c.portfolio_id, c.currency, c.balance).where(c.owner_id == owner_id)
    ):
        state.cash[(pf, ccy)] = balance
    for row in connection.execute(select(asset_states).where(asset_states.c.owner_id == owner_id)).mappings():
        quote = quote_from_row(row)
        if quote is not None:
            state.quotes[row["asset_id"]] = quote
    f = fx_rates.c
    for fx in connection.execute(select(fx_rates).where(f.owner_id == owner_id)):
        state.fx[(fx.source, fx.target)] = FxQuote(fx.rate, (fx.last_date, fx.last_order, fx.last_id))
    return state


def mark_stale(connection: Connection, owner_id: uuid.UUID) -> None:
    """Record that the owner's projection lags its ledger, in the caller's transaction.

    A merge of one page of a long catch-up marks instead of rebuilding (a rebuild
    replays the whole ledger, so one per page would be quadratic); the mark is durable,
    so a crash before :func:`rebuild_stale` is healed by :func:`run_maintenance`.
    """
    task = f"{_STALE}{owner_id}"
    tasks = maintenance_tasks.c
    if connection.scalar(select(tasks.task).where(tasks.task == task)) is None:
        connection.execute(maintenance_tasks.insert().values(task=task, created_at=dt.datetime.now(dt.UTC)))


def rebuild_stale(connection: Connection, owner_id: uuid.UUID) -> bool:
    """Rebuild the owner's projection if a merge marked it stale; whether it did."""
    tasks = maintenance_tasks.c
    task = f"{_STALE}{owner_id}"
    if connection.execute(delete(maintenance_tasks).where(tasks.task == task)).rowcount == 0:
        return False
    rebuild_owner(connection, owner_id)
    return True


def run_maintenance(connection: Connection) -> None:
    """Carry out tasks recorded by migrations and by interrupted merges (rebuilds)."""
    tasks = maintenance_tasks.c
    if connection.scalar(select(tasks.task).where(tasks.task == REBUILD_POSITIONS)) is not None:
        for owner_id in connection.execute(select(accounts.c.id)).scalars().all():
            rebuild_owner(connection, owner_id)
        connection.execute(delete(maintenance_tasks).where(tasks.task.startswith(_STALE, autoescape=True)))
        connection.execute(delete(maintenance_tasks).where(tasks.task == REBUILD_POSITIONS))
    stale = connection.execute(select(tasks.task).where(tasks.task.startswith(_STALE, autoescape=True))).scalars()
    for task in stale.all():
        rebuild_stale(connection, uuid.UUID(task.removeprefix(_STALE)))
