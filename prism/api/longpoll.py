"""Long-poll wake-ups within one process.

Pulls that found nothing wait here until a push for their account rings. Across
replicas, PostgreSQL LISTEN/NOTIFY will ring the other processes' bells (not yet
built: a pull on another replica then waits out its ``wait`` and finds the set on
its next call).
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

    def ring(self, account_id: uuid.UUID) -> None:
        """Wake every pull waiting on ``account_id``."""
        event = self._events.pop(account_id, None)
        if event is not None:
            event.set()

    async def wait(self, account_id: uuid.UUID, seconds: float) -> None:
        """Wait until the next ring for ``account_id``, or ``seconds``."""
        event = self._events[account_id]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
