"""Alert events: what an alert rule found, stored once per rule and day.

Derived rows, like the positions projection: owner-scoped, never synced, not
captured as changes. Re-evaluating a day that already has an event adds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Connection, literal, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from prism.storage.tables import alert_events

__all__ = ["AlertEvent", "list_alert_events", "record_alert_events"]


class AlertEvent(NamedTuple):
    """One rule that fired on one day, with the value it observed."""

    owner_id: uuid.UUID
    rule_id: uuid.UUID
    day: dt.date
    condition: str
    threshold: Decimal
    observed: Decimal
    currency: str | None
    asset_id: uuid.UUID | None
    portfolio_id: uuid.UUID | None
    created_at: dt.datetime


def record_alert_events(connection: Connection, events: Sequence[AlertEvent]) -> int:
    """Store the events not stored yet (by owner, rule and day); how many were new."""
    if not events:
        return 0
    e = alert_events.c
    keys = {(event.owner_id, event.rule_id, event.day) for event in events}
    owners = {owner for owner, _, _ in keys}
    rules = {rule for _, rule, _ in keys}
    query = select(e.owner_id, e.rule_id, e.day).where(e.owner_id.in_(owners), e.rule_id.in_(rules))
    stored = {(owner, rule, day) for owner, rule, day in connection.execute(query)}
    fresh: dict[tuple[uuid.UUID, uuid.UUID, dt.date], AlertEvent] = {}
    for event in events:
        key = (event.owner_id, event.rule_id, event.day)
        if key not in stored:
            fresh.setdefault(key, event)
    if not fresh:
        return 0
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    # A concurrent evaluation may have stored the same day meanwhile: it stays as it was.
    statement = dialect.insert(alert_events).on_conflict_do_nothing(index_elements=["owner_id", "rule_id", "day"])
    connection.execute(statement, [event._asdict() for event in fresh.values()])
    return len(fresh)


def list_alert_events(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    after: tuple[dt.datetime, dt.date, uuid.UUID] | None = None,
    limit: int = 100,
) -> list[AlertEvent]:
    """An owner's events, newest first (by creation, then day, then rule), after a position."""
    e = alert_events.c
    query = select(alert_events).where(e.owner_id == owner_id)
    if after is not None:
        columns = (e.created_at, e.day, e.rule_id)
        bound = (literal(value, type_=column.type) for value, column in zip(after, columns, strict=True))
        query = query.where(tuple_(*columns) < tuple_(*bound))
    query = query.order_by(e.created_at.desc(), e.day.desc(), e.rule_id.desc()).limit(limit)
    return [AlertEvent(**row) for row in connection.execute(query).mappings()]
