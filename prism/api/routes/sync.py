"""``/sync/conflicts``: edits that lost a merge, and restoring one."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery

from prism.api.pagination import page_of
from prism.api.schemas import ConflictOut, ConflictPage
from prism.api.state import owner_of, state_of
from prism.domain.hlc import hlc_time
from prism.sync.conflicts import Conflict, list_conflicts, restore_conflict

__all__ = ["ConflictController"]


def _out(conflict: Conflict) -> ConflictOut:
    return ConflictOut(
        id=conflict.id,
        table=conflict.table,
        row_id=conflict.row_id,
        column=conflict.column,
        value=conflict.value,
        lost_at=hlc_time(conflict.hlc),
        device_id=conflict.device_id,
        winner_at=hlc_time(conflict.winner_hlc),
        winner_device_id=conflict.winner_device_id,
    )


class ConflictController(Controller):
    """The conflicts log of the account."""

    path = "/sync/conflicts"
    tags = ["sync"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", summary="Edits that lost a merge")
    async def list(
        self, request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
    ) -> ConflictPage:
        state = state_of(request)
        items, next_cursor = page_of(await state.database.read(list_conflicts, owner_of(request)), cursor, limit)
        return ConflictPage(items=[_out(c) for c in items], next_cursor=next_cursor)

    @post("/{conflict_id:uuid}/restore", summary="Write a losing value again, as a new edit")
    async def restore(self, request: Request[Any, Any, Any], conflict_id: FromPath[uuid.UUID]) -> ConflictOut:
        state = state_of(request)
        return _out(await state.database.write(restore_conflict, owner_of(request), conflict_id))
