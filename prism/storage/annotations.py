"""What a person adds around the ledger: notes, tags and their taggings, alert rules.

Each kind of row is created, read, listed, replaced and soft-deleted by plain
functions over a connection, scoped by owner like everything else. Rows that refer
to a portfolio, asset or transaction check that it is the owner's and live.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, select, update

from prism.domain.ids import tag_id, tagging_id
from prism.domain.money import parse_currency
from prism.errors import ConflictError, NotFoundError, ValidationError
from prism.storage.changes import capture
from prism.storage.tables import alert_rules, assets, notes, portfolios, taggings, tags, transactions

__all__ = [
    "AlertCondition",
    "AlertRule",
    "EntityType",
    "Note",
    "Tag",
    "Tagging",
    "delete_row",
    "get_alert_rule",
    "get_note",
    "get_tag",
    "list_alert_rules",
    "list_notes",
    "list_taggings",
    "list_tags",
    "new_tag",
    "save_alert_rule",
    "save_note",
    "save_tag",
    "save_tagging",
    "update_tag",
]


class EntityType(StrEnum):
    """What a note or a tag can be attached to."""

    PORTFOLIO = "portfolio"
    ASSET = "asset"
    TRANSACTION = "transaction"


class AlertCondition(StrEnum):
    """When an alert rule fires."""

    PRICE_ABOVE = "price_above"
    PRICE_BELOW = "price_below"
    VALUE_ABOVE = "value_above"
    VALUE_BELOW = "value_below"
    DAILY_CHANGE_ABOVE_PCT = "daily_change_above_pct"
    DAILY_CHANGE_BELOW_PCT = "daily_change_below_pct"


_ENTITY_TABLES: dict[EntityType, Table] = {
    EntityType.PORTFOLIO: portfolios,
    EntityType.ASSET: assets,
    EntityType.TRANSACTION: transactions,
}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class Note:
    """Free text, alone or about one portfolio, asset or transaction."""

    id: uuid.UUID
    body: str
    title: str | None = None
    entity_type: EntityType | None = None
    entity_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Tag:
    """A label; its id follows from its name, so devices converge on one tag."""

    id: uuid.UUID
    name: str
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Tagging:
    """A tag attached to a portfolio, asset or transaction."""

    id: uuid.UUID
    tag_id: uuid.UUID
    entity_type: EntityType
    entity_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A condition on an asset or a portfolio that should alert the person."""

    id: uuid.UUID
    condition: AlertCondition
    threshold: Decimal
    asset_id: uuid.UUID | None = None
    portfolio_id: uuid.UUID | None = None
    currency: str | None = None
    enabled: bool = True
    note: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _live_row(connection: Connection, table: Table, owner_id: uuid.UUID, row_id: uuid.UUID) -> Any:
    c = table.c
    row = (
        connection.execute(select(table).where(c.owner_id == owner_id, c.id == row_id, c.deleted_at.is_(None)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no {table.name[:-1].replace('_', ' ')} {row_id}")
    return row


def _check_entity(
    connection: Connection, owner_id: uuid.UUID, kind: EntityType, entity: uuid.UUID, field: str = "entity_id"
) -> None:
    c = _ENTITY_TABLES[kind].c
    found = connection.scalar(select(c.id).where(c.owner_id == owner_id, c.id == entity, c.deleted_at.is_(None)))
    if found is None:
        raise ValidationError(f"no {kind.value} {entity}", field=field)


def _entity_type(value: object) -> EntityType:
    try:
        return EntityType(str(value))
    except ValueError:
        raise ValidationError(f"must be one of {', '.join(t.value for t in EntityType)}", field="entity_type") from None


def _store(
    connection: Connection, table: Table, owner_id: uuid.UUID, row_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Insert, or replace the live (or revive the deleted) row with this id."""
    c = table.c
    stamp = _now()
    old = connection.execute(select(table).where(c.owner_id == owner_id, c.id == row_id)).mappings().first()
    if old is None:
        connection.execute(
            table.insert().values(owner_id=owner_id, id=row_id, created_at=stamp, updated_at=stamp, **values)
        )
    else:
        connection.execute(
            update(table)
            .where(c.owner_id == owner_id, c.id == row_id)
            .values(updated_at=stamp, deleted_at=None, **values)
        )
    capture(connection, owner_id, table.name, row_id, {**values, "deleted_at": None}, old=old)


def delete_row(connection: Connection, table: Table, owner_id: uuid.UUID, row_id: uuid.UUID) -> None:
    """Soft-delete a live note, tag, tagging or alert rule (deleting a tag removes its taggings)."""
    _live_row(connection, table, owner_id, row_id)
    stamp = _now()
    c = table.c
    connection.execute(
        update(table).where(c.owner_id == owner_id, c.id == row_id).values(deleted_at=stamp, updated_at=stamp)
    )
    capture(connection, owner_id, table.name, row_id, {"deleted_at": stamp}, op="delete")
    if table is tags:
        t = taggings.c
        attached = (
            connection.execute(select(t.id).where(t.owner_id == owner_id, t.tag_id == row_id, t.deleted_at.is_(None)))
            .scalars()
            .all()
        )
        for tagging in attached:
            delete_row(connection, taggings, owner_id, tagging)


# --- notes ----------------------------------------------------------------------


def save_note(connection: Connection, owner_id: uuid.UUID, note: Note, *, replace: bool = False) -> Note:
    """Create a note (``replace``: overwrite the live note with this id)."""
    if replace:
        _live_row(connection, notes, owner_id, note.id)
    if not note.body.strip():
        raise ValidationError("must not be empty", field="body")
    if (note.entity_type is None) != (note.entity_id is None):
        raise ValidationError("entity_type and entity_id come together", field="entity_id")
    if note.entity_type is not None and note.entity_id is not None:
        _check_entity(connection, owner_id, note.entity_type, note.entity_id)
    values = {
        "title": note.title,
        "body": note.body,
        "entity_type": note.entity_type.value if note.entity_type else None,
        "entity_id": note.entity_id,
    }
    _store(connection, notes, owner_id, note.id, values)
    return note


def _note(row: Any) -> Note:
    kind = EntityType(row["entity_type"]) if row["entity_type"] else None
    return Note(row["id"], row["body"], row["title"], kind, row["entity_id"])


def get_note(connection: Connection, owner_id: uuid.UUID, note_id: uuid.UUID) -> Note:
    """One live note."""
    return _note(_live_row(connection, notes, owner_id, note_id))


def list_notes(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    entity_type: EntityType | None = None,
    entity_id: uuid.UUID | None = None,
) -> list[Note]:
    """Live notes, newest first, optionally about one entity."""
    c = notes.c
    query = select(notes).where(c.owner_id == owner_id, c.deleted_at.is_(None))
    if entity_type is not None:
        query = query.where(c.entity_type == entity_type.value)
    if entity_id is not None:
        query = query.where(c.entity_id == entity_id)
    return [_note(row) for row in connection.execute(query.order_by(c.id.desc())).mappings()]


# --- tags and taggings ------------------------------------------------------------


def new_tag(owner_id: uuid.UUID, name: str, color: str | None = None) -> Tag:
    """A validated tag with its deterministic id."""
    text = name.strip()
    if not text or len(text) > 100:
        raise ValidationError("must be 1-100 characters", field="name")
    if color is not None and not _COLOR.match(color):
        raise ValidationError("must look like #1a2b3c", field="color")
    return Tag(tag_id(owner_id, text), text, color)


def save_tag(connection: Connection, owner_id: uuid.UUID, tag: Tag, *, replace: bool = False) -> Tag:
    """Create a tag (a live tag of the same name is a conflict), or replace one's colour."""
    c = tags.c
    live = connection.scalar(select(c.id).where(c.owner_id == owner_id, c.id == tag.id, c.deleted_at.is_(None)))
    if replace:
        _live_row(connection, tags, owner_id, tag.id)
    elif live is not None:
        raise ConflictError(f"a tag named {tag.name!r} already exists")
    _store(connection, tags, owner_id, tag.id, {"name": tag.name, "color": tag.color})
    return tag


def update_tag(connection: Connection, owner_id: uuid.UUID, tag: uuid.UUID, name: str, color: str | None) -> Tag:
    """Change a live tag's colour; its name is its identity and stays."""
    current = get_tag(connection, owner_id, tag)
    changed = new_tag(owner_id, name, color)
    if changed.id != current.id:
        raise ValidationError("a tag's name is its identity; create a new tag to rename", field="name")
    return save_tag(connection, owner_id, changed, replace=True)


def get_tag(connection: Connection, owner_id: uuid.UUID, tag_id_: uuid.UUID) -> Tag:
    """One live tag."""
    row = _live_row(connection, tags, owner_id, tag_id_)
    return Tag(row["id"], row["name"], row["color"])


def list_tags(connection: Connection, owner_id: uuid.UUID) -> list[Tag]:
    """Live tags by name."""
    c = tags.c
    rows = connection.execute(select(tags).where(c.owner_id == owner_id, c.deleted_at.is_(None)).order_by(c.name, c.id))
    return [Tag(row.id, row.name, row.color) for row in rows]


def save_tagging(
    connection: Connection, owner_id: uuid.UUID, tag: uuid.UUID, kind: object, entity: uuid.UUID
) -> Tagging:
    """Attach a live tag to a live entity; attaching twice is the same tagging."""
    get_tag(connection, owner_id, tag)
    entity_type = _entity_type(kind)
    _check_entity(connection, owner_id, entity_type, entity)
    ident = tagging_id(owner_id, tag, entity_type.value, entity)
    values = {"tag_id": tag, "entity_type": entity_type.value, "entity_id": entity}
    _store(connection, taggings, owner_id, ident, values)
    return Tagging(ident, tag, entity_type, entity)


def list_taggings(connection: Connection, owner_id: uuid.UUID, tag: uuid.UUID) -> list[Tagging]:
    """What a live tag is attached to."""
    get_tag(connection, owner_id, tag)
    c = taggings.c
    rows = connection.execute(
        select(taggings).where(c.owner_id == owner_id, c.tag_id == tag, c.deleted_at.is_(None)).order_by(c.id)
    )
    return [Tagging(row.id, row.tag_id, EntityType(row.entity_type), row.entity_id) for row in rows]


# --- alert rules --------------------------------------------------------------------


def save_alert_rule(
    connection: Connection, owner_id: uuid.UUID, rule: AlertRule, *, replace: bool = False
) -> AlertRule:
    """Create (or ``replace``) an alert rule about one asset or one portfolio."""
    if replace:
        _live_row(connection, alert_rules, owner_id, rule.id)
    if (rule.asset_id is None) == (rule.portfolio_id is None):
        raise ValidationError("name exactly one of asset_id and portfolio_id", field="asset_id")
    if rule.asset_id is not None:
        _check_entity(connection, owner_id, EntityType.ASSET, rule.asset_id, "asset_id")
    if rule.portfolio_id is not None:
        _check_entity(connection, owner_id, EntityType.PORTFOLIO, rule.portfolio_id, "portfolio_id")
    currency = parse_currency(rule.currency) if rule.currency is not None else None
    values = {
        "condition": rule.condition.value,
        "threshold": rule.threshold,
        "asset_id": rule.asset_id,
        "portfolio_id": rule.portfolio_id,
        "currency": currency,
        "enabled": rule.enabled,
        "note": rule.note,
    }
    _store(connection, alert_rules, owner_id, rule.id, values)
    return AlertRule(
        rule.id, rule.condition, rule.threshold, rule.asset_id, rule.portfolio_id, currency, rule.enabled, rule.note
    )


def _rule(row: Any) -> AlertRule:
    return AlertRule(
        row["id"],
        AlertCondition(row["condition"]),
        row["threshold"],
        row["asset_id"],
        row["portfolio_id"],
        row["currency"],
        row["enabled"],
        row["note"],
    )


def get_alert_rule(connection: Connection, owner_id: uuid.UUID, rule_id: uuid.UUID) -> AlertRule:
    """One live alert rule."""
    return _rule(_live_row(connection, alert_rules, owner_id, rule_id))


def list_alert_rules(connection: Connection, owner_id: uuid.UUID) -> list[AlertRule]:
    """Live alert rules, oldest first."""
    c = alert_rules.c
    rows = connection.execute(select(alert_rules).where(c.owner_id == owner_id, c.deleted_at.is_(None)).order_by(c.id))
    return [_rule(row) for row in rows.mappings()]
