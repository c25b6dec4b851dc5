"""Liveness and readiness: unauthenticated, for process supervisors and load balancers."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import ServiceUnavailableException
from sqlalchemy import Connection, text

from prism.api.state import state_of

__all__ = ["healthz", "readyz"]


@get("/healthz", tags=["system"], summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Answers as long as the process serves requests."""
    return {"status": "ok"}


def _ping(connection: Connection) -> int:
    return int(connection.execute(text("SELECT 1")).scalar_one())


@get("/readyz", tags=["system"], summary="The store answers")
async def readyz(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Ready when the database answers a query."""
    try:
        await state_of(request).database.read(_ping)
    except Exception as error:
        raise ServiceUnavailableException(detail="the database does not answer") from error
    return {"status": "ready"}
