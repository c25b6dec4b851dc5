"""What the handlers run against: the store, the lake, the device's account, and a small cache.

The store is opened (and, on a device, migrated first) after the readiness line is out,
so the shell sees the sidecar ready fast; a command that needs it waits for it. The
cache keeps a read command's encoded answer until anything it depends on changes: the
store's change stamp (any commit, by any process) and the versions of the lake's
datasets. On PostgreSQL, which gives no cheap stamp, nothing is cached.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from prism.config import Settings
from prism.storage.catalog import ensure_device_account
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, SNAPSHOTS, Lake, open_lake

__all__ = ["Services", "open_services"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")
Stamp = tuple[int, ...]


@dataclass(slots=True)
class Services:
    """The sidecar's connections to Prism, shared by every command."""

    settings: Settings
    database: Database
    lake: Lake
    owner_id: uuid.UUID
    _cache: dict[tuple[str, str], tuple[Stamp, msgspec.Raw]] = field(default_factory=dict)
    _pending: dict[tuple[str, str], tuple[Stamp, asyncio.Future[msgspec.Raw]]] = field(default_factory=dict)

    def _stamp(self) -> Stamp | None:
        store = self.database.change_stamp()
        if store is None:
            return None
        versions = [self.lake.manifest(dataset).version for dataset in (PRICES, FX, ETF_HOLDINGS)]
        versions.append(self.lake.manifest(SNAPSHOTS, self.owner_id).version)
        return (store, *versions)

    async def cached(self, key: tuple[str, str], compute: Callable[[], Awaitable[Any]]) -> msgspec.Raw:
        """``compute()``'s answer, encoded, reused while the store and the lake are unchanged.

        Requests for the same answer while it is being computed share that computation.
        """
        stamp = await asyncio.to_thread(self._stamp)
        if stamp is None:
            return msgspec.Raw(_ENCODER.encode(await compute()))
        hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        pending = self._pending.get(key)
        if pending is None or pending[0] != stamp:
            pending = (stamp, asyncio.ensure_future(self._compute(key, stamp, compute)))
            self._pending[key] = pending
        return await asyncio.shield(pending[1])

    async def _compute(self, key: tuple[str, str], stamp: Stamp, compute: Callable[[], Awaitable[Any]]) -> msgspec.Raw:
        try:
            encoded = msgspec.Raw(_ENCODER.encode(await compute()))
            self._cache[key] = (stamp, encoded)
            return encoded
        finally:
            if self._pending.get(key, (None,))[0] == stamp:
                del self._pending[key]

    async def close(self) -> None:
        """Release the lake and the store."""
        self.lake.close()
        await self.database.dispose()


async def open_services(settings: Settings) -> Services:
    """Open (and migrate) the store and the lake, and find or create the device's account."""
    from prism.migrations import open_upgraded  # noqa: PLC0415 - Alembic loads only once ready is out

    database = await open_upgraded(settings.database)
    owner = await database.write(ensure_device_account)
    lake = open_lake(settings.lake_settings)
    return Services(settings, database, lake, owner)
