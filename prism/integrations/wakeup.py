"""Waking change-feed long-polls and the webhook deliverer when an owner's data changes.

* **PostgreSQL**: a trigger on the change log sends ``NOTIFY prism_changes, '<owner>'``
  (migration 0014); every replica listens and rings its :class:`RelayBell`, so a
  write on any replica wakes the waiters on all of them.
* **SQLite**: any commit, by any process, moves ``PRAGMA data_version``
  (:meth:`Database.change_stamp`); waiters check it every few milliseconds, on the
  event loop (it costs microseconds).

Either way a waiter re-reads the feed after waking: a wake-up is a hint, never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prism.storage.change_feed import CHANGES_CHANNEL
from prism.storage.engine import Database

__all__ = ["ChangeWaiter", "Mark", "listening"]

#: How often a SQLite waiter looks at the data version.
_SQLITE_TICK = 0.002
#: The longest a PostgreSQL waiter trusts the notifications before it looks anyway.
_POSTGRES_FALLBACK = 1.0
_UNHEARD = 0.25


@dataclass(frozen=True, slots=True)
class Mark:
    """Where the store was before a read: what a later wait compares with."""

    stamp: int | None
    event: asyncio.Event


class ChangeWaiter:
    """Waits until something may have changed for an owner.

    Take a :meth:`mark` *before* reading, and wait on it after the read found nothing:
    a change committed in between then ends the wait at once instead of being missed.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.listening = False
        self.released = False
        self._events: dict[uuid.UUID, asyncio.Event] = {}

    def release_all(self) -> None:
        """The server is stopping: end every wait now, and every later one at once."""
        self.released = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    def mark(self, owner_id: uuid.UUID) -> Mark:
        """The store's state now, for :meth:`wait`."""
        event = self._events.setdefault(owner_id, asyncio.Event())
        return Mark(self.database.change_stamp(), event)

    def ring_payload(self, payload: str) -> None:
        """Wake the waiters of the owner a notification names (others are ignored)."""
        with contextlib.suppress(ValueError):
            event = self._events.pop(uuid.UUID(payload), None)
            if event is not None:
                event.set()

    async def wait(self, mark: Mark, seconds: float) -> None:
        """Return once something may have changed since ``mark``, or after at most ``seconds``.

        On PostgreSQL it may return early without a change (a waiter re-reads, then
        waits again until its own deadline).
        """
        if seconds <= 0 or self.released:
            return
        if mark.stamp is None:
            limit = _POSTGRES_FALLBACK if self.listening else _UNHEARD
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mark.event.wait(), timeout=min(seconds, limit))
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.database.change_stamp() == mark.stamp:
            left = deadline - loop.time()
            if left <= 0 or self.released:
                return
            await asyncio.sleep(min(_SQLITE_TICK, left))


@asynccontextmanager
async def listening(waiter: ChangeWaiter) -> AsyncIterator[ChangeWaiter]:
    """Hold the PostgreSQL listener for ``waiter`` while open (nothing to hold on SQLite)."""
    async with waiter.database.listen(CHANGES_CHANNEL, waiter.ring_payload) as listens:
        waiter.listening = listens
        try:
            yield waiter
        finally:
            waiter.listening = False
