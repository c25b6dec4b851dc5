"""The integrations' part of the app lifespan: the change-feed waiter and the webhook deliverer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from prism.api.state import api_state
from prism.integrations.deliver import run_deliverer
from prism.integrations.wakeup import ChangeWaiter, listening

__all__ = ["WAITER_KEY", "integrations", "release_waiters", "waiter_of"]

#: Where :func:`integrations` leaves the :class:`ChangeWaiter` in the app state.
WAITER_KEY = "prism.changes"


@asynccontextmanager
async def integrations(app: Litestar) -> AsyncIterator[None]:
    """While open: the change-feed waiter (and its PostgreSQL listener) and the deliverer."""
    state = api_state(app)
    waiter = ChangeWaiter(state.database)
    stop = asyncio.Event()
    async with listening(waiter):
        app.state[WAITER_KEY] = waiter
        # A hosted server's accounts are strangers: their hooks may not call its own network.
        hosted = state.device_owner is None
        task = asyncio.create_task(run_deliverer(state.database, stop, public_only=hosted))
        try:
            yield
        finally:
            # Not awaited to the end of a round: a send may wait 10 s for a dead host. A
            # delivery leased by the cancelled round is sent again once its lease runs out.
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            app.state.pop(WAITER_KEY, None)


def waiter_of(app: Litestar) -> ChangeWaiter:
    """The app's change waiter; one without a listener when :func:`integrations` is not running."""
    found: Any = app.state.get(WAITER_KEY)
    if isinstance(found, ChangeWaiter):
        return found
    waiter = ChangeWaiter(api_state(app).database)
    app.state[WAITER_KEY] = waiter
    return waiter


def release_waiters(app: Litestar) -> None:
    """The server is stopping: held change-feed requests answer now with what there is."""
    found: Any = app.state.get(WAITER_KEY)
    if isinstance(found, ChangeWaiter):
        found.release_all()
