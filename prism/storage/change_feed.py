"""The change feed: an owner's logged changes in a stable order, after an opaque cursor.

The order is the change log's key, (HLC, device id): the order in which the changes
happened by the hybrid logical clock. A cursor is that key of the last change seen,
encoded (docs/tokens-and-webhooks.md); a change that arrives by sync from another
device with an HLC older than a cursor already handed out is not seen by that cursor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from prism.domain.hlc import hlc_time
from prism.errors import ValidationError
from prism.storage.tables import changes

__all__ = [
    "CHANGES_CHANNEL",
    "FeedChange",
    "FeedPosition",
    "decode_cursor",
    "encode_cursor",
    "latest_position",
    "read_feed",
]

#: The PostgreSQL NOTIFY channel a trigger announces every new change on (payload: owner id).
CHANGES_CHANNEL = "prism_changes"
_START = (0, "")
#: (HLC, device id) of a change: the feed's order.
FeedPosition = tuple[int, str]


def encode_cursor(position: FeedPosition) -> str:
    """The opaque cursor for a feed position."""
    return base64.urlsafe_b64encode(f"{position[0]}.{position[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, field: str = "after") -> FeedPosition:
    """The position a cursor stands for; None or "" is the start of the feed."""
    if not cursor:
        return _START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        hlc, device = raw.split(".", 1)
        position = (int(hlc), device)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("is not a change-feed cursor", field=field) from None
    if not 0 <= position[0] < 2**63 or len(device) > 16:
        raise ValidationError("is not a change-feed cursor", field=field)
    return position


@dataclass(frozen=True, slots=True)
class FeedChange:
    """One logged change: which row, what happened, the columns written (wire values)."""

    cursor: str
    at: dt.datetime
    device_id: str
    table: str
    row_id: str
    op: str
    columns: dict[str, Any]


def read_feed(
    connection: Connection,
    owner_id: uuid.UUID,
    after: FeedPosition,
    limit: int,
    scopes: Collection[str] = (),
) -> list[FeedChange]:
    """Up to ``limit`` changes of ``owner_id`` after ``after``, oldest first, of the tables ``scopes`` may read."""
    c = changes.c
    hlc, device = after
    query = select(c.hlc, c.device_id, c.table_name, c.row_id, c.op, c.columns).where(
        c.owner_id == owner_id, or_(c.hlc > hlc, and_(c.hlc == hlc, c.device_id > device))
    )
    ledger, others = "read:transactions" in scopes, "read:portfolio" in scopes
    if not ledger and not others:
        return []
    if not ledger:
        query = query.where(c.table_name != "transactions")
    elif not others:
        query = query.where(c.table_name == "transactions")
    rows = connection.execute(query.order_by(c.hlc, c.device_id).limit(limit))
    return [
        FeedChange(
            encode_cursor((r.hlc, r.device_id)),
            hlc_time(r.hlc),
            r.device_id,
            r.table_name,
            r.row_id,
            r.op,
            dict(r.columns),
        )
        for r in rows
    ]


def latest_position(connection: Connection, owner_id: uuid.UUID) -> FeedPosition:
    """The position of the owner's newest change (the start when there is none)."""
    c = changes.c
    top = connection.scalar(select(func.max(c.hlc)).where(c.owner_id == owner_id))
    if top is None:
        return _START
    device = connection.scalar(select(func.max(c.device_id)).where(c.owner_id == owner_id, c.hlc == top))
    return (int(top), str(device))
