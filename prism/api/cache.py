"""A small cache of encoded responses, valid while the store has not changed.

Reads that many clients repeat (holdings) are encoded once and served as bytes
until anything commits (:meth:`~prism.storage.engine.Database.change_stamp`). The
cache is an optimisation of one process: a replica without it answers the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["ResponseCache"]


class ResponseCache:
    """Encoded bodies up to ``max_bytes`` in all, each tagged with the stamp it was computed at."""

    def __init__(self, max_bytes: int = 32 << 20) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()

    def get(self, key: Hashable, stamp: int) -> bytes | None:
        """The body stored under ``key`` if it was computed at ``stamp``."""
        found = self._entries.get(key)
        if found is None or found[0] != stamp:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: Hashable, stamp: int, body: bytes) -> None:
        """Remember ``body``; the least recently used entries go when the cache is full."""
        if len(body) > self._max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
        self._entries[key] = (stamp, body)
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)
