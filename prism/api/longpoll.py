"""Long-poll wake-ups.

Pulls that found nothing wait here until a push for their account rings. A push rings
its own process's bell directly; on PostgreSQL the stored set also sends a
``NOTIFY`` that every replica's listener (see :meth:`Database.listen`) turns into a
ring, so a pull held by any replica wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict

__all__ = ["RelayBell"]


class RelayBell:
    """Wakes this process's long-polls of an account when a set arrives for it."""

    def __init__(self) -> None:
        self._events: defaultdict[uuid.UUID, asyncio.Event] = defaultdict(asyncio.Event)
        self._released = False

    def release_all(self) -> None:
        """Wake every held pull now and let later ones return at once (the server is stopping:
        a pull answered with what there is beats one cut off mid-wait)."""
        self._released = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    def ring(self, account_id: uuid.UUID) -> None:
        """Wake every pull waiting on ``account_id``."""
        event = self._events.pop(account_id, None)
        if event is not None:
            event.set()

    def ring_payload(self, payload: str) -> None:
        """Ring for a notification whose payload is an account id (others are ignored)."""
        try:
            account = uuid.UUID(payload)
        except ValueError:
            return
        self.ring(account)

    async def wait(self, account_id: uuid.UUID, seconds: float) -> None:
        """Wait until the next ring for ``account_id``, or ``seconds``."""
        if self._released:
            return
        event = self._events[account_id]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
