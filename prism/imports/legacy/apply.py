"""Writing what the legacy files say, inside one database transaction.

Assets come first (the universe creates them; holdings create the ones it lacks;
enrichment only fills blanks), then opening positions into the portfolio
"Imported". Every write goes through the storage functions (change capture
included); a transaction whose deterministic id is already stored is left alone,
so a second run adds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from prism.domain.ids import EntryClock, imported_transaction_id
from prism.domain.ids import asset_id as asset_id_for
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.errors import NotFoundError
from prism.imports.legacy.holdings import OpeningPosition
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.statements import StatementRow
from prism.imports.legacy.universe import AssetFacts
from prism.storage.catalog import (
    Asset,
    AssetKind,
    Portfolio,
    create_portfolio,
    get_asset,
    get_portfolio,
    list_portfolios,
    new_asset,
    save_asset,
)
from prism.storage.ledger import EntryDetails, record_transaction
from prism.storage.tables import assets, portfolios, transactions

__all__ = [
    "HOLDINGS_SOURCE",
    "IMPORTED_PORTFOLIO",
    "LEGACY_CURRENCY",
    "STATEMENT_PORTFOLIO",
    "imported_portfolio",
    "legacy_portfolio",
    "merge_asset",
    "open_positions",
    "record_statement",
    "stored_ids",
]

IMPORTED_PORTFOLIO = "Imported"
#: The old app kept everything in euros (its broker's currency).
LEGACY_CURRENCY = "EUR"
HOLDINGS_SOURCE = "legacy:calculated_holdings"
#: Statement history goes beside the opening positions, not into them: the holdings
#: file already contains the trades' effect, so one portfolio would count them twice.
STATEMENT_PORTFOLIO = "Imported statements"
_CLOCK = EntryClock()


def _existing(connection: Connection, owner_id: uuid.UUID, isin: str) -> Asset | None:
    try:
        return get_asset(connection, owner_id, asset_id_for(owner_id, isin))
    except NotFoundError:
        return None


def _filled(asset: Asset, facts: AssetFacts) -> Asset:
    """``asset`` with its blanks filled from ``facts``; a value already there stays."""
    changes: dict[str, Any] = {}
    if facts.name and asset.name == asset.isin:  # the ISIN is only a stand-in name
        changes["name"] = facts.name
    if facts.ticker and not asset.ticker:
        changes["ticker"] = facts.ticker
    if facts.kind and asset.kind is AssetKind.OTHER and facts.kind != AssetKind.OTHER.value:
        changes["kind"] = AssetKind(facts.kind)
    missing = {key: value for key, value in facts.metadata.items() if asset.metadata.get(key) in (None, "", [])}
    if missing:
        changes["metadata"] = {**asset.metadata, **missing}
    return dataclasses.replace(asset, **changes) if changes else asset


def _deleted(connection: Connection, owner_id: uuid.UUID, isin: str) -> bool:
    a = assets.c
    ident = asset_id_for(owner_id, isin)
    return connection.scalar(select(a.id).where(a.owner_id == owner_id, a.id == ident)) is not None


def merge_asset(connection: Connection, owner_id: uuid.UUID, facts: AssetFacts, *, create: bool) -> str:
    """Create or fill one asset: ``"created"``, ``"filled"``, ``"unchanged"``, ``"unknown"`` or ``"deleted"``.

    An asset the user deleted stays deleted (``"deleted"``): an import never resurrects it.
    """
    current = _existing(connection, owner_id, facts.isin)
    if current is None:
        if _deleted(connection, owner_id, facts.isin):
            return "deleted"
        if not create:
            return "unknown"
        asset = new_asset(
            owner_id,
            name=facts.name or facts.isin,
            kind=facts.kind or AssetKind.OTHER.value,
            currency=LEGACY_CURRENCY,
            isin=facts.isin,
            ticker=facts.ticker,
            metadata=dict(facts.metadata),
        )
        save_asset(connection, owner_id, asset)
        return "created"
    filled = _filled(current, facts)
    if filled == current:
        return "unchanged"
    save_asset(connection, owner_id, filled)
    return "filled"


def merge_assets(
    connection: Connection, owner_id: uuid.UUID, facts: Iterable[AssetFacts], report: FileReport, *, create: bool
) -> None:
    """Merge many assets, counting each outcome in ``report``."""
    for fact in facts:
        outcome = merge_asset(connection, owner_id, fact, create=create)
        if outcome in ("created", "filled"):
            report.imported += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        elif outcome == "deleted":
            report.skip(fact.isin, "deleted in Prism: left deleted")
        else:
            report.skip(fact.isin, "not a known asset: enrichment only fills assets already there")


def imported_portfolio(connection: Connection, owner_id: uuid.UUID, name: str = IMPORTED_PORTFOLIO) -> Portfolio:
    """The live portfolio called ``name`` ("Imported"), created (in euros) if missing."""
    for portfolio in list_portfolios(connection, owner_id):
        if portfolio.name == name:
            return portfolio
    return create_portfolio(connection, owner_id, name, LEGACY_CURRENCY)


def stored_ids(connection: Connection, owner_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` the ledger already holds (deleted rows too: a user's delete stands)."""
    wanted = list(ids)
    found: set[uuid.UUID] = set()
    t = transactions.c
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(connection.scalars(select(t.id).where(t.owner_id == owner_id, t.id.in_(chunk))))
    return found


def open_positions(
    connection: Connection,
    owner_id: uuid.UUID,
    positions: Iterable[OpeningPosition],
    as_of: dt.date,
    report: FileReport,
    *,
    portfolio: Portfolio | None = None,
    source: str = HOLDINGS_SOURCE,
    key_prefix: str = "",
) -> None:
    """One ``delivery_in`` per position into ``portfolio`` ("Imported"), dated ``as_of``."""
    chosen = list(positions)
    if not chosen:
        return
    portfolio = portfolio or imported_portfolio(connection, owner_id)
    ids = {p.isin: imported_transaction_id(owner_id, source, key_prefix + p.isin) for p in chosen}
    already = stored_ids(connection, owner_id, ids.values())
    for position in chosen:
        ident = ids[position.isin]
        if ident in already:
            report.unchanged += 1
            continue
        facts = AssetFacts(position.isin, name=position.name, kind=position.kind)
        if merge_asset(connection, owner_id, facts, create=True) == "deleted":
            report.skip(f"line {position.line}", f"{position.isin} was deleted in Prism: not reopened")
            continue
        if position.unit_cost is None:
            report.note(f"line {position.line}", f"{position.isin}: no cost known, opened at a price of 0")
        entry = LedgerEntry(
            id=ident,
            portfolio_id=portfolio.id,
            type=TransactionType.DELIVERY_IN,
            date=as_of,
            entry_order=_CLOCK.next(),
            currency=LEGACY_CURRENCY,
            asset_id=asset_id_for(owner_id, position.isin),
            quantity=position.quantity,
            price=position.unit_cost if position.unit_cost is not None else Decimal(0),
        )
        details = EntryDetails(
            source=source,
            external_id=key_prefix + position.isin,
            note=f"opening position; cost from {position.cost_from}",
        )
        record_transaction(connection, owner_id, entry, details)
        report.imported += 1


def _statement_entry(row: StatementRow, ident: uuid.UUID, portfolio: uuid.UUID, owner_id: uuid.UUID) -> LedgerEntry:
    asset = asset_id_for(owner_id, row.isin) if row.isin else None
    if row.quantity is not None:
        return LedgerEntry(
            id=ident,
            portfolio_id=portfolio,
            type=row.type,
            date=row.date,
            entry_order=_CLOCK.next(),
            currency=LEGACY_CURRENCY,
            asset_id=asset,
            quantity=row.quantity,
            price=row.price,
            fee=row.fee,
        )
    return LedgerEntry(
        id=ident,
        portfolio_id=portfolio,
        type=row.type,
        date=row.date,
        entry_order=_CLOCK.next(),
        currency=LEGACY_CURRENCY,
        asset_id=asset,
        amount=row.amount,
    )


def record_statement(
    connection: Connection,
    owner_id: uuid.UUID,
    rows: Iterable[StatementRow],
    source: str,
    report: FileReport,
    *,
    portfolio: Portfolio | None = None,
) -> None:
    """Trades and cash entries of a statement file into "Imported statements", in date order.

    A sell of more than the statement bought before it is skipped and reported (the
    ledger would refuse it, and that would undo the whole import).
    """
    ordered = sorted(rows, key=lambda row: (row.date, row.line))
    if not ordered:
        return
    portfolio = portfolio or imported_portfolio(connection, owner_id, STATEMENT_PORTFOLIO)
    ids = {row.key: imported_transaction_id(owner_id, source, row.key) for row in ordered}
    already = stored_ids(connection, owner_id, ids.values())
    held: dict[str, Decimal] = {}
    for row in ordered:
        where = f"line {row.line}" if row.line else row.key
        if row.isin is not None and row.quantity is not None:
            change = row.quantity if row.type is TransactionType.BUY else -row.quantity
            if held.get(row.isin, Decimal(0)) + change < 0:
                report.skip(where, f"sells {row.quantity} of {row.isin}, more than the statement bought before")
                continue
            held[row.isin] = held.get(row.isin, Decimal(0)) + change
        if ids[row.key] in already:
            report.unchanged += 1
            continue
        if row.isin is not None:
            facts = AssetFacts(row.isin, name=row.name if row.quantity is not None else None)
            if merge_asset(connection, owner_id, facts, create=True) == "deleted":
                report.skip(where, f"{row.isin} was deleted in Prism: not recorded")
                continue
        entry = _statement_entry(row, ids[row.key], portfolio.id, owner_id)
        record_transaction(connection, owner_id, entry, EntryDetails(source=source, external_id=row.key))
        report.imported += 1


def legacy_portfolio(
    connection: Connection, owner_id: uuid.UUID, key: str, report: FileReport, *, name: str, currency: str
) -> Portfolio | None:
    """The portfolio the newer app called ``key``, made once under a deterministic id.

    None (reported) when its currency is not the euro (its rows carry no FX rate) or
    when the user deleted the portfolio an earlier import made.
    """
    ident = uuid.uuid5(owner_id, f"portfolio:legacy:{key}")
    if currency != LEGACY_CURRENCY:
        report.skip(f"portfolio {name!r}", f"in {currency}: only euro portfolios are imported")
        return None
    try:
        return get_portfolio(connection, owner_id, ident)
    except NotFoundError:
        pass
    if connection.scalar(select(portfolios.c.id).where(portfolios.c.owner_id == owner_id, portfolios.c.id == ident)):
        report.skip(f"portfolio {name!r}", "deleted since an earlier import: left deleted")
        return None
    return create_portfolio(connection, owner_id, name, currency, portfolio_id=ident)
