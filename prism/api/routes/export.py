"""Routes of data export: ``GET /export``, the account's whole data as one JSON document
(``docs/export-format.md``), streamed from a temporary file written in one read."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.response import Stream
from litestar.types import ControllerRouterHandler

from prism.api.state import owner_of, state_of
from prism.export.document import write_document
from prism.export.spool import SealedSpool

__all__ = ["EXPORT_ROUTES", "export_document"]

_CHUNK = 1 << 16


async def _chunks(document: SealedSpool) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(document.read, _CHUNK):
            yield chunk
    finally:
        document.close()


@get("/export", summary="Export the account's whole data", tags=["export"])
async def export_document(request: Request[Any, Any, Any]) -> Stream:
    """Every user table of the account, exactly: decimals as strings, UTC timestamps, tombstones included."""
    state = state_of(request)
    document = await state.database.read(write_document, owner_of(request))
    day = dt.datetime.now(dt.UTC).date().isoformat()
    return Stream(
        _chunks(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="prism-export-{day}.json"'},
    )


EXPORT_ROUTES: list[ControllerRouterHandler] = [export_document]
