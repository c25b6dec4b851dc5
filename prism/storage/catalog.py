"""Accounts, portfolios and assets: the rows the ledger refers to."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update

from prism.domain.ids import asset_id as asset_id_for
from prism.domain.ids import new_id
from prism.domain.isin import parse_isin
from prism.domain.money import parse_currency
from prism.errors import ConflictError, NotFoundError, ValidationError
from prism.storage.changes import capture
from prism.storage.tables import accounts, assets, portfolios, transactions

__all__ = [
    "Asset",
    "AssetKind",
    "Portfolio",
    "create_account",
    "create_asset",
    "create_portfolio",
    "delete_asset",
    "delete_portfolio",
    "device_account",
    "ensure_device_account",
    "get_asset",
    "get_portfolio",
    "list_assets",
    "list_portfolios",
    "new_asset",
    "save_asset",
    "update_asset",
    "update_portfolio",
]


class AssetKind(StrEnum):
    """What an asset is."""

    STOCK = "stock"
    ETF = "etf"
    FUND = "fund"
    BOND = "bond"
    ETC = "etc"
    CRYPTO = "crypto"
    CASH = "cash"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A named collection of holdings valued in one base currency."""

    id: uuid.UUID
    name: str
    base_currency: str


@dataclass(frozen=True, slots=True)
class Asset:
    """A security or other holding; ``id`` is derived from the ISIN when there is one."""

    id: uuid.UUID
    name: str
    kind: AssetKind
    currency: str
    isin: str | None = None
    ticker: str | None = None
    exchange: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_account(connection: Connection, name: str, *, account_id: uuid.UUID | None = None) -> uuid.UUID:
    """A new account (the owner of every other row)."""
    ident = account_id or new_id()
    connection.execute(accounts.insert().values(id=ident, name=name, created_at=_now()))
    return ident


def device_account(connection: Connection) -> uuid.UUID | None:
    """The account a device serves: its first (on a device, its only) account."""
    return connection.scalar(select(accounts.c.id).order_by(accounts.c.created_at, accounts.c.id).limit(1))


def ensure_device_account(connection: Connection) -> uuid.UUID:
    """The device's account, created on first start."""
    return device_account(connection) or create_account(connection, "Device owner")


def _name(value: str, field_name: str = "name") -> str:
    text = value.strip()
    if not text:
        raise ValidationError("must not be empty", field=field_name)
    return text


def create_portfolio(
    connection: Connection,
    owner_id: uuid.UUID,
    name: str,
    base_currency: str,
    *,
    portfolio_id: uuid.UUID | None = None,
) -> Portfolio:
    """A new portfolio."""
    portfolio = Portfolio(
        portfolio_id or new_id(),
        _name(name),
        parse_currency(base_currency, field="base_currency"),
    )
    stamp = _now()
    connection.execute(
        portfolios.insert().values(
            owner_id=owner_id,
            id=portfolio.id,
            name=portfolio.name,
            base_currency=portfolio.base_currency,
            created_at=stamp,
            updated_at=stamp,
        )
    )
    capture(
        connection,
        owner_id,
        "portfolios",
        portfolio.id,
        {"name": portfolio.name, "base_currency": portfolio.base_currency},
    )
    return portfolio


def get_portfolio(connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID) -> Portfolio:
    """One live portfolio, or :class:`NotFoundError`."""
    p = portfolios.c
    row = (
        connection.execute(
            select(p.id, p.name, p.base_currency).where(
                p.owner_id == owner_id, p.id == portfolio_id, p.deleted_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no portfolio {portfolio_id}")
    return Portfolio(row.id, row.name, row.base_currency)


def list_portfolios(connection: Connection, owner_id: uuid.UUID) -> list[Portfolio]:
    """Every live portfolio of an owner, by name."""
    p = portfolios.c
    result = connection.execute(
        select(p.id, p.name, p.base_currency)
        .where(p.owner_id == owner_id, p.deleted_at.is_(None))
        .order_by(p.name, p.id)
    )
    return [Portfolio(row.id, row.name, row.base_currency) for row in result]


def update_portfolio(
    connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID, name: str, base_currency: str
) -> Portfolio:
    """Rename a portfolio; its base currency changes only while it has no transactions."""
    current = get_portfolio(connection, owner_id, portfolio_id)
    currency = parse_currency(base_currency, field="base_currency")
    if currency != current.base_currency and _has_transactions(connection, owner_id, portfolio_id):
        raise ConflictError("the base currency of a portfolio with transactions cannot change")
    p = portfolios.c
    values = {"name": _name(name), "base_currency": currency}
    connection.execute(
        update(portfolios).where(p.owner_id == owner_id, p.id == portfolio_id).values(updated_at=_now(), **values)
    )
    old = {"name": current.name, "base_currency": current.base_currency}
    capture(connection, owner_id, "portfolios", portfolio_id, values, old=old)
    return Portfolio(portfolio_id, _name(name), currency)


def _has_transactions(connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID) -> bool:
    t = transactions.c
    used = connection.scalar(
        select(t.id)
        .where(
            t.owner_id == owner_id,
            t.deleted_at.is_(None),
            (t.portfolio_id == portfolio_id) | (t.target_portfolio_id == portfolio_id),
        )
        .limit(1)
    )
    return used is not None


def delete_portfolio(connection: Connection, owner_id: uuid.UUID, portfolio_id: uuid.UUID) -> None:
    """Soft-delete an empty portfolio; one with live transactions is refused."""
    get_portfolio(connection, owner_id, portfolio_id)
    if _has_transactions(connection, owner_id, portfolio_id):
        raise ConflictError("the portfolio still has transactions; delete them first")
    p = portfolios.c
    stamp = _now()
    connection.execute(
        update(portfolios)
        .where(p.owner_id == owner_id, p.id == portfolio_id)
        .values(deleted_at=stamp, updated_at=stamp)
    )
    capture(connection, owner_id, "portfolios", portfolio_id, {"deleted_at": stamp}, op="delete")


def _asset_from_row(row: Any) -> Asset:
    return Asset(
        id=row["id"],
        name=row["name"],
        kind=AssetKind(row["kind"]),
        currency=row["currency"],
        isin=row["isin"],
        ticker=row["ticker"],
        exchange=row["exchange"],
        metadata=dict(row["metadata"] or {}),
    )


def new_asset(
    owner_id: uuid.UUID,
    *,
    name: str,
    kind: str,
    currency: str,
    isin: str | None = None,
    ticker: str | None = None,
    exchange: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Asset:
    """A validated asset; with an ISIN its id is the account's deterministic id for it."""
    checked_isin = parse_isin(isin) if isin is not None else None
    try:
        asset_kind = AssetKind(kind)
    except ValueError:
        raise ValidationError(f"unknown kind {kind!r}", field="kind") from None
    ident = asset_id_for(owner_id, checked_isin) if checked_isin else new_id()
    return Asset(
        ident,
        _name(name),
        asset_kind,
        parse_currency(currency),
        checked_isin,
        ticker,
        exchange,
        metadata or {},
    )


def save_asset(connection: Connection, owner_id: uuid.UUID, asset: Asset) -> Asset:
    """Insert an asset, or update the live one with the same id (same ISIN)."""
    a = assets.c
    stamp = _now()
    values = {
        "name": asset.name,
        "kind": asset.kind.value,
        "currency": asset.currency,
        "isin": asset.isin,
        "ticker": asset.ticker,
        "exchange": asset.exchange,
        "metadata": asset.metadata,
        "updated_at": stamp,
        "deleted_at": None,
    }
    existing = connection.execute(select(assets).where(a.owner_id == owner_id, a.id == asset.id)).mappings().first()
    if existing is None:
        connection.execute(assets.insert().values(owner_id=owner_id, id=asset.id, created_at=stamp, **values))
    else:
        connection.execute(update(assets).where(a.owner_id == owner_id, a.id == asset.id).values(**values))
    capture(connection, owner_id, "assets", asset.id, values, old=existing)
    return asset


def create_asset(connection: Connection, owner_id: uuid.UUID, asset: Asset) -> Asset:
    """Insert a new asset; one whose ISIN the account already holds is a conflict."""
    a = assets.c
    live = connection.scalar(select(a.id).where(a.owner_id == owner_id, a.id == asset.id, a.deleted_at.is_(None)))
    if live is not None:
        raise ConflictError(f"asset {asset.isin} already exists as {asset.id}")
    return save_asset(connection, owner_id, asset)


def update_asset(connection: Connection, owner_id: uuid.UUID, asset_id: uuid.UUID, changed: Asset) -> Asset:
    """Replace a live asset's details; its id and ISIN stay."""
    current = get_asset(connection, owner_id, asset_id)
    if changed.isin != current.isin:
        raise ValidationError("an asset's ISIN cannot change; create another asset", field="isin")
    return save_asset(connection, owner_id, dataclasses.replace(changed, id=asset_id))


def get_asset(connection: Connection, owner_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
    """One live asset, or :class:`NotFoundError`."""
    a = assets.c
    row = (
        (connection.execute(select(assets).where(a.owner_id == owner_id, a.id == asset_id, a.deleted_at.is_(None))))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no asset {asset_id}")
    return _asset_from_row(row)


def delete_asset(connection: Connection, owner_id: uuid.UUID, asset_id: uuid.UUID) -> None:
    """Soft-delete an asset no live transaction refers to."""
    get_asset(connection, owner_id, asset_id)
    t = transactions.c
    used = connection.scalar(
        select(t.id).where(t.owner_id == owner_id, t.asset_id == asset_id, t.deleted_at.is_(None)).limit(1)
    )
    if used is not None:
        raise ConflictError("the asset still has transactions; delete them first")
    a = assets.c
    stamp = _now()
    connection.execute(
        update(assets).where(a.owner_id == owner_id, a.id == asset_id).values(deleted_at=stamp, updated_at=stamp)
    )
    capture(connection, owner_id, "assets", asset_id, {"deleted_at": stamp}, op="delete")


def list_assets(connection: Connection, owner_id: uuid.UUID) -> list[Asset]:
    """Every live asset of an owner, by name."""
    a = assets.c
    result = connection.execute(
        select(assets).where(a.owner_id == owner_id, a.deleted_at.is_(None)).order_by(a.name, a.id)
    )
    return [_asset_from_row(row) for row in result.mappings()]
