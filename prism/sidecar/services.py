"""What the handlers run against: the store, the lake, the device's account, and a small cache.

The store is opened (and, on a device, migrated first) after the readiness line is out,
so the shell sees the sidecar ready fast; a command that needs it waits for it. Two
caches keep answers while what they depend on is unchanged: :meth:`Services.cached`
keeps a command's encoded answer until the store's change stamp (any commit, by any
process) or a lake dataset's version moves (on PostgreSQL, which gives no cheap stamp,
nothing is cached there); :meth:`Services.memo` keeps a result while inputs the caller
names compare equal (a look-through: the quantities held, the lake's versions, the day).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from prism.config import Settings
from prism.storage.catalog import ensure_device_account
from prism.storage.device_lake import open_device_lake
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, SNAPSHOTS, Lake

__all__ = ["Services", "open_services"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")
Stamp = tuple[int, ...]
T = TypeVar("T")


@dataclass(slots=True)
class Services:
    """The sidecar's connections to Prism, shared by every command."""

    settings: Settings
    database: Database
    lake: Lake
    owner_id: uuid.UUID
    _cache: dict[tuple[str, str], tuple[Stamp, msgspec.Raw]] = field(default_factory=dict)
    _pending: dict[tuple[str, str], tuple[Stamp, asyncio.Future[msgspec.Raw]]] = field(default_factory=dict)
    _memo: dict[Hashable, tuple[Hashable, Any]] = field(default_factory=dict)

    def lake_versions(self) -> Stamp:
        """The committed versions of the market datasets and of the owner's snapshots."""
        versions = [self.lake.manifest(dataset).version for dataset in (PRICES, FX, ETF_HOLDINGS)]
        versions.append(self.lake.manifest(SNAPSHOTS, self.owner_id).version)
        return tuple(versions)

    def _stamp(self) -> Stamp | None:
        store = self.database.change_stamp()
        if store is None:
            return None
        return (store, *self.lake_versions())

    async def memo(self, key: Hashable, inputs: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()``, reused while ``inputs`` (everything it depends on) compare equal.

        For results that a commit elsewhere in the store does not change: a look-through
        depends on the quantities held and the lake, not on a settings change.
        """
        hit = self._memo.get(key)
        if hit is not None and hit[0] == inputs:
            found: T = hit[1]
            return found
        value = await compute()
        self._memo[key] = (inputs, value)
        return value

    async def cached(self, key: tuple[str, str], compute: Callable[[], Awaitable[Any]]) -> msgspec.Raw:
        """``compute()``'s answer, encoded, reused while the store and the lake are unchanged.

        Requests for the same answer while it is being computed share that computation.
        """
        stamp = await asyncio.to_thread(self._stamp)
        if stamp is None:
            return await _encode(await compute())
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
            encoded = await _encode(await compute())
            self._cache[key] = (stamp, encoded)
            return encoded
        finally:
            if self._pending.get(key, (None,))[0] == stamp:
                del self._pending[key]

    async def close(self) -> None:
        """Release the lake and the store."""
        self.lake.close()
        await self.database.dispose()


async def _encode(value: Any) -> msgspec.Raw:
    """``value`` as JSON, encoded off the event loop (an answer can be megabytes)."""
    if isinstance(value, msgspec.Raw):
        return value
    return await asyncio.to_thread(lambda: msgspec.Raw(_ENCODER.encode(value)))


async def open_services(settings: Settings) -> Services:
    """Open (and migrate) the store and the lake, and find or create the device's account."""
    from prism.migrations import open_upgraded  # noqa: PLC0415 - Alembic loads only once ready is out

    database = await open_upgraded(settings.database)
    owner = await database.write(ensure_device_account)
    lake = open_device_lake(settings)
    return Services(settings, database, lake, owner)
