"""``/changes``: the change feed, after an opaque cursor, with long-poll.

Owner-scoped; a token sees the changes of the tables its scopes may read
(``read:transactions``: the ledger; ``read:portfolio``: everything else). Tokens
limited to one portfolio are refused (403): the log's rows are not all tied to a
portfolio. Column values are the log's wire values: Decimals as strings.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromQuery

from prism.api.access import grant_of
from prism.api.integrations import waiter_of
from prism.api.state import owner_of, state_of
from prism.errors import ValidationError
from prism.storage.change_feed import FeedChange, decode_cursor, encode_cursor, latest_position, read_feed

__all__ = ["CHANGE_ROUTES", "MAX_WAIT_SECONDS", "ChangeOut", "ChangePage"]

MAX_WAIT_SECONDS = 60.0
MAX_LIMIT = 1000
#: ``after=latest`` starts at the newest change: only what happens from now on.
LATEST = "latest"


class ChangeOut(msgspec.Struct, kw_only=True):
    """One logged change: the row, what happened to it, the columns written."""

    cursor: str  # resume after this change with ?after=<cursor>
    at: dt.datetime
    device_id: str
    table: str
    row_id: str
    op: str  # insert | update | delete
    columns: dict[str, Any]


class ChangePage(msgspec.Struct, kw_only=True):
    """Changes in feed order; ``next_cursor`` is where to resume (also when there were none)."""

    items: list[ChangeOut]
    next_cursor: str


def _out(change: FeedChange) -> ChangeOut:
    return ChangeOut(
        cursor=change.cursor,
        at=change.at,
        device_id=change.device_id,
        table=change.table,
        row_id=change.row_id,
        op=change.op,
        columns=change.columns,
    )


@get("/changes", tags=["changes"], summary="Changes after a cursor; waits up to `wait` seconds for new ones")
async def list_changes(
    request: Request[Any, Any, Any],
    after: FromQuery[str | None] = None,
    wait: FromQuery[float] = 0.0,
    limit: FromQuery[int] = 100,
) -> ChangePage:
    """The changes after ``after`` (the start when absent), up to ``limit``; when there
    are none yet and ``after`` was given, held open until one arrives or ``wait`` seconds pass.

    Without ``after`` the call answers at once: a first call learns where the feed is.
    """
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValidationError(f"must be between 0 and {MAX_WAIT_SECONDS:g}", field="wait")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"must be between 1 and {MAX_LIMIT}", field="limit")
    state, owner, scopes = state_of(request), owner_of(request), grant_of(request).scopes
    if after == LATEST:
        position = await state.database.read(latest_position, owner)
    else:
        position = decode_cursor(after)
    waiter = waiter_of(request.app)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (wait if after is not None else 0.0)
    while True:
        mark = waiter.mark(owner)
        found = await state.database.read(read_feed, owner, position, limit, scopes)
        left = deadline - loop.time()
        if found or left <= 0 or waiter.released:  # released: the server is stopping
            break
        await waiter.wait(mark, left)
    next_cursor = found[-1].cursor if found else encode_cursor(position)
    return ChangePage(items=[_out(c) for c in found], next_cursor=next_cursor)


CHANGE_ROUTES = [list_changes]
