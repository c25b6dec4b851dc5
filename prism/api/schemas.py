"""Wire structs of the HTTP API (msgspec): what clients send and receive.

Decimals travel as JSON strings, dates as ISO 8601, ids as UUID strings. Incoming
structs forbid unknown fields, so a typo is a 400 naming the field, never ignored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from prism.domain.ledger import TransactionType
from prism.domain.money import canonical
from prism.domain.positions import CostMethod

__all__ = [
    "ConflictOut",
    "ConflictPage",
    "ChangeOut",
    "ChangePage",
    "AlertRuleIn",
    "AlertRuleOut",
    "AlertRulePage",
    "DecimalText",
    "decimal_text",
    "NoteIn",
    "NoteOut",
    "NotePage",
    "TagIn",
    "TagOut",
    "TagPage",
    "TaggingIn",
    "TaggingOut",
    "TaggingPage",
    "AssetIn",
    "AssetOut",
    "AssetPage",
    "CostMethod",
    "HoldingOut",
    "HoldingPage",
    "PortfolioIn",
    "PortfolioOut",
    "PortfolioPage",
    "SettingIn",
    "SettingOut",
    "SettingPage",
    "TransactionIn",
    "TransactionOut",
    "TransactionPage",
]


#: An exact decimal as a JSON string ("12.5"); JSON numbers are refused, since a JSON
#: parser may already have turned them into binary floats.
DecimalText = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
        description="an exact decimal number, as a string",
        examples=["12.5"],
    ),
]


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as it travels: canonical text, or None."""
    return None if value is None else canonical(value)


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: no unknown fields, no NUL characters in text."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                # The message names the field the way msgspec does, so the 400 names it too.
                raise ValueError(f"text must not contain NUL characters - at `$.{name}`")


class PortfolioIn(_In):
    """A portfolio to create or replace."""

    name: str
    base_currency: str


class PortfolioOut(msgspec.Struct, kw_only=True):
    """A portfolio."""

    id: uuid.UUID
    name: str
    base_currency: str


class AssetIn(_In):
    """An asset to create or replace; with an ISIN its id is derived from it."""

    name: str
    kind: str
    currency: str
    isin: str | None = None
    ticker: str | None = None
    exchange: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class AssetOut(msgspec.Struct, kw_only=True):
    """An asset."""

    id: uuid.UUID
    name: str
    kind: str
    currency: str
    isin: str | None
    ticker: str | None
    exchange: str | None
    metadata: dict[str, Any]


class TransactionIn(_In):
    """A ledger entry to record or replace (see docs/ledger.md for the rules)."""

    portfolio_id: uuid.UUID
    type: TransactionType
    date: dt.date
    currency: str
    asset_id: uuid.UUID | None = None
    quantity: DecimalText | None = None
    price: DecimalText | None = None
    amount: DecimalText | None = None
    fee: DecimalText = "0"
    tax: DecimalText = "0"
    fx_rate: DecimalText | None = None
    ratio: DecimalText | None = None
    target_portfolio_id: uuid.UUID | None = None
    source: str | None = None
    external_id: str | None = None
    note: str | None = None


class TransactionOut(msgspec.Struct, kw_only=True):
    """A ledger entry as stored."""

    id: uuid.UUID
    portfolio_id: uuid.UUID
    type: TransactionType
    date: dt.date
    currency: str
    asset_id: uuid.UUID | None
    quantity: DecimalText | None
    price: DecimalText | None
    amount: DecimalText | None
    fee: DecimalText
    tax: DecimalText
    fx_rate: DecimalText | None
    ratio: DecimalText | None
    target_portfolio_id: uuid.UUID | None
    source: str | None
    external_id: str | None
    note: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class HoldingOut(msgspec.Struct, kw_only=True):
    """One asset held, valued at its latest known price, amounts in ``currency``."""

    asset_id: uuid.UUID
    portfolio_id: uuid.UUID | None
    isin: str | None
    name: str
    currency: str
    quantity: DecimalText
    cost_basis: DecimalText
    market_value: DecimalText | None
    realized_gain: DecimalText
    unrealized_gain: DecimalText | None
    dividends: DecimalText
    price: DecimalText | None
    price_currency: str | None
    price_date: dt.date | None
    consistent: bool


class SettingIn(_In):
    """A setting's new value and its type."""

    type: str
    value: Any


class SettingOut(msgspec.Struct, kw_only=True):
    """A setting."""

    key: str
    type: str
    value: Any


class PortfolioPage(msgspec.Struct, kw_only=True):
    """A page of portfolios."""

    items: list[PortfolioOut]
    next_cursor: str | None = None


class AssetPage(msgspec.Struct, kw_only=True):
    """A page of assets."""

    items: list[AssetOut]
    next_cursor: str | None = None


class TransactionPage(msgspec.Struct, kw_only=True):
    """A page of transactions, in ledger order."""

    items: list[TransactionOut]
    next_cursor: str | None = None


class HoldingPage(msgspec.Struct, kw_only=True):
    """Holdings, by asset."""

    items: list[HoldingOut]
    next_cursor: str | None = None


class SettingPage(msgspec.Struct, kw_only=True):
    """Settings, by key."""

    items: list[SettingOut]
    next_cursor: str | None = None


class NoteIn(_In):
    """A note, alone or about one portfolio, asset or transaction."""

    body: str
    title: str | None = None
    entity_type: Literal["portfolio", "asset", "transaction"] | None = None
    entity_id: uuid.UUID | None = None


class NoteOut(msgspec.Struct, kw_only=True):
    """A note."""

    id: uuid.UUID
    body: str
    title: str | None
    entity_type: str | None
    entity_id: uuid.UUID | None


class TagIn(_In):
    """A tag; its name decides its id."""

    name: str
    color: str | None = None


class TagOut(msgspec.Struct, kw_only=True):
    """A tag."""

    id: uuid.UUID
    name: str
    color: str | None


class TaggingIn(_In):
    """What to attach a tag to."""

    entity_type: Literal["portfolio", "asset", "transaction"]
    entity_id: uuid.UUID


class TaggingOut(msgspec.Struct, kw_only=True):
    """A tag attached to something."""

    id: uuid.UUID
    tag_id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID


class AlertRuleIn(_In):
    """An alert about one asset or one portfolio."""

    condition: Literal[
        "price_above", "price_below", "value_above", "value_below", "daily_change_above_pct", "daily_change_below_pct"
    ]
    threshold: DecimalText
    asset_id: uuid.UUID | None = None
    portfolio_id: uuid.UUID | None = None
    currency: str | None = None
    enabled: bool = True
    note: str | None = None


class AlertRuleOut(msgspec.Struct, kw_only=True):
    """An alert rule."""

    id: uuid.UUID
    condition: str
    threshold: DecimalText
    asset_id: uuid.UUID | None
    portfolio_id: uuid.UUID | None
    currency: str | None
    enabled: bool
    note: str | None


class NotePage(msgspec.Struct, kw_only=True):
    """A page of notes, newest first."""

    items: list[NoteOut]
    next_cursor: str | None = None


class TagPage(msgspec.Struct, kw_only=True):
    """A page of tags, by name."""

    items: list[TagOut]
    next_cursor: str | None = None


class TaggingPage(msgspec.Struct, kw_only=True):
    """A page of taggings."""

    items: list[TaggingOut]
    next_cursor: str | None = None


class AlertRulePage(msgspec.Struct, kw_only=True):
    """A page of alert rules."""

    items: list[AlertRuleOut]
    next_cursor: str | None = None


class ChangeOut(msgspec.Struct, kw_only=True):
    """One logged change of a row: when, on which device, and the columns written."""

    at: dt.datetime
    hlc: int
    device_id: str
    op: str
    columns: dict[str, Any]


class ChangePage(msgspec.Struct, kw_only=True):
    """A row's history, oldest first."""

    items: list[ChangeOut]
    next_cursor: str | None = None


class ConflictOut(msgspec.Struct, kw_only=True):
    """An edit that lost a merge to another device's edit of the same column."""

    id: uuid.UUID
    table: str
    row_id: str
    column: str
    value: Any
    lost_at: dt.datetime
    device_id: str
    winner_at: dt.datetime
    winner_device_id: str


class ConflictPage(msgspec.Struct, kw_only=True):
    """Unresolved conflicts, newest first."""

    items: list[ConflictOut]
    next_cursor: str | None = None
