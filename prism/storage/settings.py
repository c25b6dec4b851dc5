"""A user's settings: typed key/values, soft-deleted like every synced row."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Connection, select, update

from prism.domain.settings import KNOWN_SETTINGS, Setting, SettingType, decode_setting, encode_setting, validate_key
from prism.errors import NotFoundError, ValidationError
from prism.storage.changes import capture
from prism.storage.statements import upsert
from prism.storage.tables import settings

__all__ = ["delete_setting", "get_setting", "list_settings", "put_setting"]


def _stored(connection: Connection, owner_id: uuid.UUID) -> dict[str, Setting]:
    c = settings.c
    rows = connection.execute(
        select(c.key, c.value_type, c.value).where(c.owner_id == owner_id, c.deleted_at.is_(None))
    )
    return {row.key: decode_setting(row.key, row.value_type, row.value) for row in rows}


def list_settings(connection: Connection, owner_id: uuid.UUID) -> list[Setting]:
    """Every setting that has a value: stored ones, and defaults of known ones."""
    found = {**KNOWN_SETTINGS, **_stored(connection, owner_id)}
    return [found[key] for key in sorted(found)]


def get_setting(connection: Connection, owner_id: uuid.UUID, key: str) -> Setting:
    """One setting, its default if it is known but unset, or :class:`NotFoundError`."""
    validate_key(key)
    c = settings.c
    row = connection.execute(
        select(c.value_type, c.value).where(c.owner_id == owner_id, c.key == key, c.deleted_at.is_(None))
    ).first()
    if row is not None:
        return decode_setting(key, row.value_type, row.value)
    if key in KNOWN_SETTINGS:
        return KNOWN_SETTINGS[key]
    raise NotFoundError(f"no setting {key!r}")


def put_setting(
    connection: Connection, owner_id: uuid.UUID, key: str, kind: SettingType | str, value: object
) -> Setting:
    """Set a value; a key keeps the type of its first value until it is deleted."""
    setting_type, text = encode_setting(key, kind, value)
    c = settings.c
    stored = (
        connection.execute(select(c.value_type, c.value, c.deleted_at).where(c.owner_id == owner_id, c.key == key))
        .mappings()
        .first()
    )
    if stored is not None and stored["deleted_at"] is None and stored["value_type"] != setting_type.value:
        raise ValidationError(f"{key} holds a {stored['value_type']} value", field="type")
    now = dt.datetime.now(dt.UTC)
    row = {
        "owner_id": owner_id,
        "key": key,
        "value_type": setting_type.value,
        "value": text,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    upsert(connection, settings, [row], ["owner_id", "key"], keep=("created_at",))
    written = {"value_type": setting_type.value, "value": text, "deleted_at": None}
    capture(connection, owner_id, "settings", key, written, old=stored)
    return decode_setting(key, setting_type.value, text)


def delete_setting(connection: Connection, owner_id: uuid.UUID, key: str) -> None:
    """Remove a stored value (a tombstone); a known setting falls back to its default."""
    validate_key(key)
    c = settings.c
    now = dt.datetime.now(dt.UTC)
    result = connection.execute(
        update(settings)
        .where(c.owner_id == owner_id, c.key == key, c.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"no setting {key!r}")
    capture(connection, owner_id, "settings", key, {"deleted_at": now}, op="delete")
